using SeeSharp.Testing;

namespace SeeSharp.Imaging.Tests;

/// <summary>
/// Decoder choice (SkiaSharp) pixel-parity test. Compares against Pillow's decode as captured in the golden
/// fixtures of tests/fixtures/idefics2-image-processor: where the processor does not resize (coffee 600x400, logo
/// 500x500, camera 512x512) its <c>resized_uint8_hwc</c> / row and column sums ARE Pillow's decoded pixels after the
/// RGB conversion. Tolerance: exact (<see cref="Tolerances.ResizeUint8MaxAbsDiff"/> = 0).
/// </summary>
public sealed class DecoderParityTests
{
    [Theory]
    [InlineData("chelsea.png", 451, 300, ImageMode.Rgb)]
    [InlineData("coffee.png", 600, 400, ImageMode.Rgb)]
    [InlineData("astronaut.png", 512, 512, ImageMode.Rgb)]
    [InlineData("logo.png", 500, 500, ImageMode.Rgba)]
    [InlineData("camera.png", 512, 512, ImageMode.L)]
    [InlineData("chelsea_coffee_wide.png", 1051, 400, ImageMode.Rgb)]
    public void Png_decodes_with_pillow_mode_and_size(string file, int width, int height, ImageMode mode)
    {
        var image = ImagingFixtures.LoadImage(file);
        Assert.Equal((width, height, mode), (image.Width, image.Height, image.Mode));
        Assert.Equal(ImagingFixtures.ImagePath(file), image.SourceName);
    }

    [Fact]
    public void Coffee_rgb_pixels_equal_pillow()
    {
        // batch_chelsea_coffee_nosplit sub-image 1 is coffee at its own size 400x600: no resize, a plain copy.
        var tensors = ImagingFixtures.Get("batch_chelsea_coffee_nosplit").Tensors();
        var image = ImagingFixtures.LoadImage("coffee.png");
        Assert.Equal(new long[] { 400, 600, 3 }, tensors.Shape("resized_uint8_hwc.1"));
        Assert.Equal((0, -1), ImagingFixtures.Diff(tensors.U8("resized_uint8_hwc.1"), image.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
    }

    [Fact]
    public void Logo_rgba_matches_pillow_composite_on_white()
    {
        var image = ImagingFixtures.LoadImage("logo.png");
        Assert.Equal(ImageMode.Rgba, image.Mode); // PNG color type 6 -> Pillow "RGBA", even though every alpha is 255
        var tensors = ImagingFixtures.Get("logo_rgba_nosplit").Tensors();
        var rgb = ImageOps.ToRgbOnWhite(image);
        Assert.Equal((0, -1), ImagingFixtures.Diff(tensors.U8("resized_uint8_hwc.0"), rgb.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
    }

    [Fact]
    public void Logo_convert_rgb_drops_alpha_like_load_image()
    {
        var tensors = ImagingFixtures.Get("logo_rgba_via_load_image").Tensors();
        var rgb = ImageOps.ToRgbDropAlpha(ImagingFixtures.LoadImage("logo.png"));
        Assert.Equal(tensors.I64("resized_uint8_row_sums.0"), ImagingFixtures.RowSums(rgb));
        Assert.Equal(tensors.I64("resized_uint8_col_sums.0"), ImagingFixtures.ColSums(rgb));
    }

    [Fact]
    public void Camera_gray_decodes_as_L_and_matches_pillow()
    {
        var image = ImagingFixtures.LoadImage("camera.png");
        Assert.Equal(ImageMode.L, image.Mode);
        var tensors = ImagingFixtures.Get("camera_gray_nosplit").Tensors();
        var rgb = ImageOps.ToRgbOnWhite(image);
        Assert.Equal(tensors.I64("resized_uint8_row_sums.0"), ImagingFixtures.RowSums(rgb));
        Assert.Equal(tensors.I64("resized_uint8_col_sums.0"), ImagingFixtures.ColSums(rgb));
    }
}
