using System.Text.Json;
using SeeSharp.Imaging;

namespace SeeSharp.Processing;

/// <summary>Typed reads of <c>preprocessor_config.json</c> fields with errors that name the file, field and value.</summary>
internal sealed class PreprocessorJson
{
    private readonly JsonElement _root;

    public PreprocessorJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: expected a JSON object, found {root.ValueKind}");
        _root = root;
        Source = source;
    }

    public string Source { get; }

    public static T Parse<T>(string json, string source, Func<PreprocessorJson, T> read)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: invalid JSON: {e.Message}", e);
        }
        using (doc) return read(new PreprocessorJson(doc.RootElement, source));
    }

    private bool TryGet(string field, out JsonElement value) =>
        _root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    private InvalidDataException Bad(string field, JsonElement value, string expected) =>
        new($"{Source}: field '{field}' = {Truncate(value.GetRawText())} is not {expected}");

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";

    public bool Bool(string field, bool fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(field, v, "a boolean"),
        };
    }

    public double Number(string field, double fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d)) throw Bad(field, v, "a finite number");
        return d;
    }

    public ResampleFilter Resample(string field, ResampleFilter fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || !Enum.IsDefined((ResampleFilter)i))
            throw Bad(field, v, "a PIL resampling filter 0..5 (NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING)");
        return (ResampleFilter)i;
    }

    /// <summary>A number (repeated <paramref name="channels"/> times, as transformers does) or a list of <paramref name="channels"/> numbers.</summary>
    public double[] PerChannel(string field, double[] fallback, int channels, bool positive)
    {
        if (!TryGet(field, out var v)) return fallback;
        double[] values;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double single))
            values = Enumerable.Repeat(single, channels).ToArray();
        else if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == channels
                 && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
            values = v.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        else
            throw Bad(field, v, $"a number or a list of {channels} numbers");
        if (values.Any(x => !double.IsFinite(x) || (positive && x == 0)))
            throw Bad(field, v, positive ? "made of finite non-zero numbers" : "made of finite numbers");
        return values;
    }

    public ImageSizeSpec Size(string field, ImageSizeSpec fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(field, v, "an object");
        int? Edge(string key)
        {
            if (!v.TryGetProperty(key, out var e) || e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int i) || i <= 0 || i > 1 << 16)
                throw new InvalidDataException($"{Source}: field '{field}.{key}' = {Truncate(e.GetRawText())} is not an integer in 1..65536");
            return i;
        }
        return new ImageSizeSpec { ShortestEdge = Edge("shortest_edge"), LongestEdge = Edge("longest_edge"), Height = Edge("height"), Width = Edge("width") };
    }
}
