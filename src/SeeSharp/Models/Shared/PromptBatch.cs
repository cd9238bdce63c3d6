using SeeSharp.Imaging;
using SeeSharp.Tokenizers;

namespace SeeSharp.Models.Shared;

/// <summary>Steps the Idefics-family processors share: image loading, placeholder counting, tokenizing a left-padded batch.</summary>
internal static class PromptBatch
{
    /// <summary>
    /// Tokenizes the prompts with special tokens and pads them on the left (tokenizer_config padding_side "left") with
    /// the tokenizer's pad token: input_ids and attention_mask [prompts, longest].
    /// </summary>
    public static (long[] Ids, long[] Mask, int Length) TokenizeLeftPadded(Tokenizer tokenizer, IReadOnlyList<string> prompts, string folder)
    {
        var rows = prompts.Select(p => tokenizer.Encode(p, addSpecialTokens: true).Ids).ToList();
        int length = rows.Max(r => r.Count);
        long pad = 0;
        if (rows.Any(r => r.Count != length))
        {
            pad = (tokenizer.PadToken is string pt ? tokenizer.TokenToId(pt) : null)
                ?? throw new InvalidOperationException($"{folder}: prompts of different lengths need padding, but the tokenizer has no pad token");
        }
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        for (int b = 0; b < rows.Count; b++)
        {
            int offset = length - rows[b].Count;
            for (int i = 0; i < offset; i++) ids[b * length + i] = pad;
            for (int i = 0; i < rows[b].Count; i++) { ids[b * length + offset + i] = rows[b][i]; mask[b * length + offset + i] = 1; }
        }
        return (ids, mask, length);
    }

    /// <summary>transformers' <c>load_image</c>: decode (EXIF orientation applied), then Pillow's <c>convert("RGB")</c>, which drops alpha.</summary>
    public static RasterImage LoadImage(Image image) => ImageOps.ToRgbDropAlpha(ImageDecoder.Decode(image.Bytes, image.Source));

    /// <summary>Python's <c>str.count</c>: non-overlapping occurrences of <paramref name="token"/>.</summary>
    public static int CountOccurrences(string text, string token)
    {
        int n = 0;
        for (int i = text.IndexOf(token, StringComparison.Ordinal); i >= 0; i = text.IndexOf(token, i + token.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>
    /// <c>image_seq_len</c> of the folder's <c>processor_config.json</c>, or null when the file or the key is absent.
    /// A malformed file or value is an error naming the file.
    /// </summary>
    public static int? ImageSeqLenSetting(string folder)
    {
        var path = Path.Combine(folder, "processor_config.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object");
            if (!doc.RootElement.TryGetProperty("image_seq_len", out var v)) return null;
            if (v.ValueKind != System.Text.Json.JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 1 || n > 65536)
                throw new InvalidDataException($"{path}: image_seq_len must be a positive integer, got {v.GetRawText()}");
            return n;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
    }
}
