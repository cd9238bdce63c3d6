using System.Text.Json;
using SeeSharp.Imaging;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.ImageProcessing;

/// <summary>
/// <see cref="Idefics2ImageProcessor"/> with the REAL idefics2-8b settings vs transformers 4.45.2 + Pillow 9.4
/// (tests/fixtures/idefics2-image-processor): shapes; every stored <c>resized_uint8_hwc</c> and its row/column sums
/// (uint8, exact, <see cref="Tolerances.ResizeUint8MaxAbsDiff"/>); the two 32x32 <c>pixel_values_windows</c> per slot
/// (float32, bit-exact, <see cref="Tolerances.PixelValuesMaxAbsDiff"/>); float64 channel sums (exact,
/// <see cref="Tolerances.ChannelSumMaxAbsDiff"/>); mask valid counts and the full mask where stored (exact).
/// Also <c>resize_output_size_table.json</c> (exact integers).
/// </summary>
public sealed class Idefics2ImageProcessorFixtureTests
{
    private static readonly string Dir = Fixtures.Path("idefics2-image-processor");

    public static TheoryData<string> CaseNames()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "cases.json")));
        var data = new TheoryData<string>();
        foreach (var c in doc.RootElement.EnumerateObject()) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Processor_output_matches_transformers(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "cases.json")));
        var c = doc.RootElement.GetProperty(caseName);
        bool split = c.GetProperty("do_image_splitting").GetBoolean();
        bool viaLoadImage = c.GetProperty("via_processor_load_image").GetBoolean();
        var samples = c.GetProperty("input_images").EnumerateArray()
            .Select(s => (IReadOnlyList<RasterImage>)s.EnumerateArray().Select(i =>
            {
                var image = ImageDecoder.Load(Fixtures.Path("images", i.GetString()!.Split(' ')[0]));
                return viaLoadImage ? ImageOps.ToRgbDropAlpha(image) : image;
            }).ToList()).ToList();
        var expectedShape = c.GetProperty("pixel_values_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tensors = TestSafetensors.Open(Path.Combine(Dir, caseName + ".safetensors"));

        // The real config says do_image_splitting=true; the case overrides it at call time.
        var processor = Idefics2ImageProcessor.FromPretrained(Dir);
        Assert.True(processor.Config.DoImageSplitting);

        // Resized uint8 sub-images.
        var prepared = processor.PrepareImages(samples, split).SelectMany(s => s).ToList();
        Assert.Equal(c.GetProperty("sub_images_in_order").GetArrayLength(), prepared.Count);
        for (int i = 0; i < prepared.Count; i++)
        {
            var im = prepared[i];
            var hw = c.GetProperty("sub_images_in_order")[i].GetProperty("resized_hw");
            Assert.Equal((hw[0].GetInt32(), hw[1].GetInt32()), (im.Height, im.Width));
            if (tensors.Contains($"resized_uint8_hwc.{i}"))
                Assert.True(tensors.U8($"resized_uint8_hwc.{i}").AsSpan().SequenceEqual(im.Pixels), $"resized_uint8_hwc.{i} differs");
            Assert.Equal(tensors.I64($"resized_uint8_row_sums.{i}"), Sums(im, rows: true));
            Assert.Equal(tensors.I64($"resized_uint8_col_sums.{i}"), Sums(im, rows: false));
        }

        var batch = processor.Preprocess(samples, doImageSplitting: split);
        Assert.Equal(expectedShape, batch.PixelValuesShape);
        int B = batch.Batch, N = batch.ImagesPerSample, H = batch.Height, W = batch.Width;

        // pixel_values_windows [B, N, 2, 3, 32, 32]
        var windows = tensors.F32("pixel_values_windows");
        var sums = tensors.F64("pixel_values_channel_sums_f64");
        var counts = tensors.I64("pixel_attention_mask_valid_counts");
        int mismatches = 0;
        for (int b = 0; b < B; b++)
        {
            for (int n = 0; n < N; n++)
            {
                var slot = batch.Image(b, n);
                for (int win = 0; win < 2; win++)
                {
                    int y0 = win == 0 ? 0 : H / 2 - 16, x0 = win == 0 ? 0 : W / 2 - 16;
                    for (int ch = 0; ch < 3; ch++)
                        for (int y = 0; y < 32; y++)
                            for (int x = 0; x < 32; x++)
                            {
                                float expected = windows[((((b * N + n) * 2 + win) * 3 + ch) * 32 + y) * 32 + x];
                                float actual = slot[(ch * H + y0 + y) * W + x0 + x];
                                if (Math.Abs(expected - actual) > Tolerances.PixelValuesMaxAbsDiff
                                    || BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual)) mismatches++;
                            }
                }
                for (int ch = 0; ch < 3; ch++)
                {
                    double sum = 0;
                    foreach (float v in slot.Slice(ch * H * W, H * W)) sum += v;
                    Assert.True(Math.Abs(sums[(b * N + n) * 3 + ch] - sum) <= Tolerances.ChannelSumMaxAbsDiff,
                        $"channel sum ({b}, {n}, {ch}): expected {sums[(b * N + n) * 3 + ch]:R}, got {sum:R}");
                }
                long ones = 0;
                foreach (byte m in batch.Mask(b, n)) ones += m;
                Assert.Equal(counts[b * N + n], ones);
            }
        }
        Assert.Equal(0, mismatches);
        if (tensors.Contains("pixel_attention_mask_u8"))
            Assert.True(tensors.U8("pixel_attention_mask_u8").AsSpan().SequenceEqual(batch.PixelAttentionMask));
    }

    [Fact]
    public void Resize_output_size_table_matches()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "resize_output_size_table.json")));
        var size = doc.RootElement.GetProperty("size");
        int shortest = size.GetProperty("shortest_edge").GetInt32(), longest = size.GetProperty("longest_edge").GetInt32();
        int rows = 0;
        foreach (var row in doc.RootElement.GetProperty("rows").EnumerateArray())
        {
            var input = row.GetProperty("in_hw");
            var output = row.GetProperty("out_hw");
            Assert.Equal((output[0].GetInt32(), output[1].GetInt32()),
                Idefics2ImageProcessor.GetResizeOutputImageSize(input[0].GetInt32(), input[1].GetInt32(), shortest, longest));
            rows++;
        }
        Assert.Equal(20, rows);
    }

    /// <summary>Per channel, sums over each row ([3, H]) or each column ([3, W]) of an RGB image.</summary>
    internal static long[] Sums(RasterImage im, bool rows)
    {
        int len = rows ? im.Height : im.Width;
        var sums = new long[3 * len];
        for (int y = 0; y < im.Height; y++)
            for (int x = 0; x < im.Width; x++)
                for (int c = 0; c < 3; c++) sums[c * len + (rows ? y : x)] += im[x, y, c];
        return sums;
    }
}
