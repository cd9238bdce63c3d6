using SeeSharp.Processing;

namespace SeeSharp;

/// <summary>
/// What a processor makes of one or more chats: token ids with left padding and an attention mask, and the
/// preprocessed pixels. Carries its processor so generation can decode and stream text.
/// </summary>
public sealed class ModelInputs
{
    /// <summary>Makes inputs; <paramref name="inputIds"/> and <paramref name="attentionMask"/> are [batch, length].</summary>
    public ModelInputs(Processor processor, long[] inputIds, long[] attentionMask, int batchSize, IReadOnlyList<string> prompts, PixelBatch? pixels)
    {
        if (batchSize < 1 || inputIds.Length % batchSize != 0 || attentionMask.Length != inputIds.Length)
            throw new ArgumentException($"input ids ({inputIds.Length}) and attention mask ({attentionMask.Length}) do not form {batchSize} rows");
        Processor = processor;
        InputIds = inputIds;
        AttentionMask = attentionMask;
        BatchSize = batchSize;
        SequenceLength = inputIds.Length / batchSize;
        Prompts = prompts;
        Pixels = pixels;
    }

    /// <summary>The processor that made these inputs (its tokenizer decodes the answer).</summary>
    public Processor Processor { get; }
    /// <summary>[batch, length] token ids, left-padded with the pad token.</summary>
    public long[] InputIds { get; }
    /// <summary>[batch, length] 1 for real tokens, 0 for padding.</summary>
    public long[] AttentionMask { get; }
    /// <summary>Number of rows.</summary>
    public int BatchSize { get; }
    /// <summary>Length of each row, padding included.</summary>
    public int SequenceLength { get; }
    /// <summary>The expanded prompt text of each row (chat template applied, image tokens expanded).</summary>
    public IReadOnlyList<string> Prompts { get; }
    /// <summary>Preprocessed images, or null for a text-only input.</summary>
    public PixelBatch? Pixels { get; }

    /// <summary>The ids of one row, padding included.</summary>
    public ReadOnlySpan<long> Row(int row) => InputIds.AsSpan(row * SequenceLength, SequenceLength);

    /// <summary>The number of real (unpadded) tokens of a row.</summary>
    public int RowLength(int row)
    {
        int n = 0;
        foreach (var m in AttentionMask.AsSpan(row * SequenceLength, SequenceLength)) if (m != 0) n++;
        return n;
    }
}
