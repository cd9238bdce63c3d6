namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>Quantized weights and kernels (src/SeeSharp.Engine/Quant).</summary>
    internal static class Quant
    {
        /// <summary>int8 round trip: |w − q·d| ≤ this × d (round to nearest: half a step, + fp32 slack).</summary>
        public const double Int8StepsPerElement = 0.5 + 1e-5;

        /// <summary>int4 (Q4_0-like) round trip: |w − q·d| ≤ this × |d|. The largest magnitude maps to −8, so a value of
        /// the opposite sign and the same magnitude would be +8 and is clamped to +7: up to one full step.</summary>
        public const double Int4StepsPerElement = 1.0 + 1e-5;

        /// <summary>SIMD kernel vs its scalar twin: the integer sums are exact, only the order of fp32 additions
        /// differs. Bound on |y − y_twin| relative to max |y_twin| of the output.</summary>
        public const double KernelVsTwinRelative = 2e-5;

        /// <summary>Int4Group GEMM row (AVX-VNNI repacked tiles: lanes = 8 output rows, one FMA per 32-block) vs an m = 1
        /// call of the same row (GEMV: 8-lane partial sums per row, or the AVX-512 kernel): the same exact integer block
        /// sums and scale products, fp32 accumulation in another order (~K / 32 terms). Bound on |y − y_gemv| relative
        /// to max |y_gemv| of the row.</summary>
        public const double Int4GemmVsGemvRelative = 1e-5;

        /// <summary>Normalized MSE (Σ(y − y_fp32)² / Σ y_fp32²) of the quantized linear layer (weights and
        /// activations quantized) against the fp32 product, for N(0, 1) weights and activations, 256..512 columns.</summary>
        public const double Int8PerRowLinearNmse = 2e-4;
        /// <inheritdoc cref="Int8PerRowLinearNmse"/>
        public const double Int8Block32LinearNmse = 2e-4;
        /// <inheritdoc cref="Int8PerRowLinearNmse"/>
        public const double Int4LinearNmse = 2e-2;
    }
}
