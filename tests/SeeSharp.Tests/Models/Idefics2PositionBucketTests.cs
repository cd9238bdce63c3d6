using System.Text.Json;
using SeeSharp.Models.Idefics2;
using SeeSharp.Models.Shared;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Compares: Idefics2VisionEmbeddings' bucketed position ids with tests/fixtures/idefics2-vision-position-ids/
// position_buckets.json (transformers 4.45.2 on torch 1.13.1 CPU), exactly: the fp32 boundaries bit for bit and the
// bucket of every patch row for every patch count, in both the real (980/14) and the tiny (98/14) geometry.
public sealed class Idefics2PositionBucketTests
{
    public static TheoryData<string> Geometries => new("image_size_980_patch_14", "image_size_98_patch_14");

    [Theory]
    [MemberData(nameof(Geometries))]
    public void BucketsMatchTorchForEveryPatchCount(string geometry)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("idefics2-vision-position-ids", "position_buckets.json")));
        var g = doc.RootElement.GetProperty(geometry);
        var side = g.GetProperty("num_patches_per_side").GetInt32();

        var boundaries = NaViTVisionEmbeddings.Boundaries(side);
        var expectedBoundaries = g.GetProperty("boundaries_float32").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        Assert.Equal(expectedBoundaries.Length, boundaries.Length);
        for (var i = 0; i < boundaries.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expectedBoundaries[i]) == BitConverter.SingleToInt32Bits(boundaries[i]),
                $"boundary {i}: {boundaries[i]:R} vs torch {expectedBoundaries[i]:R}");

        var checkedCounts = 0;
        foreach (var entry in g.GetProperty("bucket_coords_by_nb_patches").EnumerateObject())
        {
            var nb = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
            var expected = entry.Value.EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, NaViTVisionEmbeddings.BucketCoordinates(nb, boundaries));
            checkedCounts++;
        }
        Assert.Equal(side, checkedCounts); // nb = 1 .. side
    }

    [Fact]
    public void PositionIdsFillTheKeptRectangleAndZeroElsewhere()
    {
        // 4 x 7 patch grid of the tiny geometry where only the top-left 3 x 5 patches are real:
        // id = bucket_h(3)[r] * 7 + bucket_w(5)[c] at kept patches (row-major), 0 elsewhere.
        var boundaries = NaViTVisionEmbeddings.Boundaries(7);
        var mask = new bool[4 * 7];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 5; c++) mask[r * 7 + c] = true;
        var ids = new long[4 * 7];
        NaViTVisionEmbeddings.PositionIds(mask, 4, 7, 7, boundaries, ids);
        int[] bh = [0, 2, 4], bw = [0, 1, 2, 4, 5]; // position_buckets.json, nb 3 and 5
        for (var r = 0; r < 4; r++)
            for (var c = 0; c < 7; c++)
                Assert.Equal(r < 3 && c < 5 ? bh[r] * 7 + bw[c] : 0, ids[r * 7 + c]);

        mask[6] = true; // not a rectangle any more
        var e = Assert.Throws<InvalidOperationException>(() => NaViTVisionEmbeddings.PositionIds(mask, 4, 7, 7, boundaries, ids));
        Assert.Contains("rectangle", e.Message);
    }
}
