namespace SeeSharp.Generation;

/// <summary>
/// transformers' logits processors and warpers (generation/logits_process.py, v4.45.2), applied to one row of
/// scores in the order <c>_get_logits_processor</c> builds them: repetition penalty, bad words, minimum length,
/// then, when sampling, temperature, top-k, top-p, min-p. Filtered scores become <see cref="float.NegativeInfinity"/>.
/// </summary>
public static class LogitsProcessors
{
    /// <summary>Applies every processor of <paramref name="s"/> to <paramref name="scores"/> in place.</summary>
    /// <param name="scores">[vocab] raw logits of one row.</param>
    /// <param name="sequence">The row's tokens so far (prompt, left padding included as transformers does, then generated).</param>
    /// <param name="newTokens">How many tokens this row has generated so far.</param>
    public static void Apply(GenerationSettings s, Span<float> scores, ReadOnlySpan<long> sequence, int newTokens)
    {
        RepetitionPenalty(scores, sequence, s.RepetitionPenalty);
        BanBadWords(scores, sequence, s.BadWordsIds, s.EosTokenIds);
        if (newTokens < s.MinNewTokens) BanTokens(scores, s.EosTokenIds);
        if (!s.DoSample) return;
        Temperature(scores, s.Temperature);
        TopK(scores, s.TopK);
        TopP(scores, s.TopP);
        if (s.MinP is float minP) MinP(scores, minP);
    }

    /// <summary>CTRL penalty: a seen token's score is divided by the penalty when positive, multiplied when negative.</summary>
    public static void RepetitionPenalty(Span<float> scores, ReadOnlySpan<long> sequence, float penalty)
    {
        if (penalty == 1f) return;
        // transformers gathers the scores of all seen ids first, then scatters: a repeated id is penalised once.
        var seen = new HashSet<long>();
        foreach (var id in sequence)
        {
            if ((ulong)id >= (ulong)scores.Length || !seen.Add(id)) continue;
            float v = scores[(int)id];
            scores[(int)id] = v < 0 ? v * penalty : v / penalty;
        }
    }

    /// <summary>
    /// <c>NoBadWordsLogitsProcessor</c>: single-token entries are always banned; longer ones ban their last token when
    /// the sequence ends with the rest. Entries equal to an end-of-sequence token are ignored, as transformers does.
    /// </summary>
    public static void BanBadWords(Span<float> scores, ReadOnlySpan<long> sequence, IReadOnlyList<IReadOnlyList<int>> badWords, IReadOnlyList<int> eos)
    {
        foreach (var word in badWords)
        {
            if (word.Count == 1 && eos.Contains(word[0])) continue;
            int last = word[^1];
            if ((uint)last >= (uint)scores.Length) continue;
            int prefix = word.Count - 1;
            if (prefix > sequence.Length) continue;
            bool match = true;
            for (int i = 0; i < prefix && match; i++)
                match = sequence[sequence.Length - prefix + i] == word[i];
            if (match) scores[last] = float.NegativeInfinity;
        }
    }

    /// <summary>Sets the scores of <paramref name="ids"/> to minus infinity.</summary>
    public static void BanTokens(Span<float> scores, IReadOnlyList<int> ids)
    {
        foreach (var id in ids)
            if ((uint)id < (uint)scores.Length) scores[id] = float.NegativeInfinity;
    }

    /// <summary>Divides every score by the temperature.</summary>
    public static void Temperature(Span<float> scores, float temperature)
    {
        if (temperature == 1f) return;
        for (int i = 0; i < scores.Length; i++) scores[i] /= temperature;
    }

    /// <summary>Keeps the scores at least as large as the k-th largest (ties kept, as <c>scores &lt; topk[-1]</c>).</summary>
    public static void TopK(Span<float> scores, int k)
    {
        if (k <= 0 || k >= scores.Length) return;
        var sorted = scores.ToArray();
        Array.Sort(sorted);
        float kth = sorted[^k];
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] < kth) scores[i] = float.NegativeInfinity;
    }

    /// <summary>
    /// Nucleus filtering as transformers does it: sort ascending, cumulative softmax, remove the tokens whose
    /// cumulative probability is &lt;= 1 - top_p, always keeping the most likely one.
    /// </summary>
    public static void TopP(Span<float> scores, float topP)
    {
        if (topP >= 1f) return;
        var order = AscendingOrder(scores);
        var probs = Softmax(scores);
        float cumulative = 0f;
        for (int r = 0; r < order.Length - 1; r++) // the last (most likely) is always kept
        {
            cumulative += probs[order[r]];
            if (cumulative <= 1f - topP) scores[order[r]] = float.NegativeInfinity;
        }
    }

    /// <summary>Removes tokens whose probability is below <paramref name="minP"/> times the top probability (keeps the top one).</summary>
    public static void MinP(Span<float> scores, float minP)
    {
        var probs = Softmax(scores);
        float threshold = minP * probs.Max();
        int best = ArgMax(scores);
        for (int i = 0; i < scores.Length; i++)
            if (i != best && probs[i] < threshold) scores[i] = float.NegativeInfinity;
    }

    /// <summary>Index of the first largest score (torch.argmax's choice on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>Softmax in fp32 with the maximum subtracted; minus-infinity scores get probability 0.</summary>
    public static float[] Softmax(ReadOnlySpan<float> scores)
    {
        var p = new float[scores.Length];
        float max = float.NegativeInfinity;
        foreach (var v in scores) max = MathF.Max(max, v);
        if (float.IsNegativeInfinity(max)) throw new InvalidOperationException("every token was filtered out: no token can be chosen");
        float sum = 0f;
        for (int i = 0; i < p.Length; i++) sum += p[i] = MathF.Exp(scores[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    private static int[] AscendingOrder(ReadOnlySpan<float> scores)
    {
        var keys = scores.ToArray();
        var order = new int[keys.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(keys, order); // ties: order among equal scores does not change which mass is cut
        return order;
    }
}
