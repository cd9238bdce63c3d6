using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Shared;
using SeeSharp.Nn;

namespace SeeSharp.Models.Idefics2;

// Idefics2 (vision tower + connector + Mistral decoder), ported class by class from transformers v4.45.2 (STYLE.md 1).
// The vision tower (Models/Shared/NaViTVisionTransformer.cs) and the Mistral decoder + lm_head
// (Models/Shared/LlamaDecoder.cs) are shared with Idefics3; this file keeps what only Idefics2 has.
//   https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py
//   https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py
// Classes follow the reference's order and names; each names the class it mirrors. Checkpoint names go through
// WeightSource (never C# field names). Activations are fp32, row-major, shapes in comments; weights stay in their
// stored dtype. Intermediates are reported to an optional tap under the golden names of tests/fixtures/idefics2-tiny.
// Left out on purpose: Idefics2MultiheadAttentionPoolingHead (defined upstream but used by no Idefics2 model), the
// flash-attention variants (the eager path is the numeric reference), training-only code (dropout, loss).

/// <summary>Shape of a pixel batch as the processor returns it: pixel_values [Batch, Images, Channels, Height, Width].</summary>
public readonly record struct Idefics2PixelShape(int Batch, int Images, int Channels, int Height, int Width)
{
    internal long ImageSlots => (long)Batch * Images;
    internal long PixelsPerImage => (long)Channels * Height * Width;
    internal long MaskPerImage => (long)Height * Width;
}

/// <summary>
/// Output of the vision tower + connector for the real (non-padding) images of a batch, in batch order:
/// <see cref="Data"/> [Count, TokensPerImage, HiddenSize] — the rows that replace the <c>&lt;image&gt;</c> tokens.
/// </summary>
public sealed class Idefics2ImageFeatures
{
    /// <summary>Wraps features computed earlier (e.g. cached from a previous turn).</summary>
    public Idefics2ImageFeatures(float[] data, int count, int tokensPerImage, int hiddenSize, int[] sourceSlots)
    {
        if ((long)count * tokensPerImage * hiddenSize != data.Length)
            throw new ArgumentException($"image features: {data.Length} floats is not [{count}, {tokensPerImage}, {hiddenSize}]");
        if (sourceSlots.Length != count) throw new ArgumentException($"image features: {sourceSlots.Length} source slots for {count} images");
        Data = data;
        Count = count;
        TokensPerImage = tokensPerImage;
        HiddenSize = hiddenSize;
        SourceSlots = sourceSlots;
    }

    /// <summary>[Count, TokensPerImage, HiddenSize], fp32.</summary>
    public float[] Data { get; }
    /// <summary>Number of real images.</summary>
    public int Count { get; }
    /// <summary>Image tokens per image: perceiver_config.resampler_n_latents (Idefics2), image_seq_len per tile (Idefics3).</summary>
    public int TokensPerImage { get; }
    /// <summary>Decoder hidden size.</summary>
    public int HiddenSize { get; }
    /// <summary>For each image, its slot index b * Images + n in the pixel batch it came from (padding slots are skipped).</summary>
    public int[] SourceSlots { get; }

    /// <summary>The features of images [start, start + count) (e.g. only the images of a new conversation turn).</summary>
    public Idefics2ImageFeatures Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"cannot take images [{start}, {start + count}) of {Count}");
        var size = TokensPerImage * HiddenSize;
        return new Idefics2ImageFeatures(Data.AsSpan(start * size, count * size).ToArray(), count, TokensPerImage, HiddenSize,
            SourceSlots.AsSpan(start, count).ToArray());
    }

    /// <summary>
    /// The images of several encodings in order (e.g. the cached images of earlier turns followed by a new one).
    /// Source slots are kept as they were (they index each part's own pixel batch).
    /// </summary>
    public static Idefics2ImageFeatures Concat(params Idefics2ImageFeatures[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("nothing to concatenate", nameof(parts));
        var first = parts[0];
        foreach (var part in parts)
            if (part.TokensPerImage != first.TokensPerImage || part.HiddenSize != first.HiddenSize)
                throw new ArgumentException($"image features [{part.TokensPerImage}, {part.HiddenSize}] per image cannot join [{first.TokensPerImage}, {first.HiddenSize}]");
        return new Idefics2ImageFeatures([.. parts.SelectMany(p => p.Data)], parts.Sum(p => p.Count), first.TokensPerImage, first.HiddenSize,
            [.. parts.SelectMany(p => p.SourceSlots)]);
    }
}

/// <summary>
/// <c>Idefics2MLP</c>: down_proj(act(gate_proj(x)) * up_proj(x)), no biases; act is silu here (the only act the
/// checkpoints use; the config validation rejects others). Used by the connector's modality projection and the
/// perceiver layers.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2MLP)
/// </summary>
internal sealed class Idefics2MLP
{
    private readonly Linear _gate, _up, _down;

    public Idefics2MLP(int hiddenSize, int intermediateSize, int outputSize, WeightSource ws)
    {
        _gate = Linear.Load(ws.Sub("gate_proj"), hiddenSize, intermediateSize, bias: false);
        _up = Linear.Load(ws.Sub("up_proj"), hiddenSize, intermediateSize, bias: false);
        _down = Linear.Load(ws.Sub("down_proj"), intermediateSize, outputSize, bias: false);
    }

    /// <summary>x [n, hidden] -> y [n, output].</summary>
    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y, Workspace w)
    {
        var gate = w.Get("mlp.gate", n * _gate.OutFeatures);
        var up = w.Get("mlp.up", n * _up.OutFeatures);
        _gate.Forward(x, n, gate);
        _up.Forward(x, n, up);
        Ops.SiluMul(gate, up, gate);
        _down.Forward(gate, n, y);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Connector: modality projection + perceiver resampler
// ------------------------------------------------------------------------------------------------------------------

/// <summary>
/// <c>Idefics2PerceiverAttention</c>: latents (queries) attend over concat(context, latents) (keys/values), GQA heads,
/// no rotary, scale 1/sqrt(head_dim), additive context mask.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2PerceiverAttention)
/// </summary>
internal sealed class Idefics2PerceiverAttention
{
    private readonly Linear _q, _k, _v, _o;
    private readonly int _hidden, _heads, _headDim, _kvHeads;

    public Idefics2PerceiverAttention(Idefics2Config config, WeightSource ws)
    {
        var pc = config.PerceiverConfig;
        _hidden = config.TextConfig.HiddenSize;
        _heads = pc.ResamplerNHeads;
        _headDim = pc.ResamplerHeadDim;
        _kvHeads = pc.NumKeyValueHeads;
        _q = Linear.Load(ws.Sub("q_proj"), _hidden, _heads * _headDim, bias: false);
        _k = Linear.Load(ws.Sub("k_proj"), _hidden, _kvHeads * _headDim, bias: false);
        _v = Linear.Load(ws.Sub("v_proj"), _hidden, _kvHeads * _headDim, bias: false);
        _o = Linear.Load(ws.Sub("o_proj"), _heads * _headDim, _hidden, bias: false);
    }

    /// <summary>
    /// latents [nLat, hidden], context [nCtx, hidden], mask [nLat, nCtx + nLat] -> y [nLat, hidden].
    /// </summary>
    public void Forward(ReadOnlySpan<float> latents, int nLat, ReadOnlySpan<float> context, int nCtx, ReadOnlySpan<float> mask, Span<float> y, Workspace w)
    {
        var kvLen = nCtx + nLat;
        var hiddenStates = w.Get("attn.hidden_states", kvLen * _hidden); // torch.concat([context, latents], dim=-2)
        context[..(nCtx * _hidden)].CopyTo(hiddenStates);
        latents[..(nLat * _hidden)].CopyTo(hiddenStates[(nCtx * _hidden)..]);
        var q = w.Get("attn.q", nLat * _heads * _headDim);
        var k = w.Get("attn.k", kvLen * _kvHeads * _headDim);
        var v = w.Get("attn.v", kvLen * _kvHeads * _headDim);
        var o = w.Get("attn.o", nLat * _heads * _headDim);
        _q.Forward(latents, nLat, q);
        _k.Forward(hiddenStates, kvLen, k);
        _v.Forward(hiddenStates, kvLen, v);
        Ops.Attention(q, k, v, o, nLat, kvLen, _heads, _kvHeads, _headDim, 1f / MathF.Sqrt(_headDim), mask);
        _o.Forward(o, nLat, y);
    }
}

/// <summary>
/// <c>Idefics2PerceiverLayer</c>: latents + attn(norm(latents), norm(context)), then + mlp(norm(.)). All RMSNorms use
/// the TEXT config's rms_norm_eps; the MLP is 4 x text hidden wide.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2PerceiverLayer)
/// </summary>
internal sealed class Idefics2PerceiverLayer
{
    private readonly RmsNorm _inputLatentsNorm, _inputContextNorm, _postAttentionLayernorm;
    private readonly Idefics2PerceiverAttention _selfAttn;
    private readonly Idefics2MLP _mlp;
    private readonly int _hidden;

    public Idefics2PerceiverLayer(Idefics2Config config, WeightSource ws)
    {
        _hidden = config.TextConfig.HiddenSize;
        var eps = config.TextConfig.RmsNormEps;
        _inputLatentsNorm = RmsNorm.Load(ws.Sub("input_latents_norm"), _hidden, eps);
        _inputContextNorm = RmsNorm.Load(ws.Sub("input_context_norm"), _hidden, eps);
        _selfAttn = new Idefics2PerceiverAttention(config, ws.Sub("self_attn"));
        _postAttentionLayernorm = RmsNorm.Load(ws.Sub("post_attention_layernorm"), _hidden, eps);
        _mlp = new Idefics2MLP(_hidden, _hidden * 4, _hidden, ws.Sub("mlp"));
    }

    /// <summary>latents [nLat, hidden] updated in place; context [nCtx, hidden] is read only.</summary>
    public void Forward(Span<float> latents, int nLat, ReadOnlySpan<float> context, int nCtx, ReadOnlySpan<float> mask, Workspace w)
    {
        var latN = w.Get("layer.latents_normed", nLat * _hidden);
        var ctxN = w.Get("layer.context_normed", nCtx * _hidden);
        var delta = w.Get("layer.delta", nLat * _hidden);
        _inputLatentsNorm.Forward(latents, latN);
        _inputContextNorm.Forward(context[..(nCtx * _hidden)], ctxN);
        _selfAttn.Forward(latN, nLat, ctxN, nCtx, mask, delta, w);
        Ops.Add(latents, delta, latents);
        _postAttentionLayernorm.Forward(latents, latN);
        _mlp.Forward(latN, nLat, delta, w);
        Ops.Add(latents, delta, latents);
    }
}

/// <summary>
/// <c>Idefics2PerceiverResampler</c>: learned latents [n_latents, hidden] cross-attend to the image context through
/// resampler_depth layers, then a final RMSNorm. The context mask is the patch mask followed by ones for the latents.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2PerceiverResampler)
/// </summary>
internal sealed class Idefics2PerceiverResampler
{
    private readonly float[] _latents; // [nLat, hidden]
    private readonly Idefics2PerceiverLayer[] _layers;
    private readonly RmsNorm _norm;
    private readonly int _hidden;

    public Idefics2PerceiverResampler(Idefics2Config config, WeightSource ws)
    {
        _hidden = config.TextConfig.HiddenSize;
        NLatents = config.PerceiverConfig.ResamplerNLatents;
        _latents = ws.GetFloats("latents", NLatents, _hidden);
        _layers = new Idefics2PerceiverLayer[config.PerceiverConfig.ResamplerDepth];
        for (var i = 0; i < _layers.Length; i++) _layers[i] = new Idefics2PerceiverLayer(config, ws.Sub("layers", i));
        _norm = RmsNorm.Load(ws.Sub("norm"), _hidden, config.TextConfig.RmsNormEps);
    }

    public int NLatents { get; }

    /// <summary>context [nCtx, hidden], contextMask [nCtx] -> y [nLatents, hidden].</summary>
    public void Forward(ReadOnlySpan<float> context, int nCtx, ReadOnlySpan<bool> contextMask, Span<float> y, TapCollector? taps, int image, Workspace w)
    {
        var nLat = NLatents;
        var keyValid = new bool[nCtx + nLat];
        contextMask[..nCtx].CopyTo(keyValid);
        keyValid.AsSpan(nCtx).Fill(true);
        var mask = new float[nLat * (nCtx + nLat)];
        AttentionMasks.Padding(mask, nLat, keyValid);

        var compressed = (float[])_latents.Clone();
        for (var l = 0; l < _layers.Length; l++)
        {
            _layers[l].Forward(compressed, nLat, context, nCtx, mask, w);
            taps?.Add($"connector.perceiver.layer{l}.out", image, compressed, [nLat, _hidden]);
        }
        _norm.Forward(compressed, y);
    }
}

/// <summary>
/// <c>Idefics2Connector</c>: modality_projection (Idefics2MLP vision hidden -> text intermediate -> text hidden, with
/// the TEXT hidden_act) then the perceiver resampler.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2Connector)
/// </summary>
internal sealed class Idefics2Connector
{
    private readonly Idefics2MLP _modalityProjection;
    private readonly Idefics2PerceiverResampler _perceiverResampler;
    private readonly int _hidden;

    public Idefics2Connector(Idefics2Config config, WeightSource ws)
    {
        _hidden = config.TextConfig.HiddenSize;
        _modalityProjection = new Idefics2MLP(config.VisionConfig.HiddenSize, config.TextConfig.IntermediateSize,
            config.TextConfig.HiddenSize, ws.Sub("modality_projection"));
        _perceiverResampler = new Idefics2PerceiverResampler(config, ws.Sub("perceiver_resampler"));
    }

    public int NLatents => _perceiverResampler.NLatents;

    /// <summary>One image: vision states [n, visionHidden], patch mask [n] -> image tokens [nLatents, textHidden].</summary>
    public void Forward(ReadOnlySpan<float> imageHiddenStates, int n, ReadOnlySpan<bool> patchMask, Span<float> y, TapCollector? taps, int image, Workspace w)
    {
        var projected = w.Get("connector.projected", n * _hidden);
        _modalityProjection.Forward(imageHiddenStates, n, projected, w);
        if (taps is not null)
        {
            taps.Add("connector.modality_projection_out", image, projected, [n, _hidden]);
            var maskF = new float[n];
            for (var i = 0; i < n; i++) maskF[i] = patchMask[i] ? 1f : 0f;
            taps.Add("connector.perceiver_context_mask", image, maskF, [n]);
        }
        _perceiverResampler.Forward(projected, n, patchMask, y, taps, image, w);
        taps?.Add("connector.output_image_hidden_states", image, y[..(NLatents * _hidden)], [NLatents, _hidden]);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Idefics2Model + Idefics2ForConditionalGeneration
// ------------------------------------------------------------------------------------------------------------------

/// <summary>
/// <c>Idefics2Model</c>: vision_model + connector + text_model, with the merge of image features into the token
/// embeddings at the <c>&lt;image&gt;</c> positions (<c>inputs_merger</c>).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2Model)
/// </summary>
internal sealed class Idefics2Model
{
    public readonly Idefics2Config Config;
    public readonly NaViTVisionTransformer VisionModel;
    public readonly Idefics2Connector Connector;

    public Idefics2Model(Idefics2Config config, WeightSource ws)
    {
        Config = config;
        VisionModel = new NaViTVisionTransformer(config.VisionConfig, NaViTVariant.Idefics2, ws.Sub("vision_model"));
        Connector = new Idefics2Connector(config, ws.Sub("connector"));
    }

    /// <summary>
    /// The image half of <c>Idefics2Model.forward</c>: drop all-zero padding images, derive the patch mask (a patch
    /// counts only if ALL its pixels are real), run vision tower and connector.
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape, Action<string, ReadOnlySpan<float>, int[]>? tap)
    {
        var vc = Config.VisionConfig;
        var real = VisionModel.RealImages(pixelValues, pixelAttentionMask, shape, Config.TextConfig.IntermediateSize);
        var pixelsPerImage = (int)shape.PixelsPerImage;
        int p = vc.PatchSize, hP = shape.Height / p, wP = shape.Width / p, n = hP * wP;
        int nLat = Connector.NLatents, hidden = Config.TextConfig.HiddenSize, vh = vc.HiddenSize;
        var features = new float[real.Count * nLat * hidden];
        var taps = tap is null ? null : new TapCollector(tap, real.Count);
        if (taps is not null && real.Count != shape.ImageSlots)
        {
            for (var i = 0; i < real.Count; i++)
                taps.Add("vision.pixel_values_real_images", i, pixelValues.Slice(real[i] * pixelsPerImage, pixelsPerImage), [shape.Channels, shape.Height, shape.Width]);
        }
        var patchMask = new bool[n];
        var lastHidden = new float[n * vh];
        var w = new Workspace();
        for (var i = 0; i < real.Count; i++)
        {
            var slot = real[i];
            VisionModel.PatchMask(pixelAttentionMask, slot, shape, patchMask); // all P x P pixels real; partial edge patches dropped
            if (taps is not null)
                taps.Add("vision.patch_attention_mask", i, Array.ConvertAll(patchMask, b => b ? 1f : 0f), [hP, wP]);
            VisionModel.Forward(pixelValues.Slice(slot * pixelsPerImage, pixelsPerImage), shape.Height, shape.Width, patchMask, lastHidden, taps, i, w);
            Connector.Forward(lastHidden, n, patchMask, features.AsSpan(i * nLat * hidden, nLat * hidden), taps, i, w);
        }
        taps?.Flush();
        return new Idefics2ImageFeatures(features, real.Count, nLat, hidden, [.. real]);
    }
}

/// <summary>
/// Idefics2 for image-text-to-text generation (<c>Idefics2ForConditionalGeneration</c> of transformers v4.45.2):
/// encode images once with <see cref="EncodeImages"/>, then run decoder steps over a <see cref="KvCache"/> with
/// <see cref="Step"/>. Weights stay memory-mapped in their stored dtype (F32 / F16 / BF16).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2ForConditionalGeneration)
/// </summary>
public sealed class Idefics2ForConditionalGeneration : ImageTextForConditionalGeneration
{
    private readonly Idefics2Model _model;

    private Idefics2ForConditionalGeneration(Idefics2Config config, WeightSource ws, SafetensorsCheckpoint? owned)
        : base(new ImageTextDecoder(config.TextConfig.ToDecoderSettings(), ws.Sub("model").Sub("text_model"), ws, config.TieWordEmbeddings, config.ImageTokenId), owned)
    {
        Config = config;
        _model = new Idefics2Model(config, ws.Sub("model"));
    }

    /// <summary>
    /// Loads a checkpoint folder: config.json + model.safetensors or the sharded model.safetensors.index.json.
    /// Throws <see cref="InvalidDataException"/> naming the file and tensors when the checkpoint does not fit the
    /// config (missing, unused or wrongly shaped tensors).
    /// </summary>
    public static Idefics2ForConditionalGeneration Load(string folder, QuantizationPolicy? quantization = null) =>
        CheckpointLoading.FromFolder(folder, "Idefics2", Idefics2Config.Load,
            (config, checkpoint) => Load(config, checkpoint, folder, ownsCheckpoint: true, quantization));

    /// <summary>
    /// Builds the model over an open checkpoint (HF names: model.vision_model..., model.connector..., model.text_model...,
    /// lm_head.weight). With <paramref name="ownsCheckpoint"/>, <see cref="Dispose"/> closes it.
    /// </summary>
    public static Idefics2ForConditionalGeneration Load(Idefics2Config config, SafetensorsCheckpoint checkpoint, string description, bool ownsCheckpoint,
        QuantizationPolicy? quantization = null)
    {
        config.Validate(description);
        return CheckpointLoading.Build(checkpoint, description, quantization, ws => new Idefics2ForConditionalGeneration(config, ws, ownsCheckpoint ? checkpoint : null));
    }

    /// <summary>The parsed config.json.</summary>
    public Idefics2Config Config { get; }

    /// <inheritdoc />
    public override int VocabSize => Config.TextConfig.VocabSize;

    /// <inheritdoc />
    public override int TokensPerImage => Config.PerceiverConfig.ResamplerNLatents;

    private protected override long ImageTokenId => Config.ImageTokenId;
    private protected override int TextHiddenSize => Config.TextConfig.HiddenSize;

    /// <inheritdoc />
    public override Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape) =>
        _model.EncodeImages(pixelValues, pixelAttentionMask, shape, Tap);
}
