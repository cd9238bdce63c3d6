namespace SeeSharp.Processing;

/// <summary>
/// The image tensors an image processor hands to a vision-language model, in transformers' layout:
/// <c>pixel_values</c> float32 [B, N, 3, H, W] and <c>pixel_attention_mask</c> [B, N, H, W] (1 = real pixel, 0 = padding),
/// where B = samples, N = image slots per sample (crops included; the max over the batch), H x W = the max size over
/// the whole batch. Images sit top-left in their slot; missing slots are all-zero images with all-zero masks.
/// </summary>
public sealed class PixelBatch
{
    /// <summary>Wraps the buffers (not copied) after checking their lengths against the shape.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, a buffer length does not match, or a count is out of range.</exception>
    public PixelBatch(float[] pixelValues, byte[] pixelAttentionMask, int batch, int imagesPerSample, int height, int width,
        IReadOnlyList<int> realImagesPerSample)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        ArgumentNullException.ThrowIfNull(pixelAttentionMask);
        ArgumentNullException.ThrowIfNull(realImagesPerSample);
        if (batch <= 0 || imagesPerSample <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"pixel batch shape [{batch}, {imagesPerSample}, {Channels}, {height}, {width}] must be positive");
        long planes = (long)batch * imagesPerSample * height * width;
        if (pixelValues.LongLength != planes * Channels)
            throw new ArgumentException($"pixel_values has {pixelValues.LongLength} values, shape [{batch}, {imagesPerSample}, {Channels}, {height}, {width}] needs {planes * Channels}");
        if (pixelAttentionMask.LongLength != planes)
            throw new ArgumentException($"pixel_attention_mask has {pixelAttentionMask.LongLength} values, shape [{batch}, {imagesPerSample}, {height}, {width}] needs {planes}");
        if (realImagesPerSample.Count != batch)
            throw new ArgumentException($"realImagesPerSample has {realImagesPerSample.Count} entries for a batch of {batch}");
        foreach (int n in realImagesPerSample)
            if (n < 0 || n > imagesPerSample)
                throw new ArgumentException($"a sample has {n} real images, outside 0..{imagesPerSample}");
        PixelValues = pixelValues;
        PixelAttentionMask = pixelAttentionMask;
        Batch = batch;
        ImagesPerSample = imagesPerSample;
        Height = height;
        Width = width;
        RealImagesPerSample = realImagesPerSample;
    }

    /// <summary>Color channels per image: always 3 (RGB).</summary>
    public const int Channels = 3;

    /// <summary>float32 [B, N, 3, H, W], row-major.</summary>
    public float[] PixelValues { get; }

    /// <summary>[B, N, H, W], row-major; 1 where the pixel belongs to an image, 0 for padding (transformers' int64 mask).</summary>
    public byte[] PixelAttentionMask { get; }

    /// <summary>B: number of samples.</summary>
    public int Batch { get; }

    /// <summary>N: image slots per sample (the max number of images, crops included, over the samples).</summary>
    public int ImagesPerSample { get; }

    /// <summary>H: padded height.</summary>
    public int Height { get; }

    /// <summary>W: padded width.</summary>
    public int Width { get; }

    /// <summary>Per sample, how many of its N slots hold real images (crops included); the rest are all-zero padding.</summary>
    public IReadOnlyList<int> RealImagesPerSample { get; }

    /// <summary>The shape of <see cref="PixelValues"/>: [B, N, 3, H, W].</summary>
    public int[] PixelValuesShape => [Batch, ImagesPerSample, Channels, Height, Width];

    /// <summary>The shape of <see cref="PixelAttentionMask"/>: [B, N, H, W].</summary>
    public int[] PixelAttentionMaskShape => [Batch, ImagesPerSample, Height, Width];

    /// <summary>The [3, H, W] pixel values of slot <paramref name="image"/> of sample <paramref name="sample"/>.</summary>
    public ReadOnlySpan<float> Image(int sample, int image)
    {
        CheckSlot(sample, image);
        int size = Channels * Height * Width;
        return PixelValues.AsSpan((sample * ImagesPerSample + image) * size, size);
    }

    /// <summary>The [H, W] mask of slot <paramref name="image"/> of sample <paramref name="sample"/>.</summary>
    public ReadOnlySpan<byte> Mask(int sample, int image)
    {
        CheckSlot(sample, image);
        int size = Height * Width;
        return PixelAttentionMask.AsSpan((sample * ImagesPerSample + image) * size, size);
    }

    private void CheckSlot(int sample, int image)
    {
        if ((uint)sample >= (uint)Batch || (uint)image >= (uint)ImagesPerSample)
            throw new ArgumentOutOfRangeException(nameof(image), $"slot ({sample}, {image}) outside [{Batch}, {ImagesPerSample}]");
    }
}
