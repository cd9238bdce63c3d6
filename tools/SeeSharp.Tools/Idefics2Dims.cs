using System.Text.Json.Nodes;

namespace SeeSharp.Tools;

/// <summary>The sizes of an Idefics2 checkpoint, read from its config.json with transformers 4.45.2's defaults
/// (Idefics2VisionConfig, Idefics2PerceiverConfig, MistralConfig) for absent keys.</summary>
internal sealed record Idefics2Dims(
    int VisionHidden, int VisionIntermediate, int VisionLayers, int VisionHeads, int ImageSize, int PatchSize, int Channels,
    int Latents, int ResamplerDepth, int ResamplerHeads, int ResamplerHeadDim, int ResamplerKvHeads,
    int Hidden, int Intermediate, int Layers, int Heads, int KvHeads, int Vocab, double RopeTheta, double RmsEps,
    int MaxPositions, bool TiedEmbeddings)
{
    public int HeadDim => Hidden / Heads;
    public int Positions => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    public static Idefics2Dims FromConfig(JsonObject c)
    {
        var v = c["vision_config"] as JsonObject ?? new JsonObject();
        var p = c["perceiver_config"] as JsonObject ?? new JsonObject();
        var t = c["text_config"] as JsonObject ?? new JsonObject();
        return new Idefics2Dims(
            I(v, "hidden_size", 768), I(v, "intermediate_size", 3072), I(v, "num_hidden_layers", 12), I(v, "num_attention_heads", 12),
            I(v, "image_size", 224), I(v, "patch_size", 32), I(v, "num_channels", 3),
            I(p, "resampler_n_latents", 64), I(p, "resampler_depth", 3), I(p, "resampler_n_heads", 16), I(p, "resampler_head_dim", 96),
            I(p, "num_key_value_heads", 4),
            I(t, "hidden_size", 4096), I(t, "intermediate_size", 14336), I(t, "num_hidden_layers", 32), I(t, "num_attention_heads", 32),
            I(t, "num_key_value_heads", 8), I(t, "vocab_size", 32000), D(t, "rope_theta", 10000.0), D(t, "rms_norm_eps", 1e-6),
            I(t, "max_position_embeddings", 4096 * 32), (bool?)c["tie_word_embeddings"] ?? false);
    }

    private static int I(JsonObject o, string k, int d) => o[k] is JsonValue v ? v.GetValue<int>() : d;
    private static double D(JsonObject o, string k, double d) => o[k] is JsonValue v ? v.GetValue<double>() : d;

    /// <summary>How a synthetic tensor is initialised.</summary>
    public enum Init { Matrix, Norm, Bias, Small, Unit }

    /// <summary>Every tensor of Idefics2ForConditionalGeneration (names as its state_dict), with shapes.</summary>
    public IEnumerable<(string Name, long[] Shape, Init Init)> Tensors()
    {
        long hv = VisionHidden, iv = VisionIntermediate, h = Hidden, im = Intermediate;
        const string vm = "model.vision_model.";
        yield return (vm + "embeddings.patch_embedding.weight", [hv, Channels, PatchSize, PatchSize], Init.Matrix);
        yield return (vm + "embeddings.patch_embedding.bias", [hv], Init.Bias);
        yield return (vm + "embeddings.position_embedding.weight", [Positions, hv], Init.Small);
        for (int l = 0; l < VisionLayers; l++)
        {
            string pre = $"{vm}encoder.layers.{l}.";
            foreach (var n in new[] { "layer_norm1", "layer_norm2" })
            {
                yield return (pre + n + ".weight", [hv], Init.Norm);
                yield return (pre + n + ".bias", [hv], Init.Bias);
            }
            yield return (pre + "mlp.fc1.weight", [iv, hv], Init.Matrix);
            yield return (pre + "mlp.fc1.bias", [iv], Init.Bias);
            yield return (pre + "mlp.fc2.weight", [hv, iv], Init.Matrix);
            yield return (pre + "mlp.fc2.bias", [hv], Init.Bias);
            foreach (var n in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                yield return (pre + "self_attn." + n + ".weight", [hv, hv], Init.Matrix);
                yield return (pre + "self_attn." + n + ".bias", [hv], Init.Bias);
            }
        }
        yield return (vm + "post_layernorm.weight", [hv], Init.Norm);
        yield return (vm + "post_layernorm.bias", [hv], Init.Bias);

        const string cn = "model.connector.";
        yield return (cn + "modality_projection.gate_proj.weight", [im, hv], Init.Matrix);
        yield return (cn + "modality_projection.up_proj.weight", [im, hv], Init.Matrix);
        yield return (cn + "modality_projection.down_proj.weight", [h, im], Init.Matrix);
        const string pr = cn + "perceiver_resampler.";
        yield return (pr + "latents", [Latents, h], Init.Unit);
        long pq = (long)ResamplerHeads * ResamplerHeadDim, pkv = (long)ResamplerKvHeads * ResamplerHeadDim;
        for (int l = 0; l < ResamplerDepth; l++)
        {
            string pre = $"{pr}layers.{l}.";
            yield return (pre + "input_context_norm.weight", [h], Init.Norm);
            yield return (pre + "input_latents_norm.weight", [h], Init.Norm);
            yield return (pre + "mlp.gate_proj.weight", [4 * h, h], Init.Matrix);
            yield return (pre + "mlp.up_proj.weight", [4 * h, h], Init.Matrix);
            yield return (pre + "mlp.down_proj.weight", [h, 4 * h], Init.Matrix);
            yield return (pre + "post_attention_layernorm.weight", [h], Init.Norm);
            yield return (pre + "self_attn.q_proj.weight", [pq, h], Init.Matrix);
            yield return (pre + "self_attn.k_proj.weight", [pkv, h], Init.Matrix);
            yield return (pre + "self_attn.v_proj.weight", [pkv, h], Init.Matrix);
            yield return (pre + "self_attn.o_proj.weight", [h, pq], Init.Matrix);
        }
        yield return (pr + "norm.weight", [h], Init.Norm);

        foreach (var t in TextTensors()) yield return t;
    }

    /// <summary>The Mistral decoder's tensors (model.text_model.* and lm_head).</summary>
    public IEnumerable<(string Name, long[] Shape, Init Init)> TextTensors()
    {
        long h = Hidden, im = Intermediate, kv = (long)KvHeads * HeadDim;
        const string tm = "model.text_model.";
        yield return (tm + "embed_tokens.weight", [Vocab, h], Init.Small);
        for (int l = 0; l < Layers; l++)
        {
            string pre = $"{tm}layers.{l}.";
            yield return (pre + "input_layernorm.weight", [h], Init.Norm);
            yield return (pre + "mlp.gate_proj.weight", [im, h], Init.Matrix);
            yield return (pre + "mlp.up_proj.weight", [im, h], Init.Matrix);
            yield return (pre + "mlp.down_proj.weight", [h, im], Init.Matrix);
            yield return (pre + "post_attention_layernorm.weight", [h], Init.Norm);
            yield return (pre + "self_attn.q_proj.weight", [h, h], Init.Matrix);
            yield return (pre + "self_attn.k_proj.weight", [kv, h], Init.Matrix);
            yield return (pre + "self_attn.v_proj.weight", [kv, h], Init.Matrix);
            yield return (pre + "self_attn.o_proj.weight", [h, h], Init.Matrix);
        }
        yield return (tm + "norm.weight", [h], Init.Norm);
        if (!TiedEmbeddings) yield return ("lm_head.weight", [Vocab, h], Init.Matrix);
    }
}
