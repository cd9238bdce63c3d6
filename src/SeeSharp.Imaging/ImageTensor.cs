namespace SeeSharp.Imaging;

/// <summary>
/// uint8 HWC -> float32 CHW with transformers' numpy arithmetic: <c>rescale</c> multiplies in float64 and casts to
/// float32 (<c>(image.astype(float64) * scale).astype(float32)</c>); <c>normalize</c> then computes
/// <c>(x - mean) / std</c> with mean and std cast to float32 and float32 operations.
/// </summary>
public static class ImageTensor
{
    /// <summary>
    /// Writes the image as [C, H, W] float32 into <paramref name="destination"/> at row pitch <paramref name="pitchWidth"/>
    /// and plane size <paramref name="planeHeight"/> x <paramref name="pitchWidth"/> (so it can land top-left in a
    /// larger zero-padded canvas). <paramref name="rescaleFactor"/> null = no rescale; <paramref name="mean"/> /
    /// <paramref name="std"/> null = no normalize.
    /// </summary>
    /// <exception cref="ArgumentException">Mean/std length differs from the channel count, or the canvas is too small.</exception>
    public static void WriteChw(RasterImage image, double? rescaleFactor, float[]? mean, float[]? std,
        Span<float> destination, int planeHeight, int pitchWidth)
    {
        ArgumentNullException.ThrowIfNull(image);
        int c = image.Channels, w = image.Width, h = image.Height;
        if (w > pitchWidth || h > planeHeight)
            throw new ArgumentException($"image {w}x{h} does not fit a {pitchWidth}x{planeHeight} canvas");
        if (destination.Length < (long)c * planeHeight * pitchWidth)
            throw new ArgumentException($"destination holds {destination.Length} floats, [{c}, {planeHeight}, {pitchWidth}] needs more");
        if ((mean is null) != (std is null))
            throw new ArgumentException("mean and std must both be given or both be null");
        if (mean is not null && (mean.Length != c || std!.Length != c))
            throw new ArgumentException($"mean/std have {mean.Length}/{std!.Length} values, the image has {c} channels");

        // A value table per channel: the result depends only on the byte (bit-identical to the per-pixel formula).
        var table = new float[c * 256];
        for (int ch = 0; ch < c; ch++)
            for (int v = 0; v < 256; v++)
                table[ch * 256 + v] = Value((byte)v, rescaleFactor, mean?[ch], std?[ch]);

        var px = image.Pixels;
        int plane = planeHeight * pitchWidth;
        for (int y = 0; y < h; y++)
        {
            int s = y * w * c;
            for (int x = 0; x < w; x++, s += c)
                for (int ch = 0; ch < c; ch++)
                    destination[ch * plane + y * pitchWidth + x] = table[ch * 256 + px[s + ch]];
        }
    }

    /// <summary>The float32 value of one uint8 sample after optional rescale and normalize (see the class remarks).</summary>
    public static float Value(byte sample, double? rescaleFactor, float? mean, float? std)
    {
        float x = rescaleFactor is double f ? (float)(sample * f) : sample;
        if (mean is float m && std is float s) x = (x - m) / s;
        return x;
    }
}
