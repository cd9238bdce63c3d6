namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>
    /// Quantized models against the fp32 golden logits (tiny Idefics2: all 5 cases, the 495 positions whose attention
    /// mask is 1; decoder + connector quantized, activations quantized per block by the kernels).
    /// The tiny random model has many near-ties: even int8 weights dequantized back to fp32 (no activation
    /// quantization) agree on only 488/495 top-1 choices, all misses at fp32 top-1/top-2 margins below 0.1. So top-1 is
    /// bounded overall and, tighter, over the positions with a clear winner (margin >= <see cref="ClearMargin"/>).
    /// </summary>
    internal static class QuantModel
    {
        /// <summary>fp32 logit margin between the best and second-best token that counts as a clear winner.</summary>
        public const float ClearMargin = 0.1f;
        // Measured (2026-11-26): int8 per-row 97.17% overall, 99.51% of 408 clear positions, mean KL 1.03e-3. Probes the
        // same day (not kept as tests): activations per 32 columns (Int8Block32) also 481/495; only the decoder
        // quantized 484/495, only the connector 488/495 — the 99% overall is out of reach of symmetric int8 here.
        public const double Idefics2Int8Top1 = 0.97;
        public const double Idefics2Int8Top1Clear = 0.99;
        public const double Idefics2Int8MeanKl = 2e-3;
        // Measured: int4 groups of 32 61.8% overall, 67.4% clear, mean KL 0.101. Hidden size 64 leaves two groups per row,
        // so 4-bit noise is large against this model's margins; this bound documents it rather than blesses it.
        public const double Idefics2Int4Top1 = 0.60;
        public const double Idefics2Int4Top1Clear = 0.65;
        public const double Idefics2Int4MeanKl = 0.15;
    }
}
