namespace SeeSharp.Imaging.Tests;

/// <summary>
/// Mode conversion, alpha compositing, EXIF transpose and crop against hand-computed values of Pillow's integer
/// formulas (AlphaComposite.c, Convert.c) and of PIL.ImageOps.exif_transpose's transpose methods. Tolerance: exact.
/// </summary>
public sealed class ImageOpsTests
{
    // 3x2 L image:  1 2 3
    //               4 5 6
    private static RasterImage Grid() => new(3, 2, ImageMode.L, [1, 2, 3, 4, 5, 6]);

    [Theory]
    [InlineData(1, 3, 2, new byte[] { 1, 2, 3, 4, 5, 6 })]
    [InlineData(2, 3, 2, new byte[] { 3, 2, 1, 6, 5, 4 })]  // FLIP_LEFT_RIGHT
    [InlineData(3, 3, 2, new byte[] { 6, 5, 4, 3, 2, 1 })]  // ROTATE_180
    [InlineData(4, 3, 2, new byte[] { 4, 5, 6, 1, 2, 3 })]  // FLIP_TOP_BOTTOM
    [InlineData(5, 2, 3, new byte[] { 1, 4, 2, 5, 3, 6 })]  // TRANSPOSE
    [InlineData(6, 2, 3, new byte[] { 4, 1, 5, 2, 6, 3 })]  // ROTATE_270 = 90 degrees clockwise
    [InlineData(7, 2, 3, new byte[] { 6, 3, 5, 2, 4, 1 })]  // TRANSVERSE
    [InlineData(8, 2, 3, new byte[] { 3, 6, 2, 5, 1, 4 })]  // ROTATE_90 = 90 degrees counter-clockwise
    public void Exif_transpose_matches_pillow_methods(int orientation, int w, int h, byte[] expected)
    {
        var result = ImageOps.ExifTranspose(Grid(), orientation);
        Assert.Equal((w, h), (result.Width, result.Height));
        Assert.Equal(expected, result.Pixels);
    }

    [Fact]
    public void Composite_on_white_uses_pillow_integer_rounding()
    {
        // Pillow: coef1 = a*255*255*128 / (255*255) = a*128, out = SHIFTFORDIV255(v*coef1 + 255*coef2 + 0x80<<7) >> 7.
        // (100, alpha 128): 100*16384 + 255*16256 + 16384 = 5_799_664 -> ((x>>8)+x)>>8 = 22741 -> >>7 = 177.
        Assert.Equal(177, ImageOps.CompositeOverWhite(100, 128));
        Assert.Equal(100, ImageOps.CompositeOverWhite(100, 255));
        Assert.Equal(254, ImageOps.CompositeOverWhite(0, 1)); // 0*128 + 255*32512 + 16384 -> 254
        var rgba = new RasterImage(2, 1, ImageMode.Rgba, [100, 0, 255, 128, 9, 9, 9, 0]);
        Assert.Equal(new byte[] { 177, 127, 255, 255, 255, 255 }, ImageOps.ToRgbOnWhite(rgba).Pixels);
        Assert.Equal(new byte[] { 100, 0, 255, 9, 9, 9 }, ImageOps.ToRgbDropAlpha(rgba).Pixels);
    }

    [Fact]
    public void Gray_modes_replicate_to_rgb()
    {
        var la = new RasterImage(1, 1, ImageMode.LA, [100, 128]);
        Assert.Equal(new byte[] { 100, 100, 100 }, ImageOps.ToRgbDropAlpha(la).Pixels);
        Assert.Equal(new byte[] { 177, 177, 177 }, ImageOps.ToRgbOnWhite(la).Pixels);
        Assert.Equal(new byte[] { 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6 }, ImageOps.ToRgbOnWhite(Grid()).Pixels);
    }

    [Fact]
    public void Premultiply_round_trip_follows_pillow_formulas()
    {
        // RGBA -> RGBa: MULDIV255(200, 128) = (200*128+128 = 25728; (25728>>8)+25728 = 25828; >>8) = 100.
        // RGBa -> RGBA: 255*100/128 = 199 (integer division): Pillow's round trip loses one here.
        var image = new RasterImage(1, 1, ImageMode.Rgba, [200, 0, 255, 128]);
        var pre = ImageOps.Premultiply(image);
        Assert.Equal(new byte[] { 100, 0, 128, 128 }, pre);
        ImageOps.Unpremultiply(pre, 4);
        Assert.Equal(new byte[] { 199, 0, 255, 128 }, pre);
    }

    [Fact]
    public void Crop_takes_numpy_slices_and_rejects_bad_boxes()
    {
        Assert.Equal(new byte[] { 2, 3, 5, 6 }, ImageOps.Crop(Grid(), 1, 0, 3, 2).Pixels);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ImageOps.Crop(Grid(), 0, 0, 4, 2));
        Assert.Contains("(0, 0, 4, 2)", e.Message);
    }

    [Fact]
    public void Pad_keeps_the_image_top_left()
    {
        var padded = ImageOps.PadBottomRight(Grid(), 4, 3);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0 }, padded.Pixels);
        Assert.Equal(9, ImageOps.PadBottomRight(Grid(), 3, 3, value: 9).Pixels[8]);
        Assert.Throws<ArgumentException>(() => ImageOps.PadBottomRight(Grid(), 2, 3));
    }
}
