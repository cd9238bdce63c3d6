namespace SeeSharp.Imaging;

/// <summary>Pixel layout of a <see cref="RasterImage"/>, named after the Pillow mode it mirrors.</summary>
public enum ImageMode
{
    /// <summary>8-bit grayscale (Pillow "L"), 1 byte per pixel.</summary>
    L,
    /// <summary>8-bit grayscale + straight (unpremultiplied) alpha (Pillow "LA"), 2 bytes per pixel.</summary>
    LA,
    /// <summary>8-bit RGB (Pillow "RGB"), 3 bytes per pixel.</summary>
    Rgb,
    /// <summary>8-bit RGB + straight (unpremultiplied) alpha (Pillow "RGBA"), 4 bytes per pixel.</summary>
    Rgba,
}

/// <summary>
/// A decoded 8-bit image: <see cref="Height"/> rows of <see cref="Width"/> pixels, channels interleaved
/// (HWC, row-major, no row padding), exactly the layout of <c>numpy.asarray(pil_image)</c>.
/// </summary>
public sealed class RasterImage
{
    /// <summary>Creates an image over <paramref name="pixels"/> (not copied), or a zero-filled one when it is null.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or the buffer length does not match [H, W, C].</exception>
    public RasterImage(int width, int height, ImageMode mode, byte[]? pixels = null)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"image size must be positive, got {width}x{height} (WxH)");
        long length = (long)width * height * ChannelsOf(mode);
        if (length > Array.MaxLength)
            throw new ArgumentException($"image {width}x{height} {mode} needs {length} bytes, more than an array can hold");
        if (pixels is not null && pixels.LongLength != length)
            throw new ArgumentException(
                $"pixel buffer has {pixels.LongLength} bytes, {width}x{height} {mode} needs {length}", nameof(pixels));
        Width = width;
        Height = height;
        Mode = mode;
        Pixels = pixels ?? new byte[length];
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Pixel layout.</summary>
    public ImageMode Mode { get; }

    /// <summary>Bytes per pixel: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels => ChannelsOf(Mode);

    /// <summary>Whether the mode carries an alpha channel (LA, RGBA).</summary>
    public bool HasAlpha => Mode is ImageMode.LA or ImageMode.Rgba;

    /// <summary>Pixels, [H, W, C] row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>Where the image came from (file path or caller-given name), for error messages; may be null.</summary>
    public string? SourceName { get; init; }

    /// <summary>Channel value at (x, y, c).</summary>
    public byte this[int x, int y, int c] => Pixels[((long)y * Width + x) * Channels + c];

    /// <summary>Bytes per pixel of a mode.</summary>
    public static int ChannelsOf(ImageMode mode) => mode switch
    {
        ImageMode.L => 1,
        ImageMode.LA => 2,
        ImageMode.Rgb => 3,
        ImageMode.Rgba => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown image mode"),
    };

    /// <summary>A deep copy (same source name).</summary>
    public RasterImage Clone() => new(Width, Height, Mode, (byte[])Pixels.Clone()) { SourceName = SourceName };

    /// <inheritdoc />
    public override string ToString() => $"{Mode} {Width}x{Height} (WxH){(SourceName is null ? "" : " from " + SourceName)}";
}
