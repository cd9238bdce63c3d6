using System.Text.Json;
using SeeSharp.Imaging;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.ImageProcessing;

/// <summary>
/// <see cref="Idefics2ImageProcessor"/> with tests/fixtures/idefics2-tiny/model/preprocessor_config.json (98/42) vs
/// the <c>pixel_values</c> and <c>pixel_attention_mask</c> that <c>Idefics2Processor.__call__</c> wrote to each
/// case's inputs.safetensors (images decoded from tests/fixtures/images, <c>load_image</c> = RGB convert first,
/// the case's do_image_splitting). pixel_values bit-exact (<see cref="Tolerances.PixelValuesMaxAbsDiff"/> = 0),
/// masks exact (stored as int64, or float64 in the batched case with an empty padding slot).
/// </summary>
public sealed class Idefics2TinyPixelTests
{
    [Theory]
    [InlineData("single_img")]
    [InlineData("chat_2img")]
    [InlineData("chat_2img_split")]
    [InlineData("batch2_leftpad")]
    public void Pixel_values_and_mask_equal_the_golden_inputs(string caseName)
    {
        string caseDir = Fixtures.Path("idefics2-tiny", "cases", caseName);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(caseDir, "case.json")));
        bool split = doc.RootElement.GetProperty("do_image_splitting").GetBoolean();
        var samples = doc.RootElement.GetProperty("images").EnumerateArray()
            .Select(s => (IReadOnlyList<RasterImage>)s.EnumerateArray()
                .Select(i => ImageOps.ToRgbDropAlpha(ImageDecoder.Load(Fixtures.Path("images", i.GetString()!)))).ToList())
            .ToList();

        var processor = Idefics2ImageProcessor.FromPretrained(Fixtures.Path("idefics2-tiny", "model"));
        var batch = processor.Preprocess(samples, doImageSplitting: split);

        var inputs = TestSafetensors.Open(Path.Combine(caseDir, "inputs.safetensors"));
        Assert.Equal(inputs.Shape("pixel_values").Select(d => (int)d).ToArray(), batch.PixelValuesShape);
        Assert.Equal(inputs.Shape("pixel_attention_mask").Select(d => (int)d).ToArray(), batch.PixelAttentionMaskShape);

        var expected = inputs.F32("pixel_values");
        int diffs = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(batch.PixelValues[i])
                && Math.Abs(expected[i] - batch.PixelValues[i]) >= Tolerances.PixelValuesMaxAbsDiff)
            {
                if (diffs++ == 0) first = i;
            }
        }
        Assert.True(diffs == 0, $"{diffs} pixel values differ, first at flat index {first}");

        var mask = inputs.AsDoubles("pixel_attention_mask");
        Assert.Equal(mask.Length, batch.PixelAttentionMask.Length);
        for (int i = 0; i < mask.Length; i++) Assert.Equal(mask[i], (double)batch.PixelAttentionMask[i]);

        int[] realCounts = samples.Select(s => s.Count * (split ? 5 : 1)).ToArray();
        Assert.Equal(realCounts, batch.RealImagesPerSample);
    }
}
