using SeeSharp.Imaging;

namespace SeeSharp.Processing;

/// <summary>
/// The tail shared by the Idefics image processors: rescale + normalize each uint8 RGB image (transformers' numpy
/// arithmetic, see <see cref="ImageTensor"/>), then pad every image bottom/right with zeros to the batch's max H and W,
/// and every sample with all-zero images to the max image count, with the pixel attention mask.
/// </summary>
internal static class PixelBatchBuilder
{
    public static PixelBatch Build(List<List<RasterImage>> prepared, bool doPad, double? rescaleFactor,
        IReadOnlyList<double>? mean, IReadOnlyList<double>? std)
    {
        int batch = prepared.Count;
        int slots = prepared.Max(s => s.Count);
        var all = prepared.SelectMany(s => s).ToList();
        int maxH = all.Max(i => i.Height);
        int maxW = all.Max(i => i.Width);
        if (!doPad && (all.Any(i => i.Height != maxH || i.Width != maxW) || prepared.Any(s => s.Count != slots)))
            throw new ArgumentException(
                "do_pad is false but the images (after resizing) differ in size or the samples in image count; transformers then returns ragged lists, which a PixelBatch cannot hold");

        long plane = (long)maxH * maxW;
        long total = (long)batch * slots * PixelBatch.Channels * plane;
        if (total > Array.MaxLength)
            throw new ArgumentException($"pixel batch [{batch}, {slots}, 3, {maxH}, {maxW}] has {total} values, more than one buffer can hold");

        var values = new float[total];                       // [B, N, 3, H, W], zero = padding
        var mask = new byte[(long)batch * slots * plane];    // [B, N, H, W]
        float[]? meanF = mean?.Select(m => (float)m).ToArray(); // np.array(mean, dtype=float32)
        float[]? stdF = std?.Select(s => (float)s).ToArray();
        var real = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            real[b] = prepared[b].Count;
            for (int n = 0; n < prepared[b].Count; n++)
            {
                var image = prepared[b][n];
                long slot = (long)b * slots + n;
                ImageTensor.WriteChw(image, rescaleFactor, meanF, stdF,
                    values.AsSpan((int)(slot * PixelBatch.Channels * plane), (int)(PixelBatch.Channels * plane)), maxH, maxW);
                for (int y = 0; y < image.Height; y++)
                    mask.AsSpan((int)(slot * plane + (long)y * maxW), image.Width).Fill(1);
            }
        }
        return new PixelBatch(values, mask, batch, slots, maxH, maxW, real);
    }
}
