using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Quant;

/// <summary>
/// <see cref="QuantScheme.Int4Group"/> kernels with AVX-VNNI (vpdpbusd ymm: per int32 lane, the sum of 4 u8 × s8
/// products, no saturation): the nibbles q + 8 in [0, 15] are the unsigned operand, the int8 activations the signed one
/// (the +8 is folded out: in the GEMV by <see cref="ActRow.GroupOffset"/>, in the GEMM exactly in the integer sums, each
/// 32-block's accumulator starting at −8 · Σ q). Only 256-bit AVX2 / FMA / AVX-VNNI APIs (with
/// DOTNET_EnableAVX512=0 AVX-VNNI can still be on; .NET 10 has no 512-bit AVX-VNNI API); the GEMM's leftover rows call
/// <see cref="Avx512QuantKernels"/> only after checking its IsSupported.
/// <para>The GEMM (<see cref="Gemm"/>) repacks the weights so that the lanes are output rows and needs one convert and
/// one FMA per 32-block for 8 outputs; the GEMV (<see cref="I4"/>, used for m = 1 only where AVX-512BW is missing:
/// on Zen 4 the AVX-512BW vpmaddubsw kernel is faster for GEMV, vpdpbusd ymm issuing at one per cycle) keeps 8-lane
/// partial sums per row. The integer sums are exact in both; the fp32 sums run in a different order, so a GEMM row
/// matches an m = 1 call within Tolerances.Quant.Int4GemmVsGemvRelative, not bit for bit.</para>
/// </summary>
internal static unsafe class AvxVnniInt4Kernels
{
    /// <summary>AVX-VNNI (and the AVX2 / FMA it comes with) is available.</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The GEMM repacks weights (a cost of a few rows' worth of compute per block) only from this many rows of x
    /// on; fewer rows run the GEMV kernels row by row (or the AVX-512 4 × 4 tiles). Settable for the tests.</summary>
    internal static int RepackMinRows { get; set; } = 12;

    /// <summary>Unpacked weight bytes per repacked block (8 bytes per padded column per octet of 8 rows): with the
    /// tile's activations it stays in L2 (1 MiB per core on Zen 4) while every row of x runs over it. Settable for the
    /// tests (several blocks and a block ending on an odd panel with small matrices).</summary>
    internal static long RepackBlockBytes { get; set; } = 512 * 1024;

    /// <summary>false: one octet per tile call (<see cref="Tile4"/>) in place of two (<see cref="Tile4x2"/>); for
    /// side-by-side benchmarks (identical results).</summary>
    internal static bool UsePairs { get; set; } = true;

    /// <summary>Rows of x per GEMM tile.</summary>
    private const int TileRows = 4;

    // ---- GEMV (one panel of 4 weight rows × one activation row) ----------------------------------------------------

    /// <summary>
    /// out4[r] for the 4 rows of one panel (<paramref name="w"/> = its first weight byte, <paramref name="sc"/> = its
    /// first scale) and one activation row. Per chunk: one 32-byte load per row and half; the low nibbles (v &amp; 0x0F,
    /// 32-block h) and the high ones left in place (v &amp; 0xF0 = 16 · nibble, 32-block h + 2; the 1 / 16 is folded into
    /// that block's scale) feed one vpdpbusd each; each 8-lane block sum is converted and FMA'd with the broadcast scale
    /// product sw[r, g] · D[b] into the row's 8-lane accumulator; one horizontal sum per row at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I4(byte* w, float* sc, in ActRow a, int chunks, int groupSize, float* out4)
    {
        var low = Vector256.Create((byte)0x0F);
        var high = Vector256.Create((byte)0xF0);
        var sixteenth = Vector256.Create(Vector128.Create(1f), Vector128.Create(1f / 16));
        int sh = System.Numerics.BitOperations.Log2((uint)groupSize / 32);   // 32-blocks per group: 1, 2, 4 (no idiv in the loop)
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        float* p = stackalloc float[16];                            // [block in chunk][row]: sw · D (· 1/16 for the high blocks)
        sbyte* q = a.Q;
        float* d = a.D;
        for (int ch = 0; ch < chunks; ch++)
        {
            int b = ch * 4;
            var s02 = Vector256.Create(Vector128.Load(sc + (b >> sh) * 4), Vector128.Load(sc + ((b + 2) >> sh) * 4))
                    * Vector256.Create(Vector128.Create(d[b]), Vector128.Create(d[b + 2])) * sixteenth;
            var s13 = Vector256.Create(Vector128.Load(sc + ((b + 1) >> sh) * 4), Vector128.Load(sc + ((b + 3) >> sh) * 4))
                    * Vector256.Create(Vector128.Create(d[b + 1]), Vector128.Create(d[b + 3])) * sixteenth;
            s02.Store(p);
            s13.Store(p + 8);
            byte* wc = w + ch * 256;
            var x0 = Vector256.Load(q + ch * 128);
            var x1 = Vector256.Load(q + ch * 128 + 32);
            var x2 = Vector256.Load(q + ch * 128 + 64);
            var x3 = Vector256.Load(q + ch * 128 + 96);
            RowChunk(wc, x0, x1, x2, x3, low, high, p, ref f0);
            RowChunk(wc + 64, x0, x1, x2, x3, low, high, p + 1, ref f1);
            RowChunk(wc + 128, x0, x1, x2, x3, low, high, p + 2, ref f2);
            RowChunk(wc + 192, x0, x1, x2, x3, low, high, p + 3, ref f3);
        }
        // the +8 offset: [Σ_g sw[g, r] · GroupOffset[g]], 2 groups per 256-bit step
        int groups = chunks * 128 / groupSize, gi = 0;
        float* go = a.GroupOffset;
        var pairIdx = Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1);
        var acc = Vector256<float>.Zero;
        for (; gi + 2 <= groups; gi += 2)
            acc += Vector256.Load(sc + gi * 4) * Avx2.PermuteVar8x32(Vector256.Create(*(long*)(go + gi)).AsSingle(), pairIdx);
        var off = acc.GetLower() + acc.GetUpper();
        for (; gi < groups; gi++) off += Vector128.Load(sc + gi * 4) * go[gi];
        out4[0] = Vector256.Sum(f0) - off[0];
        out4[1] = Vector256.Sum(f1) - off[1];
        out4[2] = Vector256.Sum(f2) - off[2];
        out4[3] = Vector256.Sum(f3) - off[3];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowChunk(byte* wr, Vector256<sbyte> x0, Vector256<sbyte> x1, Vector256<sbyte> x2, Vector256<sbyte> x3,
        Vector256<byte> low, Vector256<byte> high, float* pr, ref Vector256<float> f)
    {
        var v0 = Vector256.Load(wr);
        var v1 = Vector256.Load(wr + 32);
        var i0 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, v0 & low, x0);
        var i1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, v1 & low, x1);
        var i2 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, v0 & high, x2);
        var i3 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, v1 & high, x3);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), Vector256.Create(pr[0]), f);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), Vector256.Create(pr[8]), f);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), Vector256.Create(pr[4]), f);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), Vector256.Create(pr[12]), f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Hi(Vector256<byte> v, Vector256<byte> low) =>
        Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;

    // ---- GEMM (m > 1) -------------------------------------------------------------------------------------------

    // per thread: the repacked weights and scales of the current block (reused across calls; grows to the largest block)
    [ThreadStatic] private static byte* t_buffer;
    [ThreadStatic] private static long t_bufferBytes;

    /// <summary>
    /// y[i, row] for every row i of x and the weight rows of panels [<paramref name="p0"/>, <paramref name="p1"/>).
    /// The panels are walked in blocks of ~<see cref="RepackBlockBytes"/> unpacked bytes; each block is repacked once
    /// into "octets" of 8 weight rows (2 panels) as <c>[octet][K / 4][row 0..7][4 bytes]</c> (nibbles unpacked to u8)
    /// and <c>[octet][group][row 0..7]</c> scales, then tiles of 4 rows of x run over every pair of octets
    /// (<see cref="Tile4x2"/>; a lone last octet: <see cref="Tile4"/>); the rows of x left over (m mod 4) run the m = 1
    /// kernel per panel. <paramref name="p1"/> − <paramref name="p0"/> should be even (QuantOps makes it so) or the
    /// last octet is half empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm(QuantizedMatrix w, QuantizedActivations act, int m, int p0, int p1, float* y, float* bias)
    {
        int kp = w.ColsPadded, gs = w.Config.GroupSize, groups = kp / gs, per = gs / 32, chunks = w.Chunks;
        long octetBytes = 8L * kp;
        int blockOctets = (int)Math.Clamp(RepackBlockBytes / octetBytes, 1, (p1 - p0 + 1) / 2);
        long scaleBytes = (long)blockOctets * groups * 8 * sizeof(float);
        int blocks = kp / 32;
        long need = blockOctets * octetBytes + scaleBytes + (long)TileRows * blocks * sizeof(int);
        if (t_bufferBytes < need)
        {
            if (t_buffer is not null) NativeMemory.AlignedFree(t_buffer);
            t_buffer = null;
            t_bufferBytes = 0;
            t_buffer = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
            t_bufferBytes = need;
        }
        byte* wbuf = t_buffer;
        float* sbuf = (float*)(t_buffer + blockOctets * octetBytes);
        int* neg8q = (int*)(t_buffer + blockOctets * octetBytes + scaleBytes);
        byte* qweight = w.QWeight.Pointer;
        float* scales = (float*)w.Scales.Pointer;
        long panelWeightBytes = (long)chunks * 4 * QuantLayout.ChunkBytes;
        float* o = stackalloc float[TileRows * 16];
        for (int b0 = p0; b0 < p1; b0 += 2 * blockOctets)
        {
            int b1 = Math.Min(p1, b0 + 2 * blockOctets);
            int octets = (b1 - b0 + 1) / 2;
            for (int oc = 0; oc < octets; oc++)
            {
                int pa = b0 + 2 * oc, np = Math.Min(2, b1 - pa);
                Repack(qweight + pa * panelWeightBytes, np == 2 ? qweight + (pa + 1) * panelWeightBytes : null, chunks,
                    wbuf + oc * octetBytes);
                float* sd = sbuf + (long)oc * groups * 8;
                for (int g = 0; g < groups; g++)
                    for (int r = 0; r < 8; r++)
                        sd[g * 8 + r] = r < 4 * np ? scales[((long)(pa + r / 4) * groups + g) * 4 + r % 4] : 0f;
            }
            int i = 0;
            for (; i + TileRows <= m; i += TileRows)
            {
                var a = act.Row(i);
                NegEightSums(a.Q, act.RowStride, blocks, neg8q);
                int oc = 0;
                for (; oc + 2 <= octets && UsePairs; oc += 2)
                {
                    int pa = b0 + 2 * oc, np = Math.Min(2, b1 - pa - 2);
                    Tile4x2(wbuf + oc * octetBytes, wbuf + (oc + 1) * octetBytes, sbuf + (long)oc * groups * 8,
                        sbuf + (long)(oc + 1) * groups * 8, a, act.RowStride, neg8q, blocks, per, o);
                    for (int j = 0; j < TileRows; j++)
                    {
                        Store(o + 8 * j, 8, pa * 4, w.Rows, y + (long)(i + j) * w.Rows, bias);
                        Store(o + 32 + 8 * j, 4 * np, pa * 4 + 8, w.Rows, y + (long)(i + j) * w.Rows, bias);
                    }
                }
                for (; oc < octets; oc++)
                {
                    int pa = b0 + 2 * oc, np = Math.Min(2, b1 - pa);
                    Tile4(wbuf + oc * octetBytes, sbuf + (long)oc * groups * 8, a, act.RowStride, neg8q, blocks, per, o);
                    for (int j = 0; j < TileRows; j++) Store(o + 8 * j, 4 * np, pa * 4, w.Rows, y + (long)(i + j) * w.Rows, bias);
                }
            }
            for (; i < m; i++)
            {
                var a = act.Row(i);
                for (int p = b0; p < b1; p++)
                {
                    // the GEMV kernel QuantOps picks for m = 1 (AVX-512BW is faster than AVX-VNNI ymm on Zen 4 there)
                    byte* pw = qweight + p * panelWeightBytes;
                    float* ps = scales + (long)p * groups * 4;
                    if (Avx512QuantKernels.IsSupported) Avx512QuantKernels.I4(pw, ps, a, chunks, gs, o);
                    else I4(pw, ps, a, chunks, gs, o);
                    Store(o, 4, p * 4, w.Rows, y + (long)i * w.Rows, bias);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* v, int count, int row0, int rows, float* yRow, float* bias)
    {
        int n = Math.Min(count, rows - row0);
        for (int r = 0; r < n; r++) yRow[row0 + r] = bias is null ? v[r] : v[r] + bias[row0 + r];
    }

    /// <summary>
    /// Unpacks the nibbles of panels <paramref name="pa"/> (rows 0-3 of the octet) and <paramref name="pb"/> (rows 4-7;
    /// null: zeros) into <c>dst[K / 4][row 0..7][4 bytes]</c>: per chunk and column quarter (32 columns), the 8 rows'
    /// 32 bytes are transposed as an 8 × 8 matrix of dwords (unpack 32 / 64, permute 128).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Repack(byte* pa, byte* pb, int chunks, byte* dst)
    {
        var low = Vector256.Create((byte)0x0F);
        var rowsLo = stackalloc Vector256<int>[8];
        var rowsHi = stackalloc Vector256<int>[8];
        for (int ch = 0; ch < chunks; ch++)
        {
            for (int h = 0; h < 2; h++)                              // bytes 32h .. 32h + 31 of each row
            {
                for (int r = 0; r < 8; r++)
                {
                    byte* src = r < 4 ? pa : pb;
                    if (src is null) { rowsLo[r] = default; rowsHi[r] = default; continue; }
                    var v = Vector256.Load(src + ch * 256 + (r & 3) * 64 + h * 32);
                    rowsLo[r] = (v & low).AsInt32();                 // columns 32h .. 32h + 31
                    rowsHi[r] = Hi(v, low).AsInt32();                // columns 64 + 32h ..
                }
                // K-steps (4 columns each) of the chunk: 8h .. 8h + 7 (low nibbles), 16 + 8h .. (high nibbles)
                Transpose8(rowsLo, dst + ((long)ch * 32 + 8 * h) * 32);
                Transpose8(rowsHi, dst + ((long)ch * 32 + 16 + 8 * h) * 32);
            }
        }
    }

    // dst[d * 32 + r * 4 .. + 4] = dword d of rows[r] (d, r in 0..7)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<int>* rows, byte* dst)
    {
        var t0 = Avx2.UnpackLow(rows[0], rows[1]);               // r0d0 r1d0 r0d1 r1d1 | r0d4 r1d4 r0d5 r1d5
        var t1 = Avx2.UnpackHigh(rows[0], rows[1]);              // r0d2 r1d2 r0d3 r1d3 | d6, d7
        var t2 = Avx2.UnpackLow(rows[2], rows[3]);
        var t3 = Avx2.UnpackHigh(rows[2], rows[3]);
        var t4 = Avx2.UnpackLow(rows[4], rows[5]);
        var t5 = Avx2.UnpackHigh(rows[4], rows[5]);
        var t6 = Avx2.UnpackLow(rows[6], rows[7]);
        var t7 = Avx2.UnpackHigh(rows[6], rows[7]);
        var u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32();   // r0..r3 d0 | r0..r3 d4
        var u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();  // d1 | d5
        var u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32();   // d2 | d6
        var u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();  // d3 | d7
        var u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32();   // r4..r7 d0 | r4..r7 d4
        var u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32();
        var u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
        int* o = (int*)dst;
        Avx2.Permute2x128(u0, u4, 0x20).Store(o);
        Avx2.Permute2x128(u1, u5, 0x20).Store(o + 8);
        Avx2.Permute2x128(u2, u6, 0x20).Store(o + 16);
        Avx2.Permute2x128(u3, u7, 0x20).Store(o + 24);
        Avx2.Permute2x128(u0, u4, 0x31).Store(o + 32);
        Avx2.Permute2x128(u1, u5, 0x31).Store(o + 40);
        Avx2.Permute2x128(u2, u6, 0x31).Store(o + 48);
        Avx2.Permute2x128(u3, u7, 0x31).Store(o + 56);
    }

    /// <summary>
    /// 4 rows of x (row j's buffers at <paramref name="a"/>'s pointers + j · <paramref name="stride"/> bytes) × one
    /// repacked octet (<paramref name="wp"/>: [K / 4][8][4] u8, <paramref name="sp"/>: [group][8] scales):
    /// <c>out32[8 j + r]</c>. Per K-step of 4 columns: one weight load, per row of x one vpbroadcastd of its 4 bytes and
    /// one vpdpbusd (two int32 accumulators per row of x, even / odd K-steps, for 8 independent chains; the even one
    /// starts at <paramref name="neg8q"/>[j · blocks + b] = −8 · Σ q, so the sum is Σ qw · qx); per 32-block per row of
    /// x: one add, one convert, one scale product and one FMA for all 8 weight rows; no group-offset pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4(byte* wp, float* sp, in ActRow a, long stride, int* neg8q, int blocks, int per, float* out32)
    {
        int shift = System.Numerics.BitOperations.Log2((uint)per);
        sbyte* q0 = a.Q, q1 = q0 + stride, q2 = q0 + 2 * stride, q3 = q0 + 3 * stride;
        float* d0 = a.D, d1 = (float*)((byte*)d0 + stride), d2 = (float*)((byte*)d0 + 2 * stride), d3 = (float*)((byte*)d0 + 3 * stride);
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = wp + b * 256;
            int c = b * 32;
            // start from −8 · Σ q over the block: the sums become Σ (u − 8) · q = Σ qw · qx, exact (|.| ≤ 32 · 8 · 127)
            var e0 = Vector256.Create(neg8q[b]);
            var e1 = Vector256.Create(neg8q[blocks + b]);
            var e2 = Vector256.Create(neg8q[2 * blocks + b]);
            var e3 = Vector256.Create(neg8q[3 * blocks + b]);
            Vector256<int> o0 = default, o1 = default, o2 = default, o3 = default;
            Step(wb, q0 + c, q1 + c, q2 + c, q3 + c, ref e0, ref e1, ref e2, ref e3);
            Step(wb + 32, q0 + c + 4, q1 + c + 4, q2 + c + 4, q3 + c + 4, ref o0, ref o1, ref o2, ref o3);
            Step(wb + 64, q0 + c + 8, q1 + c + 8, q2 + c + 8, q3 + c + 8, ref e0, ref e1, ref e2, ref e3);
            Step(wb + 96, q0 + c + 12, q1 + c + 12, q2 + c + 12, q3 + c + 12, ref o0, ref o1, ref o2, ref o3);
            Step(wb + 128, q0 + c + 16, q1 + c + 16, q2 + c + 16, q3 + c + 16, ref e0, ref e1, ref e2, ref e3);
            Step(wb + 160, q0 + c + 20, q1 + c + 20, q2 + c + 20, q3 + c + 20, ref o0, ref o1, ref o2, ref o3);
            Step(wb + 192, q0 + c + 24, q1 + c + 24, q2 + c + 24, q3 + c + 24, ref e0, ref e1, ref e2, ref e3);
            Step(wb + 224, q0 + c + 28, q1 + c + 28, q2 + c + 28, q3 + c + 28, ref o0, ref o1, ref o2, ref o3);
            var sw = Vector256.Load(sp + (b >> shift) * 8);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e0 + o0), sw * Vector256.Create(d0[b]), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e1 + o1), sw * Vector256.Create(d1[b]), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e2 + o2), sw * Vector256.Create(d2[b]), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e3 + o3), sw * Vector256.Create(d3[b]), f3);
        }
        f0.Store(out32);
        f1.Store(out32 + 8);
        f2.Store(out32 + 16);
        f3.Store(out32 + 24);
    }

    /// <summary>
    /// <see cref="Tile4"/> over two octets at once (16 weight rows: <paramref name="wa"/>, <paramref name="wb"/>): per
    /// K-step two weight loads, 4 broadcasts and 8 vpdpbusd (8 independent chains, one per row of x and octet); the
    /// 8 fp32 accumulators stay in registers (the JIT may use ymm16-31 for them where AVX-512 is on); out64 = <c>[octet][j][8]</c>.
    /// The same fp32 operations in the same order as <see cref="Tile4"/> per output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x2(byte* wa, byte* wb, float* sa, float* sb, in ActRow a, long stride, int* neg8q, int blocks,
        int per, float* out64)
    {
        int shift = System.Numerics.BitOperations.Log2((uint)per);
        sbyte* q0 = a.Q, q1 = q0 + stride, q2 = q0 + 2 * stride, q3 = q0 + 3 * stride;
        float* d0 = a.D, d1 = (float*)((byte*)d0 + stride), d2 = (float*)((byte*)d0 + 2 * stride), d3 = (float*)((byte*)d0 + 3 * stride);
        Vector256<float> fa0 = default, fa1 = default, fa2 = default, fa3 = default;
        Vector256<float> fb0 = default, fb1 = default, fb2 = default, fb3 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* pa = wa + b * 256, pb = wb + b * 256;
            int c = b * 32;
            var e0 = Vector256.Create(neg8q[b]);
            var e1 = Vector256.Create(neg8q[blocks + b]);
            var e2 = Vector256.Create(neg8q[2 * blocks + b]);
            var e3 = Vector256.Create(neg8q[3 * blocks + b]);
            Vector256<int> g0 = e0, g1 = e1, g2 = e2, g3 = e3;
            for (int t = 0; t < 32; t += 4)
                Step2(pa + 8 * t, pb + 8 * t, q0 + c + t, q1 + c + t, q2 + c + t, q3 + c + t,
                    ref e0, ref e1, ref e2, ref e3, ref g0, ref g1, ref g2, ref g3);
            var swa = Vector256.Load(sa + (b >> shift) * 8);
            var swb = Vector256.Load(sb + (b >> shift) * 8);
            var x0 = Vector256.Create(d0[b]);
            var x1 = Vector256.Create(d1[b]);
            var x2 = Vector256.Create(d2[b]);
            var x3 = Vector256.Create(d3[b]);
            fa0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e0), swa * x0, fa0);
            fa1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e1), swa * x1, fa1);
            fa2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e2), swa * x2, fa2);
            fa3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(e3), swa * x3, fa3);
            fb0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g0), swb * x0, fb0);
            fb1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g1), swb * x1, fb1);
            fb2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g2), swb * x2, fb2);
            fb3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g3), swb * x3, fb3);
        }
        fa0.Store(out64); fa1.Store(out64 + 8); fa2.Store(out64 + 16); fa3.Store(out64 + 24);
        fb0.Store(out64 + 32); fb1.Store(out64 + 40); fb2.Store(out64 + 48); fb3.Store(out64 + 56);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step2(byte* ka, byte* kb, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3,
        ref Vector256<int> a0, ref Vector256<int> a1, ref Vector256<int> a2, ref Vector256<int> a3,
        ref Vector256<int> b0, ref Vector256<int> b1, ref Vector256<int> b2, ref Vector256<int> b3)
    {
        var va = Vector256.Load(ka);
        var vb = Vector256.Load(kb);
        var x = Vector256.Create(*(int*)x0).AsSByte();
        a0 = AvxVnni.MultiplyWideningAndAdd(a0, va, x);
        b0 = AvxVnni.MultiplyWideningAndAdd(b0, vb, x);
        x = Vector256.Create(*(int*)x1).AsSByte();
        a1 = AvxVnni.MultiplyWideningAndAdd(a1, va, x);
        b1 = AvxVnni.MultiplyWideningAndAdd(b1, vb, x);
        x = Vector256.Create(*(int*)x2).AsSByte();
        a2 = AvxVnni.MultiplyWideningAndAdd(a2, va, x);
        b2 = AvxVnni.MultiplyWideningAndAdd(b2, vb, x);
        x = Vector256.Create(*(int*)x3).AsSByte();
        a3 = AvxVnni.MultiplyWideningAndAdd(a3, va, x);
        b3 = AvxVnni.MultiplyWideningAndAdd(b3, vb, x);
    }

    /// <summary>dst[j · blocks + b] = −8 · Σ of activation row j's q over 32-block b (rows j = 0..3 at
    /// <paramref name="q"/> + j · <paramref name="stride"/>): the nibbles' +8 folded out in the integer sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NegEightSums(sbyte* q, long stride, int blocks, int* dst)
    {
        var eight = Vector256.Create((byte)8);
        for (int j = 0; j < TileRows; j++)
        {
            sbyte* qj = q + j * stride;
            for (int b = 0; b < blocks; b++)
                dst[j * blocks + b] = -Vector256.Sum(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, eight, Vector256.Load(qj + b * 32)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(byte* wk, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3,
        ref Vector256<int> a0, ref Vector256<int> a1, ref Vector256<int> a2, ref Vector256<int> a3)
    {
        var wv = Vector256.Load(wk);
        a0 = AvxVnni.MultiplyWideningAndAdd(a0, wv, Vector256.Create(*(int*)x0).AsSByte());
        a1 = AvxVnni.MultiplyWideningAndAdd(a1, wv, Vector256.Create(*(int*)x1).AsSByte());
        a2 = AvxVnni.MultiplyWideningAndAdd(a2, wv, Vector256.Create(*(int*)x2).AsSByte());
        a3 = AvxVnni.MultiplyWideningAndAdd(a3, wv, Vector256.Create(*(int*)x3).AsSByte());
    }
}
