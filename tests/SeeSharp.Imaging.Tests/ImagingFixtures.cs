using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Imaging.Tests;

/// <summary>Reads tests/fixtures/idefics2-image-processor/cases.json and the input photos.</summary>
internal static class ImagingFixtures
{
    public static string ImagePath(string name) => Fixtures.Path("images", name);

    public static RasterImage LoadImage(string name) => ImageDecoder.Load(ImagePath(name));

    public sealed record SubImage(int Index, int InH, int InW, int OutH, int OutW);

    public sealed record Case(string Name, bool Split, bool ViaLoadImage, string[][] Images, SubImage[] SubImages, int[] PixelValuesShape)
    {
        public TestSafetensors Tensors() => TestSafetensors.Open(Fixtures.Path("idefics2-image-processor", Name + ".safetensors"));
    }

    public static IReadOnlyList<Case> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("idefics2-image-processor", "cases.json")));
        var result = new List<Case>();
        foreach (var c in doc.RootElement.EnumerateObject())
        {
            var v = c.Value;
            var images = v.GetProperty("input_images").EnumerateArray()
                .Select(s => s.EnumerateArray().Select(i => i.GetString()!.Split(' ')[0]).ToArray()).ToArray();
            var subs = v.GetProperty("sub_images_in_order").EnumerateArray().Select(s => new SubImage(
                s.GetProperty("index").GetInt32(),
                s.GetProperty("input_hw")[0].GetInt32(), s.GetProperty("input_hw")[1].GetInt32(),
                s.GetProperty("resized_hw")[0].GetInt32(), s.GetProperty("resized_hw")[1].GetInt32())).ToArray();
            var shape = v.GetProperty("pixel_values_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            result.Add(new Case(c.Name, v.GetProperty("do_image_splitting").GetBoolean(),
                v.GetProperty("via_processor_load_image").GetBoolean(), images, subs, shape));
        }
        return result;
    }

    public static Case Get(string name) => Cases().Single(c => c.Name == name);

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases()) data.Add(c.Name);
        return data;
    }

    /// <summary>Per channel, the sum over each row: [3, H].</summary>
    public static long[] RowSums(RasterImage im)
    {
        var sums = new long[3 * im.Height];
        for (int y = 0; y < im.Height; y++)
            for (int x = 0; x < im.Width; x++)
                for (int c = 0; c < 3; c++) sums[c * im.Height + y] += im[x, y, c];
        return sums;
    }

    /// <summary>Per channel, the sum over each column: [3, W].</summary>
    public static long[] ColSums(RasterImage im)
    {
        var sums = new long[3 * im.Width];
        for (int y = 0; y < im.Height; y++)
            for (int x = 0; x < im.Width; x++)
                for (int c = 0; c < 3; c++) sums[c * im.Width + x] += im[x, y, c];
        return sums;
    }

    /// <summary>Count of bytes that differ by more than <paramref name="tolerance"/>, and the first such index.</summary>
    public static (int Count, int First) Diff(byte[] expected, byte[] actual, int tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        int count = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(expected[i] - actual[i]) > tolerance)
            {
                if (count++ == 0) first = i;
            }
        }
        return (count, first);
    }
}
