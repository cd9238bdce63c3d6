namespace SeeSharp.Imaging;

/// <summary>
/// Pixel-exact ports of the Pillow / transformers image operations the processors use: mode conversion, alpha
/// compositing, EXIF transpose, crop. All work on 8-bit <see cref="RasterImage"/>s and return new images.
/// </summary>
public static class ImageOps
{
    /// <summary>
    /// Pillow's <c>image.convert("RGB")</c>: gray is replicated, alpha is DROPPED (no compositing). This is what
    /// transformers' <c>load_image</c> (used by <c>Idefics2Processor.__call__</c>) does.
    /// </summary>
    public static RasterImage ToRgbDropAlpha(RasterImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Mode == ImageMode.Rgb) return image.Clone();
        int n = image.Width * image.Height, c = image.Channels;
        var src = image.Pixels;
        var dst = new byte[n * 3];
        bool gray = image.Mode is ImageMode.L or ImageMode.LA;
        for (int i = 0, s = 0, d = 0; i < n; i++, s += c, d += 3)
        {
            if (gray)
            {
                dst[d] = dst[d + 1] = dst[d + 2] = src[s];
            }
            else
            {
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }
        return new RasterImage(image.Width, image.Height, ImageMode.Rgb, dst) { SourceName = image.SourceName };
    }

    /// <summary>
    /// transformers' <c>convert_to_rgb</c> (image_transforms.py): RGB is returned as is; any other mode is converted to
    /// RGBA, alpha-composited onto an opaque WHITE background with Pillow's integer <c>ImagingAlphaComposite</c>
    /// arithmetic, then converted to RGB.
    /// </summary>
    public static RasterImage ToRgbOnWhite(RasterImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Mode == ImageMode.Rgb) return image.Clone();
        if (!image.HasAlpha) return ToRgbDropAlpha(image); // L -> RGBA has alpha 255: the composite is the identity.
        int n = image.Width * image.Height, c = image.Channels;
        var src = image.Pixels;
        var dst = new byte[n * 3];
        bool gray = image.Mode == ImageMode.LA;
        for (int i = 0, s = 0, d = 0; i < n; i++, s += c, d += 3)
        {
            uint r, g, b, a = src[s + c - 1];
            if (gray) r = g = b = src[s];
            else { r = src[s]; g = src[s + 1]; b = src[s + 2]; }
            if (a == 0)
            {
                dst[d] = dst[d + 1] = dst[d + 2] = 255;
                continue;
            }
            dst[d] = CompositeOverWhite(r, a);
            dst[d + 1] = CompositeOverWhite(g, a);
            dst[d + 2] = CompositeOverWhite(b, a);
        }
        return new RasterImage(image.Width, image.Height, ImageMode.Rgb, dst) { SourceName = image.SourceName };
    }

    /// <summary>One channel of Pillow's ImagingAlphaComposite (PRECISION_BITS 7) with dst = (255, alpha 255).</summary>
    internal static byte CompositeOverWhite(uint srcValue, uint srcAlpha)
    {
        const int precisionBits = 7;
        const uint dstValue = 255, dstAlpha = 255;
        uint blend = dstAlpha * (255 - srcAlpha);
        uint outa255 = srcAlpha * 255 + blend;
        uint coef1 = srcAlpha * 255 * 255 * (1u << precisionBits) / outa255;
        uint coef2 = 255 * (1u << precisionBits) - coef1;
        uint tmp = srcValue * coef1 + dstValue * coef2 + (0x80u << precisionBits);
        return (byte)((((tmp >> 8) + tmp) >> 8) >> precisionBits);
    }

    /// <summary>
    /// <c>PIL.ImageOps.exif_transpose</c> for an EXIF orientation value 1..8 (1 = as stored). Values outside 2..8
    /// return a copy.
    /// </summary>
    public static RasterImage ExifTranspose(RasterImage image, int orientation)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (orientation is < 2 or > 8) return image.Clone();
        int w = image.Width, h = image.Height, c = image.Channels;
        bool swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        var dst = new byte[image.Pixels.Length];
        var src = image.Pixels;
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                // (sx, sy): the stored pixel that lands at (x, y) after the transpose.
                (int sx, int sy) = orientation switch
                {
                    2 => (w - 1 - x, y),             // FLIP_LEFT_RIGHT
                    3 => (w - 1 - x, h - 1 - y),     // ROTATE_180
                    4 => (x, h - 1 - y),             // FLIP_TOP_BOTTOM
                    5 => (y, x),                     // TRANSPOSE
                    6 => (y, h - 1 - x),             // ROTATE_270 (90 degrees clockwise)
                    7 => (w - 1 - y, h - 1 - x),     // TRANSVERSE
                    _ => (w - 1 - y, x),             // 8: ROTATE_90 (counter-clockwise)
                };
                Buffer.BlockCopy(src, (sy * w + sx) * c, dst, (y * ow + x) * c, c);
            }
        }
        return new RasterImage(ow, oh, image.Mode, dst) { SourceName = image.SourceName };
    }

    /// <summary>The sub-image of columns [x0, x1) and rows [y0, y1) (numpy <c>im[y0:y1, x0:x1]</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The box is empty or leaves the image.</exception>
    public static RasterImage Crop(RasterImage image, int x0, int y0, int x1, int y1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (x0 < 0 || y0 < 0 || x1 > image.Width || y1 > image.Height || x1 <= x0 || y1 <= y0)
            throw new ArgumentOutOfRangeException(nameof(x0),
                $"crop box ({x0}, {y0}, {x1}, {y1}) is empty or outside the {image.Width}x{image.Height} image");
        int c = image.Channels, w = x1 - x0, h = y1 - y0, rowBytes = w * c;
        var dst = new byte[h * rowBytes];
        for (int y = 0; y < h; y++)
            Buffer.BlockCopy(image.Pixels, ((y0 + y) * image.Width + x0) * c, dst, y * rowBytes, rowBytes);
        return new RasterImage(w, h, image.Mode, dst) { SourceName = image.SourceName };
    }

    /// <summary>
    /// Pads bottom/right with <paramref name="value"/> to <paramref name="width"/> x <paramref name="height"/> (the image stays
    /// top-left), as transformers' <c>pad(image, ((0, pad_bottom), (0, pad_right)), mode=CONSTANT)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The target is smaller than the image.</exception>
    public static RasterImage PadBottomRight(RasterImage image, int width, int height, byte value = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (width < image.Width || height < image.Height)
            throw new ArgumentException($"cannot pad a {image.Width}x{image.Height} image to a smaller {width}x{height}");
        var result = new RasterImage(width, height, image.Mode) { SourceName = image.SourceName };
        if (value != 0) Array.Fill(result.Pixels, value);
        int c = image.Channels, rowBytes = image.Width * c;
        for (int y = 0; y < image.Height; y++)
            Buffer.BlockCopy(image.Pixels, y * rowBytes, result.Pixels, y * width * c, rowBytes);
        return result;
    }

    /// <summary>Pillow RGBA -> RGBa / LA -> La: color channels times alpha with MULDIV255 rounding.</summary>
    internal static byte[] Premultiply(RasterImage image)
    {
        int c = image.Channels, n = image.Width * image.Height;
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (int i = 0, s = 0; i < n; i++, s += c)
        {
            uint a = src[s + c - 1];
            for (int k = 0; k < c - 1; k++)
            {
                uint tmp = src[s + k] * a + 128;
                dst[s + k] = (byte)(((tmp >> 8) + tmp) >> 8);
            }
            dst[s + c - 1] = (byte)a;
        }
        return dst;
    }

    /// <summary>Pillow RGBa -> RGBA / La -> LA (in place): <c>CLIP8(255 * v / a)</c>, alpha 0 and 255 kept as is.</summary>
    internal static void Unpremultiply(byte[] pixels, int channels)
    {
        for (int s = 0; s < pixels.Length; s += channels)
        {
            uint a = pixels[s + channels - 1];
            if (a is 0 or 255) continue;
            for (int k = 0; k < channels - 1; k++)
                pixels[s + k] = (byte)Math.Min(255u, 255u * pixels[s + k] / a);
        }
    }
}
