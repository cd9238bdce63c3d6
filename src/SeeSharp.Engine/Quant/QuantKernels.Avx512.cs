using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Quant;

/// <summary>
/// AVX-512BW panel kernels: int8 products with vpmaddubsw (|qx| unsigned × sign-adjusted weight) + vpmaddwd into
/// int32, one 64-byte load per row per chunk, 4 rows sharing each activation load. Same results as
/// <see cref="ScalarQuantKernels"/> up to the order of the fp32 additions (the integer sums are exact:
/// |qx|·|qw| ≤ 127·127, a pair ≤ 32258 fits vpmaddubsw's saturating int16).
/// </summary>
internal static unsafe class Avx512QuantKernels
{
    public static bool IsSupported => Avx512BW.IsSupported && Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot(Vector512<byte> ax, Vector512<sbyte> sg, sbyte* w, Vector512<short> ones)
    {
        var wv = Vector512.Load(w);
        var sw = (wv ^ sg) - sg;                                  // w · sign(qx)
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ax, sw), ones);
    }

    /// <summary>How far ahead of the weight stream (bytes) the int8 per-row GEMV kernel prefetches into L1; 0 = none.
    /// Measured with <c>tools quantbench --model &lt;8B int8&gt; --mapped --prefetch 0,1024,2048,4096,8192,16384</c>
    /// (2 threads, Zen 4): gemv-only decode 0.81 of the read bandwidth without, 0.83 / 0.87 / 0.90 / 0.87 / 0.85 with.
    /// Settable for that benchmark.</summary>
    internal static int PrefetchDistance = 4096;

    /// <summary>The same for the int4 GEMV (fewer bytes per unit of work: further ahead). Measured as above on the 8B
    /// int4 g32 checkpoint: 0.70 without, 0.79 / 0.86 / 0.91 / 0.88 / 0.87 at 2 / 4 / 8 / 16 / 32 KiB.</summary>
    internal static int PrefetchDistanceInt4 = 8192;

    /// <summary>Prefetches (to L1) the 8 cache lines from <paramref name="p"/>: one 128-column step of an int8 panel.
    /// Prefetches never fault, so addresses past the end of the weights are harmless.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Prefetch512(byte* p)
    {
        Sse.Prefetch0(p); Sse.Prefetch0(p + 64); Sse.Prefetch0(p + 128); Sse.Prefetch0(p + 192);
        Sse.Prefetch0(p + 256); Sse.Prefetch0(p + 320); Sse.Prefetch0(p + 384); Sse.Prefetch0(p + 448);
    }

    public static void I8Row(sbyte* w, in ActRow a, int chunks, float* out4)
    {
        var ones = Vector512.Create((short)1);
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int pf = PrefetchDistance;
        for (int k = 0; k < chunks; k += 2)
        {
            // chunk k and k + 1 form one 128-column activation block
            var ax = Vector512.Load(a.Abs + k * 64);
            var sg = Vector512.Load(a.Sign + k * 64);
            sbyte* wc = w + k * 256;
            // the 512 bytes this iteration reads, pf bytes further on (the stream runs on into the next panel)
            if (pf > 0) Prefetch512((byte*)wc + pf);
            var i0 = Dot(ax, sg, wc, ones);
            var i1 = Dot(ax, sg, wc + 64, ones);
            var i2 = Dot(ax, sg, wc + 128, ones);
            var i3 = Dot(ax, sg, wc + 192, ones);
            ax = Vector512.Load(a.Abs + k * 64 + 64);
            sg = Vector512.Load(a.Sign + k * 64 + 64);
            wc += 256;
            i0 += Dot(ax, sg, wc, ones);
            i1 += Dot(ax, sg, wc + 64, ones);
            i2 += Dot(ax, sg, wc + 128, ones);
            i3 += Dot(ax, sg, wc + 192, ones);
            var d = Vector512.Create(a.D[k >> 1]);
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), d, f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), d, f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i2), d, f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i3), d, f3);
        }
        out4[0] = Vector512.Sum(f0);
        out4[1] = Vector512.Sum(f1);
        out4[2] = Vector512.Sum(f2);
        out4[3] = Vector512.Sum(f3);
    }

    /// <summary>
    /// GEMM tile: 4 activation rows (row j at <paramref name="abs"/>/<paramref name="sign"/>/<paramref name="d"/> +
    /// j · <paramref name="stride"/> bytes) × the 4 rows of one panel; <c>out16[4 j + r]</c> is exactly what
    /// <see cref="I8Row"/> gives for activation row j (same lane-wise FMA order, same horizontal sum). Each weight chunk
    /// is read 4 times from L1 per tile, each activation chunk once per tile.
    /// </summary>
    public static void I8RowTile4(sbyte* w, byte* abs, sbyte* sign, float* d, long stride, int chunks, float* out16)
    {
        var ones = Vector512.Create((short)1);
        Vector512<float> f00 = default, f01 = default, f02 = default, f03 = default;
        Vector512<float> f10 = default, f11 = default, f12 = default, f13 = default;
        Vector512<float> f20 = default, f21 = default, f22 = default, f23 = default;
        Vector512<float> f30 = default, f31 = default, f32 = default, f33 = default;
        float* d1 = (float*)((byte*)d + stride), d2 = (float*)((byte*)d + 2 * stride), d3 = (float*)((byte*)d + 3 * stride);
        for (int k = 0; k < chunks; k += 2)
        {
            // chunks k, k + 1 = one 128-column activation block; weight rows outer (negated once), activations from L1
            sbyte* wc = w + k * 256;
            byte* ab = abs + k * 64;
            sbyte* sg = sign + k * 64;
            var d0v = Vector512.Create(d[k >> 1]);
            var d1v = Vector512.Create(d1[k >> 1]);
            var d2v = Vector512.Create(d2[k >> 1]);
            var d3v = Vector512.Create(d3[k >> 1]);
            Col4(wc, ab, sg, stride, d0v, d1v, d2v, d3v, ones, ref f00, ref f10, ref f20, ref f30);
            Col4(wc + 64, ab, sg, stride, d0v, d1v, d2v, d3v, ones, ref f01, ref f11, ref f21, ref f31);
            Col4(wc + 128, ab, sg, stride, d0v, d1v, d2v, d3v, ones, ref f02, ref f12, ref f22, ref f32);
            Col4(wc + 192, ab, sg, stride, d0v, d1v, d2v, d3v, ones, ref f03, ref f13, ref f23, ref f33);
        }
        out16[0] = Vector512.Sum(f00); out16[1] = Vector512.Sum(f01); out16[2] = Vector512.Sum(f02); out16[3] = Vector512.Sum(f03);
        out16[4] = Vector512.Sum(f10); out16[5] = Vector512.Sum(f11); out16[6] = Vector512.Sum(f12); out16[7] = Vector512.Sum(f13);
        out16[8] = Vector512.Sum(f20); out16[9] = Vector512.Sum(f21); out16[10] = Vector512.Sum(f22); out16[11] = Vector512.Sum(f23);
        out16[12] = Vector512.Sum(f30); out16[13] = Vector512.Sum(f31); out16[14] = Vector512.Sum(f32); out16[15] = Vector512.Sum(f33);
    }

    // one weight row's 128-column block (chunk k at wr, chunk k + 1 at wr + 256) against 4 activation rows
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Col4(sbyte* wr, byte* ab, sbyte* sg, long stride, Vector512<float> d0, Vector512<float> d1,
        Vector512<float> d2, Vector512<float> d3, Vector512<short> ones,
        ref Vector512<float> f0, ref Vector512<float> f1, ref Vector512<float> f2, ref Vector512<float> f3)
    {
        var w0 = Vector512.Load(wr);
        var w1 = Vector512.Load(wr + 256);
        var n0 = Vector512<sbyte>.Zero - w0;
        var n1 = Vector512<sbyte>.Zero - w1;
        f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Signed(ab, sg, w0, n0, w1, n1, ones)), d0, f0);
        f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Signed(ab + stride, sg + stride, w0, n0, w1, n1, ones)), d1, f1);
        f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Signed(ab + 2 * stride, sg + 2 * stride, w0, n0, w1, n1, ones)), d2, f2);
        f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Signed(ab + 3 * stride, sg + 3 * stride, w0, n0, w1, n1, ones)), d3, f3);
    }

    // Σ over the two chunks of |qx| · (w · sign(qx)), the sign picked by a bitwise select on the 0/0xFF sign bytes
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Signed(byte* ab, sbyte* sg, Vector512<sbyte> w0, Vector512<sbyte> n0,
        Vector512<sbyte> w1, Vector512<sbyte> n1, Vector512<short> ones)
    {
        // sign ? -w : w as one vpternlogd (0xCA = A ? B : C) whose destination is the freshly loaded sign (no copy)
        var s0 = Avx512F.TernaryLogic(Avx512F.LoadAlignedVector512NonTemporal(sg), n0, w0, 0xCA);
        var s1 = Avx512F.TernaryLogic(Avx512F.LoadAlignedVector512NonTemporal(sg + 64), n1, w1, 0xCA);
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512F.LoadAlignedVector512NonTemporal(ab), s0), ones)
             + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512F.LoadAlignedVector512NonTemporal(ab + 64), s1), ones);
    }

    public static void I8B32(sbyte* w, float* sc, in ActRow a, int chunks, float* out4)
    {
        var ones = Vector512.Create((short)1);
        // scales of one chunk: [r0b0, r0b1, r1b0, r1b1, ...]; row r needs lanes 0-7 = [2r], 8-15 = [2r + 1]
        var p0 = Vector512.Create(Vector256.Create(0), Vector256.Create(1));
        var p1 = Vector512.Create(Vector256.Create(2), Vector256.Create(3));
        var p2 = Vector512.Create(Vector256.Create(4), Vector256.Create(5));
        var p3 = Vector512.Create(Vector256.Create(6), Vector256.Create(7));
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (int ch = 0; ch < chunks; ch++)
        {
            var ax = Vector512.Load(a.Abs + ch * 64);
            var sg = Vector512.Load(a.Sign + ch * 64);
            var dx = Vector512.Create(Vector256.Create(a.D[2 * ch]), Vector256.Create(a.D[2 * ch + 1]));
            var s8 = Vector256.Load(sc + ch * 8).ToVector512Unsafe();
            sbyte* wc = w + ch * 256;
            f0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(ax, sg, wc, ones)), Avx512F.PermuteVar16x32(s8, p0) * dx, f0);
            f1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(ax, sg, wc + 64, ones)), Avx512F.PermuteVar16x32(s8, p1) * dx, f1);
            f2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(ax, sg, wc + 128, ones)), Avx512F.PermuteVar16x32(s8, p2) * dx, f2);
            f3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(ax, sg, wc + 192, ones)), Avx512F.PermuteVar16x32(s8, p3) * dx, f3);
        }
        out4[0] = Vector512.Sum(f0);
        out4[1] = Vector512.Sum(f1);
        out4[2] = Vector512.Sum(f2);
        out4[3] = Vector512.Sum(f3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Nibbles(Vector512<byte> u, Vector512<sbyte> x, Vector512<short> ones) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, x), ones));

    public static void I4(byte* w, float* sc, in ActRow a, int chunks, int groupSize, float* out4)
    {
        var ones = Vector512.Create((short)1);
        var low = Vector512.Create((byte)0x0F);
        // Scales of one chunk, per group [g][row]: g = 32 -> 16 floats, 64 -> 8, 128 -> 4.
        // Per chunk t[4 b + r] = sw[group of 32-block b, r] · D[b] once (the same fp32 products as I4Tile4's
        // permute(sv) · dWide, so results stay bit-identical); row r then permutes its lanes out of t:
        // lo half of the chunk = 32-blocks 0, 1 (lanes 0-7, 8-15), hi half = blocks 2, 3.
        int per = groupSize / 32;                               // 32-blocks per group: 1, 2, 4
        var idxT = Vector512.Create(0, 1, 2, 3, 1 / per * 4, 1 / per * 4 + 1, 1 / per * 4 + 2, 1 / per * 4 + 3,
            2 / per * 4, 2 / per * 4 + 1, 2 / per * 4 + 2, 2 / per * 4 + 3, 3 / per * 4, 3 / per * 4 + 1, 3 / per * 4 + 2, 3 / per * 4 + 3);
        var idxD = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        Vector512<int> lo0 = RowIdx(0, 0), lo1 = RowIdx(1, 0), lo2 = RowIdx(2, 0), lo3 = RowIdx(3, 0);
        Vector512<int> hi0 = RowIdx(0, 2), hi1 = RowIdx(1, 2), hi2 = RowIdx(2, 2), hi3 = RowIdx(3, 2);
        int scPerChunk = 4 * 128 / groupSize;
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int pf = PrefetchDistanceInt4;
        for (int ch = 0; ch < chunks; ch++)
        {
            var x0 = Vector512.Load(a.Q + ch * 128);
            var x1 = Vector512.Load(a.Q + ch * 128 + 64);
            float* s = sc + ch * scPerChunk;
            if (pf > 0)
            {
                // this chunk's 256 weight bytes pf further on, and the scale stream as far ahead in chunks (one line)
                byte* n = w + ch * 256 + pf;
                Sse.Prefetch0(n); Sse.Prefetch0(n + 64); Sse.Prefetch0(n + 128); Sse.Prefetch0(n + 192);
                Sse.Prefetch0((byte*)(s + pf / 256 * scPerChunk));
            }
            Vector512<float> sv = per == 1 ? Vector512.Load(s)
                : per == 2 ? Vector256.Load(s).ToVector512Unsafe<float>()
                : Vector128.Load(s).ToVector256Unsafe().ToVector512Unsafe();
            var t = Avx512F.PermuteVar16x32(sv, idxT) * Avx512F.PermuteVar16x32(Vector128.Load(a.D + ch * 4).ToVector256Unsafe().ToVector512Unsafe(), idxD);
            byte* wc = w + ch * 256;
            Row(wc, x0, x1, low, ones, t, lo0, hi0, ref f0);
            Row(wc + 64, x0, x1, low, ones, t, lo1, hi1, ref f1);
            Row(wc + 128, x0, x1, low, ones, t, lo2, hi2, ref f2);
            Row(wc + 192, x0, x1, low, ones, t, lo3, hi3, ref f3);
        }
        var off = GroupOffset4(sc, a.GroupOffset, chunks * 128 / groupSize);
        out4[0] = Vector512.Sum(f0) - off[0];
        out4[1] = Vector512.Sum(f1) - off[1];
        out4[2] = Vector512.Sum(f2) - off[2];
        out4[3] = Vector512.Sum(f3) - off[3];
    }

    /// <summary>[Σ_g sw[g, r] · go[g] for r = 0..3] (the +8 offset of the nibbles; sw = the panel's scales
    /// <c>[group][row]</c>, go = <see cref="ActRow.GroupOffset"/>): 4 groups per 512-bit step, then the 4 partial sums,
    /// then any last groups one by one. I4 and I4Tile4 share it (same order: bit-identical).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> GroupOffset4(float* sc, float* go, int groups)
    {
        var idx = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        var acc = Vector512<float>.Zero;
        int g = 0;
        for (; g + 4 <= groups; g += 4)
            acc += Vector512.Load(sc + g * 4) * Avx512F.PermuteVar16x32(Vector128.Load(go + g).ToVector256Unsafe().ToVector512Unsafe(), idx);
        var o = (acc.GetLower().GetLower() + acc.GetLower().GetUpper()) + (acc.GetUpper().GetLower() + acc.GetUpper().GetUpper());
        for (; g < groups; g++) o += Vector128.Load(sc + g * 4) * go[g];
        return o;
    }

    // lanes 0-7: index in t of (32-block b0, row r); lanes 8-15: of (b0 + 1, r)
    private static Vector512<int> RowIdx(int r, int b0) => Vector512.Create(Vector256.Create(b0 * 4 + r), Vector256.Create(b0 * 4 + 4 + r));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(byte* wr, Vector512<sbyte> x0, Vector512<sbyte> x1, Vector512<byte> low, Vector512<short> ones,
        Vector512<float> t, Vector512<int> ilo, Vector512<int> ihi, ref Vector512<float> f)
    {
        var v = Vector512.Load(wr);
        var ulo = v & low;
        var uhi = Vector512.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;
        f = Avx512F.FusedMultiplyAdd(Nibbles(ulo, x0, ones), Avx512F.PermuteVar16x32(t, ilo), f);
        f = Avx512F.FusedMultiplyAdd(Nibbles(uhi, x1, ones), Avx512F.PermuteVar16x32(t, ihi), f);
    }

    /// <summary>
    /// GEMM tile for Int4Group: 4 activation rows (row j's pointers + j · <paramref name="stride"/> bytes from
    /// <paramref name="a"/>'s) × the 4 rows of one panel; <c>out16[4 j + r]</c> is exactly what <see cref="I4"/> gives
    /// for activation row j (same products, same FMA order, same sums). The nibbles and permuted scales of a weight row
    /// are made once per tile; the activations and their widened scales (<see cref="ActRow.DWide"/>) come from L1.
    /// </summary>
    public static void I4Tile4(byte* w, float* sc, in ActRow a, long stride, int chunks, int groupSize, float* out16)
    {
        var ones = Vector512.Create((short)1);
        var low = Vector512.Create((byte)0x0F);
        int per = groupSize / 32;
        var idx = stackalloc Vector512<int>[8];
        for (int r = 0; r < 4; r++) { idx[2 * r] = Idx(r, 0, per); idx[2 * r + 1] = Idx(r, 2, per); }
        int scPerChunk = 4 * 128 / groupSize;
        Vector512<float> f00 = default, f01 = default, f02 = default, f03 = default;
        Vector512<float> f10 = default, f11 = default, f12 = default, f13 = default;
        Vector512<float> f20 = default, f21 = default, f22 = default, f23 = default;
        Vector512<float> f30 = default, f31 = default, f32 = default, f33 = default;
        sbyte* q = a.Q;
        float* dw = a.DWide;
        for (int ch = 0; ch < chunks; ch++)
        {
            float* s = sc + ch * scPerChunk;
            Vector512<float> sv = per == 1 ? Vector512.Load(s)
                : per == 2 ? Vector256.Load(s).ToVector512Unsafe<float>()
                : Vector128.Load(s).ToVector256Unsafe().ToVector512Unsafe();
            byte* wc = w + ch * 256;
            sbyte* qc = q + ch * 128;
            float* dc = dw + ch * 32;
            Col4I4(wc, sv, idx[0], idx[1], qc, dc, stride, low, ones, ref f00, ref f10, ref f20, ref f30);
            Col4I4(wc + 64, sv, idx[2], idx[3], qc, dc, stride, low, ones, ref f01, ref f11, ref f21, ref f31);
            Col4I4(wc + 128, sv, idx[4], idx[5], qc, dc, stride, low, ones, ref f02, ref f12, ref f22, ref f32);
            Col4I4(wc + 192, sv, idx[6], idx[7], qc, dc, stride, low, ones, ref f03, ref f13, ref f23, ref f33);
        }
        int groups = chunks * 128 / groupSize;
        float* off = stackalloc float[16];
        for (int j = 0; j < 4; j++)
        {
            GroupOffset4(sc, (float*)((byte*)a.GroupOffset + j * stride), groups).Store(off + 4 * j);
        }
        out16[0] = Vector512.Sum(f00) - off[0]; out16[1] = Vector512.Sum(f01) - off[1];
        out16[2] = Vector512.Sum(f02) - off[2]; out16[3] = Vector512.Sum(f03) - off[3];
        out16[4] = Vector512.Sum(f10) - off[4]; out16[5] = Vector512.Sum(f11) - off[5];
        out16[6] = Vector512.Sum(f12) - off[6]; out16[7] = Vector512.Sum(f13) - off[7];
        out16[8] = Vector512.Sum(f20) - off[8]; out16[9] = Vector512.Sum(f21) - off[9];
        out16[10] = Vector512.Sum(f22) - off[10]; out16[11] = Vector512.Sum(f23) - off[11];
        out16[12] = Vector512.Sum(f30) - off[12]; out16[13] = Vector512.Sum(f31) - off[13];
        out16[14] = Vector512.Sum(f32) - off[14]; out16[15] = Vector512.Sum(f33) - off[15];
    }

    // one weight row's chunk (128 columns as nibbles) against 4 activation rows, as Row in I4
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Col4I4(byte* wr, Vector512<float> sv, Vector512<int> ilo, Vector512<int> ihi, sbyte* q, float* dw,
        long stride, Vector512<byte> low, Vector512<short> ones,
        ref Vector512<float> f0, ref Vector512<float> f1, ref Vector512<float> f2, ref Vector512<float> f3)
    {
        var v = Vector512.Load(wr);
        var ulo = v & low;
        var uhi = Vector512.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;
        var slo = Avx512F.PermuteVar16x32(sv, ilo);
        var shi = Avx512F.PermuteVar16x32(sv, ihi);
        NibbleRow(ulo, uhi, slo, shi, q, dw, ones, ref f0);
        NibbleRow(ulo, uhi, slo, shi, q + stride, (float*)((byte*)dw + stride), ones, ref f1);
        NibbleRow(ulo, uhi, slo, shi, q + 2 * stride, (float*)((byte*)dw + 2 * stride), ones, ref f2);
        NibbleRow(ulo, uhi, slo, shi, q + 3 * stride, (float*)((byte*)dw + 3 * stride), ones, ref f3);
    }

    // non-temporal-hint loads (aligned activation buffers): the JIT does not hoist them into registers across the tile
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NibbleRow(Vector512<byte> ulo, Vector512<byte> uhi, Vector512<float> slo, Vector512<float> shi,
        sbyte* q, float* dw, Vector512<short> ones, ref Vector512<float> f)
    {
        var x0 = Avx512F.LoadAlignedVector512NonTemporal(q);
        var x1 = Avx512F.LoadAlignedVector512NonTemporal(q + 64);
        var dlo = Avx512F.LoadAlignedVector512NonTemporal((int*)dw).AsSingle();
        var dhi = Avx512F.LoadAlignedVector512NonTemporal((int*)dw + 16).AsSingle();
        f = Avx512F.FusedMultiplyAdd(Nibbles(ulo, x0, ones), slo * dlo, f);
        f = Avx512F.FusedMultiplyAdd(Nibbles(uhi, x1, ones), shi * dhi, f);
    }

    // Lanes 0-7: scale index of 32-block b0 of row r; lanes 8-15: of block b0 + 1 (index = group * 4 + r).
    private static Vector512<int> Idx(int r, int b0, int per) =>
        Vector512.Create(Vector256.Create(b0 / per * 4 + r), Vector256.Create((b0 + 1) / per * 4 + r));
}
