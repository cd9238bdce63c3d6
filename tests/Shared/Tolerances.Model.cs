namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>The Idefics2 model (SeeSharp.Models.Idefics2) against transformers 4.45.2 golden outputs.</summary>
    internal static class Model
    {
        /// <summary>
        /// fp32 port vs fp32 reference, every intermediate and the logits: max |a - b|. The reference's own fp32 vs
        /// fp64 gap is 2e-6..6e-6 (tests/fixtures/idefics2-tiny/README.md), so 1e-4 leaves room for a different
        /// summation order without hiding a wrong formula (those show up as 1e-2 and more).
        /// </summary>
        public const double MaxAbsError = 1e-4;

        /// <summary>fp32 port vs fp32 reference: Σ(a - b)² / Σ b² (ggml test-backend-ops' default bound).</summary>
        public const double NormalizedMse = 1e-7;

        /// <summary>
        /// Our KV-cache decode vs our own no-cache full forward over the same tokens: same weights, same kernels, only
        /// the row grouping differs (the reference is bit-identical here; GEMM vs GEMV blocking moves the last bits:
        /// measured 4e-6 on logits of |8| with the SIMD engine, 0 with the scalar one).
        /// </summary>
        public const double CacheVsFullMaxAbs = 2e-5;

        /// <summary>
        /// All weights stored as BF16 (converted by the test, round-to-nearest-even) vs the fp32 golden logits, max |a - b|
        /// over every position of every case. BF16 keeps 8 significant bits (relative error up to 2^-9); the logits reach
        /// |8|. Measured worst case 0.094 over the five tiny-model cases (scalar kernels).
        /// </summary>
        public const double Bf16LogitsMaxAbs = 0.2;

        /// <summary>
        /// As <see cref="Bf16LogitsMaxAbs"/> for F16 weights (11 significant bits, relative error up to 2^-12).
        /// Measured worst case 0.0145.
        /// </summary>
        public const double F16LogitsMaxAbs = 0.03;
    }
}
