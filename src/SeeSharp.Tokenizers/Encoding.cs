namespace SeeSharp.Tokenizers;

/// <summary>
/// The result of <see cref="Tokenizer.Encode"/>, as the Rust <c>Encoding</c>. Offsets are
/// <c>(start, end)</c> in Unicode scalar values (code points) of the input text, the unit the Rust library reports
/// through its Python/Node bindings; tokens added by the post-processor have <c>(0, 0)</c>.
/// </summary>
public sealed class Encoding
{
    internal Encoding(int[] ids, string[] tokens, (int, int)[] offsets, int[] typeIds, bool[] special)
    {
        Ids = ids;
        Tokens = tokens;
        Offsets = offsets;
        TypeIds = typeIds;
        SpecialTokensMask = special;
        var mask = new int[ids.Length];
        Array.Fill(mask, 1);
        AttentionMask = mask;
    }

    /// <summary>Token ids.</summary>
    public IReadOnlyList<int> Ids { get; }
    /// <summary>Token strings (vocabulary form, e.g. <c>▁Hello</c> or <c>ĠHello</c>).</summary>
    public IReadOnlyList<string> Tokens { get; }
    /// <summary>Per token, the [Start, End) range of the original text in Unicode scalar values.</summary>
    public IReadOnlyList<(int Start, int End)> Offsets { get; }
    /// <summary>Segment (type) ids from the post-processor template.</summary>
    public IReadOnlyList<int> TypeIds { get; }
    /// <summary>All ones (no padding is applied by <see cref="Tokenizer.Encode"/>).</summary>
    public IReadOnlyList<int> AttentionMask { get; }
    /// <summary>True for tokens inserted by the post-processor (e.g. <c>&lt;s&gt;</c>).</summary>
    public IReadOnlyList<bool> SpecialTokensMask { get; }
    /// <summary>Number of tokens.</summary>
    public int Count => Ids.Count;
}
