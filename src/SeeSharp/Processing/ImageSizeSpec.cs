namespace SeeSharp.Processing;

/// <summary>
/// The <c>size</c> / <c>max_image_size</c> dictionary of a Hugging Face <c>preprocessor_config.json</c>: any of
/// <c>shortest_edge</c>, <c>longest_edge</c>, <c>height</c>, <c>width</c> (null = absent).
/// </summary>
public sealed record ImageSizeSpec
{
    /// <summary><c>shortest_edge</c>.</summary>
    public int? ShortestEdge { get; init; }

    /// <summary><c>longest_edge</c>.</summary>
    public int? LongestEdge { get; init; }

    /// <summary><c>height</c>.</summary>
    public int? Height { get; init; }

    /// <summary><c>width</c>.</summary>
    public int? Width { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        "{" + string.Join(", ", new[] { ("shortest_edge", ShortestEdge), ("longest_edge", LongestEdge), ("height", Height), ("width", Width) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}: {p.Item2}")) + "}";
}
