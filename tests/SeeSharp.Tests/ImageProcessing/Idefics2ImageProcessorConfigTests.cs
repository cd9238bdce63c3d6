using SeeSharp.Imaging;
using SeeSharp.Models.Idefics2;
using SeeSharp.Processing;
using SeeSharp.Testing;

namespace SeeSharp.Tests.ImageProcessing;

/// <summary>
/// preprocessor_config.json reading: transformers v4.45.2 defaults for absent keys, the fixture files' values, and
/// errors that name the file, field and value; plus processor edge cases (padding slots, bad inputs). Properties and
/// hand-written expectations, no tolerance involved.
/// </summary>
public sealed class Idefics2ImageProcessorConfigTests
{
    [Fact]
    public void Empty_config_gets_transformers_defaults()
    {
        var c = Idefics2ImageProcessorConfig.FromJson("{}");
        Assert.True(c.DoConvertRgb);
        Assert.True(c.DoResize);
        Assert.Equal(new ImageSizeSpec { ShortestEdge = 378, LongestEdge = 980 }, c.Size);
        Assert.Equal(ResampleFilter.Bilinear, c.Resample);
        Assert.True(c.DoRescale);
        Assert.Equal(1.0 / 255, c.RescaleFactor);
        Assert.True(c.DoNormalize);
        Assert.Equal([0.5, 0.5, 0.5], c.ImageMean);
        Assert.Equal([0.5, 0.5, 0.5], c.ImageStd);
        Assert.True(c.DoPad);
        Assert.False(c.DoImageSplitting);
    }

    [Fact]
    public void Tiny_fixture_config_is_read()
    {
        var c = Idefics2ImageProcessorConfig.Load(Fixtures.Path("idefics2-tiny", "model", "preprocessor_config.json"));
        Assert.Equal(new ImageSizeSpec { ShortestEdge = 42, LongestEdge = 98 }, c.Size);
        Assert.False(c.DoImageSplitting);
        Assert.Equal(0.00392156862745098, c.RescaleFactor);
    }

    [Fact]
    public void Scalar_mean_is_repeated_per_channel()
    {
        var c = Idefics2ImageProcessorConfig.FromJson("""{"image_mean": 0.25, "image_std": [1, 2, 4], "size": {"height": 64, "width": 32}}""");
        Assert.Equal([0.25, 0.25, 0.25], c.ImageMean);
        Assert.Equal([1.0, 2.0, 4.0], c.ImageStd);
        Assert.Equal(new ImageSizeSpec { Height = 64, Width = 32 }, c.Size);
    }

    [Theory]
    [InlineData("""{"do_resize": "yes"}""", "'do_resize'", "\"yes\"")]
    [InlineData("""{"resample": 9}""", "'resample'", "9")]
    [InlineData("""{"image_mean": [0.5, 0.5]}""", "'image_mean'", "[0.5, 0.5]")]
    [InlineData("""{"image_std": [0.5, 0, 0.5]}""", "'image_std'", "0")]
    [InlineData("""{"size": {"longest_edge": -3, "shortest_edge": 2}}""", "'size.longest_edge'", "-3")]
    [InlineData("""{"size": {"longest_edge": 10}}""", "'size'", "longest_edge: 10")]
    [InlineData("""{"rescale_factor": "1/255"}""", "'rescale_factor'", "1/255")]
    public void Bad_fields_are_named_with_their_values(string json, string field, string value)
    {
        var e = Assert.Throws<InvalidDataException>(() => Idefics2ImageProcessorConfig.FromJson(json, "my/preprocessor_config.json"));
        Assert.Contains("my/preprocessor_config.json", e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void Invalid_json_names_the_file()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idefics2ImageProcessorConfig.FromJson("{", "x.json"));
        Assert.Contains("x.json", e.Message);
    }

    private static RasterImage Solid(int w, int h, byte v)
    {
        var im = new RasterImage(w, h, ImageMode.Rgb);
        Array.Fill(im.Pixels, v);
        return im;
    }

    [Fact]
    public void Missing_slots_and_empty_samples_are_zero_with_zero_masks()
    {
        var p = new Idefics2ImageProcessor(new Idefics2ImageProcessorConfig { Size = new() { ShortestEdge = 4, LongestEdge = 16 } });
        var batch = p.Preprocess([[Solid(8, 6, 255), Solid(4, 4, 0)], [], [Solid(10, 5, 51)]]);
        Assert.Equal([3, 2, 3, 6, 10], batch.PixelValuesShape);
        Assert.Equal([2, 0, 1], batch.RealImagesPerSample);
        // 255 -> (1.0 - 0.5) / 0.5 = 1; 0 -> -1; 51 -> (0.2 - 0.5) / 0.5 = -0.6 (float32).
        Assert.Equal(1f, batch.Image(0, 0)[0]);
        Assert.Equal(0f, batch.Image(0, 0)[9]);          // column 9 of row 0 is padding (image is 8 wide)
        Assert.Equal(-1f, batch.Image(0, 1)[0]);
        Assert.Equal((float)((float)(51 * (1.0 / 255)) - 0.5f) / 0.5f, batch.Image(2, 0)[0]);
        Assert.True(batch.Image(1, 0).ToArray().All(v => v == 0) && batch.Mask(1, 1).ToArray().All(m => m == 0));
        Assert.True(batch.Image(2, 1).ToArray().All(v => v == 0) && batch.Mask(2, 1).ToArray().All(m => m == 0));
        Assert.Equal(8 * 6, batch.Mask(0, 0).ToArray().Sum(m => m));
        Assert.Equal(10 * 5, batch.Mask(2, 0).ToArray().Sum(m => m));
    }

    [Fact]
    public void Splitting_gives_five_images_per_input_and_can_be_overridden_per_call()
    {
        var p = new Idefics2ImageProcessor(new Idefics2ImageProcessorConfig { DoImageSplitting = true, DoResize = false });
        Assert.Equal(5, p.Preprocess([[Solid(9, 7, 10)]]).ImagesPerSample);
        var single = p.Preprocess([[Solid(9, 7, 10)]], doImageSplitting: false);
        Assert.Equal(1, single.ImagesPerSample);
        Assert.Equal((7, 9), (single.Height, single.Width));
    }

    [Fact]
    public void Bad_processor_inputs_are_rejected()
    {
        var p = new Idefics2ImageProcessor();
        Assert.Throws<ArgumentException>(() => p.Preprocess([]));
        Assert.Throws<ArgumentException>(() => p.Preprocess([[]]));
        var noConvert = new Idefics2ImageProcessor(new Idefics2ImageProcessorConfig { DoConvertRgb = false });
        var e = Assert.Throws<ArgumentException>(() => noConvert.Preprocess([[new RasterImage(4, 4, ImageMode.L)]]));
        Assert.Contains("do_convert_rgb", e.Message);
        var split = Assert.Throws<ArgumentException>(() => p.Preprocess([[Solid(1, 5, 0)]], doImageSplitting: true));
        Assert.Contains("too small to split", split.Message);
        var noPad = new Idefics2ImageProcessor(new Idefics2ImageProcessorConfig { DoPad = false, DoResize = false });
        Assert.Throws<ArgumentException>(() => noPad.Preprocess([[Solid(4, 4, 0), Solid(5, 4, 0)]]));
        Assert.Equal(2, noPad.Preprocess([[Solid(4, 4, 0), Solid(4, 4, 0)]]).ImagesPerSample);
    }
}
