namespace SeeSharp.Imaging;

/// <summary>Resampling filters, numbered as Pillow's <c>Image.Resampling</c> (and transformers' <c>PILImageResampling</c>).</summary>
public enum ResampleFilter
{
    /// <summary>Nearest neighbour (0).</summary>
    Nearest = 0,
    /// <summary>Lanczos, a = 3 (1).</summary>
    Lanczos = 1,
    /// <summary>Bilinear / triangle (2).</summary>
    Bilinear = 2,
    /// <summary>Bicubic, a = -0.5 (3).</summary>
    Bicubic = 3,
    /// <summary>Box (4).</summary>
    Box = 4,
    /// <summary>Hamming (5).</summary>
    Hamming = 5,
}

/// <summary>
/// Bit-exact re-implementation of Pillow 9.4's <c>Image.resize</c> for 8-bit images (libImaging/Resample.c and, for
/// NEAREST, the affine scale of Geometry.c): separable convolution whose support widens by the downscale factor
/// (antialiasing), double-precision coefficients normalised per output pixel then rounded to 22-bit fixed point,
/// horizontal pass (only over the rows the vertical pass reads) then vertical pass, a pass skipped when its size and
/// box are unchanged, same size = copy. RGBA / LA are resized premultiplied (RGBa / La) as Pillow does.
/// </summary>
public static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes the whole image to <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static RasterImage Resize(RasterImage image, int width, int height, ResampleFilter filter) =>
        Resize(image, width, height, filter, (0f, 0f, image.Width, image.Height));

    /// <summary>
    /// Resizes the region <paramref name="box"/> = (x0, y0, x1, y1) (floats, as Pillow's <c>box</c>) of the image to
    /// <paramref name="width"/> x <paramref name="height"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Non-positive size, or a box outside the image.</exception>
    public static RasterImage Resize(RasterImage image, int width, int height, ResampleFilter filter,
        (float X0, float Y0, float X1, float Y1) box)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"resize target must be positive, got {width}x{height} (WxH)");
        if ((long)width * height * image.Channels > Array.MaxLength)
            throw new ArgumentException($"resize target {width}x{height} is too large");
        if (box.X0 < 0 || box.Y0 < 0 || box.X1 > image.Width || box.Y1 > image.Height)
            throw new ArgumentException($"box ({box.X0}, {box.Y0}, {box.X1}, {box.Y1}) leaves the {image.Width}x{image.Height} image");
        if (box.X1 - box.X0 < 0 || box.Y1 - box.Y0 < 0)
            throw new ArgumentException($"box ({box.X0}, {box.Y0}, {box.X1}, {box.Y1}) has a negative size");
        if (!Enum.IsDefined(filter)) throw new ArgumentOutOfRangeException(nameof(filter), filter, "unknown resampling filter");

        if (width == image.Width && height == image.Height && box == (0f, 0f, image.Width, image.Height))
            return image.Clone();

        if (filter == ResampleFilter.Nearest)
            return ResizeNearest(image, width, height, box);

        int c = image.Channels;
        byte[] src = image.HasAlpha ? ImageOps.Premultiply(image) : image.Pixels;
        byte[] dst = ResampleInner(src, image.Width, image.Height, c, width, height, FilterOf(filter), box);
        if (image.HasAlpha) ImageOps.Unpremultiply(dst, c);
        return new RasterImage(width, height, image.Mode, dst) { SourceName = image.SourceName };
    }

    // ---- filters (Resample.c) ----

    private readonly record struct Filter(Func<double, double> Kernel, double Support);

    private static Filter FilterOf(ResampleFilter filter) => filter switch
    {
        ResampleFilter.Box => new(BoxKernel, 0.5),
        ResampleFilter.Bilinear => new(BilinearKernel, 1.0),
        ResampleFilter.Hamming => new(HammingKernel, 1.0),
        ResampleFilter.Bicubic => new(BicubicKernel, 2.0),
        ResampleFilter.Lanczos => new(LanczosKernel, 3.0),
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "not a convolution filter"),
    };

    internal static double BoxKernel(double x) => x > -0.5 && x <= 0.5 ? 1.0 : 0.0;

    internal static double BilinearKernel(double x)
    {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    internal static double HammingKernel(double x)
    {
        if (x < 0.0) x = -x;
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        // Pillow writes the constants as C floats (0.54f, 0.46f), promoted to double.
        return Math.Sin(x) / x * ((double)0.54f + (double)0.46f * Math.Cos(x));
    }

    internal static double BicubicKernel(double x)
    {
        const double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    internal static double LanczosKernel(double x) => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;

    // ---- coefficients (precompute_coeffs + normalize_coeffs_8bpc) ----

    /// <summary>Per output index: first input index, tap count, and ksize fixed-point taps.</summary>
    internal sealed record Coefficients(int KSize, int[] Min, int[] Count, int[] Taps);

    internal static Coefficients Precompute(int inSize, float in0, float in1, int outSize, Func<double, double> kernel, double filterSupport)
    {
        double scale = (double)(in1 - in0) / outSize; // (in1 - in0) in float, as in C
        double filterScale = scale < 1.0 ? 1.0 : scale;
        double support = filterSupport * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        if ((long)outSize * ksize > Array.MaxLength)
            throw new ArgumentException($"resize from {inSize} to {outSize} needs too many filter taps");

        var min = new int[outSize];
        var count = new int[outSize];
        var taps = new int[outSize * ksize];
        var k = new double[ksize];
        double ss = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            int xmin = (int)(center - support + 0.5); // C cast: truncation toward zero
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            for (int x = 0; x < xmax; x++)
            {
                double w = kernel((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
            {
                if (ww != 0.0) k[x] /= ww;
                double v = k[x] * (1 << PrecisionBits);
                taps[xx * ksize + x] = k[x] < 0 ? (int)(-0.5 + v) : (int)(0.5 + v);
            }
            min[xx] = xmin;
            count[xx] = Math.Max(xmax, 0);
        }
        return new Coefficients(ksize, min, count, taps);
    }

    private static byte Clip8(int acc)
    {
        int v = acc >> PrecisionBits; // arithmetic shift, as Pillow's clip8 lookup index
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    // ---- ImagingResampleInner ----

    private static byte[] ResampleInner(byte[] src, int inW, int inH, int c, int outW, int outH, Filter filter,
        (float X0, float Y0, float X1, float Y1) box)
    {
        bool needHorizontal = outW != inW || box.X0 != 0 || box.X1 != outW;
        bool needVertical = outH != inH || box.Y0 != 0 || box.Y1 != outH;

        var vert = Precompute(inH, box.Y0, box.Y1, outH, filter.Kernel, filter.Support);
        int yFirst = vert.Min[0];
        int yLast = vert.Min[outH - 1] + vert.Count[outH - 1];

        byte[] cur = src;
        int curW = inW;
        if (needHorizontal)
        {
            var horiz = Precompute(inW, box.X0, box.X1, outW, filter.Kernel, filter.Support);
            cur = Horizontal(src, inW, c, yFirst, yLast - yFirst, outW, horiz);
            curW = outW;
            for (int i = 0; i < outH; i++) vert.Min[i] -= yFirst; // rows of the temp image start at yFirst
        }
        if (needVertical) cur = Vertical(cur, curW, c, outH, vert);
        return ReferenceEquals(cur, src) ? (byte[])src.Clone() : cur;
    }

    /// <summary>[rows, outW, c] from rows [offset, offset + rows) of [*, inW, c].</summary>
    private static byte[] Horizontal(byte[] src, int inW, int c, int offset, int rows, int outW, Coefficients co)
    {
        var dst = new byte[(long)rows * outW * c];
        const int half = 1 << (PrecisionBits - 1);
        int[] taps = co.Taps;
        for (int yy = 0; yy < rows; yy++)
        {
            int rowBase = (yy + offset) * inW * c;
            int outBase = yy * outW * c;
            for (int xx = 0; xx < outW; xx++)
            {
                int n = co.Count[xx], kBase = xx * co.KSize;
                int p = rowBase + co.Min[xx] * c;
                int o = outBase + xx * c;
                if (c == 3)
                {
                    int s0 = half, s1 = half, s2 = half;
                    for (int x = 0; x < n; x++, p += 3)
                    {
                        int w = taps[kBase + x];
                        s0 += src[p] * w;
                        s1 += src[p + 1] * w;
                        s2 += src[p + 2] * w;
                    }
                    dst[o] = Clip8(s0);
                    dst[o + 1] = Clip8(s1);
                    dst[o + 2] = Clip8(s2);
                }
                else
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        int acc = half;
                        for (int x = 0, q = p + ch; x < n; x++, q += c) acc += src[q] * taps[kBase + x];
                        dst[o + ch] = Clip8(acc);
                    }
                }
            }
        }
        return dst;
    }

    /// <summary>[outH, w, c] from [*, w, c]: each output row accumulates whole input rows (same integer sums as Pillow's per-pixel loop).</summary>
    private static byte[] Vertical(byte[] src, int w, int c, int outH, Coefficients co)
    {
        var dst = new byte[(long)outH * w * c];
        int rowLen = w * c;
        var acc = new int[rowLen];
        for (int yy = 0; yy < outH; yy++)
        {
            int ymin = co.Min[yy], n = co.Count[yy], kBase = yy * co.KSize;
            Array.Fill(acc, 1 << (PrecisionBits - 1));
            for (int y = 0; y < n; y++)
            {
                int weight = co.Taps[kBase + y];
                var row = src.AsSpan((y + ymin) * rowLen, rowLen);
                for (int i = 0; i < row.Length; i++) acc[i] += row[i] * weight;
            }
            var outRow = dst.AsSpan(yy * rowLen, rowLen);
            for (int i = 0; i < outRow.Length; i++) outRow[i] = Clip8(acc[i]);
        }
        return dst;
    }

    // ---- NEAREST: ImagingScaleAffine (Geometry.c) ----

    private static RasterImage ResizeNearest(RasterImage image, int width, int height, (float X0, float Y0, float X1, float Y1) box)
    {
        double a0 = (double)(box.X1 - box.X0) / width;
        double a4 = (double)(box.Y1 - box.Y0) / height;
        int c = image.Channels;
        var dst = new byte[(long)width * height * c]; // Pillow fills pixels outside the source with 0
        var xin = new int[width];
        double xo = box.X0 + a0 * 0.5;
        for (int x = 0; x < width; x++)
        {
            xin[x] = xo < 0.0 ? -1 : (int)xo;
            xo += a0; // accumulated, as Pillow does
        }
        double yo = box.Y0 + a4 * 0.5;
        for (int y = 0; y < height; y++)
        {
            int yi = yo < 0.0 ? -1 : (int)yo;
            if (yi >= 0 && yi < image.Height)
            {
                for (int x = 0; x < width; x++)
                {
                    if (xin[x] < 0 || xin[x] >= image.Width) continue;
                    Buffer.BlockCopy(image.Pixels, (yi * image.Width + xin[x]) * c, dst, (y * width + x) * c, c);
                }
            }
            yo += a4;
        }
        return new RasterImage(width, height, image.Mode, dst) { SourceName = image.SourceName };
    }
}
