// Compares: every Ops kernel (SIMD + threads) against its scalar twin in Reference over awkward sizes, seeded
// random inputs. Bounds: Tolerances.KernelNmse and KernelMaxAbsRelative for reductions, ElementwiseRelative /
// ElementwiseAbsolute per element for element-wise ops. test.sh reruns this category with AVX-512 and then all
// hardware intrinsics disabled, so the Vector256/Vector128 and scalar paths are held to the same bounds.
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests;

[Trait("Category", "Kernels")]
public sealed class KernelTests
{
    private static readonly int[] Awkward = [1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 257];
    private static readonly int[] Ms = [1, 2, 5, 7, 13];

    private static float[] Rand(Random r, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1) * scale;
        return a;
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length <= actual.Length, what);
        double num = 0, den = 0, maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            Assert.False(double.IsNaN(d) && !float.IsNaN(expected[i]), $"{what}: NaN at {i}");
            num += d * d;
            den += (double)expected[i] * expected[i];
            maxDiff = Math.Max(maxDiff, Math.Abs(d));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        if (expected.Length == 0 || maxRef == 0) { Assert.True(maxDiff <= 1e-30, $"{what}: expected zeros, max diff {maxDiff}"); return; }
        Assert.True(num / den <= Tolerances.KernelNmse, $"{what}: nmse {num / den:E3} > {Tolerances.KernelNmse:E1}");
        Assert.True(maxDiff / maxRef <= Tolerances.KernelMaxAbsRelative, $"{what}: max diff {maxDiff:E3} vs max |ref| {maxRef:E3}");
    }

    private static void AssertElementwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(d <= Tolerances.ElementwiseAbsolute + Tolerances.ElementwiseRelative * Math.Abs(expected[i]),
                $"{what}: [{i}] ref {expected[i]:R} fast {actual[i]:R}");
        }
    }

    internal static Tensor Weight(DType dt, float[] w, int rows, int cols) => dt switch
    {
        DType.F32 => Tensor.FromArray(w, rows, cols),
        DType.BF16 => Tensor.FromArray(DType.BF16, w.Select(DTypes.SingleToBF16).ToArray(), rows, cols),
        _ => Tensor.FromArray(DType.F16, w.Select(DTypes.SingleToF16).ToArray(), rows, cols),
    };

    private static void LinearCase(Random r, DType dt, int m, int k, int rows, bool bias)
    {
        var w = new WeightMatrix(Weight(dt, Rand(r, rows * k), rows, k));
        var x = Rand(r, m * k);
        var b = bias ? Rand(r, rows) : [];
        var yRef = new float[m * rows];
        var y = new float[m * rows + 3];
        y.AsSpan().Fill(float.NaN);
        Reference.Linear(x, m, w, b, yRef);
        Ops.Linear(x, m, w, b, y);
        AssertClose(yRef, y, $"Linear {dt} m {m} k {k} rows {rows} bias {bias}");
        Assert.True(y.AsSpan(m * rows).ToArray().All(float.IsNaN), "Linear wrote past y[m, rows]");
        // Both algorithms on every shape, whichever one Ops picks for it.
        foreach (var path in new[] { Gemm.Path.Gemv, Gemm.Path.Gemm })
        {
            y.AsSpan().Fill(float.NaN);
            Gemm.Linear(x, m, w, b, y, path);
            AssertClose(yRef, y, $"Linear ({path}) {dt} m {m} k {k} rows {rows} bias {bias}");
            Assert.True(y.AsSpan(m * rows).ToArray().All(float.IsNaN), $"Linear ({path}) wrote past y[m, rows]");
        }
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void LinearAwkwardSizes(DType dt)
    {
        var r = new Random(1234 + (int)dt);
        for (int ki = 0; ki < Awkward.Length; ki++)
            for (int ri = 0; ri < Awkward.Length; ri++)
                LinearCase(r, dt, Ms[(ki + ri) % Ms.Length], Awkward[ki], Awkward[ri], (ki + ri) % 2 == 0);
        foreach (int m in Ms) LinearCase(r, dt, m, 64, 65, true);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void LinearLargerThanOneBlock(DType dt)
    {
        // Shapes that cross the GEMM's cache blocks (k > KC, rows > NC, m > MC) and its 6 x 64 micro-tile edges.
        var r = new Random(99 + (int)dt);
        LinearCase(r, dt, 70, 600, 200, true);
        LinearCase(r, dt, 1, 1100, 300, false);
        LinearCase(r, dt, 13, 257, 1030, false);
        LinearCase(r, dt, 3, 4, 2, true);
        LinearCase(r, dt, 0, 5, 3, true);
    }

    [Fact]
    public void NormsOverSizes()
    {
        var r = new Random(7);
        for (int dim = 1; dim <= 257; dim += dim < 70 ? 1 : 17)
        {
            int rows = 1 + dim % 3;
            var x = Rand(r, rows * dim, 3f);
            for (int i = 0; i < x.Length; i++) x[i] += 0.5f;   // a non-zero mean
            var g = Rand(r, dim);
            var b = Rand(r, dim);
            var a = new float[x.Length];
            var e = new float[x.Length];
            Reference.LayerNorm(x, e, dim, g, b, 1e-6f);
            Ops.LayerNorm(x, a, dim, g, b, 1e-6f);
            AssertClose(e, a, $"LayerNorm dim {dim}");
            Reference.RmsNorm(x, e, dim, g, 1e-5f);
            Ops.RmsNorm(x, a, dim, g, 1e-5f);
            AssertClose(e, a, $"RmsNorm dim {dim}");
        }
        var y = new float[4];
        Ops.LayerNorm([5, 5, 5, 5], y, 4, [], [], 1e-6f);         // constant row: 0, never NaN
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ElementwiseOverSizes()
    {
        var r = new Random(11);
        for (int n = 0; n <= 257; n++)
        {
            var x = Rand(r, n, 6f);
            var u = Rand(r, n, 2f);
            var e = new float[n];
            var a = new float[n];
            Reference.GeluTanh(x, e); Ops.GeluTanh(x, a); AssertElementwise(e, a, $"GeluTanh n {n}");
            Reference.Silu(x, e); Ops.Silu(x, a); AssertElementwise(e, a, $"Silu n {n}");
            Reference.SiluMul(x, u, e); Ops.SiluMul(x, u, a); AssertElementwise(e, a, $"SiluMul n {n}");
            Reference.Add(x, u, e); Ops.Add(x, u, a); AssertElementwise(e, a, $"Add n {n}");
            var s1 = (float[])x.Clone();
            var s2 = (float[])x.Clone();
            Reference.Softmax(s1); Ops.Softmax(s2); AssertElementwise(s1, s2, $"Softmax n {n}");
        }
        // Extremes: large |x| saturates without NaN/inf.
        float[] big = [-100f, -30f, -10f, 10f, 30f, 100f, 0f, -0f];
        var eb = new float[big.Length];
        var ab = new float[big.Length];
        Reference.GeluTanh(big, eb); Ops.GeluTanh(big, ab); AssertElementwise(eb, ab, "GeluTanh extremes");
        Reference.Silu(big, eb); Ops.Silu(big, ab); AssertElementwise(eb, ab, "Silu extremes");
        float[] masked = [float.MinValue, 1f, float.MinValue, 2f];
        var m1 = (float[])masked.Clone();
        Reference.Softmax(m1); Ops.Softmax(masked); AssertElementwise(m1, masked, "Softmax masked");
    }

    [Fact]
    public void RopeOverShapes()
    {
        var r = new Random(5);
        foreach (var (tokens, heads, hd) in new[] { (1, 1, 2), (3, 2, 16), (7, 4, 64), (5, 3, 128), (2, 1, 34), (9, 2, 6), (0, 2, 8) })
        {
            var x = Rand(r, tokens * heads * hd);
            var pos = Enumerable.Range(0, tokens).Select(t => (long)(t * 37 % 1000)).ToArray();
            var e = (float[])x.Clone();
            Reference.Rope(e, tokens, heads, hd, pos, 10000f);
            Ops.Rope(x, tokens, heads, hd, pos, 10000f);
            AssertElementwise(e, x, $"Rope {tokens}x{heads}x{hd}");
        }
    }

    [Fact]
    public void AttentionOverShapes()
    {
        var r = new Random(3);
        foreach (var (qLen, kvLen, nH, nKv, hd, masked) in new[]
        {
            (1, 1, 1, 1, 1, false), (1, 17, 4, 2, 16, false), (7, 7, 4, 4, 8, true), (13, 13, 4, 2, 16, true),
            (5, 33, 8, 1, 64, true), (3, 65, 2, 2, 33, false), (49, 49, 4, 4, 8, false), (8, 49, 4, 2, 8, true),
            (1, 257, 4, 2, 128, false), (0, 3, 2, 1, 4, false),
            // the blocked path (qLen >= 8, kvLen >= 32): several 64-query blocks, GQA, masks, odd head dims
            (9, 33, 4, 2, 8, true), (70, 70, 4, 2, 16, true), (130, 40, 2, 1, 72, false), (65, 257, 3, 3, 7, true),
            (300, 40, 2, 1, 16, true),   // more than one 256-query block
        })
        {
            var q = Rand(r, qLen * nH * hd, 2f);
            var k = Rand(r, kvLen * nKv * hd, 2f);
            var v = Rand(r, kvLen * nKv * hd);
            float[] mask = [];
            if (masked)
            {
                mask = new float[qLen * kvLen];
                int offset = kvLen - qLen;
                for (int i = 0; i < qLen; i++)
                    for (int j = 0; j < kvLen; j++)
                        mask[i * kvLen + j] = j > i + offset || (i == 0 && qLen > 1) ? float.MinValue : 0f;   // causal, row 0 fully masked
            }
            var e = new float[q.Length];
            var a = new float[q.Length];
            float scale = 1f / MathF.Sqrt(hd);
            Reference.Attention(q, k, v, e, qLen, kvLen, nH, nKv, hd, scale, mask);
            Ops.Attention(q, k, v, a, qLen, kvLen, nH, nKv, hd, scale, mask);
            AssertClose(e, a, $"Attention q {qLen} kv {kvLen} heads {nH}/{nKv} hd {hd} masked {masked}");
        }
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void EmbeddingOverShapes(DType dt)
    {
        var r = new Random(8);
        foreach (int cols in new[] { 1, 7, 16, 17, 64, 65, 257 })
        {
            var table = new WeightMatrix(Weight(dt, Rand(r, 11 * cols), 11, cols));
            long[] ids = [0, 10, 3, 3, 7];
            var e = new float[ids.Length * cols];
            var a = new float[ids.Length * cols];
            Reference.Embedding(table, ids, e);
            Ops.Embedding(table, ids, a);
            Assert.Equal(e, a);   // a conversion, exact
        }
    }

    [Fact]
    public void HalfBitsToSingleIsExactForEveryHalf()
    {
        // Every one of the 65536 half bit patterns through the vector widening of the F16 GEMV, against the
        // runtime's (Half -> float) conversion: exact (NaN payloads compared as NaN).
        var bits = Enumerable.Range(0, 65536).Select(i => (uint)i).ToArray();
        for (int i = 0; i < bits.Length; i += 16)
        {
            var v512 = System.Runtime.Intrinsics.Vector512.Create(bits.AsSpan(i, 16));
            var r512 = Gemm.HalfToSingle(v512);
            var v256 = System.Runtime.Intrinsics.Vector256.Create(bits.AsSpan(i, 8));
            var r256 = Gemm.HalfToSingle(v256);
            for (int j = 0; j < 16; j++)
            {
                float expected = DTypes.F16ToSingle((ushort)bits[i + j]);
                float got = r512[j];
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got) || (float.IsNaN(expected) && float.IsNaN(got)),
                    $"half 0x{bits[i + j]:X4}: {expected} vs {got}");
                if (j < 8)
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(r256[j]) || (float.IsNaN(expected) && float.IsNaN(r256[j])),
                        $"half 0x{bits[i + j]:X4} (256): {expected} vs {r256[j]}");
            }
        }
    }

    [Fact]
    public void WorkerPoolVisitsEveryIndexOnce()
    {
        var pool = WorkerPool.Default;
        foreach (int n in new[] { 0, 1, 2, 3, 17, 1000 })
        {
            var hits = new int[n];
            pool.For(n, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        // Nested loops run inline instead of deadlocking.
        var nested = new int[4 * 5];
        pool.For(4, i => pool.For(5, j => Interlocked.Increment(ref nested[i * 5 + j])));
        Assert.All(nested, h => Assert.Equal(1, h));
        // A body's exception reaches the caller, and the pool still works afterwards.
        var ex = Assert.Throws<InvalidOperationException>(() => pool.For(8, i => { if (i == 5) throw new InvalidOperationException("boom"); }));
        Assert.Equal("boom", ex.Message);
        int count = 0;
        pool.For(10, _ => Interlocked.Increment(ref count));
        Assert.Equal(10, count);
    }

    [Fact]
    public void WorkerPoolSurvivesManyBackToBackLoops()
    {
        // More threads than cores, thousands of tiny loops: every item runs exactly once per loop, and a
        // loop never returns before its items are done.
        var pool = new WorkerPool(4);
        var hits = new int[13];
        for (int round = 1; round <= 3000; round++)
        {
            int n = 2 + round % 12;
            pool.For(n, i => Interlocked.Increment(ref hits[i]));
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(1, hits[i]);
                hits[i] = 0;
            }
        }
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        var w = new WeightMatrix(Tensor.Allocate(DType.F32, 3, 4));
        var ex = Assert.Throws<ArgumentException>(() => Ops.Linear(new float[7], 2, w, [], new float[6]));
        Assert.Contains("Linear", ex.Message);
        Assert.Throws<ArgumentException>(() => Ops.Linear(new float[8], 2, w, new float[2], new float[6]));
        Assert.Throws<ArgumentException>(() => Ops.Linear(new float[8], 2, w, [], new float[5]));
        Assert.Throws<ArgumentException>(() => Ops.RmsNorm(new float[7], new float[7], 4, [], 1e-5f));
        Assert.Throws<ArgumentException>(() => Ops.Attention(new float[8], new float[4], new float[4], new float[8], 1, 1, 4, 3, 2, 1f, []));
        Assert.Throws<ArgumentException>(() => Ops.Rope(new float[6], 1, 1, 6, [0, 1], 1e4f));
        Assert.Throws<ArgumentException>(() => new WeightMatrix(Tensor.Allocate(DType.I64, 2, 2)));
    }
}
