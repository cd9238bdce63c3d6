namespace SeeSharp.Templates;

/// <summary>
/// Bounds that keep a hostile or buggy chat template from hanging or exhausting memory. Exceeding any of them
/// raises <see cref="TemplateLimitException"/> naming the limit. The defaults are far above what real chat
/// templates need (a long multi-turn prompt renders in a few thousand steps).
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>Default limits.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Longest template source accepted by <see cref="ChatTemplate.Parse"/>, in chars.</summary>
    public int MaxSourceLength { get; init; } = 1 << 20;

    /// <summary>Deepest nesting of blocks and sub-expressions the parser accepts.</summary>
    public int MaxNestingDepth { get; init; } = 100;

    /// <summary>Deepest chain of macro (and <c>caller</c>) calls at render time.</summary>
    public int MaxCallDepth { get; init; } = 50;

    /// <summary>
    /// Total work of one render: every loop iteration, macro call and item visited by a filter, test or method
    /// (join, map, sort, split, ...) counts one.
    /// </summary>
    public long MaxIterations { get; init; } = 1_000_000;

    /// <summary>Longest rendered output, in chars (also bounds block-set and filter-block bodies).</summary>
    public int MaxOutputLength { get; init; } = 4 << 20;

    /// <summary>Longest string any operation may build (repetition <c>'x' * n</c>, concatenation, join, replace, format).</summary>
    public int MaxStringLength { get; init; } = 4 << 20;

    /// <summary>Longest list any operation may build (list repetition and concatenation, <c>list</c> of a string).</summary>
    public int MaxListLength { get; init; } = 1 << 20;

    /// <summary>Most items <c>range()</c> may produce; Jinja's sandbox uses the same default (MAX_RANGE = 100000).</summary>
    public int MaxRangeLength { get; init; } = 100_000;

    /// <summary>Deepest nesting of lists/dicts/tuples that <c>tojson</c> serialises (printing, comparing and hashing stop at 128 levels, host values at 200).</summary>
    public int MaxValueDepth { get; init; } = 128;
}
