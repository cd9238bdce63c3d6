using System.Text.Json;

namespace SeeSharp;

/// <summary>
/// The architectures SeeSharp runs, found by <c>config.json</c>'s <c>model_type</c> (or <c>architectures</c>):
/// the <c>AutoModel</c> / <c>AutoProcessor</c> role.
/// </summary>
internal sealed record Architecture(string ModelType, string[] ArchitectureNames,
    Func<string, LoadOptions, VisionModel> ModelFactory, Func<string, Processor> ProcessorFactory)
{
    public VisionModel LoadModel(string folder, LoadOptions options) => ModelFactory(folder, options);
    public Processor LoadProcessor(string folder) => ProcessorFactory(folder);
}

internal static class Architectures
{
    public static readonly IReadOnlyList<Architecture> All =
    [
        new("idefics2", ["Idefics2ForConditionalGeneration"],
            (folder, options) => new Models.Idefics2.Idefics2VisionModel(folder, options),
            folder => new Models.Idefics2.Idefics2Processor(folder)),
        // SmolVLM checkpoints publish model_type "idefics3"; newer transformers call the same config "smolvlm"
        // (SmolVLMForConditionalGeneration), matched here by its architecture name and accepted by Idefics3Config.
        new("idefics3", ["Idefics3ForConditionalGeneration", "SmolVLMForConditionalGeneration"],
            (folder, options) => new Models.Idefics3.Idefics3VisionModel(folder, options),
            folder => new Models.Idefics3.Idefics3Processor(folder)),
    ];

    /// <summary>The architecture of a checkpoint folder; a clear error names an unsupported one.</summary>
    public static Architecture Find(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{folder}: no config.json (is this a model checkpoint folder?)", path);
        string? modelType = null;
        var names = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
            if (doc.RootElement.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String) modelType = mt.GetString();
            if (doc.RootElement.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array)
                names.AddRange(archs.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        foreach (var arch in All)
            if (modelType == arch.ModelType || names.Any(n => arch.ArchitectureNames.Contains(n))) return arch;
        throw new NotSupportedException(
            $"{path}: model_type '{modelType ?? "(none)"}'{(names.Count > 0 ? $" ({string.Join(", ", names)})" : "")} is not supported; " +
            $"supported: {string.Join(", ", All.Select(a => a.ModelType))}");
    }
}
