using SeeSharp.Testing;

namespace SeeSharp.Imaging.Tests;

/// <summary>
/// LANCZOS vs Pillow 9.4, through the golden pixel values of tests/fixtures/idefics3-tiny (whose processor resizes with
/// LANCZOS only): <c>pixel_values = float32(float32(u8 * (1/255)) - 0.5) / 0.5</c> is one-to-one in u8, so the
/// float32 values give back Pillow's uint8 pixels exactly. single_img_nosplit: astronaut 512x512 → 224x224 → 56x56.
/// chat_2img_split: chelsea 451x300 → 224x150 → 224x168 (upscale in y) → 3 x 4 tiles of 56 + global 56x56.
/// Tolerance: exact (<see cref="Tolerances.ResizeUint8MaxAbsDiff"/>).
/// </summary>
public sealed class LanczosIdefics3Tests
{
    /// <summary>uint8 [H, W, 3] from one [3, H, W] image of the float32 pixel values.</summary>
    private static byte[] ToUint8(float[] values, int offset, int h, int w)
    {
        var lookup = new Dictionary<int, byte>();
        for (int v = 0; v < 256; v++)
            lookup[BitConverter.SingleToInt32Bits(ImageTensor.Value((byte)v, 1.0 / 255, 0.5f, 0.5f))] = (byte)v;
        var result = new byte[h * w * 3];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < h * w; i++)
                result[i * 3 + c] = lookup[BitConverter.SingleToInt32Bits(values[offset + c * h * w + i])];
        return result;
    }

    private static float[] PixelValues(string caseName) =>
        TestSafetensors.Open(Fixtures.Path("idefics3-tiny", "cases", caseName, "inputs.safetensors")).F32("pixel_values");

    [Fact]
    public void Astronaut_two_lanczos_downscales_match_pillow()
    {
        var image = ImagingFixtures.LoadImage("astronaut.png");
        var r = PillowResize.Resize(PillowResize.Resize(image, 224, 224, ResampleFilter.Lanczos), 56, 56, ResampleFilter.Lanczos);
        var expected = ToUint8(PixelValues("single_img_nosplit"), 0, 56, 56);
        Assert.Equal((0, -1), ImagingFixtures.Diff(expected, r.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
    }

    [Fact]
    public void Chelsea_lanczos_up_and_down_scales_and_tiles_match_pillow()
    {
        var image = ImagingFixtures.LoadImage("chelsea.png");
        var resized = PillowResize.Resize(image, 224, 150, ResampleFilter.Lanczos);
        var grid = PillowResize.Resize(resized, 224, 168, ResampleFilter.Lanczos);
        var values = PixelValues("chat_2img_split"); // [1, 26, 3, 56, 56]; chelsea is slots 0..12
        int slot = 0;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++, slot++)
            {
                var tile = ImageOps.Crop(grid, c * 56, r * 56, c * 56 + 56, r * 56 + 56);
                Assert.Equal((0, -1), ImagingFixtures.Diff(ToUint8(values, slot * 3 * 56 * 56, 56, 56), tile.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
            }
        var global = PillowResize.Resize(grid, 56, 56, ResampleFilter.Lanczos);
        Assert.Equal((0, -1), ImagingFixtures.Diff(ToUint8(values, slot * 3 * 56 * 56, 56, 56), global.Pixels, Tolerances.ResizeUint8MaxAbsDiff));
    }
}
