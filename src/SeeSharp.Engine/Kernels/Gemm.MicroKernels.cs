// The unrolled register-tiled GEMM micro-kernels of Gemm.cs (written out so that RyuJIT keeps every
// accumulator in a register). Scalar twin: Gemm.KernelScalar; tests: KernelTests.Linear*.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SeeSharp.Engine.Kernels;

internal static unsafe partial class Gemm
{
    /// <summary>C[6, 64] (+)= Ap[kc][6] · Bp[kc][64] with 24 zmm accumulators (broadcast A, FMA).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x64V512(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0); c01 = Vector512.Load(c + 0 * ldc + 16); c02 = Vector512.Load(c + 0 * ldc + 32); c03 = Vector512.Load(c + 0 * ldc + 48);
            c10 = Vector512.Load(c + 1 * ldc + 0); c11 = Vector512.Load(c + 1 * ldc + 16); c12 = Vector512.Load(c + 1 * ldc + 32); c13 = Vector512.Load(c + 1 * ldc + 48);
            c20 = Vector512.Load(c + 2 * ldc + 0); c21 = Vector512.Load(c + 2 * ldc + 16); c22 = Vector512.Load(c + 2 * ldc + 32); c23 = Vector512.Load(c + 2 * ldc + 48);
            c30 = Vector512.Load(c + 3 * ldc + 0); c31 = Vector512.Load(c + 3 * ldc + 16); c32 = Vector512.Load(c + 3 * ldc + 32); c33 = Vector512.Load(c + 3 * ldc + 48);
            c40 = Vector512.Load(c + 4 * ldc + 0); c41 = Vector512.Load(c + 4 * ldc + 16); c42 = Vector512.Load(c + 4 * ldc + 32); c43 = Vector512.Load(c + 4 * ldc + 48);
            c50 = Vector512.Load(c + 5 * ldc + 0); c51 = Vector512.Load(c + 5 * ldc + 16); c52 = Vector512.Load(c + 5 * ldc + 32); c53 = Vector512.Load(c + 5 * ldc + 48);
        }
        else
        {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = Vector512<float>.Zero;
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32); var b3 = Vector512.Load(b + 48);
            var a0 = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01); c02 = Vector512.FusedMultiplyAdd(a0, b2, c02); c03 = Vector512.FusedMultiplyAdd(a0, b3, c03);
            var a1 = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11); c12 = Vector512.FusedMultiplyAdd(a1, b2, c12); c13 = Vector512.FusedMultiplyAdd(a1, b3, c13);
            var a2 = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(a2, b0, c20); c21 = Vector512.FusedMultiplyAdd(a2, b1, c21); c22 = Vector512.FusedMultiplyAdd(a2, b2, c22); c23 = Vector512.FusedMultiplyAdd(a2, b3, c23);
            var a3 = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(a3, b0, c30); c31 = Vector512.FusedMultiplyAdd(a3, b1, c31); c32 = Vector512.FusedMultiplyAdd(a3, b2, c32); c33 = Vector512.FusedMultiplyAdd(a3, b3, c33);
            var a4 = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(a4, b0, c40); c41 = Vector512.FusedMultiplyAdd(a4, b1, c41); c42 = Vector512.FusedMultiplyAdd(a4, b2, c42); c43 = Vector512.FusedMultiplyAdd(a4, b3, c43);
            var a5 = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(a5, b0, c50); c51 = Vector512.FusedMultiplyAdd(a5, b1, c51); c52 = Vector512.FusedMultiplyAdd(a5, b2, c52); c53 = Vector512.FusedMultiplyAdd(a5, b3, c53);
            a += 6;
            b += 64;
        }
        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 16); c02.Store(c + 0 * ldc + 32); c03.Store(c + 0 * ldc + 48);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 16); c12.Store(c + 1 * ldc + 32); c13.Store(c + 1 * ldc + 48);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 16); c22.Store(c + 2 * ldc + 32); c23.Store(c + 2 * ldc + 48);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 16); c32.Store(c + 3 * ldc + 32); c33.Store(c + 3 * ldc + 48);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 16); c42.Store(c + 4 * ldc + 32); c43.Store(c + 4 * ldc + 48);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 16); c52.Store(c + 5 * ldc + 32); c53.Store(c + 5 * ldc + 48);
    }

    /// <summary>C[6, 16] (+)= Ap[kc][6] · Bp[kc][64 (stride)] for one 16-wide strip, 12 ymm accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16V256(float* a, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.Load(c + 0 * ldc + 0); c01 = Vector256.Load(c + 0 * ldc + 8);
            c10 = Vector256.Load(c + 1 * ldc + 0); c11 = Vector256.Load(c + 1 * ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc + 0); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc + 0); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc + 0); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc + 0); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(a4, b0, c40); c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(a5, b0, c50); c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            a += 6;
            b += 64;
        }
        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 8);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 8);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 8);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 8);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 8);
    }
}
