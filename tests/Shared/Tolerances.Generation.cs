namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>Generation: logits processors, sampling, and the generate loop against golden scores.</summary>
    public static class Generation
    {
        /// <summary>Hand-computed small distributions (log/exp of round probabilities in fp32).</summary>
        public const float HandComputed = 1e-6f;
        /// <summary>transformers' <c>scores_processed</c> at each greedy step vs ours (fp32 model, max-abs).</summary>
        public const float ScoresProcessedMaxAbs = 1e-4f;
    }
}
