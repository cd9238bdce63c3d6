using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeeSharp.Models.Idefics2;

// Typed mirrors of transformers v4.45.2 configuration_idefics2.py and configuration_mistral.py (STYLE.md 3).
// Every default below is copied from those files; a key missing from config.json gets exactly the value that
// `Idefics2Config(**config_json)` gives in Python (checked against the 8b reference's resolved dump in the tests).
// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/configuration_idefics2.py
// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/configuration_mistral.py
// Properties are { get; set; } rather than STYLE.md's { get; init; }: System.Text.Json's source generator builds
// init-only types through an object initializer that assigns EVERY init property, so a key missing from the JSON would
// get default(T) instead of the initializer's HF default (checked: .NET 10 SDK 10.0.401).

/// <summary>The SigLIP-like vision tower settings (<c>vision_config</c>): <c>Idefics2VisionConfig</c>.</summary>
public sealed record Idefics2VisionConfig : Shared.INaViTVisionConfig
{
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
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

/// <summary>The perceiver resampler settings (<c>perceiver_config</c>): <c>Idefics2PerceiverConfig</c>.</summary>
public sealed record Idefics2PerceiverConfig
{
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("resampler_n_latents")] public int ResamplerNLatents { get; set; } = 64;
    [JsonPropertyName("resampler_depth")] public int ResamplerDepth { get; set; } = 3;
    [JsonPropertyName("resampler_n_heads")] public int ResamplerNHeads { get; set; } = 16;
    [JsonPropertyName("resampler_head_dim")] public int ResamplerHeadDim { get; set; } = 96;
    [JsonPropertyName("num_key_value_heads")] public int NumKeyValueHeads { get; set; } = 4;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
}

/// <summary>The Mistral decoder settings (<c>text_config</c>, model_type "mistral"): <c>MistralConfig</c>.</summary>
public sealed record MistralConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "mistral";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 32000;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 14336;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 32;
    /// <summary>As stored; null means "same as num_attention_heads" (MistralConfig does that substitution).</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeadsSetting { get; set; } = 8;
    /// <summary>As stored; null means hidden_size // num_attention_heads.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimSetting { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 4096 * 32;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; } = 1;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    /// <summary>Keys further back than this are masked (Mistral's sliding window); null = no window.</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; set; } = 4096;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }

    /// <summary>num_key_value_heads after MistralConfig's None → num_attention_heads substitution.</summary>
    [JsonIgnore] public int NumKeyValueHeads => NumKeyValueHeadsSetting ?? NumAttentionHeads;
    /// <summary>head_dim after MistralConfig's None → hidden_size // num_attention_heads substitution.</summary>
    [JsonIgnore] public int HeadDim => HeadDimSetting ?? HiddenSize / NumAttentionHeads;

    /// <summary>The shared Llama-family decoder's settings (Mistral: no biases, optional sliding window).</summary>
    internal Shared.DecoderSettings ToDecoderSettings() => new(VocabSize, HiddenSize, IntermediateSize, NumHiddenLayers,
        NumAttentionHeads, NumKeyValueHeads, HeadDim, RmsNormEps, RopeTheta, SlidingWindow, AttentionBias: false, MlpBias: false);
}

/// <summary>
/// <c>Idefics2Config</c>: the top-level config.json of an Idefics2 checkpoint. A missing sub-config gets the
/// reference's defaults; a missing <c>text_config</c> gets MistralConfig with Idefics2's three overrides
/// (max_position_embeddings 32768, rms_norm_eps 1e-5, pad_token_id 0), as <c>Idefics2Config.__init__</c> does.
/// </summary>
public sealed record Idefics2Config
{
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "idefics2";
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("image_token_id")] public int ImageTokenId { get; set; } = 32_001;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("vision_config")] public Idefics2VisionConfig VisionConfig { get; set; } = new();
    [JsonPropertyName("perceiver_config")] public Idefics2PerceiverConfig PerceiverConfig { get; set; } = new();
    [JsonPropertyName("text_config")]
    public MistralConfig TextConfig { get; set; } = new() { MaxPositionEmbeddings = 4096 * 8, RmsNormEps = 1e-5, PadTokenId = 0 };

    /// <summary>Parses config.json text. <paramref name="source"/> names the file in error messages.</summary>
    public static Idefics2Config Parse(string json, string source = "config.json")
    {
        Idefics2Config? config;
        try
        {
            config = JsonSerializer.Deserialize(json, Idefics2JsonContext.Default.Idefics2Config);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid Idefics2 config: {e.Message}", e);
        }
        if (config is null) throw new InvalidDataException($"{source}: the JSON is null, expected an object");
        // JSON `"vision_config": null` means "defaults" in the reference.
        config = config with
        {
            VisionConfig = config.VisionConfig ?? new(),
            PerceiverConfig = config.PerceiverConfig ?? new(),
            TextConfig = config.TextConfig ?? new() { MaxPositionEmbeddings = 4096 * 8, RmsNormEps = 1e-5, PadTokenId = 0 },
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Reads and parses a config.json file.</summary>
    public static Idefics2Config Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Throws <see cref="InvalidDataException"/> naming the file and field of the first impossible setting.</summary>
    public void Validate(string source = "config.json")
    {
        void Positive(string field, long value)
        {
            if (value <= 0) throw new InvalidDataException($"{source}: {field} must be > 0, got {value}");
        }
        if (ModelType != "idefics2") throw new InvalidDataException($"{source}: model_type must be \"idefics2\", got \"{ModelType}\"");
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
        var p = PerceiverConfig;
        Positive("perceiver_config.resampler_n_latents", p.ResamplerNLatents);
        Positive("perceiver_config.resampler_depth", p.ResamplerDepth);
        Positive("perceiver_config.resampler_n_heads", p.ResamplerNHeads);
        Positive("perceiver_config.resampler_head_dim", p.ResamplerHeadDim);
        Positive("perceiver_config.num_key_value_heads", p.NumKeyValueHeads);
        if (p.NumKeyValueHeads > p.ResamplerNHeads || p.ResamplerNHeads % p.NumKeyValueHeads != 0)
            throw new InvalidDataException($"{source}: perceiver_config.resampler_n_heads {p.ResamplerNHeads} is not a multiple of num_key_value_heads {p.NumKeyValueHeads}");
        if (p.HiddenAct != "silu")
            throw new NotSupportedException($"{source}: perceiver_config.hidden_act \"{p.HiddenAct}\" is not supported (only silu)");
        var t = TextConfig;
        if (t.ModelType != "mistral")
            throw new NotSupportedException($"{source}: text_config.model_type \"{t.ModelType}\" is not supported (only mistral)");
        Positive("text_config.vocab_size", t.VocabSize);
        Positive("text_config.hidden_size", t.HiddenSize);
        Positive("text_config.intermediate_size", t.IntermediateSize);
        Positive("text_config.num_hidden_layers", t.NumHiddenLayers);
        Positive("text_config.num_attention_heads", t.NumAttentionHeads);
        Positive("text_config.num_key_value_heads", t.NumKeyValueHeads);
        Positive("text_config.head_dim", t.HeadDim);
        if (t.HeadDim % 2 != 0) throw new InvalidDataException($"{source}: text_config.head_dim {t.HeadDim} must be even for rotary embeddings");
        if (t.NumAttentionHeads % t.NumKeyValueHeads != 0)
            throw new InvalidDataException($"{source}: text_config.num_attention_heads {t.NumAttentionHeads} is not a multiple of num_key_value_heads {t.NumKeyValueHeads}");
        if (t.HiddenAct != "silu")
            throw new NotSupportedException($"{source}: text_config.hidden_act \"{t.HiddenAct}\" is not supported (only silu)");
        if (!(t.RopeTheta > 0)) throw new InvalidDataException($"{source}: text_config.rope_theta must be > 0, got {t.RopeTheta}");
        if (t.SlidingWindow is <= 0) throw new InvalidDataException($"{source}: text_config.sliding_window must be > 0 or null, got {t.SlidingWindow}");
    }
}

/// <summary>Source-generated (reflection-free, trimmable) JSON metadata for the Idefics2 config records.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(Idefics2Config))]
internal sealed partial class Idefics2JsonContext : JsonSerializerContext
{
}
