namespace SeeSharp.Nn;

/// <summary>
/// Additive attention masks with transformers' eager semantics: 0 where a key is attended, <see cref="float.MinValue"/>
/// (torch.finfo(float32).min) where it is not. In fp32, score + MinValue == MinValue, so a fully masked query row
/// becomes a uniform softmax (finite), exactly as in the reference; -inf would give NaN instead.
/// </summary>
public static class AttentionMasks
{
    /// <summary>The masked value: torch.finfo(torch.float32).min.</summary>
    public const float Masked = float.MinValue;

    /// <summary>
    /// Mask [qLen, keyValid.Length] of a bidirectional layer whose key j is visible iff <paramref name="keyValid"/>[j]
    /// (every query row alike), as <c>_prepare_4d_attention_mask</c> builds it.
    /// </summary>
    public static void Padding(Span<float> mask, int qLen, ReadOnlySpan<bool> keyValid)
    {
        var kvLen = keyValid.Length;
        if (mask.Length < qLen * kvLen) throw new ArgumentException($"mask needs {qLen * kvLen} floats, got {mask.Length}");
        for (var j = 0; j < kvLen; j++) mask[j] = keyValid[j] ? 0f : Masked;
        for (var i = 1; i < qLen; i++) mask[..kvLen].CopyTo(mask.Slice(i * kvLen, kvLen));
    }

    /// <summary>
    /// Causal + padding (+ sliding window) mask [qLen, pastLen + qLen] of one batch row, as transformers v4.45.2
    /// Mistral's <c>_prepare_4d_causal_attention_mask_with_cache_position</c> builds it for a dynamic cache: query i sits
    /// at cache position p = pastLen + i; key j is masked when j &gt; p (future), when j &lt;= p - slidingWindow, or when
    /// <paramref name="attentionMask"/>[j] == 0 (padding).
    /// </summary>
    /// <param name="attentionMask">The 2-D mask row over all pastLen + qLen keys (1 = real token, 0 = pad).</param>
    public static void CausalPadding(Span<float> mask, int qLen, int pastLen, ReadOnlySpan<long> attentionMask, int? slidingWindow)
    {
        var kvLen = pastLen + qLen;
        if (attentionMask.Length != kvLen)
            throw new ArgumentException($"attention mask row has {attentionMask.Length} entries, expected {kvLen} (cached {pastLen} + new {qLen})");
        if (mask.Length < qLen * kvLen) throw new ArgumentException($"mask needs {qLen * kvLen} floats, got {mask.Length}");
        for (var i = 0; i < qLen; i++)
        {
            var p = pastLen + i;
            var row = mask.Slice(i * kvLen, kvLen);
            for (var j = 0; j < kvLen; j++)
            {
                var hidden = j > p || attentionMask[j] == 0 || (slidingWindow is int w && j <= p - w);
                row[j] = hidden ? Masked : 0f;
            }
        }
    }
}
