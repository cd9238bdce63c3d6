// Compares: Ops.Attention on decode shapes (qLen < 8, the DecodeAttention kernel), its forced key-split (flash-
// decoding style, exact softmax) and the former per-key path against the scalar Reference.Attention, seeded random
// inputs. Bounds: Tolerances.KernelNmse and KernelMaxAbsRelative (via KernelTests.AssertClose). Rows that are fully
// -inf are NaN in the reference and must be NaN here too. Property: a key whose probability is exactly 0 adds
// nothing, even when its V row holds NaN (compared with the reference over the same V with those rows zeroed).
// test.sh reruns this category with AVX-512 and with all hardware intrinsics disabled.
using SeeSharp.Engine.Kernels;

namespace SeeSharp.Engine.Tests;

[Trait("Category", "Kernels")]
public sealed class DecodeAttentionTests
{
    public enum MaskKind { None, MinValuePrefix, NegInfPrefix, NegInfFullRow }

    private static float[] Rand(Random r, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>Causal over the cache (query i sees keys ≤ kvLen - qLen + i) with a fully masked prefix of a third of
    /// the keys; MinValuePrefix also masks query 0 completely (a uniform row), the -inf kinds use -inf and -1e30,
    /// and NegInfFullRow masks query 0 completely with -inf (a NaN row, as in the reference).</summary>
    private static float[] Mask(MaskKind kind, int qLen, int kvLen)
    {
        if (kind == MaskKind.None) return [];
        var m = new float[qLen * kvLen];
        float masked = kind == MaskKind.MinValuePrefix ? float.MinValue : float.NegativeInfinity;
        int prefix = kvLen / 3;
        for (int i = 0; i < qLen; i++)
            for (int j = 0; j < kvLen; j++)
            {
                bool off = j > kvLen - qLen + i || (j < prefix && j + 1 < kvLen - qLen + i);
                if (i == 0 && qLen > 1 && kind is (MaskKind.MinValuePrefix or MaskKind.NegInfFullRow)) off = true;
                m[i * kvLen + j] = off ? (kind == MaskKind.NegInfPrefix && j % 2 == 1 ? -1e30f : masked) : (j % 5) * 0.25f;
            }
        return m;
    }

    private static void Check(int qLen, int kvLen, int nH, int nKv, int hd, MaskKind kind, Random r, int keyChunks = -1, bool perKey = false)
    {
        var q = Rand(r, qLen * nH * hd, 2f);
        var k = Rand(r, kvLen * nKv * hd, 2f);
        var v = Rand(r, kvLen * nKv * hd);
        var mask = Mask(kind, qLen, kvLen);
        var e = new float[q.Length];
        var a = new float[q.Length];
        float scale = 1f / MathF.Sqrt(hd);
        Reference.Attention(q, k, v, e, qLen, kvLen, nH, nKv, hd, scale, mask);
        if (keyChunks >= 0)
            DecodeAttention.Run(q, k, v, a, qLen, kvLen, nH, nKv, hd, scale, mask, keyChunks);
        else if (perKey)
            FastOps.Attention(q, k, v, a, qLen, kvLen, nH, nKv, hd, scale, mask, FastOps.AttentionPath.PerKey);
        else
            Ops.Attention(q, k, v, a, qLen, kvLen, nH, nKv, hd, scale, mask);
        string what = $"Attention q {qLen} kv {kvLen} heads {nH}/{nKv} hd {hd} mask {kind} chunks {keyChunks} perKey {perKey}";
        if (kind == MaskKind.NegInfFullRow && qLen > 1) Assert.True(float.IsNaN(e[0]), $"{what}: the reference's fully -inf row is not NaN");
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(float.IsNaN(e[i]) == float.IsNaN(a[i]), $"{what}: [{i}] ref {e[i]} fast {a[i]}");
            if (float.IsNaN(e[i])) e[i] = a[i] = 0;
        }
        KernelTests.AssertClose(e, a, what);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void DecodeShapesMatchReference(int qLen)
    {
        var r = new Random(11 + qLen);
        foreach (int kvLen in new[] { 1, 7, 33, 640, 2049 })
            foreach (var (nH, nKv) in new[] { (32, 8), (4, 4), (12, 4) })
                foreach (int hd in new[] { 64, 128, 72 })
                {
                    // every mask kind on the short caches; on the long ones one kind per head dim keeps the
                    // scalar reference's time down
                    var kinds = kvLen <= 33 ? Enum.GetValues<MaskKind>()
                        : hd == 64 ? [MaskKind.None] : hd == 128 ? [MaskKind.MinValuePrefix, MaskKind.NegInfFullRow] : [MaskKind.NegInfPrefix];
                    foreach (var kind in kinds) Check(qLen, kvLen, nH, nKv, hd, kind, r);
                }
    }

    [Fact]
    public void OddHeadDimsAndShortCaches()
    {
        var r = new Random(5);
        foreach (int hd in new[] { 1, 3, 4, 5, 8, 12, 15, 16, 17, 31, 33, 65 })
            foreach (int kvLen in new[] { 1, 2, 3, 4, 5, 9 })
                Check(3, kvLen, 6, 2, hd, MaskKind.NegInfPrefix, r);
        // qLen ≥ 8 with kvLen < 32 also takes this kernel (several query blocks of 8)
        Check(13, 20, 4, 2, 16, MaskKind.MinValuePrefix, r);
        Check(8, 31, 8, 1, 72, MaskKind.None, r);
        // kv heads that do not divide evenly into the per-item blocks of the short-cache split
        Check(2, 50, 18, 9, 32, MaskKind.NegInfPrefix, r);
        Check(1, 100, 14, 7, 64, MaskKind.MinValuePrefix, r);
    }

    [Fact]
    public void KeySplitMatchesReference()
    {
        var r = new Random(7);
        foreach (int chunks in new[] { 1, 2, 3, 5, 16 })
            foreach (var kind in Enum.GetValues<MaskKind>())
            {
                Check(1, 640, 32, 8, 128, kind, r, chunks);
                Check(5, 257, 12, 4, 72, kind, r, chunks);
                Check(2, 7, 4, 1, 64, kind, r, chunks);   // more chunks than keys: clamped
            }
    }

    [Fact]
    public void PerKeyPathStillMatchesReference()
    {
        var r = new Random(9);
        Check(1, 640, 32, 8, 128, MaskKind.MinValuePrefix, r, perKey: true);
        Check(5, 33, 12, 4, 72, MaskKind.NegInfPrefix, r, perKey: true);
    }

    [Fact]
    public void KeysWithZeroProbabilityAddNothingEvenWhenTheirValuesAreNaN()
    {
        var r = new Random(13);
        foreach (int chunks in new[] { 0, 3 })
        {
            const int qLen = 2, kvLen = 300, nH = 8, nKv = 2, hd = 40;
            var q = Rand(r, qLen * nH * hd, 2f);
            var k = Rand(r, kvLen * nKv * hd, 2f);
            var v = Rand(r, kvLen * nKv * hd);
            var mask = new float[qLen * kvLen];
            var vZeroed = (float[])v.Clone();
            for (int j = 0; j < kvLen; j++)
            {
                if (j % 3 != 0 && j < kvLen - 1) continue;
                for (int i = 0; i < qLen; i++) mask[i * kvLen + j] = float.NegativeInfinity;
                for (int c = 0; c < nKv * hd; c++) { v[j * nKv * hd + c] = float.NaN; vZeroed[j * nKv * hd + c] = 0; }
            }
            var e = new float[q.Length];
            var a = new float[q.Length];
            Reference.Attention(q, k, vZeroed, e, qLen, kvLen, nH, nKv, hd, 0.2f, mask);
            DecodeAttention.Run(q, k, v, a, qLen, kvLen, nH, nKv, hd, 0.2f, mask, chunks);
            KernelTests.AssertClose(e, a, $"NaN values behind -inf mask, chunks {chunks}");
        }
    }

    [Fact]
    public void SerialCallsAllocateNothing()
    {
        // Property: after a warm-up, a call small enough to stay on the calling thread allocates no managed memory
        // (scores come from ArrayPool, the call's state is thread-static).
        var r = new Random(17);
        const int qLen = 2, kvLen = 9, nH = 4, nKv = 2, hd = 24;
        var q = Rand(r, qLen * nH * hd);
        var k = Rand(r, kvLen * nKv * hd);
        var v = Rand(r, kvLen * nKv * hd);
        var mask = new float[qLen * kvLen];
        var o = new float[q.Length];
        Ops.Attention(q, k, v, o, qLen, kvLen, nH, nKv, hd, 0.3f, mask);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Ops.Attention(q, k, v, o, qLen, kvLen, nH, nKv, hd, 0.3f, mask);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
