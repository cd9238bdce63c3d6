using System.Text.Json;
using SeeSharp.Imaging;
using SeeSharp.Models.Idefics3;
using SeeSharp.Testing;

namespace SeeSharp.Tests.ImageProcessing;

/// <summary>
/// <see cref="Idefics3ImageProcessor"/> with tests/fixtures/idefics3-tiny/model/preprocessor_config.json (LANCZOS,
/// 224 / 56) vs the <c>pixel_values</c> and <c>pixel_attention_mask</c> in each case's inputs.safetensors (made by
/// transformers 4.46.0.dev0 + Pillow 9.4 through <c>Idefics3Processor</c>, i.e. after <c>load_image</c>) and the
/// rows/cols of case.json. pixel_values bit-exact (<see cref="Tolerances.PixelValuesMaxAbsDiff"/>), masks exact.
/// Plus hand-computed size rules.
/// </summary>
public sealed class Idefics3ImageProcessorTests
{
    [Theory]
    [InlineData("single_img_nosplit")]
    [InlineData("chat_2img_split")]
    public void Pixel_values_mask_and_grid_equal_the_golden_inputs(string caseName)
    {
        string caseDir = Fixtures.Path("idefics3-tiny", "cases", caseName);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(caseDir, "case.json")));
        var root = doc.RootElement;
        bool split = root.GetProperty("do_image_splitting").GetBoolean();
        var samples = root.GetProperty("images").EnumerateArray()
            .Select(s => (IReadOnlyList<RasterImage>)s.EnumerateArray()
                .Select(i => ImageOps.ToRgbDropAlpha(ImageDecoder.Load(Fixtures.Path("images", i.GetString()!)))).ToList())
            .ToList();

        var processor = Idefics3ImageProcessor.FromPretrained(Fixtures.Path("idefics3-tiny", "model"));
        var result = processor.Preprocess(samples, doImageSplitting: split);
        var batch = result.Pixels;

        var inputs = TestSafetensors.Open(Path.Combine(caseDir, "inputs.safetensors"));
        Assert.Equal(inputs.Shape("pixel_values").Select(d => (int)d).ToArray(), batch.PixelValuesShape);
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
        Assert.True(diffs == 0, $"{diffs} of {expected.Length} pixel values differ, first at flat index {first}");
        var mask = inputs.AsDoubles("pixel_attention_mask");
        Assert.Equal(mask, batch.PixelAttentionMask.Select(m => (double)m).ToArray());

        var grid = root.GetProperty("image_rows_cols_per_sample");
        Assert.Equal(grid.GetProperty("rows").EnumerateArray().Select(s => s.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray(),
            result.Rows.Select(r => r.ToArray()).ToArray());
        Assert.Equal(grid.GetProperty("cols").EnumerateArray().Select(s => s.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray(),
            result.Cols.Select(c => c.ToArray()).ToArray());
    }

    [Theory]
    [InlineData(300, 451, 224, 150, 224)]   // chelsea: int(224 / (451/300)) = 149 -> odd -> 150
    [InlineData(400, 600, 224, 150, 224)]   // coffee: int(224 / 1.5) = 149 -> 150
    [InlineData(512, 512, 224, 224, 224)]
    [InlineData(10, 20, 224, 112, 224)]     // upscales too
    [InlineData(900, 300, 100, 100, 34)]    // tall: int(100 / 3) = 33 -> 34
    [InlineData(1, 5000, 1820, 1, 1820)]    // the short side never drops below 1
    public void Resize_to_longest_edge_follows_transformers(int h, int w, int longest, int eh, int ew) =>
        Assert.Equal((eh, ew), Idefics3ImageProcessor.GetResizeOutputImageSize(h, w, longest));

    [Theory]
    [InlineData(150, 224, 56, 168, 224)]    // chelsea after resize: 3 x 4 tiles
    [InlineData(56, 56, 56, 56, 56)]
    [InlineData(57, 10, 56, 112, 56)]       // tall: height up to 112, width int(112 * 10/57) = 19 -> 56
    public void Vision_encoder_size_rounds_up_to_tile_multiples(int h, int w, int tile, int eh, int ew) =>
        Assert.Equal((eh, ew), Idefics3ImageProcessor.GetVisionEncoderSize(h, w, tile));

    [Fact]
    public void Config_defaults_and_limits()
    {
        var c = Idefics3ImageProcessorConfig.FromJson("{}");
        Assert.Equal(1456, c.Size.LongestEdge);
        Assert.Equal(364, c.MaxImageSize.LongestEdge);
        Assert.Equal(ResampleFilter.Lanczos, c.Resample);
        Assert.True(c.DoImageSplitting);
        Assert.Equal(2048, Idefics3ImageProcessorConfig.FromJson("""{"size": {"longest_edge": 2048}}""").Size.LongestEdge); // SmolVLM-256M's
        var e = Assert.Throws<InvalidDataException>(() => Idefics3ImageProcessorConfig.FromJson("""{"size": {"longest_edge": 5000}}""", "cfg.json"));
        Assert.Contains("cfg.json", e.Message);
        Assert.Contains("5000", e.Message);
    }

    [Fact]
    public void Small_images_are_not_split_and_rgba_is_composited_after_resizing()
    {
        var p = new Idefics3ImageProcessor(new Idefics3ImageProcessorConfig { Size = new() { LongestEdge = 56 }, MaxImageSize = new() { LongestEdge = 56 } });
        var rgba = new RasterImage(30, 20, ImageMode.Rgba);
        for (int i = 0; i < rgba.Pixels.Length; i += 4) { rgba.Pixels[i] = 200; rgba.Pixels[i + 3] = 0; } // fully transparent
        var result = p.Preprocess([[rgba]]);
        Assert.Equal([1, 1, 3, 56, 56], result.Pixels.PixelValuesShape); // 30x20 -> 56x38 -> 56x56 (one tile, no grid)
        Assert.Equal(0, result.Rows[0][0]);
        Assert.True(result.Pixels.Image(0, 0).ToArray().All(v => v == 1f)); // transparent -> white -> (1 - 0.5) / 0.5
    }
}
