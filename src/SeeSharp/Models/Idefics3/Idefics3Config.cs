using System.Text.Json;
using System.Text.Json.Serialization;
using SeeSharp.Models.Shared;

namespace SeeSharp.Models.Idefics3;

// Typed mirrors of transformers v4.46 configuration_idefics3.py and configuration_llama.py (STYLE.md 3), HF names and
// HF defaults. SmolVLM checkpoints (HuggingFaceTB/SmolVLM-256M/500M-Instruct, SmolVLM-Instruct) publish exactly this
// shape with model_type "idefics3"; newer transformers name the same config "smolvlm" (SmolVLMConfig, same fields and
// defaults), which is accepted too.
// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/configuration_idefics3.py
// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/llama/configuration_llama.py
// Properties are { get; set; } for the reason given in Idefics2Config.cs (the source generator and init defaults).

/// <summary>The SigLIP vision tower settings (<c>vision_config</c>): <c>Idefics3VisionConfig</c>.</summary>
public sealed record Idefics3VisionConfig : INaViTVisionConfig
{
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 1152;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 16;
    [JsonPropertyName("num_channels")] public int NumChannels { get; set; } = 3;
    [JsonPropertyName("image_size")] public int ImageSize { get; set; } = 224;
    [JsonPropertyName("patch_size")] public int PatchSize { get; set; } = 32;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu_pytorch_tanh";
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-6;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;

    /// <summary>image_size // patch_size: the side of the (square) position-embedding grid.</summary>
    [JsonIgnore] public int NumPatchesPerSide => ImageSize / PatchSize;
    /// <summary>hidden_size // num_attention_heads.</summary>
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;
}

/// <summary>The Llama decoder settings (<c>text_config</c>, model_type "llama"): <c>LlamaConfig</c>.</summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 32000;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 11008;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 32;
    /// <summary>As stored; null means "same as num_attention_heads" (LlamaConfig does that substitution).</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeadsSetting { get; set; }
    /// <summary>As stored; null means hidden_size // num_attention_heads.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimSetting { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; } = 1;
    [JsonPropertyName("pretraining_tp")] public int PretrainingTp { get; set; } = 1;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    /// <summary>
    /// As stored. Supported: null, <c>rope_type</c> (or legacy <c>type</c>) "default", "linear" (factor) and "llama3"
    /// (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings). "dynamic", "yarn" and
    /// "longrope" are rejected by <see cref="Idefics3Config.Validate"/> with a clear error.
    /// </summary>
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScaling { get; set; }
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; set; }
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }

    /// <summary>num_key_value_heads after LlamaConfig's None → num_attention_heads substitution.</summary>
    [JsonIgnore] public int NumKeyValueHeads => NumKeyValueHeadsSetting ?? NumAttentionHeads;
    /// <summary>head_dim after LlamaConfig's None → hidden_size // num_attention_heads substitution.</summary>
    [JsonIgnore] public int HeadDim => HeadDimSetting ?? HiddenSize / NumAttentionHeads;

    /// <summary>The shared Llama-family decoder's settings (no sliding window).</summary>
    internal DecoderSettings ToDecoderSettings(string source = "config.json") => new(VocabSize, HiddenSize, IntermediateSize, NumHiddenLayers,
        NumAttentionHeads, NumKeyValueHeads, HeadDim, RmsNormEps, RopeTheta, SlidingWindow: null, AttentionBias, MlpBias,
        ParseRopeScaling(source));

    /// <summary>rope_scaling as the decoder's <see cref="Shared.RopeScaling"/> (null = default rope); throws naming the field when unsupported.</summary>
    internal RopeScaling? ParseRopeScaling(string source)
    {
        if (RopeScaling is not JsonElement rs || rs.ValueKind == JsonValueKind.Null) return null;
        string? type = null;
        if (rs.ValueKind == JsonValueKind.Object)
            foreach (var key in (string[])["rope_type", "type"])
                if (rs.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String) { type = value.GetString(); break; }
        double Number(string key, double? fallback)
        {
            if (rs.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) && d > 0) return d;
            if (!rs.TryGetProperty(key, out _) && fallback is double f) return f;
            throw new InvalidDataException($"{source}: text_config.rope_scaling.{key} must be a positive number, got {(rs.TryGetProperty(key, out var bad) ? bad.GetRawText() : "nothing")}");
        }
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling("linear", Number("factor", null));
            case "llama3":
            {
                var low = Number("low_freq_factor", null);
                var high = Number("high_freq_factor", null);
                if (!(high > low))
                    throw new InvalidDataException($"{source}: text_config.rope_scaling.high_freq_factor {high} must exceed low_freq_factor {low}");
                var original = Number("original_max_position_embeddings", null);
                if (original != Math.Floor(original) || original > int.MaxValue)
                    throw new InvalidDataException($"{source}: text_config.rope_scaling.original_max_position_embeddings must be an integer, got {original}");
                return new RopeScaling("llama3", Number("factor", null), low, high, (int)original);
            }
            default:
                throw new NotSupportedException(
                    $"{source}: text_config.rope_scaling {rs.GetRawText()} is not supported: only null and rope_type \"default\", \"linear\" or \"llama3\" (no dynamic, yarn or longrope)");
        }
    }
}

/// <summary>
/// <c>Idefics3Config</c>: the top-level config.json of an Idefics3 / SmolVLM checkpoint. A missing sub-config gets the
/// reference's defaults; a missing <c>text_config</c> gets LlamaConfig with rms_norm_eps 1e-5, pad_token_id
/// (128002 unless given) and tie_word_embeddings false, as <c>Idefics3Config.__init__</c> does.
/// </summary>
public sealed record Idefics3Config
{
    /// <summary>The model_type values accepted: transformers' "idefics3" and the newer "smolvlm" name of the same config.</summary>
    public static readonly IReadOnlyList<string> ModelTypes = ["idefics3", "smolvlm"];

    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "idefics3";
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("image_token_id")] public int ImageTokenId { get; set; } = 128_257;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("scale_factor")] public int ScaleFactor { get; set; } = 2;
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; } = 128_002;
    [JsonPropertyName("vision_config")] public Idefics3VisionConfig VisionConfig { get; set; } = new();
    [JsonPropertyName("text_config")] public LlamaConfig TextConfig { get; set; } = DefaultTextConfig(128_002);

    /// <summary>
    /// Image tokens per image (tile): (image_size / patch_size)² / scale_factor² (integer division), what the
    /// pixel-shuffle connector makes of one image and what processor_config.json's image_seq_len must be.
    /// </summary>
    [JsonIgnore] public int ImageSeqLen => VisionConfig.NumPatchesPerSide * VisionConfig.NumPatchesPerSide / (ScaleFactor * ScaleFactor);

    private static LlamaConfig DefaultTextConfig(int? padTokenId) => new() { RmsNormEps = 1e-5, PadTokenId = padTokenId, TieWordEmbeddings = false };

    /// <summary>Parses config.json text. <paramref name="source"/> names the file in error messages.</summary>
    public static Idefics3Config Parse(string json, string source = "config.json")
    {
        Idefics3Config? config;
        try
        {
            config = JsonSerializer.Deserialize(json, Idefics3JsonContext.Default.Idefics3Config);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid Idefics3 config: {e.Message}", e);
        }
        if (config is null) throw new InvalidDataException($"{source}: the JSON is null, expected an object");
        bool hasTextConfig;
        using (var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }))
            hasTextConfig = doc.RootElement.TryGetProperty("text_config", out var tc) && tc.ValueKind == JsonValueKind.Object;
        config = config with
        {
            VisionConfig = config.VisionConfig ?? new(),
            TextConfig = hasTextConfig && config.TextConfig is not null ? config.TextConfig : DefaultTextConfig(config.PadTokenId),
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Reads and parses a config.json file.</summary>
    public static Idefics3Config Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Throws <see cref="InvalidDataException"/> / <see cref="NotSupportedException"/> naming the file and field of the first impossible or unsupported setting.</summary>
    public void Validate(string source = "config.json")
    {
        void Positive(string field, long value)
        {
            if (value <= 0) throw new InvalidDataException($"{source}: {field} must be > 0, got {value}");
        }
        if (!ModelTypes.Contains(ModelType))
            throw new InvalidDataException($"{source}: model_type must be one of {string.Join(", ", ModelTypes.Select(m => $"\"{m}\""))}, got \"{ModelType}\"");
        var v = VisionConfig;
        Positive("vision_config.hidden_size", v.HiddenSize);
        Positive("vision_config.intermediate_size", v.IntermediateSize);
        Positive("vision_config.num_hidden_layers", v.NumHiddenLayers);
        Positive("vision_config.num_attention_heads", v.NumAttentionHeads);
        Positive("vision_config.num_channels", v.NumChannels);
        Positive("vision_config.patch_size", v.PatchSize);
        Positive("vision_config.image_size", v.ImageSize);
        if (v.ImageSize < v.PatchSize)
            throw new InvalidDataException($"{source}: vision_config.image_size {v.ImageSize} is smaller than patch_size {v.PatchSize}");
        if (v.HiddenSize % v.NumAttentionHeads != 0)
            throw new InvalidDataException($"{source}: vision_config.hidden_size {v.HiddenSize} is not divisible by num_attention_heads {v.NumAttentionHeads}");
        if (v.HiddenAct != "gelu_pytorch_tanh")
            throw new NotSupportedException($"{source}: vision_config.hidden_act \"{v.HiddenAct}\" is not supported (only gelu_pytorch_tanh)");
        // The patch grid must divide by scale_factor for the pixel shuffle; that is checked per image at encode time,
        // not here: transformers accepts such configs (its own defaults, 224 / 32 = 7 with scale 2, are one).
        Positive("scale_factor", ScaleFactor);
        var t = TextConfig;
        if (t.ModelType != "llama")
            throw new NotSupportedException($"{source}: text_config.model_type \"{t.ModelType}\" is not supported (only llama)");
        Positive("text_config.vocab_size", t.VocabSize);
        Positive("text_config.hidden_size", t.HiddenSize);
        Positive("text_config.intermediate_size", t.IntermediateSize);
        Positive("text_config.num_hidden_layers", t.NumHiddenLayers);
        Positive("text_config.num_attention_heads", t.NumAttentionHeads);
        Positive("text_config.num_key_value_heads", t.NumKeyValueHeads);
        Positive("text_config.head_dim", t.HeadDim);
        Positive("text_config.max_position_embeddings", t.MaxPositionEmbeddings);
        if (t.HeadDim % 2 != 0) throw new InvalidDataException($"{source}: text_config.head_dim {t.HeadDim} must be even for rotary embeddings");
        if (t.NumAttentionHeads % t.NumKeyValueHeads != 0)
            throw new InvalidDataException($"{source}: text_config.num_attention_heads {t.NumAttentionHeads} is not a multiple of num_key_value_heads {t.NumKeyValueHeads}");
        if (t.HiddenAct != "silu")
            throw new NotSupportedException($"{source}: text_config.hidden_act \"{t.HiddenAct}\" is not supported (only silu)");
        if (!(t.RopeTheta > 0)) throw new InvalidDataException($"{source}: text_config.rope_theta must be > 0, got {t.RopeTheta}");
        t.ParseRopeScaling(source);
    }
}

/// <summary>Source-generated (reflection-free, trimmable) JSON metadata for the Idefics3 config records.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(Idefics3Config))]
internal sealed partial class Idefics3JsonContext : JsonSerializerContext
{
}
