using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Kernels;

/// <summary>
/// y[m, rows] = x[m, cols] · Wᵀ (+ bias) for F32/BF16/F16 weights; the fast path of <see cref="Ops.Linear"/>.
/// <list type="bullet">
/// <item>m ≤ <see cref="SkinnyMaxM"/> (decode): GEMV, rows split over the workers in blocks, 4 rows of W per
/// pass (one accumulator each). BF16/F16 rows are read as uint pairs: the low half is the even element and the
/// high half the odd one, so x is split once into even/odd halves and no lane shuffles are needed.</item>
/// <item>larger m (prefill): packed, cache-blocked GEMM. A = x is packed into 6-row panels per KC block, each
/// worker takes 64-row panels of W (64 output columns), converts a KC x 64 block of them to fp32 while packing
/// (transposed: Bp[p][j] = W[n0 + j, k0 + p]) and runs the 6 x 64 register-tiled micro-kernel over all of A.</item>
/// </list>
/// </summary>
internal static unsafe partial class Gemm
{
    /// <summary>Largest m that takes the GEMV path. Measured with the benchmark's <c>--sweep-m</c>: the GEMV path
    /// (W streamed once, re-read from L2 per row of x) beat the packed GEMM (whose packing costs a fixed ~10-20 ms
    /// for a 4096 x 4096 weight) up to m ≈ 16-24 on this CPU.</summary>
    public const int SkinnyMaxM = 16;

    /// <summary>Which algorithm <see cref="Linear"/> uses (tests and benchmarks force each one).</summary>
    internal enum Path { Auto, Gemv, Gemm }
    private const int MR = 6, NR = 64, KC = 256;
    /// <summary>Below this many multiply-adds a call runs on the calling thread only.</summary>
    private const long ParallelMinMacs = 1 << 16;

    [ThreadStatic] private static float[]? t_packB;
    [ThreadStatic] private static float[]? t_packA;

    public static void Linear(ReadOnlySpan<float> x, int m, WeightMatrix w, ReadOnlySpan<float> bias, Span<float> y, Path path = Path.Auto)
    {
        Checks.Linear(x.Length, m, w, bias.Length, y.Length);
        int rows = w.Rows, k = w.Cols;
        if (m == 0 || rows == 0) return;
        if (k == 0)
        {
            for (int i = 0; i < m; i++)
                if (bias.IsEmpty) y.Slice(i * rows, rows).Clear(); else bias.CopyTo(y.Slice(i * rows, rows));
            return;
        }
        // The packed copy of x lives in one array: split a (very) tall x into row blocks that fit one.
        long maxRows = Math.Max(MR, (Array.MaxLength - 4096L) / k / MR * MR);
        if (m > maxRows)
        {
            for (int i0 = 0; i0 < m; i0 += (int)maxRows)
            {
                int mi = (int)Math.Min(maxRows, m - i0);
                Linear(x.Slice(i0 * k, mi * k), mi, w, bias, y.Slice(i0 * rows, mi * rows), path);
            }
            return;
        }
        fixed (float* px = x)
        fixed (float* pb = bias)
        fixed (float* py = y)
        {
            if (path == Path.Gemv || (path == Path.Auto && m <= SkinnyMaxM)) Skinny(px, m, w, bias.IsEmpty ? null : pb, py);
            else Packed(px, m, w, bias.IsEmpty ? null : pb, py);
        }
        GC.KeepAlive(w.Tensor);
    }

    private static bool Parallel(long macs) => macs >= ParallelMinMacs && WorkerPool.Default.Threads > 1;

    // ---- GEMV / skinny ---------------------------------------------------------------------------------------

    private static void Skinny(float* x, int m, WeightMatrix w, float* bias, float* y)
    {
        int rows = w.Rows, k = w.Cols;
        DType dt = w.DType;
        byte* wp = w.Tensor.Pointer;
        int esize = dt == DType.F32 ? 4 : 2;

        // Even/odd split of x for the 16-bit weights: xs[i] = [x_i[0], x_i[2], ...] then [x_i[1], x_i[3], ...].
        int half = k / 2;
        float[]? split = null;
        if (dt != DType.F32)
        {
            split = ArrayPool<float>.Shared.Rent(Math.Max(1, m * 2 * half));
            for (int i = 0; i < m; i++)
            {
                float* xi = x + (long)i * k;
                int o = i * 2 * half;
                for (int j = 0; j < half; j++)
                {
                    split[o + j] = xi[2 * j];
                    split[o + half + j] = xi[2 * j + 1];
                }
            }
        }
        try
        {
            fixed (float* xs = split)
            {
                int groups = (rows + 3) / 4;
                bool par = Parallel((long)m * rows * k);
                int threads = par ? WorkerPool.Default.Threads : 1;
                int groupsPerItem = Math.Max(1, groups / (threads * 16));
                int items = (groups + groupsPerItem - 1) / groupsPerItem;
                float* xsp = xs;
                void Item(int it)
                {
                    float* sums = stackalloc float[8];
                    int g1 = Math.Min(groups, (it + 1) * groupsPerItem);
                    for (int g = it * groupsPerItem; g < g1; g++)
                    {
                        int r0 = g * 4;
                        int valid = Math.Min(4, rows - r0);
                        byte* w0 = wp + (long)r0 * k * esize;
                        byte* w1 = wp + (long)(r0 + Math.Min(1, valid - 1)) * k * esize;
                        byte* w2 = wp + (long)(r0 + Math.Min(2, valid - 1)) * k * esize;
                        byte* w3 = wp + (long)(r0 + Math.Min(3, valid - 1)) * k * esize;
                        int i0 = 0;
                        if (Vector512.IsHardwareAccelerated)
                        {
                            // Two rows of x per pass over the 4 rows of W: half the W loads (and conversions).
                            for (; i0 + 2 <= m; i0 += 2)
                            {
                                float* xa = x + (long)i0 * k;
                                switch (dt)
                                {
                                    case DType.F32: Dot4x2F32(xa, xa + k, (float*)w0, (float*)w1, (float*)w2, (float*)w3, k, sums); break;
                                    case DType.BF16: Dot4x2Half16<BF16Bits>(xa, xa + k, xsp + (long)i0 * 2 * half, xsp + (long)(i0 + 1) * 2 * half, (ushort*)w0, (ushort*)w1, (ushort*)w2, (ushort*)w3, k, sums); break;
                                    default: Dot4x2Half16<F16Bits>(xa, xa + k, xsp + (long)i0 * 2 * half, xsp + (long)(i0 + 1) * 2 * half, (ushort*)w0, (ushort*)w1, (ushort*)w2, (ushort*)w3, k, sums); break;
                                }
                                for (int ii = 0; ii < 2; ii++)
                                {
                                    float* yi = y + (long)(i0 + ii) * rows + r0;
                                    for (int r = 0; r < valid; r++) yi[r] = bias is null ? sums[ii * 4 + r] : sums[ii * 4 + r] + bias[r0 + r];
                                }
                            }
                        }
                        for (int i = i0; i < m; i++)
                        {
                            float* xi = x + (long)i * k;
                            switch (dt)
                            {
                                case DType.F32: Dot4F32(xi, (float*)w0, (float*)w1, (float*)w2, (float*)w3, k, sums); break;
                                case DType.BF16: Dot4Half16<BF16Bits>(xi, xsp + (long)i * 2 * half, (ushort*)w0, (ushort*)w1, (ushort*)w2, (ushort*)w3, k, sums); break;
                                default: Dot4Half16<F16Bits>(xi, xsp + (long)i * 2 * half, (ushort*)w0, (ushort*)w1, (ushort*)w2, (ushort*)w3, k, sums); break;
                            }
                            float* yi = y + (long)i * rows + r0;
                            for (int r = 0; r < valid; r++) yi[r] = bias is null ? sums[r] : sums[r] + bias[r0 + r];
                        }
                    }
                }
                if (items == 1 || !par) { for (int it = 0; it < items; it++) Item(it); }
                else WorkerPool.Default.For(items, Item);
            }
        }
        finally
        {
            if (split is not null) ArrayPool<float>.Shared.Return(split);
        }
    }

    /// <summary>Whether the GEMV loops prefetch the next group of 4 rows (to L2) while reading this one
    /// (on by default; SEESHARP_GEMV_PREFETCH=0 turns it off, for benchmarking). Measured: ~0.67 -> ~0.77 of read
    /// bandwidth for F32 and ~0.76 -> ~0.85 for BF16 on one thread.</summary>
    internal static readonly bool Prefetch = Environment.GetEnvironmentVariable("SEESHARP_GEMV_PREFETCH") != "0";

    /// <summary>Prefetches (to L2) the cache line at <paramref name="p"/> in the 4 rows of the next group: rows are
    /// <paramref name="rowBytes"/> apart and the next group starts 4 rows on. Prefetches never fault, so the
    /// addresses past the last row are harmless. Keeps one sequential stream going across row-group boundaries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchNextGroup(byte* p, long rowBytes)
    {
        byte* n = p + 4 * rowBytes;
        Sse.Prefetch1(n);
        Sse.Prefetch1(n + rowBytes);
        Sse.Prefetch1(n + 2 * rowBytes);
        Sse.Prefetch1(n + 3 * rowBytes);
    }

    /// <summary>sums[ii * 4 + r] = W_r · x_ii for 4 fp32 rows of W and 2 rows of x (Vector512 only; 8 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4x2F32(float* xa, float* xb, float* w0, float* w1, float* w2, float* w3, int k, float* sums)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        int c = 0;
        for (; c <= k - Vector512<float>.Count; c += Vector512<float>.Count)
        {
            if (Sse.IsSupported && Prefetch) PrefetchNextGroup((byte*)(w0 + c), (long)k * 4);
            var xv = Vector512.Load(xa + c);
            var yv = Vector512.Load(xb + c);
            var v0 = Vector512.Load(w0 + c); var v1 = Vector512.Load(w1 + c);
            var v2 = Vector512.Load(w2 + c); var v3 = Vector512.Load(w3 + c);
            a0 = Vector512.FusedMultiplyAdd(v0, xv, a0); b0 = Vector512.FusedMultiplyAdd(v0, yv, b0);
            a1 = Vector512.FusedMultiplyAdd(v1, xv, a1); b1 = Vector512.FusedMultiplyAdd(v1, yv, b1);
            a2 = Vector512.FusedMultiplyAdd(v2, xv, a2); b2 = Vector512.FusedMultiplyAdd(v2, yv, b2);
            a3 = Vector512.FusedMultiplyAdd(v3, xv, a3); b3 = Vector512.FusedMultiplyAdd(v3, yv, b3);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        float t0 = Vector512.Sum(b0), t1 = Vector512.Sum(b1), t2 = Vector512.Sum(b2), t3 = Vector512.Sum(b3);
        for (; c < k; c++)
        {
            float xv = xa[c], yv = xb[c];
            s0 += w0[c] * xv; s1 += w1[c] * xv; s2 += w2[c] * xv; s3 += w3[c] * xv;
            t0 += w0[c] * yv; t1 += w1[c] * yv; t2 += w2[c] * yv; t3 += w3[c] * yv;
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
        sums[4] = t0; sums[5] = t1; sums[6] = t2; sums[7] = t3;
    }

    /// <summary>sums[ii * 4 + r] = W_r · x_ii for 4 BF16/F16 rows of W and 2 rows of x (Vector512 only):
    /// each W vector is widened once and used for both rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4x2Half16<T>(float* xa, float* xb, float* xsa, float* xsb, ushort* w0, ushort* w1, ushort* w2, ushort* w3, int k, float* sums)
        where T : struct, IHalf16
    {
        int half = k / 2;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        int j = 0;
        for (; j <= half - Vector512<uint>.Count; j += Vector512<uint>.Count)
        {
            if (Sse.IsSupported && Prefetch) PrefetchNextGroup((byte*)(w0 + 2 * j), (long)k * 2);
            var ea = Vector512.Load(xsa + j); var oa = Vector512.Load(xsa + half + j);
            var eb = Vector512.Load(xsb + j); var ob = Vector512.Load(xsb + half + j);
            var v = Vector512.Load((uint*)(w0 + 2 * j));
            var lo = T.Lo(v); var hi = T.Hi(v);
            a0 = Vector512.FusedMultiplyAdd(lo, ea, Vector512.FusedMultiplyAdd(hi, oa, a0));
            b0 = Vector512.FusedMultiplyAdd(lo, eb, Vector512.FusedMultiplyAdd(hi, ob, b0));
            v = Vector512.Load((uint*)(w1 + 2 * j)); lo = T.Lo(v); hi = T.Hi(v);
            a1 = Vector512.FusedMultiplyAdd(lo, ea, Vector512.FusedMultiplyAdd(hi, oa, a1));
            b1 = Vector512.FusedMultiplyAdd(lo, eb, Vector512.FusedMultiplyAdd(hi, ob, b1));
            v = Vector512.Load((uint*)(w2 + 2 * j)); lo = T.Lo(v); hi = T.Hi(v);
            a2 = Vector512.FusedMultiplyAdd(lo, ea, Vector512.FusedMultiplyAdd(hi, oa, a2));
            b2 = Vector512.FusedMultiplyAdd(lo, eb, Vector512.FusedMultiplyAdd(hi, ob, b2));
            v = Vector512.Load((uint*)(w3 + 2 * j)); lo = T.Lo(v); hi = T.Hi(v);
            a3 = Vector512.FusedMultiplyAdd(lo, ea, Vector512.FusedMultiplyAdd(hi, oa, a3));
            b3 = Vector512.FusedMultiplyAdd(lo, eb, Vector512.FusedMultiplyAdd(hi, ob, b3));
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        float t0 = Vector512.Sum(b0), t1 = Vector512.Sum(b1), t2 = Vector512.Sum(b2), t3 = Vector512.Sum(b3);
        for (int c = 2 * j; c < k; c++)
        {
            float xv = xa[c], yv = xb[c];
            float f0 = T.ToSingle(w0[c]), f1 = T.ToSingle(w1[c]), f2 = T.ToSingle(w2[c]), f3 = T.ToSingle(w3[c]);
            s0 += f0 * xv; s1 += f1 * xv; s2 += f2 * xv; s3 += f3 * xv;
            t0 += f0 * yv; t1 += f1 * yv; t2 += f2 * yv; t3 += f3 * yv;
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
        sums[4] = t0; sums[5] = t1; sums[6] = t2; sums[7] = t3;
    }

    /// <summary>sums[r] = W_r · x for 4 fp32 rows of length k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4F32(float* x, float* w0, float* w1, float* w2, float* w3, int k, float* sums)
    {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int c = 0;
        if (Vector512.IsHardwareAccelerated && k >= Vector512<float>.Count)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c <= k - Vector512<float>.Count; c += Vector512<float>.Count)
            {
                var xv = Vector512.Load(x + c);
                if (Sse.IsSupported && Prefetch) PrefetchNextGroup((byte*)(w0 + c), (long)k * 4);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + c), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + c), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + c), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + c), xv, a3);
            }
            s0 = Vector512.Sum(a0); s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2); s3 = Vector512.Sum(a3);
        }
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<float>.Count)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c <= k - Vector256<float>.Count; c += Vector256<float>.Count)
            {
                var xv = Vector256.Load(x + c);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w0 + c), xv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + c), xv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + c), xv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + c), xv, a3);
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; c < k; c++)
        {
            float xv = x[c];
            s0 += w0[c] * xv; s1 += w1[c] * xv; s2 += w2[c] * xv; s3 += w3[c] * xv;
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
    }

    /// <summary>sums[r] = W_r · x for 4 BF16 or F16 rows; xs = x split into [even elements | odd elements].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4Half16<T>(float* x, float* xs, ushort* w0, ushort* w1, ushort* w2, ushort* w3, int k, float* sums)
        where T : struct, IHalf16
    {
        int half = k / 2;
        float* xe = xs, xo = xs + half;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;   // pair index: elements 2j (low half of the uint) and 2j + 1 (high half)
        if (Vector512.IsHardwareAccelerated && half >= Vector512<uint>.Count)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j <= half - Vector512<uint>.Count; j += Vector512<uint>.Count)
            {
                var ev = Vector512.Load(xe + j);
                var od = Vector512.Load(xo + j);
                if (Sse.IsSupported && Prefetch) PrefetchNextGroup((byte*)(w0 + 2 * j), (long)k * 2);
                var v0 = Vector512.Load((uint*)(w0 + 2 * j));
                var v1 = Vector512.Load((uint*)(w1 + 2 * j));
                var v2 = Vector512.Load((uint*)(w2 + 2 * j));
                var v3 = Vector512.Load((uint*)(w3 + 2 * j));
                a0 = Vector512.FusedMultiplyAdd(T.Lo(v0), ev, Vector512.FusedMultiplyAdd(T.Hi(v0), od, a0));
                a1 = Vector512.FusedMultiplyAdd(T.Lo(v1), ev, Vector512.FusedMultiplyAdd(T.Hi(v1), od, a1));
                a2 = Vector512.FusedMultiplyAdd(T.Lo(v2), ev, Vector512.FusedMultiplyAdd(T.Hi(v2), od, a2));
                a3 = Vector512.FusedMultiplyAdd(T.Lo(v3), ev, Vector512.FusedMultiplyAdd(T.Hi(v3), od, a3));
            }
            s0 = Vector512.Sum(a0); s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2); s3 = Vector512.Sum(a3);
        }
        else if (Vector256.IsHardwareAccelerated && half >= Vector256<uint>.Count)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j <= half - Vector256<uint>.Count; j += Vector256<uint>.Count)
            {
                var ev = Vector256.Load(xe + j);
                var od = Vector256.Load(xo + j);
                var v0 = Vector256.Load((uint*)(w0 + 2 * j));
                var v1 = Vector256.Load((uint*)(w1 + 2 * j));
                var v2 = Vector256.Load((uint*)(w2 + 2 * j));
                var v3 = Vector256.Load((uint*)(w3 + 2 * j));
                a0 = Vector256.FusedMultiplyAdd(T.Lo(v0), ev, Vector256.FusedMultiplyAdd(T.Hi(v0), od, a0));
                a1 = Vector256.FusedMultiplyAdd(T.Lo(v1), ev, Vector256.FusedMultiplyAdd(T.Hi(v1), od, a1));
                a2 = Vector256.FusedMultiplyAdd(T.Lo(v2), ev, Vector256.FusedMultiplyAdd(T.Hi(v2), od, a2));
                a3 = Vector256.FusedMultiplyAdd(T.Lo(v3), ev, Vector256.FusedMultiplyAdd(T.Hi(v3), od, a3));
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (int c = 2 * j; c < k; c++)
        {
            float xv = x[c];
            s0 += T.ToSingle(w0[c]) * xv; s1 += T.ToSingle(w1[c]) * xv;
            s2 += T.ToSingle(w2[c]) * xv; s3 += T.ToSingle(w3[c]) * xv;
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
    }

    /// <summary>How a 16-bit float format widens: the low / high 16-bit halves of each uint lane as fp32.
    /// A struct type parameter, so the JIT compiles one specialized loop per format.</summary>
    internal interface IHalf16
    {
        static abstract float ToSingle(ushort bits);
        static abstract Vector512<float> Lo(Vector512<uint> v);
        static abstract Vector512<float> Hi(Vector512<uint> v);
        static abstract Vector256<float> Lo(Vector256<uint> v);
        static abstract Vector256<float> Hi(Vector256<uint> v);
    }

    /// <summary>bf16 is the top half of an fp32: a shift (low half) or a mask (high half).</summary>
    internal readonly struct BF16Bits : IHalf16
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ToSingle(ushort bits) => DTypes.BF16ToSingle(bits);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Lo(Vector512<uint> v) => (v << 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Hi(Vector512<uint> v) => (v & Vector512.Create(0xFFFF0000u)).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Lo(Vector256<uint> v) => (v << 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Hi(Vector256<uint> v) => (v & Vector256.Create(0xFFFF0000u)).AsSingle();
    }

    /// <summary>IEEE half: <see cref="HalfToSingle(Vector512{uint})"/> on each half.</summary>
    internal readonly struct F16Bits : IHalf16
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ToSingle(ushort bits) => DTypes.F16ToSingle(bits);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Lo(Vector512<uint> v) => HalfToSingle(v & Vector512.Create(0xFFFFu));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Hi(Vector512<uint> v) => HalfToSingle(v >> 16);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Lo(Vector256<uint> v) => HalfToSingle(v & Vector256.Create(0xFFFFu));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Hi(Vector256<uint> v) => HalfToSingle(v >> 16);
    }

    // IEEE half bits (in the low 16 bits of each lane) to fp32, exactly: (exp|mantissa) << 13 read as fp32 and
    // scaled by 2^112 re-biases the exponent (subnormal halves become fp32 denormals first, which the scaling
    // makes normal); exponent 31 (inf/NaN) maps to 255; the sign is put back.
    private const uint TwoPow112 = 0x7780_0000;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingle(Vector512<uint> h)
    {
        var em = h & Vector512.Create(0x7FFFu);
        var sign = (h & Vector512.Create(0x8000u)) << 16;
        var scaled = ((em << 13).AsSingle() * Vector512.Create(TwoPow112).AsSingle()).AsUInt32();
        var special = (em << 13) | Vector512.Create(0x7F80_0000u);
        var isSpecial = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u));
        return (Vector512.ConditionalSelect(isSpecial, special, scaled) | sign).AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingle(Vector256<uint> h)
    {
        var em = h & Vector256.Create(0x7FFFu);
        var sign = (h & Vector256.Create(0x8000u)) << 16;
        var scaled = ((em << 13).AsSingle() * Vector256.Create(TwoPow112).AsSingle()).AsUInt32();
        var special = (em << 13) | Vector256.Create(0x7F80_0000u);
        var isSpecial = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u));
        return (Vector256.ConditionalSelect(isSpecial, special, scaled) | sign).AsSingle();
    }

    // ---- packed GEMM -----------------------------------------------------------------------------------------

    private static float* Aligned(ref float[]? cache, long floats)
    {
        long need = floats + 16;
        if (cache is null || cache.Length < need)
            cache = GC.AllocateUninitializedArray<float>((int)Math.Min(int.MaxValue, Math.Max(need, 1024)), pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref cache[0]);
        return (float*)(((nuint)p + 63) & ~(nuint)63);
    }

    private static void Packed(float* x, int m, WeightMatrix w, float* bias, float* y)
    {
        int rows = w.Rows, k = w.Cols;
        int mPanels = (m + MR - 1) / MR;
        int mPad = mPanels * MR;
        int nPanels = (rows + NR - 1) / NR;
        bool par = Parallel((long)m * rows * k);

        // Ap: for each KC block (k0, kcLen): mPanels panels of [kcLen][6]; the block starts at k0 * mPad.
        float* ap = Aligned(ref t_packA, (long)mPad * k);
        void PackA(int ip)
        {
            for (int k0 = 0; k0 < k; k0 += KC)
            {
                int kcLen = Math.Min(KC, k - k0);
                float* dst = ap + (long)k0 * mPad + (long)ip * MR * kcLen;
                for (int r = 0; r < MR; r++)
                {
                    int i = ip * MR + r;
                    if (i < m)
                    {
                        float* src = x + (long)i * k + k0;
                        for (int p = 0; p < kcLen; p++) dst[p * MR + r] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kcLen; p++) dst[p * MR + r] = 0f;
                    }
                }
            }
        }
        if (par && mPanels > 1) WorkerPool.Default.For(mPanels, PackA);
        else for (int ip = 0; ip < mPanels; ip++) PackA(ip);

        DType dt = w.DType;
        byte* wp = w.Tensor.Pointer;
        int esize = DTypes.SizeOf(dt);
        void Panel(int jp)
        {
            float* bp = Aligned(ref t_packB, (long)KC * NR);
            float* edge = stackalloc float[MR * NR + 16];
            edge = (float*)(((nuint)edge + 63) & ~(nuint)63);
            int n0 = jp * NR;
            int nw = Math.Min(NR, rows - n0);
            for (int k0 = 0; k0 < k; k0 += KC)
            {
                int kcLen = Math.Min(KC, k - k0);
                PackB(wp, dt, k, n0, nw, k0, kcLen, bp);
                // While the micro-kernels run on this block, fetch the next block's rows into L2: PackB's reads
                // are short runs from 64 rows and are latency-bound when they come from DRAM.
                if (k0 + KC < k) PrefetchBlock(wp, esize, k, n0, nw, k0 + KC, Math.Min(KC, k - k0 - KC));
                else if (n0 + NR < rows) PrefetchBlock(wp, esize, k, n0 + NR, Math.Min(NR, rows - n0 - NR), 0, Math.Min(KC, k));
                bool accumulate = k0 > 0;
                float* aBlock = ap + (long)k0 * mPad;
                for (int ip = 0; ip < mPanels; ip++)
                {
                    int i0 = ip * MR;
                    int mh = Math.Min(MR, m - i0);
                    float* a = aBlock + (long)ip * MR * kcLen;
                    float* c = y + (long)i0 * rows + n0;
                    if (mh == MR && nw == NR)
                    {
                        Tile(a, bp, kcLen, c, rows, accumulate);
                    }
                    else
                    {
                        for (int r = 0; r < MR; r++)
                            for (int j = 0; j < NR; j++)
                                edge[r * NR + j] = accumulate && r < mh && j < nw ? c[(long)r * rows + j] : 0f;
                        Tile(a, bp, kcLen, edge, NR, accumulate: true);
                        for (int r = 0; r < mh; r++)
                            for (int j = 0; j < nw; j++) c[(long)r * rows + j] = edge[r * NR + j];
                    }
                }
            }
            if (bias is not null)
                for (int i = 0; i < m; i++)
                {
                    float* yi = y + (long)i * rows + n0;
                    for (int j = 0; j < nw; j++) yi[j] += bias[n0 + j];
                }
        }
        if (par && nPanels > 1) WorkerPool.Default.For(nPanels, Panel);
        else for (int jp = 0; jp < nPanels; jp++) Panel(jp);
    }

    /// <summary>Prefetches (to L2) rows [n0, n0 + nw) of W, columns [k0, k0 + kcLen).</summary>
    private static void PrefetchBlock(byte* wp, int esize, int k, int n0, int nw, int k0, int kcLen)
    {
        if (!Sse.IsSupported) return;
        long bytes = (long)kcLen * esize;
        for (int j = 0; j < nw; j++)
        {
            byte* row = wp + ((long)(n0 + j) * k + k0) * esize;
            for (long o = 0; o < bytes; o += 64) Sse.Prefetch1(row + o);
        }
    }

    /// <summary>Bp[p][j] = W[n0 + j, k0 + p] as fp32 for p &lt; kcLen, j &lt; 64; zero for j ≥ nw.
    /// Done in 16 x 16 tiles: 16 contiguous row reads (converted to fp32) into an L1 scratch tile, then the
    /// transpose out of it. Walking 64 rows that lie a power-of-two apart element by element instead thrashes
    /// L1's sets (measured ~10 cycles per element).</summary>
    internal static void PackB(byte* wp, DType dt, int k, int n0, int nw, int k0, int kcLen, float* bp)
    {
        if (nw < NR)
            for (int p = 0; p < kcLen; p++) new Span<float>(bp + p * NR + nw, NR - nw).Clear();
        float* tile = stackalloc float[16 * 16];
        for (int jb = 0; jb < nw; jb += 16)
        {
            int rn = Math.Min(16, nw - jb);
            for (int pb = 0; pb < kcLen; pb += 16)
            {
                int cn = Math.Min(16, kcLen - pb);
                for (int r = 0; r < rn; r++)
                {
                    long at = (long)(n0 + jb + r) * k + k0 + pb;
                    float* t = tile + r * 16;
                    if (cn == 16 && Vector512.IsHardwareAccelerated)
                    {
                        switch (dt)
                        {
                            case DType.F32: Vector512.Load((float*)wp + at).Store(t); break;
                            case DType.BF16: (Vector512.WidenLower(Vector256.Load((ushort*)wp + at).ToVector512Unsafe()) << 16).AsSingle().Store(t); break;
                            default: HalfToSingle(Vector512.WidenLower(Vector256.Load((ushort*)wp + at).ToVector512Unsafe())).Store(t); break;
                        }
                    }
                    else
                    {
                        switch (dt)
                        {
                            case DType.F32: for (int c = 0; c < cn; c++) t[c] = ((float*)wp)[at + c]; break;
                            case DType.BF16: for (int c = 0; c < cn; c++) t[c] = DTypes.BF16ToSingle(((ushort*)wp)[at + c]); break;
                            default: for (int c = 0; c < cn; c++) t[c] = DTypes.F16ToSingle(((ushort*)wp)[at + c]); break;
                        }
                    }
                }
                if (rn == 16 && cn == 16 && Avx512F.IsSupported)
                {
                    Transpose16x16(tile);
                    for (int c = 0; c < 16; c++) Vector512.Load(tile + c * 16).Store(bp + (pb + c) * NR + jb);
                }
                else
                {
                    for (int c = 0; c < cn; c++)
                    {
                        float* d = bp + (pb + c) * NR + jb;
                        for (int r = 0; r < rn; r++) d[r] = tile[r * 16 + c];
                    }
                }
            }
        }
    }

    /// <summary>In-place transpose of a 16 x 16 fp32 tile: four butterfly stages (d = 8, 4, 2, 1), each swapping
    /// the off-diagonal d x d blocks of every 2d x 2d block with two-source permutes.</summary>
    internal static void Transpose16x16(float* t)
    {
        Stage(t, 8, Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), Vector512.Create(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
        Stage(t, 4, Vector512.Create(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27), Vector512.Create(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31));
        Stage(t, 2, Vector512.Create(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29), Vector512.Create(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31));
        Stage(t, 1, Vector512.Create(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30), Vector512.Create(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stage(float* t, int d, Vector512<int> lo, Vector512<int> hi)
    {
        for (int i = 0; i < 16; i++)
        {
            if ((i & d) != 0) continue;
            var a = Vector512.Load(t + i * 16);
            var b = Vector512.Load(t + (i + d) * 16);
            Avx512F.PermuteVar16x32x2(a, lo, b).Store(t + i * 16);
            Avx512F.PermuteVar16x32x2(a, hi, b).Store(t + (i + d) * 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Tile(float* a, float* bp, int kc, float* c, int ldc, bool accumulate)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Kernel6x64V512(a, bp, kc, c, ldc, accumulate);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (int s = 0; s < NR; s += 16) Kernel6x16V256(a, bp + s, kc, c + s, ldc, accumulate);
        }
        else
        {
            KernelScalar(a, bp, kc, c, ldc, accumulate);
        }
    }

    /// <summary>The scalar twin of the micro-kernels: C[6, 64] (+)= Ap[kc][6] · Bp[kc][64].</summary>
    internal static void KernelScalar(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        float* acc = stackalloc float[MR * NR];
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r * NR + j] = accumulate ? c[r * ldc + j] : 0f;
        for (int p = 0; p < kc; p++)
            for (int r = 0; r < MR; r++)
            {
                float av = a[p * MR + r];
                for (int j = 0; j < NR; j++) acc[r * NR + j] += av * b[p * NR + j];
            }
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) c[r * ldc + j] = acc[r * NR + j];
    }
}
