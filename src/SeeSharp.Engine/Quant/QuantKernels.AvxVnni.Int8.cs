using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Quant;

/// <summary>
/// AVX-VNNI GEMV panel kernel for <see cref="QuantScheme.Int8PerRow"/>: vpdpbusd (u8 × s8, four products summed into
/// each int32 lane, no saturation) on 256-bit vectors, one instruction per 32 weight bytes where the AVX-512BW kernel
/// needs vpmaddubsw + vpmaddwd + vpaddd and a sign flip. The weight is fed as the unsigned operand w + 128 (w ^ 0x80),
/// the activation q as the signed one; the extra 128 · Σ q is removed exactly by starting each block's accumulators at
/// <see cref="ActRow.NegCorr"/>. The int32 lanes are then the very lanes of <see cref="Avx512QuantKernels.I8Row"/>
/// (lane L = columns 4L .. 4L + 3 of both 64-column chunks of a 128-column block), and the fp32 work (convert, FMA
/// with the block scale, one 16-lane horizontal sum) is the same, so the results are bit-identical to it — and to the
/// AVX-512 GEMM tile (tested). Measured on the 8B int8 checkpoint: gemv-only decode 0.90–0.91 of the read bandwidth
/// against 0.86–0.87 (both with the prefetch).
/// </summary>
internal static unsafe class AvxVnniInt8Kernels
{
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>out4[r] = Σ_blocks D[b] · Σ_c q[c]·w[r, c] for the 4 rows of one panel (as the AVX-512BW kernel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I8Row(sbyte* w, in ActRow a, int chunks, float* out4)
    {
        var flip = Vector256.Create((byte)0x80);
        Vector256<float> l0 = default, l1 = default, l2 = default, l3 = default;
        Vector256<float> h0 = default, h1 = default, h2 = default, h3 = default;
        sbyte* q = a.Q;
        int* nc = a.NegCorr;
        int pf = Avx512QuantKernels.PrefetchDistance;
        for (int k = 0; k < chunks; k += 2)
        {
            sbyte* qc = q + k * 64;
            int* ncb = nc + k * 8;
            sbyte* wc = w + k * 256;
            if (pf > 0) Avx512QuantKernels.Prefetch512((byte*)wc + pf);   // as the AVX-512BW kernel
            var d = Vector256.Create(a.D[k >> 1]);
            var q0 = Vector256.Load(qc);
            var q1 = Vector256.Load(qc + 32);
            var q2 = Vector256.Load(qc + 64);
            var q3 = Vector256.Load(qc + 96);
            var c0 = Vector256.Load(ncb);
            var c1 = Vector256.Load(ncb + 8);
            Block(wc, q0, q1, q2, q3, c0, c1, flip, d, ref l0, ref h0);
            Block(wc + 64, q0, q1, q2, q3, c0, c1, flip, d, ref l1, ref h1);
            Block(wc + 128, q0, q1, q2, q3, c0, c1, flip, d, ref l2, ref h2);
            Block(wc + 192, q0, q1, q2, q3, c0, c1, flip, d, ref l3, ref h3);
        }
        // the 16 lanes summed as Vector512.Sum sums them in the AVX-512BW kernel
        out4[0] = Vector512.Sum(Vector512.Create(l0, h0));
        out4[1] = Vector512.Sum(Vector512.Create(l1, h1));
        out4[2] = Vector512.Sum(Vector512.Create(l2, h2));
        out4[3] = Vector512.Sum(Vector512.Create(l3, h3));
    }

    // one weight row over one 128-column block: its chunk k at wr, chunk k + 1 at wr + 256
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(sbyte* wr, Vector256<sbyte> q0, Vector256<sbyte> q1, Vector256<sbyte> q2, Vector256<sbyte> q3,
        Vector256<int> c0, Vector256<int> c1, Vector256<byte> flip, Vector256<float> d, ref Vector256<float> lo, ref Vector256<float> hi)
    {
        var il = AvxVnni.MultiplyWideningAndAdd(c0, Vector256.Load((byte*)wr) ^ flip, q0);
        var ih = AvxVnni.MultiplyWideningAndAdd(c1, Vector256.Load((byte*)wr + 32) ^ flip, q1);
        il = AvxVnni.MultiplyWideningAndAdd(il, Vector256.Load((byte*)wr + 256) ^ flip, q2);
        ih = AvxVnni.MultiplyWideningAndAdd(ih, Vector256.Load((byte*)wr + 288) ^ flip, q3);
        lo = Fma.MultiplyAdd(Avx.ConvertToVector256Single(il), d, lo);
        hi = Fma.MultiplyAdd(Avx.ConvertToVector256Single(ih), d, hi);
    }
}
