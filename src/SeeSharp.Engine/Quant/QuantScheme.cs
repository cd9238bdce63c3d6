using System.Text.Json.Nodes;

namespace SeeSharp.Engine.Quant;

/// <summary>Weight quantization schemes of <see cref="QuantizedMatrix"/>. Layouts: see <see cref="QuantLayout"/>.</summary>
public enum QuantScheme
{
    /// <summary>int8, symmetric, one fp32 scale per output row (channel). Activations: int8 per block of 128.</summary>
    Int8PerRow,
    /// <summary>int8, symmetric, one fp32 scale per block of 32 values of a row (ggml Q8_0-like). Activations: int8 per 32.</summary>
    Int8Block32,
    /// <summary>int4, symmetric (ggml Q4_0-like: q in [-8, 7], stored +8), one fp32 scale per group of 32, 64 or 128
    /// values of a row. Activations: int8 per 32.</summary>
    Int4Group,
}

/// <summary>
/// The <c>quantization_config</c> object of a quantized checkpoint's config.json:
/// <c>{"quant_method": "seesharp", "bits": 8|4, "group_size": 0|32|64|128, "layout": "..."}</c>.
/// group_size 0 means one scale per row. Layout names: <c>int8_row_p4</c>, <c>int8_b32_p4</c>, <c>int4_g{32|64|128}_p4</c>
/// (p4: 4 rows interleaved per panel, see <see cref="QuantLayout"/>).
/// </summary>
public sealed record QuantConfig(QuantScheme Scheme, int GroupSize)
{
    /// <summary>The <c>quant_method</c> value.</summary>
    public const string Method = "seesharp";

    /// <summary>Bits per weight value (8 or 4).</summary>
    public int Bits => Scheme == QuantScheme.Int4Group ? 4 : 8;

    /// <summary>The layout name written to config.json.</summary>
    public string Layout => Scheme switch
    {
        QuantScheme.Int8PerRow => "int8_row_p4",
        QuantScheme.Int8Block32 => "int8_b32_p4",
        _ => $"int4_g{GroupSize}_p4",
    };

    /// <summary>Checks the group size of a scheme and returns the config.</summary>
    /// <exception cref="ArgumentException">A group size the scheme does not support.</exception>
    public static QuantConfig Create(QuantScheme scheme, int groupSize = 0)
    {
        int g = scheme switch
        {
            QuantScheme.Int8PerRow when groupSize == 0 => 0,
            QuantScheme.Int8Block32 when groupSize is 0 or 32 => 32,
            QuantScheme.Int4Group when groupSize is 32 or 64 or 128 => groupSize,
            QuantScheme.Int4Group when groupSize == 0 => 32,
            _ => throw new ArgumentException($"quantization: group_size {groupSize} is not supported by {scheme} (Int8PerRow: 0, Int8Block32: 32, Int4Group: 32, 64 or 128)", nameof(groupSize)),
        };
        return new QuantConfig(scheme, g);
    }

    /// <summary>The JSON object for config.json.</summary>
    public JsonObject ToJson() => new()
    {
        ["quant_method"] = Method,
        ["bits"] = Bits,
        ["group_size"] = GroupSize,
        ["layout"] = Layout,
    };

    /// <summary>Parses a <c>quantization_config</c> object.</summary>
    /// <exception cref="FormatException">Not a seesharp config, or a field that is missing or inconsistent; the message names it.</exception>
    public static QuantConfig FromJson(JsonNode? node)
    {
        if (node is not JsonObject o) throw new FormatException("quantization_config: a JSON object expected");
        string method = Str(o, "quant_method");
        if (method != Method) throw new FormatException($"quantization_config.quant_method \"{method}\" is not \"{Method}\"");
        string layout = Str(o, "layout");
        int bits = Int(o, "bits");
        int group = o["group_size"] is null ? 0 : Int(o, "group_size");
        QuantConfig c = layout switch
        {
            "int8_row_p4" => new QuantConfig(QuantScheme.Int8PerRow, 0),
            "int8_b32_p4" => new QuantConfig(QuantScheme.Int8Block32, 32),
            "int4_g32_p4" => new QuantConfig(QuantScheme.Int4Group, 32),
            "int4_g64_p4" => new QuantConfig(QuantScheme.Int4Group, 64),
            "int4_g128_p4" => new QuantConfig(QuantScheme.Int4Group, 128),
            _ => throw new FormatException($"quantization_config.layout \"{layout}\" is unknown (int8_row_p4, int8_b32_p4, int4_g32_p4, int4_g64_p4, int4_g128_p4)"),
        };
        if (bits != c.Bits) throw new FormatException($"quantization_config.bits {bits} does not match layout \"{layout}\" ({c.Bits} bits)");
        if (group != c.GroupSize) throw new FormatException($"quantization_config.group_size {group} does not match layout \"{layout}\" ({c.GroupSize})");
        return c;
    }

    private static string Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"quantization_config.{key}: a string expected");

    private static int Int(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out int i) ? i : throw new FormatException($"quantization_config.{key}: an integer expected");
}
