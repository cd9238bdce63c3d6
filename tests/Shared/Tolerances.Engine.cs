namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    // ---- SeeSharp.Engine: Ops (SIMD, threaded) against Reference (scalar, double accumulation) ----------------
    // The fast kernels sum in fp32 in another order (and use FMA), so they differ from the double-accumulated
    // reference by a few ulp per term; bounds are relative to the magnitude of the reference output.

    /// <summary>Normalized MSE, Σ(fast - ref)² / Σ ref², for reductions (Linear, norms, attention).</summary>
    public const double KernelNmse = 1e-10;

    /// <summary>max |fast - ref| / max |ref| for reductions (k up to a few thousand fp32 terms).</summary>
    public const double KernelMaxAbsRelative = 1e-5;

    /// <summary>Per-element relative bound for element-wise ops (exp/tanh approximations: a few ulp).</summary>
    public const double ElementwiseRelative = 1e-5;

    /// <summary>Per-element absolute floor for element-wise ops near zero.</summary>
    public const double ElementwiseAbsolute = 1e-6;

    /// <summary>Hand-computed values (exact math in double) against Reference's fp32 outputs.</summary>
    public const double ReferenceHandAbsolute = 1e-6;

    /// <summary>Ops against torch's own fp32 outputs in the idefics2-tiny golden files (other summation order,
    /// k = 64): max |ours - torch| / max |torch|.</summary>
    public const double EngineGoldenMaxAbsRelative = 1e-5;
}
