using SeeSharp.Testing;

namespace SeeSharp.Imaging.Tests;

/// <summary>
/// BILINEAR vs Pillow 9.4: every sub-image of every case of tests/fixtures/idefics2-image-processor, resized with
/// <see cref="PillowResize"/>, equals <c>resized_uint8_hwc.i</c> (where stored) and its exact row/column sums, bit-exact
/// (<see cref="Tolerances.ResizeUint8MaxAbsDiff"/> = 0). Covers downscale with antialias (x) + upscale (y), pure upscale,
/// and same-size copies. LANCZOS vs Pillow is in <see cref="LanczosIdefics3Tests"/>. BICUBIC, BOX, HAMMING and NEAREST
/// have no Pillow output in the fixtures: they are checked by properties (same size = identity, constant images stay
/// constant, mirror symmetry at exact scale factors, hand-computed NEAREST indices).
/// </summary>
public sealed class PillowResizeTests
{
    public static TheoryData<string> CaseNames() => ImagingFixtures.CaseNames();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Bilinear_matches_pillow_on_every_fixture_sub_image(string caseName)
    {
        var fixture = ImagingFixtures.Get(caseName);
        var tensors = fixture.Tensors();
        int index = 0;
        foreach (var sample in fixture.Images)
        {
            foreach (var file in sample)
            {
                var decoded = ImagingFixtures.LoadImage(file);
                var rgb = fixture.ViaLoadImage ? ImageOps.ToRgbDropAlpha(decoded) : ImageOps.ToRgbOnWhite(decoded);
                var parts = new List<RasterImage>();
                if (fixture.Split)
                {
                    int w = rgb.Width, h = rgb.Height, mw = w / 2, mh = h / 2;
                    parts.Add(ImageOps.Crop(rgb, 0, 0, mw, mh));
                    parts.Add(ImageOps.Crop(rgb, mw, 0, w, mh));
                    parts.Add(ImageOps.Crop(rgb, 0, mh, mw, h));
                    parts.Add(ImageOps.Crop(rgb, mw, mh, w, h));
                }
                parts.Add(rgb);
                foreach (var part in parts)
                {
                    var sub = fixture.SubImages[index];
                    Assert.Equal((sub.InH, sub.InW), (part.Height, part.Width));
                    var resized = PillowResize.Resize(part, sub.OutW, sub.OutH, ResampleFilter.Bilinear);
                    string name = $"resized_uint8_hwc.{index}";
                    if (tensors.Contains(name))
                        Assert.Equal((0, -1), ImagingFixtures.Diff(tensors.U8(name), resized.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
                    Assert.Equal(tensors.I64($"resized_uint8_row_sums.{index}"), ImagingFixtures.RowSums(resized));
                    Assert.Equal(tensors.I64($"resized_uint8_col_sums.{index}"), ImagingFixtures.ColSums(resized));
                    index++;
                }
            }
        }
        Assert.Equal(fixture.SubImages.Length, index);
    }

    public static TheoryData<ResampleFilter> AllFilters() =>
        new(Enum.GetValues<ResampleFilter>());

    [Theory]
    [MemberData(nameof(AllFilters))]
    public void Same_size_is_an_identity_copy(ResampleFilter filter)
    {
        var image = Noise(37, 23, ImageMode.Rgb, seed: 1);
        var resized = PillowResize.Resize(image, 37, 23, filter);
        Assert.NotSame(image.Pixels, resized.Pixels);
        Assert.Equal(image.Pixels, resized.Pixels);
    }

    [Theory]
    [MemberData(nameof(AllFilters))]
    public void Constant_image_stays_constant(ResampleFilter filter)
    {
        foreach (var (w, h) in new[] { (13, 7), (64, 3), (5, 50), (200, 120) })
        {
            var image = new RasterImage(40, 30, ImageMode.Rgb);
            for (int i = 0; i < image.Pixels.Length; i += 3) { image.Pixels[i] = 17; image.Pixels[i + 1] = 200; image.Pixels[i + 2] = 255; }
            var resized = PillowResize.Resize(image, w, h, filter);
            for (int i = 0; i < resized.Pixels.Length; i += 3)
                Assert.Equal((17, 200, 255), (resized.Pixels[i], resized.Pixels[i + 1], resized.Pixels[i + 2]));
        }
    }

    [Theory]
    [InlineData(ResampleFilter.Bicubic, 40, 20)]  // exact 2x downscale
    [InlineData(ResampleFilter.Bicubic, 160, 80)] // exact 2x upscale
    [InlineData(ResampleFilter.Lanczos, 40, 20)]
    [InlineData(ResampleFilter.Lanczos, 160, 80)]
    [InlineData(ResampleFilter.Bilinear, 20, 10)]
    [InlineData(ResampleFilter.Hamming, 40, 20)]
    [InlineData(ResampleFilter.Box, 20, 10)]
    public void Mirrored_input_gives_mirrored_output(ResampleFilter filter, int w, int h)
    {
        var image = Noise(80, 40, ImageMode.Rgb, seed: 7);
        var mirrored = ImageOps.ExifTranspose(image, 2); // flip left-right
        var a = PillowResize.Resize(image, w, h, filter);
        var b = PillowResize.Resize(mirrored, w, h, filter);
        Assert.Equal(ImageOps.ExifTranspose(a, 2).Pixels, b.Pixels);
    }

    [Fact]
    public void Filter_kernels_match_pillow_formulas_at_known_points()
    {
        Assert.Equal(1.0, PillowResize.BicubicKernel(0));
        Assert.Equal(0.0, PillowResize.BicubicKernel(1));
        Assert.Equal(-0.0625, PillowResize.BicubicKernel(1.5)); // ((1.5-5)*1.5+8)*1.5-4 = 0.125, * -0.5
        Assert.Equal(0.5625, PillowResize.BicubicKernel(0.5));  // (1.5*0.5-2.5)*0.25+1
        Assert.Equal(0.0, PillowResize.BicubicKernel(2));
        Assert.Equal(1.0, PillowResize.LanczosKernel(0));
        Assert.Equal(0.0, PillowResize.LanczosKernel(3));
        Assert.True(Math.Abs(PillowResize.LanczosKernel(1)) < 1e-15);
        Assert.Equal(0.5, PillowResize.BilinearKernel(-0.5));
        Assert.Equal(1.0, PillowResize.BoxKernel(0.5));
        Assert.Equal(0.0, PillowResize.BoxKernel(-0.5));
    }

    [Fact]
    public void Coefficients_are_22_bit_fixed_point_and_sum_to_one_within_rounding()
    {
        var co = PillowResize.Precompute(451, 0f, 451f, 378, PillowResize.LanczosKernel, 3.0);
        for (int i = 0; i < 378; i++)
        {
            long sum = 0;
            for (int k = 0; k < co.Count[i]; k++) sum += co.Taps[i * co.KSize + k];
            Assert.InRange(sum, (1 << 22) - co.KSize, (1 << 22) + co.KSize);
        }
    }

    [Theory]
    [InlineData(ResampleFilter.Bilinear)]
    [InlineData(ResampleFilter.Lanczos)]
    [InlineData(ResampleFilter.Bicubic)]
    public void Gray_and_opaque_rgba_paths_agree_with_the_pillow_verified_rgb_path(ResampleFilter filter)
    {
        // Pillow resamples every band with the same coefficients, so L (1 band) and RGBA with alpha 255 (premultiply
        // is the identity) must reproduce the RGB results that the fixtures verify.
        var gray = Noise(53, 41, ImageMode.L, seed: 11);
        var rgb = ImageOps.ToRgbDropAlpha(gray);
        var rgba = new RasterImage(53, 41, ImageMode.Rgba);
        for (int i = 0; i < 53 * 41; i++)
        {
            rgba.Pixels[i * 4] = rgb.Pixels[i * 3];
            rgba.Pixels[i * 4 + 1] = rgb.Pixels[i * 3 + 1];
            rgba.Pixels[i * 4 + 2] = rgb.Pixels[i * 3 + 2];
            rgba.Pixels[i * 4 + 3] = 255;
        }
        foreach (var (w, h) in new[] { (20, 70), (100, 17) })
        {
            var fromRgb = PillowResize.Resize(rgb, w, h, filter);
            Assert.Equal(fromRgb.Pixels, ImageOps.ToRgbDropAlpha(PillowResize.Resize(gray, w, h, filter)).Pixels);
            var fromRgba = PillowResize.Resize(rgba, w, h, filter);
            Assert.Equal(fromRgb.Pixels, ImageOps.ToRgbDropAlpha(fromRgba).Pixels);
            Assert.All(Enumerable.Range(0, w * h), i => Assert.Equal(255, fromRgba.Pixels[i * 4 + 3]));
        }
    }

    [Fact]
    public void Nearest_picks_pillow_source_indices()
    {
        // 5 -> 3: scale 5/3, centers at 0.5*5/3 + k*5/3 = 0.83, 2.5, 4.17 -> source columns 0, 2, 4.
        var image = new RasterImage(5, 1, ImageMode.L, [10, 20, 30, 40, 50]);
        Assert.Equal(new byte[] { 10, 30, 50 }, PillowResize.Resize(image, 3, 1, ResampleFilter.Nearest).Pixels);
        // 2 -> 4: centers 0.25, 0.75, 1.25, 1.75 -> 0, 0, 1, 1.
        var small = new RasterImage(2, 1, ImageMode.L, [1, 2]);
        Assert.Equal(new byte[] { 1, 1, 2, 2 }, PillowResize.Resize(small, 4, 1, ResampleFilter.Nearest).Pixels);
    }

    [Fact]
    public void Rgba_is_resized_premultiplied_so_transparent_color_does_not_bleed()
    {
        // Opaque red next to fully transparent green: premultiplied resampling keeps the visible color pure red.
        var image = new RasterImage(4, 1, ImageMode.Rgba, [255, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0]);
        var resized = PillowResize.Resize(image, 3, 1, ResampleFilter.Bilinear);
        for (int x = 0; x < 3; x++)
        {
            if (resized[x, 0, 3] is > 0 and < 255) Assert.Equal((255, 0), (resized[x, 0, 0], resized[x, 0, 1]));
        }
    }

    [Fact]
    public void Bad_sizes_are_rejected_with_the_values()
    {
        var image = Noise(4, 4, ImageMode.Rgb, seed: 3);
        var e = Assert.Throws<ArgumentException>(() => PillowResize.Resize(image, 0, 5, ResampleFilter.Bilinear));
        Assert.Contains("0x5", e.Message);
    }

    internal static RasterImage Noise(int w, int h, ImageMode mode, int seed)
    {
        var image = new RasterImage(w, h, mode);
        new Random(seed).NextBytes(image.Pixels);
        return image;
    }
}
