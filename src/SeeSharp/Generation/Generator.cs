namespace SeeSharp.Generation;

/// <summary>
/// A model's decoder as the generation loop sees it: the prompt once, then one token per row per step.
/// Implemented per architecture over its KV cache; the image features are computed before and reused.
/// </summary>
public interface IDecoderSession : IDisposable
{
    /// <summary>Rows generated together (left-padded prompts).</summary>
    int BatchSize { get; }
    /// <summary>Size of one row of logits.</summary>
    int VocabSize { get; }
    /// <summary>Runs the prompt and writes the logits of its last position: [batch, vocab].</summary>
    void Prefill(Span<float> logits);
    /// <summary>Appends one token per row and writes the next logits: [batch, vocab].</summary>
    void Step(ReadOnlySpan<long> tokens, Span<float> logits);
}

/// <summary>Why a row stopped, in OpenAI's words.</summary>
public enum FinishReason
{
    /// <summary>Still generating.</summary>
    None,
    /// <summary>An end-of-sequence token or a stop string.</summary>
    Stop,
    /// <summary>The token budget (<c>max_new_tokens</c> / <c>max_length</c>) ran out.</summary>
    Length,
    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>One step of the loop: the token chosen for every row.</summary>
/// <param name="Index">0-based step number.</param>
/// <param name="Tokens">[batch] the token of each row (the pad token for rows that had already finished).</param>
/// <param name="Active">[batch] whether the row was still generating at this step (its token counts).</param>
/// <param name="Finish">[batch] the row's finish reason after this step (<see cref="FinishReason.None"/> while going on).</param>
/// <param name="ScoresProcessed">[batch, vocab] the processed scores the tokens were chosen from.</param>
public sealed record GenerationStep(int Index, long[] Tokens, bool[] Active, FinishReason[] Finish, float[] ScoresProcessed);

/// <summary>transformers' <c>_sample</c> loop (greedy and multinomial) over an <see cref="IDecoderSession"/>.</summary>
public static class Generator
{
    /// <summary>
    /// Runs generation, yielding after every step so callers can stream. Ends when every row has finished or the
    /// budget is spent. <paramref name="prompts"/> are the rows as the model sees them (left padding included).
    /// <paramref name="stopCheck"/>(row, generated tokens) may end a row early (stop strings).
    /// </summary>
    public static IEnumerable<GenerationStep> Run(IDecoderSession session, IReadOnlyList<long[]> prompts, GenerationSettings settings,
        Func<int, IReadOnlyList<long>, bool>? stopCheck = null, CancellationToken ct = default)
    {
        int batch = session.BatchSize, vocab = session.VocabSize;
        if (prompts.Count != batch) throw new ArgumentException($"{prompts.Count} prompt rows for a session of batch {batch}");
        var sampler = new Sampler(settings);
        var sequences = prompts.Select(p => new List<long>(p)).ToArray();
        var generated = Enumerable.Range(0, batch).Select(_ => new List<long>()).ToArray();
        var finish = new FinishReason[batch];
        var logits = new float[batch * vocab];
        if (settings.MaxNewTokens == 0) yield break;

        ct.ThrowIfCancellationRequested();
        session.Prefill(logits);
        for (int step = 0; ; step++)
        {
            ct.ThrowIfCancellationRequested();
            var tokens = new long[batch];
            var active = new bool[batch];
            for (int r = 0; r < batch; r++)
            {
                var row = logits.AsSpan(r * vocab, vocab);
                LogitsProcessors.Apply(settings, row, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sequences[r]), generated[r].Count);
                if (finish[r] != FinishReason.None) { tokens[r] = settings.PadTokenId; continue; }
                active[r] = true;
                tokens[r] = sampler.Next(row);
                generated[r].Add(tokens[r]);
                if (settings.EosTokenIds.Contains((int)tokens[r])) finish[r] = FinishReason.Stop;
                else if (stopCheck?.Invoke(r, generated[r]) == true) finish[r] = FinishReason.Stop;
                else if (step + 1 >= settings.MaxNewTokens) finish[r] = FinishReason.Length;
            }
            for (int r = 0; r < batch; r++) sequences[r].Add(tokens[r]);
            bool done = finish.All(f => f != FinishReason.None);
            yield return new GenerationStep(step, tokens, active, (FinishReason[])finish.Clone(), (float[])logits.Clone());
            if (done) yield break;
            ct.ThrowIfCancellationRequested();
            session.Step(tokens, logits);
        }
    }
}
