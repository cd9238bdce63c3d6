// Compares: storage/tensor properties (alignment, zeroing, views are zero-copy, dtype conversions) against
// exact expected values computed by hand.
using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests;

public sealed unsafe class StorageTests
{
    [Fact]
    public void MappedTensorsAreViewsIntoTheMapping()
    {
        using var f = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "model", "model.safetensors"));
        foreach (var name in f.Names)
        {
            var t = f.Get(name);
            Assert.IsType<MappedStorage>(t.Storage);
            byte* start = t.Storage.Pointer, end = start + t.Storage.Length;
            Assert.True(t.Pointer >= start && t.Pointer + t.ByteLength <= end, name);
            fixed (float* s = t.AsSpan<float>())
                Assert.True(s == (float*)t.Pointer, name);               // the span is the mapping, not a copy
        }
        // Two views of one tensor share their bytes.
        Assert.True(f.Get("lm_head.weight").Pointer == f.Get("lm_head.weight").Pointer);
    }

    [Fact]
    public void AllocateIsZeroedAndAligned()
    {
        foreach (long n in new long[] { 0, 1, 3, 17, 1000, 123457 })
        {
            var t = Tensor.Allocate(DType.F32, n);
            Assert.Equal(0, (long)t.Pointer % NativeStorage.Alignment);
            Assert.All(t.AsSpan<float>().ToArray(), v => Assert.Equal(0f, v));
            Assert.Equal(n, t.ElementCount);
        }
    }

    [Fact]
    public void FromArrayCopiesAndChecks()
    {
        var src = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        var t = Tensor.FromArray(src, 2, 3);
        src[0] = 99;
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], t.ToFloatArray());
        Assert.Equal([2L, 3L], t.Shape);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(src, 4, 2));
        Assert.Throws<ArgumentException>(() => Tensor.Allocate(DType.F32, 2, -1));
        Assert.Throws<ArgumentException>(() => Tensor.Allocate(DType.F32, long.MaxValue, 4));
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<double>());
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new ushort[] { 1 }, 1)); // F16 or BF16? ambiguous
        var row1 = t.Select(1);                                         // [2, 3] -> row 1 = [4, 5, 6], a view
        Assert.Equal([3L], row1.Shape);
        Assert.Equal([4f, 5f, 6f], row1.ToFloatArray());
        Assert.True(row1.Pointer == t.Pointer + 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Select(2));
        var r = t.Reshape(3, 2);
        Assert.True(r.Pointer == t.Pointer);
        Assert.Throws<ArgumentException>(() => t.Reshape(4));
    }

    [Fact]
    public void ConversionsToFloatAndInt64()
    {
        Assert.Equal([1f, 0f, 1f], Tensor.FromArray(new[] { true, false, true }, 3).ToFloatArray());
        Assert.Equal([-1f, 255f], Tensor.FromArray(DType.I16, new short[] { -1, 255 }, 2).ToFloatArray());
        Assert.Equal([0.5f, -0.25f], Tensor.FromArray(new[] { 0.5, -0.25 }, 2).ToFloatArray());
        // bf16 0x3FC0 = 1.5, 0xC040 = -3; f16 0x3C00 = 1, 0xC000 = -2
        Assert.Equal([1.5f, -3f], Tensor.FromArray(DType.BF16, new ushort[] { 0x3FC0, 0xC040 }, 2).ToFloatArray());
        Assert.Equal([1f, -2f], Tensor.FromArray(DType.F16, new ushort[] { 0x3C00, 0xC000 }, 2).ToFloatArray());
        Assert.Equal([200L, 7L], Tensor.FromArray(new byte[] { 200, 7 }, 2).ToInt64Array());
        Assert.Equal([-5L, 1L << 40], Tensor.FromArray(new[] { -5L, 1L << 40 }, 2).ToInt64Array());
        Assert.Throws<InvalidOperationException>(() => Tensor.FromArray(new[] { 1f }, 1).ToInt64Array());
    }

    [Fact]
    public void BF16RoundingIsNearestEven()
    {
        Assert.Equal(0x3F80, DTypes.SingleToBF16(1f));
        Assert.Equal(0x3F80, DTypes.SingleToBF16(BitConverter.Int32BitsToSingle(0x3F808000)));   // tie -> even
        Assert.Equal(0x3F82, DTypes.SingleToBF16(BitConverter.Int32BitsToSingle(0x3F818000)));   // tie -> even (up)
        Assert.Equal(0x3F81, DTypes.SingleToBF16(BitConverter.Int32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(DTypes.BF16ToSingle(DTypes.SingleToBF16(float.NaN))));
    }

    [Fact]
    public void DTypeNames()
    {
        foreach (var t in Enum.GetValues<DType>())
            Assert.Equal(t, DTypes.FromSafetensors(DTypes.ToSafetensors(t)));
        var ex = Assert.Throws<FormatException>(() => DTypes.FromSafetensors("F8_E5M2"));
        Assert.Contains("F8_E5M2", ex.Message);
        Assert.Equal(2, DTypes.SizeOf(DType.BF16));
        Assert.Equal(1, DTypes.SizeOf(DType.Bool));
    }
}
