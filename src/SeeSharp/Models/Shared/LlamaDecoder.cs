using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;

namespace SeeSharp.Models.Shared;

// The Llama-family decoder both image-text models use as text_model: Idefics2's Mistral and Idefics3's Llama are the
// same network (Mistral's classes are "Copied from transformers.models.llama"), differing only in settings: Mistral
// may mask keys beyond a sliding window; Llama may add biases to the attention / MLP projections (attention_bias,
// mlp_bias). Both use the default (unscaled) rotary embedding here.
//   https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/llama/modeling_llama.py
//   https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py
// ImageTextDecoder adds what the two *ForConditionalGeneration classes share: the token embedding, the merge of image
// features at the image-token positions (inputs_merger), the decoder step over a KV cache and the lm_head.

/// <summary>The text_config settings the shared decoder reads (from MistralConfig or LlamaConfig).</summary>
internal sealed record DecoderSettings(
    int VocabSize, int HiddenSize, int IntermediateSize, int NumHiddenLayers, int NumAttentionHeads, int NumKeyValueHeads,
    int HeadDim, double RmsNormEps, double RopeTheta, int? SlidingWindow, bool AttentionBias, bool MlpBias,
    RopeScaling? RopeScaling = null);

/// <summary>
/// The rope_scaling variants that only rescale inv_freq (attention factor 1), as transformers v4.46
/// modeling_rope_utils.py computes them in fp32: "linear" (inv_freq / factor) and "llama3" (Llama 3.1's band-wise
/// rescaling). null = the default, unscaled rope.
/// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/modeling_rope_utils.py
/// </summary>
internal sealed record RopeScaling(string RopeType, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4,
    int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>The rotary embedding for heads of <paramref name="headDim"/> and base <paramref name="theta"/>.</summary>
    public static RotaryEmbedding Create(int headDim, double theta, RopeScaling? scaling)
    {
        var rotary = new RotaryEmbedding(headDim, theta);
        return scaling is null ? rotary : new RotaryEmbedding(scaling.Scale(rotary.InverseFrequencies.ToArray()));
    }

    /// <summary>
    /// The scaled inv_freq. torch semantics: python scalars become fp32 operands; <c>c / tensor</c> is
    /// <c>tensor.reciprocal() * c</c> (Tensor.__rtruediv__).
    /// </summary>
    public float[] Scale(float[] invFreq)
    {
        var factor = (float)Factor;
        var result = new float[invFreq.Length];
        switch (RopeType)
        {
            case "linear": // _compute_linear_scaling_rope_parameters: inv_freq /= factor
                for (var i = 0; i < invFreq.Length; i++) result[i] = invFreq[i] / factor;
                return result;
            case "llama3": // _compute_llama3_parameters
            {
                var lowFreqWavelen = (float)(OriginalMaxPositionEmbeddings / LowFreqFactor);
                var highFreqWavelen = (float)(OriginalMaxPositionEmbeddings / HighFreqFactor);
                var twoPi = (float)(2 * Math.PI);
                var old = (float)OriginalMaxPositionEmbeddings;
                var low = (float)LowFreqFactor;
                var span = (float)(HighFreqFactor - LowFreqFactor);
                for (var i = 0; i < invFreq.Length; i++)
                {
                    var wavelen = 1f / invFreq[i] * twoPi;
                    var llama = wavelen > lowFreqWavelen ? invFreq[i] / factor : invFreq[i];
                    var smooth = (1f / wavelen * old - low) / span;
                    var smoothed = (1f - smooth) * llama / factor + smooth * llama;
                    var medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                    result[i] = medium ? smoothed : llama;
                }
                return result;
            }
            default:
                throw new NotSupportedException($"rope_scaling type \"{RopeType}\" is not supported (only linear and llama3)");
        }
    }
}

/// <summary>
/// <c>LlamaAttention</c> / <c>MistralAttention</c> (eager): q/k/v/o (optional biases), rotary on q and k, GQA,
/// scores / sqrt(head_dim) + causal and padding mask, fp32 softmax. Keys and values go through the KV cache.
/// </summary>
internal sealed class LlamaAttention
{
    private readonly Linear _q, _k, _v, _o;
    private readonly SharedInputLinear? _qkv;   // q, k, v as one decode GEMV when quantized alike
    private readonly int _layer, _heads, _kvHeads, _headDim, _hidden;
    private readonly RotaryEmbedding _rotary;

    public LlamaAttention(DecoderSettings config, int layer, RotaryEmbedding rotary, WeightSource ws)
    {
        _layer = layer;
        _hidden = config.HiddenSize;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _rotary = rotary;
        var bias = config.AttentionBias;
        _q = Linear.Load(ws.Sub("q_proj"), _hidden, _heads * _headDim, bias);
        _k = Linear.Load(ws.Sub("k_proj"), _hidden, _kvHeads * _headDim, bias);
        _v = Linear.Load(ws.Sub("v_proj"), _hidden, _kvHeads * _headDim, bias);
        _o = Linear.Load(ws.Sub("o_proj"), _heads * _headDim, _hidden, bias);
        _qkv = SharedInputLinear.TryCreate(_q, _k, _v);
    }

    /// <summary>
    /// x [batch * n, hidden] -> y [batch * n, hidden]. positions [batch * n]; masks[b] is [n, past + n] for row b.
    /// Writes this layer's new keys/values into <paramref name="cache"/> at [past, past + n).
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, int batch, int n, ReadOnlySpan<long> positions, float[][] masks, KvCache cache, Span<float> y, Workspace w)
    {
        var rows = batch * n;
        int qSize = _heads * _headDim, kvSize = _kvHeads * _headDim;
        Span<float> q, k, v;
        if (rows == 1 && _qkv is not null && SharedInputLinear.Enabled)
        {
            // decode: one quantized input row, one hand-off to the workers for all three projections
            var qkv = w.Get("attn.qkv", _qkv.OutFeatures);
            _qkv.Forward(x, qkv);
            q = qkv[..qSize];
            k = qkv.Slice(qSize, kvSize);
            v = qkv.Slice(qSize + kvSize, kvSize);
        }
        else
        {
            q = w.Get("attn.q", rows * qSize);
            k = w.Get("attn.k", rows * kvSize);
            v = w.Get("attn.v", rows * kvSize);
            _q.Forward(x, rows, q); // [batch, n, heads, headDim]
            _k.Forward(x, rows, k); // [batch, n, kvHeads, headDim]
            _v.Forward(x, rows, v);
        }
        _rotary.Apply(q, rows, _heads, positions);
        _rotary.Apply(k, rows, _kvHeads, positions);
        var past = cache.Length;
        var total = past + n;
        var o = w.Get("attn.o", rows * qSize);
        for (var b = 0; b < batch; b++)
        {
            cache.Write(_layer, b, k.Slice(b * n * kvSize, n * kvSize), v.Slice(b * n * kvSize, n * kvSize), n);
            Ops.Attention(q.Slice(b * n * qSize, n * qSize), cache.Keys(_layer, b, total), cache.Values(_layer, b, total),
                o.Slice(b * n * qSize, n * qSize), n, total, _heads, _kvHeads, _headDim, 1f / MathF.Sqrt(_headDim), masks[b]);
        }
        _o.Forward(o, rows, y);
    }
}

/// <summary><c>LlamaMLP</c> / <c>MistralMLP</c>: down_proj(silu(gate_proj(x)) * up_proj(x)), optional biases (mlp_bias).</summary>
internal sealed class LlamaMLP
{
    private readonly Linear _gate, _up, _down;
    private readonly SharedInputLinear? _gateUp;   // gate and up as one decode GEMV when quantized alike

    public LlamaMLP(DecoderSettings config, WeightSource ws)
    {
        _gate = Linear.Load(ws.Sub("gate_proj"), config.HiddenSize, config.IntermediateSize, config.MlpBias);
        _up = Linear.Load(ws.Sub("up_proj"), config.HiddenSize, config.IntermediateSize, config.MlpBias);
        _down = Linear.Load(ws.Sub("down_proj"), config.IntermediateSize, config.HiddenSize, config.MlpBias);
        _gateUp = SharedInputLinear.TryCreate(_gate, _up);
    }

    /// <summary>x [n, hidden] -> y [n, hidden].</summary>
    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y, Workspace w)
    {
        Span<float> gate, up;
        if (n == 1 && _gateUp is not null && SharedInputLinear.Enabled)
        {
            var both = w.Get("mlp.gateup", _gateUp.OutFeatures);
            _gateUp.Forward(x, both);
            gate = both[.._gate.OutFeatures];
            up = both[_gate.OutFeatures..];
        }
        else
        {
            gate = w.Get("mlp.gate", n * _gate.OutFeatures);
            up = w.Get("mlp.up", n * _up.OutFeatures);
            _gate.Forward(x, n, gate);
            _up.Forward(x, n, up);
        }
        Ops.SiluMul(gate, up, gate);
        _down.Forward(gate, n, y);
    }
}

/// <summary><c>LlamaDecoderLayer</c>: x + attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).</summary>
internal sealed class LlamaDecoderLayer
{
    private readonly LlamaAttention _selfAttn;
    private readonly LlamaMLP _mlp;
    private readonly RmsNorm _inputLayernorm, _postAttentionLayernorm;
    private readonly int _hidden;

    public LlamaDecoderLayer(DecoderSettings config, int layer, RotaryEmbedding rotary, WeightSource ws)
    {
        _hidden = config.HiddenSize;
        _selfAttn = new LlamaAttention(config, layer, rotary, ws.Sub("self_attn"));
        _mlp = new LlamaMLP(config, ws.Sub("mlp"));
        _inputLayernorm = RmsNorm.Load(ws.Sub("input_layernorm"), _hidden, config.RmsNormEps);
        _postAttentionLayernorm = RmsNorm.Load(ws.Sub("post_attention_layernorm"), _hidden, config.RmsNormEps);
    }

    /// <summary>hidden [batch * n, hidden] updated in place.</summary>
    public void Forward(Span<float> hidden, int batch, int n, ReadOnlySpan<long> positions, float[][] masks, KvCache cache, Workspace w)
    {
        var rows = batch * n;
        var normed = w.Get("layer.normed", rows * _hidden);
        var delta = w.Get("layer.delta", rows * _hidden);
        _inputLayernorm.Forward(hidden, normed);
        _selfAttn.Forward(normed, batch, n, positions, masks, cache, delta, w);
        Ops.Add(hidden, delta, hidden);
        _postAttentionLayernorm.Forward(hidden, normed);
        _mlp.Forward(normed, rows, delta, w);
        Ops.Add(hidden, delta, hidden);
    }
}

/// <summary>
/// <c>LlamaModel</c> / <c>MistralModel</c>: embed_tokens, decoder layers, final norm (hidden states follow HF's
/// output_hidden_states convention: [0] = inputs_embeds, [i] = after layer i-1, the last one after the final norm).
/// </summary>
internal sealed class LlamaModel
{
    public readonly DecoderSettings Config;
    public readonly WeightMatrix EmbedTokens; // [vocab, hidden]
    public readonly LlamaDecoderLayer[] Layers;
    public readonly RmsNorm Norm;

    public LlamaModel(DecoderSettings config, WeightSource ws)
    {
        Config = config;
        EmbedTokens = new WeightMatrix(ws.Sub("embed_tokens").Get("weight", config.VocabSize, config.HiddenSize));
        var rotary = RopeScaling.Create(config.HeadDim, config.RopeTheta, config.RopeScaling);
        Layers = new LlamaDecoderLayer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++) Layers[i] = new LlamaDecoderLayer(config, i, rotary, ws.Sub("layers", i));
        Norm = RmsNorm.Load(ws.Sub("norm"), config.HiddenSize, config.RmsNormEps);
    }

    /// <summary>
    /// inputsEmbeds [batch * n, hidden] -> normed last hidden state [batch * n, hidden] (in place). attentionMask
    /// [batch, past + n]; advances the cache by n.
    /// </summary>
    public void Forward(Span<float> hidden, int batch, int n, ReadOnlySpan<long> positions, ReadOnlySpan<long> attentionMask,
        KvCache cache, Action<string, ReadOnlySpan<float>, int[]>? tap, Workspace w)
    {
        var past = cache.Length;
        var total = past + n;
        var masks = new float[batch][];
        for (var b = 0; b < batch; b++)
        {
            masks[b] = new float[n * total];
            AttentionMasks.CausalPadding(masks[b], n, past, attentionMask.Slice(b * total, total), Config.SlidingWindow);
        }
        int[] shape = [batch, n, Config.HiddenSize];
        tap?.Invoke("text.hidden_states.0", hidden, shape);
        for (var l = 0; l < Layers.Length; l++)
        {
            Layers[l].Forward(hidden, batch, n, positions, masks, cache, w);
            if (l < Layers.Length - 1) tap?.Invoke($"text.hidden_states.{l + 1}", hidden, shape);
        }
        var normed = w.Get("model.normed", hidden.Length);
        Norm.Forward(hidden, normed);
        normed.CopyTo(hidden);
        tap?.Invoke($"text.hidden_states.{Layers.Length}", hidden, shape);
        cache.Advance(n);
    }
}

/// <summary>
/// The text half of an image-text <c>*ForConditionalGeneration</c>: token embedding, <c>inputs_merger</c> (image
/// feature rows replace the image-token rows in order), the <see cref="LlamaModel"/> over a KV cache, and lm_head.
/// </summary>
internal sealed class ImageTextDecoder
{
    private readonly Linear _lmHead;

    /// <summary><paramref name="tied"/>: lm_head shares embed_tokens (a stored <c>lm_head.weight</c> is ignored).</summary>
    public ImageTextDecoder(DecoderSettings settings, WeightSource textModel, WeightSource root, bool tied, long imageTokenId)
    {
        TextModel = new LlamaModel(settings, textModel);
        ImageTokenId = imageTokenId;
        if (tied)
        {
            _lmHead = new DenseLinear(TextModel.EmbedTokens, null, textModel.Qualify("embed_tokens"));
            root.Ignore("lm_head.weight"); // a tied copy, if the checkpoint carries one
        }
        else
        {
            _lmHead = Linear.Load(root.Sub("lm_head"), settings.HiddenSize, settings.VocabSize, bias: false);
        }
    }

    public LlamaModel TextModel { get; }
    public DecoderSettings Settings => TextModel.Config;
    public long ImageTokenId { get; }

    /// <summary>A fresh KV cache for <paramref name="batch"/> rows of up to <paramref name="maxLength"/> tokens.</summary>
    public KvCache CreateKvCache(int batch, int maxLength)
    {
        var t = Settings;
        return new KvCache(t.NumHiddenLayers, batch, t.NumKeyValueHeads, t.HeadDim, maxLength);
    }

    /// <summary>
    /// <c>inputs_merger</c>: the rows of image tokens (row-major over the batch) take the image feature rows in order.
    /// The counts must match exactly.
    /// </summary>
    public void InputsMerger(ReadOnlySpan<long> inputIds, Span<float> inputsEmbeds, Idefics2ImageFeatures images)
    {
        var hidden = Settings.HiddenSize;
        if (images.HiddenSize != hidden)
            throw new ArgumentException($"image features have hidden size {images.HiddenSize}, the text model {hidden}");
        var imageTokens = inputIds.Count(ImageTokenId);
        var rows = images.Count * images.TokensPerImage;
        if (imageTokens != rows)
            throw new ArgumentException(
                $"the input ids hold {imageTokens} image tokens (id {ImageTokenId}) but the image features have {images.Count} x {images.TokensPerImage} = {rows} rows");
        var next = 0;
        for (var t = 0; t < inputIds.Length; t++)
        {
            if (inputIds[t] != ImageTokenId) continue;
            images.Data.AsSpan(next * hidden, hidden).CopyTo(inputsEmbeds.Slice(t * hidden, hidden));
            next++;
        }
    }

    /// <summary>One decoder step over <c>n = inputIds.Length / cache.Batch</c> new tokens per row (see the public Step methods).</summary>
    public float[] Step(KvCache cache, ReadOnlySpan<long> inputIds, ReadOnlySpan<long> positionIds, ReadOnlySpan<long> attentionMask,
        Idefics2ImageFeatures? images, bool allLogits, Action<string, ReadOnlySpan<float>, int[]>? tap)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var t = Settings;
        var batch = cache.Batch;
        if (cache.Layers != t.NumHiddenLayers || cache.KvHeads != t.NumKeyValueHeads || cache.HeadDim != t.HeadDim)
            throw new ArgumentException("the KV cache was not made for this model (use CreateKvCache)");
        if (inputIds.Length == 0 || inputIds.Length % batch != 0)
            throw new ArgumentException($"input ids: {inputIds.Length} ids is not [{batch}, n] with n > 0");
        var n = inputIds.Length / batch;
        if (positionIds.Length != inputIds.Length)
            throw new ArgumentException($"position ids: {positionIds.Length} values, input ids have {inputIds.Length}");
        var total = cache.Length + n;
        if (attentionMask.Length != (long)batch * total)
            throw new ArgumentException($"attention mask: {attentionMask.Length} values, expected [{batch}, {total}] (cached {cache.Length} + new {n})");
        if (total > cache.MaxLength)
            throw new ArgumentException($"{cache.Length} cached + {n} new tokens exceed the cache's MaxLength {cache.MaxLength}");
        if ((long)n * total > Array.MaxLength || (long)batch * n * Math.Max(t.IntermediateSize, t.VocabSize) > Array.MaxLength)
            throw new ArgumentException($"a step of {batch} x {n} new tokens over {total} positions is too large; split the prompt into several steps");
        foreach (var id in inputIds)
            if ((ulong)id >= (ulong)t.VocabSize) throw new ArgumentOutOfRangeException(nameof(inputIds), id, $"token id outside the vocabulary (vocab_size {t.VocabSize})");

        var h = t.HiddenSize;
        var rows = batch * n;
        var hidden = new float[rows * h];
        Ops.Embedding(TextModel.EmbedTokens, inputIds, hidden);
        tap?.Invoke("text.token_embeddings", hidden, [batch, n, h]);
        if (images is not null)
        {
            InputsMerger(inputIds, hidden, images);
            tap?.Invoke("merged_inputs_embeds", hidden, [batch, n, h]);
        }
        TextModel.Forward(hidden, batch, n, positionIds, attentionMask, cache, tap, new Workspace());

        var v = t.VocabSize;
        if (allLogits)
        {
            var logits = new float[rows * v];
            _lmHead.Forward(hidden, rows, logits);
            tap?.Invoke("logits", logits, [batch, n, v]);
            return logits;
        }
        var last = new float[batch * h];
        for (var b = 0; b < batch; b++) hidden.AsSpan(((b + 1) * n - 1) * h, h).CopyTo(last.AsSpan(b * h));
        var lastLogits = new float[batch * v];
        _lmHead.Forward(last, batch, lastLogits);
        tap?.Invoke("logits", lastLogits, [batch, 1, v]);
        return lastLogits;
    }

    /// <summary>One full forward without a persistent cache: logits of every position [batch, L, vocab].</summary>
    public float[] Forward(ReadOnlySpan<long> inputIds, int batch, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> positionIds,
        Idefics2ImageFeatures? images, Action<string, ReadOnlySpan<float>, int[]>? tap)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputIds.Length == 0 || inputIds.Length % batch != 0)
            throw new ArgumentException($"input ids: {inputIds.Length} ids is not [{batch}, L] with L > 0");
        var length = inputIds.Length / batch;
        var positions = positionIds.IsEmpty ? PositionIdsFromAttentionMask(attentionMask, batch) : positionIds.ToArray();
        var cache = CreateKvCache(batch, length);
        return Step(cache, inputIds, positions, attentionMask, images, allLogits: true, tap);
    }

    /// <summary>
    /// Position ids as <c>generate</c> derives them for (left-)padded batches: attention_mask.cumsum(-1) - 1, with
    /// padding positions set to 1. attentionMask [batch, L] -> [batch, L].
    /// </summary>
    public static long[] PositionIdsFromAttentionMask(ReadOnlySpan<long> attentionMask, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (attentionMask.Length % batch != 0) throw new ArgumentException($"attention mask of {attentionMask.Length} values is not [{batch}, L]");
        var length = attentionMask.Length / batch;
        var result = new long[attentionMask.Length];
        for (var b = 0; b < batch; b++)
        {
            long sum = 0;
            for (var i = 0; i < length; i++)
            {
                var m = attentionMask[b * length + i];
                sum += m;
                result[b * length + i] = m == 0 ? 1 : sum - 1;
            }
        }
        return result;
    }
}

/// <summary>
/// Gathers per-image intermediates into batched tensors [images, ...] and hands them to the tap at the end, so the
/// tap sees the same shapes as the reference's batched run.
/// </summary>
internal sealed class TapCollector(Action<string, ReadOnlySpan<float>, int[]> tap, int images)
{
    private readonly Dictionary<string, (float[] Data, int[] Shape)> _tensors = [];
    private readonly List<string> _order = [];

    public void Add(string name, int image, ReadOnlySpan<float> data, int[] perImageShape)
    {
        if (!_tensors.TryGetValue(name, out var entry))
        {
            entry = (new float[images * data.Length], [images, .. perImageShape]);
            _tensors[name] = entry;
            _order.Add(name);
        }
        if ((long)(image + 1) * data.Length > entry.Data.Length)
            throw new InvalidOperationException($"tap '{name}': image {image} does not fit the collected tensor");
        data.CopyTo(entry.Data.AsSpan(image * data.Length));
    }

    public void Flush()
    {
        foreach (var name in _order) tap(name, _tensors[name].Data, _tensors[name].Shape);
    }
}
