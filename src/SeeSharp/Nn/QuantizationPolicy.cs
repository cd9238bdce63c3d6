using System.Text.Json.Nodes;
using SeeSharp.Engine.Quant;

namespace SeeSharp.Nn;

/// <summary>
/// Which linear layers of a model are int8 / int4, and how: quantized while loading (<see cref="AtLoad"/>), or read as
/// stored by <c>seesharp quantize</c> (<see cref="Stored"/>, from config.json's <c>quantization_config</c>).
/// <see cref="Applies"/> picks the modules by checkpoint name: by default the decoder and the connector; the vision
/// tower, the embeddings and <c>lm_head</c> keep their stored dtype (DESIGN.md, Numerics).
/// </summary>
public sealed record QuantizationPolicy(QuantConfig? AtLoad, QuantConfig? Stored, Func<string, bool> Applies)
{
    /// <summary>The module-name rule SeeSharp uses for Idefics-family models: everything under <c>model.text_model.layers</c>
    /// and <c>model.connector</c>.</summary>
    public static bool DecoderAndConnector(string module) =>
        module.StartsWith("model.text_model.layers.", StringComparison.Ordinal) || module.StartsWith("model.connector.", StringComparison.Ordinal);

    /// <summary>The config of a SeeSharp-quantized checkpoint (<c>quantization_config</c> of config.json), or null.</summary>
    /// <exception cref="InvalidDataException">A quantization_config of another method or a malformed one; names the file.</exception>
    public static QuantConfig? ReadStored(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) return null;
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        var q = node?["quantization_config"];
        if (q is null) return null;
        try { return QuantConfig.FromJson(q); }
        catch (FormatException e) { throw new InvalidDataException($"{path}: {e.Message} (SeeSharp reads only checkpoints quantized by `seesharp quantize`)", e); }
    }

    /// <summary>The scheme for a <see cref="Quantization"/> choice: int8 one scale per output channel (fastest GEMV,
    /// and accurate: see the quantization tests); int4 groups of 32 with one scale each.</summary>
    public static QuantConfig? For(Quantization q) => q switch
    {
        Quantization.Int8 => QuantConfig.Create(QuantScheme.Int8PerRow),
        Quantization.Int4 => QuantConfig.Create(QuantScheme.Int4Group, 32),
        _ => null,
    };

    /// <summary>The policy of a load: a stored quantization wins; else <paramref name="requested"/> at load; else none.</summary>
    public static QuantizationPolicy? Resolve(string folder, Quantization requested, Func<string, bool>? applies = null)
    {
        var stored = ReadStored(folder);
        var atLoad = stored is null ? For(requested) : null;
        if (stored is null && atLoad is null) return null;
        return new QuantizationPolicy(atLoad, stored, applies ?? DecoderAndConnector);
    }
}
