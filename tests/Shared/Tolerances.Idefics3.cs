namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>The Idefics3 / SmolVLM model (SeeSharp.Models.Idefics3) against transformers 4.46.0.dev0 golden outputs.</summary>
    internal static class Idefics3
    {
        /// <summary>
        /// fp32 port vs fp32 reference, every intermediate and the logits: max |a - b|. The reference's own fp32 vs fp64
        /// gap is 5e-6..6e-6 (tests/fixtures/idefics3-tiny/README.md); 1e-4 (the bound, as for Idefics2) leaves
        /// room for a different summation order without hiding a wrong formula.
        /// </summary>
        public const double MaxAbsError = 1e-4;

        /// <summary>fp32 port vs fp32 reference: Σ(a - b)² / Σ b² (ggml test-backend-ops' default bound).</summary>
        public const double NormalizedMse = 1e-7;

        /// <summary>Our KV-cache decode vs our own no-cache full forward (same bound and reason as Tolerances.Model.CacheVsFullMaxAbs).</summary>
        public const double CacheVsFullMaxAbs = 2e-5;
    }
}
