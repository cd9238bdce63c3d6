using SeeSharp.Generation;

namespace SeeSharp;

/// <summary>What one generation produced.</summary>
public sealed class GenerationResult
{
    internal GenerationResult(IReadOnlyList<GenerationRow> rows, int promptTokens, GenerationTimings timings, IReadOnlyList<float[]>? scores)
    {
        Rows = rows; PromptTokens = promptTokens; Timings = timings; Scores = scores;
    }

    /// <summary>Every row of the batch, in input order.</summary>
    public IReadOnlyList<GenerationRow> Rows { get; }
    /// <summary>The generated token ids of the first row (end-of-sequence token included when one ended it).</summary>
    public IReadOnlyList<int> Tokens => Rows[0].Tokens;
    /// <summary>The first row's answer, special tokens skipped.</summary>
    public string Text => Rows[0].Text;
    /// <summary>Why the first row stopped.</summary>
    public FinishReason FinishReason => Rows[0].FinishReason;
    /// <summary>Prompt tokens of all rows (padding excluded).</summary>
    public int PromptTokens { get; }
    /// <summary>Where the time went.</summary>
    public GenerationTimings Timings { get; }
    /// <summary>When <see cref="GenerationOptions.OutputScores"/> was set: per step, the processed scores [batch, vocab].</summary>
    public IReadOnlyList<float[]>? Scores { get; }
}

/// <summary>One row's answer.</summary>
public sealed record GenerationRow(IReadOnlyList<int> Tokens, string Text, FinishReason FinishReason);

/// <summary>Seconds spent per phase of a generation.</summary>
public sealed record GenerationTimings
{
    /// <summary>Vision tower + connector, for the images not already encoded in this conversation.</summary>
    public double ImageEncodeSeconds { get; init; }
    /// <summary>The decoder over the prompt tokens that were not in the cache.</summary>
    public double PrefillSeconds { get; init; }
    /// <summary>Prompt tokens run through the decoder (fewer than the prompt when a conversation prefix was reused).</summary>
    public int PrefillTokens { get; init; }
    /// <summary>The decode steps after the first token.</summary>
    public double DecodeSeconds { get; init; }
    /// <summary>Decode steps run.</summary>
    public int DecodeTokens { get; init; }
    /// <summary>Prefill speed.</summary>
    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PrefillTokens / PrefillSeconds : 0;
    /// <summary>Decode speed (tokens per row per second).</summary>
    public double DecodeTokensPerSecond => DecodeSeconds > 0 ? DecodeTokens / DecodeSeconds : 0;
}

/// <summary>A piece of a streamed answer.</summary>
/// <param name="Row">The batch row it belongs to.</param>
/// <param name="Text">New text (may be empty while a multi-byte character is incomplete).</param>
/// <param name="TokenId">The token that produced it (-1 for the final flush).</param>
/// <param name="FinishReason">Set on the row's last chunk.</param>
/// <param name="Result">Set on the very last chunk of the generation: the whole result.</param>
public sealed record GenerationChunk(int Row, string Text, int TokenId, FinishReason FinishReason, GenerationResult? Result = null);
