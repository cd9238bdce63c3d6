using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Nn;

namespace SeeSharp.Models.Idefics2;

// Idefics2 (vision tower + connector + Mistral decoder), ported class by class from transformers v4.45.2 (STYLE.md 1):
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
    /// <summary>Latents per image (perceiver_config.resampler_n_latents).</summary>
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

// ------------------------------------------------------------------------------------------------------------------
// Vision tower
// ------------------------------------------------------------------------------------------------------------------

/// <summary>
/// <c>Idefics2VisionEmbeddings</c>: patch embedding (Conv2d k=s=patch, valid) as a matmul over unfolded patches, plus
/// NaViT-style bucketed position embeddings for images of any aspect ratio.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2VisionEmbeddings)
/// </summary>
internal sealed class Idefics2VisionEmbeddings
{
    private readonly Idefics2VisionConfig _config;
    private readonly Linear _patchEmbedding;          // weight [embed, C*P*P] (the conv kernel flattened), bias [embed]
    private readonly WeightMatrix _positionEmbedding; // [num_patches_per_side², embed]
    private readonly float[] _boundaries;

    public Idefics2VisionEmbeddings(Idefics2VisionConfig config, WeightSource ws)
    {
        _config = config;
        int e = config.HiddenSize, c = config.NumChannels, p = config.PatchSize, side = config.NumPatchesPerSide;
        var pe = ws.Sub("patch_embedding");
        var w = pe.Get("weight", e, c, p, p); // WeightMatrix flattens [e, c, p, p] to [e, c*p*p]: the order (c, kh, kw) of Unfold below
        _patchEmbedding = new DenseLinear(new WeightMatrix(w), pe.GetFloats("bias", e), pe.Prefix);
        _positionEmbedding = new WeightMatrix(ws.Sub("position_embedding").Get("weight", (long)side * side, e));
        _boundaries = Boundaries(side);
    }

    /// <summary>
    /// pixels [C, H, W] of one image, patchMask [hP, wP] -> embeddings [hP*wP, embed] (patches row-major), and the
    /// position ids [hP*wP] it used.
    /// </summary>
    public void Forward(ReadOnlySpan<float> pixels, int height, int width, ReadOnlySpan<bool> patchMask, Span<float> embeddings,
        Span<long> positionIds, Span<float> convOut, Workspace w)
    {
        int c = _config.NumChannels, p = _config.PatchSize, e = _config.HiddenSize;
        int hP = height / p, wP = width / p, n = hP * wP;
        // Unfold: patches[n, C*P*P], element (ch, ky, kx) of patch (py, px) = pixels[ch, py*P + ky, px*P + kx]
        var patches = w.Get("vision.patches", n * c * p * p);
        for (var py = 0; py < hP; py++)
            for (var px = 0; px < wP; px++)
            {
                var dst = patches.Slice((py * wP + px) * c * p * p, c * p * p);
                var k = 0;
                for (var ch = 0; ch < c; ch++)
                    for (var ky = 0; ky < p; ky++)
                    {
                        pixels.Slice((ch * height + py * p + ky) * width + px * p, p).CopyTo(dst.Slice(k, p));
                        k += p;
                    }
            }
        _patchEmbedding.Forward(patches, n, convOut); // [n, e] == conv output flattened(2).transpose(1, 2)

        PositionIds(patchMask, hP, wP, _config.NumPatchesPerSide, _boundaries, positionIds);
        var pos = w.Get("vision.position_embeddings", n * e);
        Ops.Embedding(_positionEmbedding, positionIds, pos);
        Ops.Add(convOut, pos, embeddings);
    }

    /// <summary>
    /// position_ids [hP*wP] of one image: bucket_h[r] * side + bucket_w[c] at the patches the mask keeps (written in
    /// row-major order), 0 elsewhere. nb_patches_h counts mask column 0, nb_patches_w mask row 0, as the reference.
    /// </summary>
    internal static void PositionIds(ReadOnlySpan<bool> patchMask, int hP, int wP, int side, float[] boundaries, Span<long> positionIds)
    {
        positionIds[..(hP * wP)].Clear();
        int nbH = 0, nbW = 0, kept = 0;
        for (var r = 0; r < hP; r++) if (patchMask[r * wP]) nbH++;
        for (var col = 0; col < wP; col++) if (patchMask[col]) nbW++;
        for (var i = 0; i < hP * wP; i++) if (patchMask[i]) kept++;
        if (kept == 0) return;
        if (kept != nbH * nbW)
            throw new InvalidOperationException(
                $"Idefics2 vision: the patch attention mask keeps {kept} patches, not the {nbH} x {nbW} rectangle its first row/column imply");
        var bucketsH = BucketCoordinates(nbH, boundaries);
        var bucketsW = BucketCoordinates(nbW, boundaries);
        var next = 0;
        for (var i = 0; i < hP * wP; i++)
        {
            if (!patchMask[i]) continue;
            var r = next / nbW;
            var col = next % nbW;
            positionIds[i] = (long)bucketsH[r] * side + bucketsW[col];
            next++;
        }
    }

    /// <summary>
    /// torch.bucketize(torch.arange(0, 1 - 1e-6, 1 / nb), boundaries, right=True): for each of the nb fractional
    /// coordinates, how many boundaries are &lt;= it.
    /// </summary>
    internal static int[] BucketCoordinates(int nbPatches, float[] boundaries)
    {
        var step = (double)(1f / nbPatches); // 1 / int64 tensor -> fp32 tensor
        var fractional = TorchArangeFloat32(0.0, 1 - 1e-6, step);
        var buckets = new int[fractional.Length];
        for (var i = 0; i < fractional.Length; i++)
        {
            var count = 0;
            while (count < boundaries.Length && boundaries[count] <= fractional[i]) count++;
            buckets[i] = count;
        }
        return buckets;
    }

    /// <summary>torch.arange(1 / side, 1.0, 1 / side) in fp32 (python-double start and step).</summary>
    internal static float[] Boundaries(int numPatchesPerSide) =>
        TorchArangeFloat32(1.0 / numPatchesPerSide, 1.0, 1.0 / numPatchesPerSide);

    /// <summary>
    /// torch 1.13's CPU float32 arange, bit for bit (the recipe recorded in tests/fixtures/idefics2-vision-position-ids):
    /// length ceil((end - start) / step) in double; the 8-wide vectorized kernel, 2 vectors per iteration, computes
    /// base = fp32(start + step * k) for k = 8 * floor(i / 8) and then fp32(base + (i - k) * step) in double; the scalar
    /// tail (i beyond the last full 16) computes fp32(start + step * i).
    /// </summary>
    internal static float[] TorchArangeFloat32(double start, double end, double step)
    {
        var size = Math.Ceiling((end - start) / step);
        if (!(size >= 0) || size > 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(step), $"arange({start}, {end}, {step}) has an invalid length {size}");
        var n = (int)size;
        var vectorized = n / 16 * 16;
        var result = new float[n];
        for (var i = 0; i < n; i++)
        {
            if (i < vectorized)
            {
                var k = 8 * (i / 8);
                var baseValue = (float)(start + step * k);
                result[i] = (float)(baseValue + (i - k) * step);
            }
            else
            {
                result[i] = (float)(start + step * i);
            }
        }
        return result;
    }
}

/// <summary>
/// <c>Idefics2VisionAttention</c> (SigLIP attention): q/k/v/out projections with bias, bidirectional, scale
/// head_dim^-0.5, additive padding mask.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2VisionAttention)
/// </summary>
internal sealed class Idefics2VisionAttention
{
    private readonly Linear _q, _k, _v, _out;
    private readonly int _heads, _headDim, _embed;
    private readonly float _scale;

    public Idefics2VisionAttention(Idefics2VisionConfig config, WeightSource ws)
    {
        _embed = config.HiddenSize;
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        _scale = (float)Math.Pow(_headDim, -0.5);
        _k = Linear.Load(ws.Sub("k_proj"), _embed, _embed, bias: true);
        _v = Linear.Load(ws.Sub("v_proj"), _embed, _embed, bias: true);
        _q = Linear.Load(ws.Sub("q_proj"), _embed, _embed, bias: true);
        _out = Linear.Load(ws.Sub("out_proj"), _embed, _embed, bias: true);
    }

    /// <summary>x [n, embed] -> y [n, embed]; mask [n, n] additive or empty (no mask).</summary>
    public void Forward(ReadOnlySpan<float> x, int n, ReadOnlySpan<float> mask, Span<float> y, Workspace w)
    {
        var q = w.Get("attn.q", n * _embed);
        var k = w.Get("attn.k", n * _embed);
        var v = w.Get("attn.v", n * _embed);
        var o = w.Get("attn.o", n * _embed);
        _q.Forward(x, n, q); // [n, heads, headDim]
        _k.Forward(x, n, k);
        _v.Forward(x, n, v);
        Ops.Attention(q, k, v, o, n, n, _heads, _heads, _headDim, _scale, mask);
        _out.Forward(o, n, y);
    }
}

/// <summary>
/// <c>Idefics2VisionMLP</c>: fc2(gelu_pytorch_tanh(fc1(x))).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2VisionMLP)
/// </summary>
internal sealed class Idefics2VisionMLP
{
    private readonly Linear _fc1, _fc2;

    public Idefics2VisionMLP(Idefics2VisionConfig config, WeightSource ws)
    {
        _fc1 = Linear.Load(ws.Sub("fc1"), config.HiddenSize, config.IntermediateSize, bias: true);
        _fc2 = Linear.Load(ws.Sub("fc2"), config.IntermediateSize, config.HiddenSize, bias: true);
    }

    /// <summary>x [n, hidden] -> y [n, hidden].</summary>
    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y, Workspace w)
    {
        var h = w.Get("mlp.h", n * _fc1.OutFeatures);
        _fc1.Forward(x, n, h);
        Ops.GeluTanh(h, h);
        _fc2.Forward(h, n, y);
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

/// <summary>
/// <c>Idefics2EncoderLayer</c>: pre-LN transformer block, x + attn(ln1(x)), then x + mlp(ln2(x)).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2EncoderLayer)
/// </summary>
internal sealed class Idefics2EncoderLayer
{
    private readonly Idefics2VisionAttention _selfAttn;
    private readonly LayerNorm _layerNorm1, _layerNorm2;
    private readonly Idefics2VisionMLP _mlp;
    private readonly int _embed;

    public Idefics2EncoderLayer(Idefics2VisionConfig config, WeightSource ws)
    {
        _embed = config.HiddenSize;
        _selfAttn = new Idefics2VisionAttention(config, ws.Sub("self_attn"));
        _layerNorm1 = LayerNorm.Load(ws.Sub("layer_norm1"), _embed, config.LayerNormEps);
        _mlp = new Idefics2VisionMLP(config, ws.Sub("mlp"));
        _layerNorm2 = LayerNorm.Load(ws.Sub("layer_norm2"), _embed, config.LayerNormEps);
    }

    /// <summary>hidden [n, embed], updated in place.</summary>
    public void Forward(Span<float> hidden, int n, ReadOnlySpan<float> mask, Workspace w)
    {
        var normed = w.Get("layer.normed", n * _embed);
        var delta = w.Get("layer.delta", n * _embed);
        _layerNorm1.Forward(hidden, normed);
        _selfAttn.Forward(normed, n, mask, delta, w);
        Ops.Add(hidden, delta, hidden);
        _layerNorm2.Forward(hidden, normed);
        _mlp.Forward(normed, n, delta, w);
        Ops.Add(hidden, delta, hidden);
    }
}

/// <summary>
/// <c>Idefics2Encoder</c>: the stack of <see cref="Idefics2EncoderLayer"/>.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2Encoder)
/// </summary>
internal sealed class Idefics2Encoder
{
    public readonly Idefics2EncoderLayer[] Layers;

    public Idefics2Encoder(Idefics2VisionConfig config, WeightSource ws)
    {
        Layers = new Idefics2EncoderLayer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++) Layers[i] = new Idefics2EncoderLayer(config, ws.Sub("layers", i));
    }
}

/// <summary>
/// <c>Idefics2VisionTransformer</c>: embeddings -> encoder (with the patch padding mask) -> post_layernorm.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2VisionTransformer)
/// </summary>
internal sealed class Idefics2VisionTransformer
{
    private readonly Idefics2VisionConfig _config;
    private readonly Idefics2VisionEmbeddings _embeddings;
    private readonly Idefics2Encoder _encoder;
    private readonly LayerNorm _postLayernorm;

    public Idefics2VisionTransformer(Idefics2VisionConfig config, WeightSource ws)
    {
        _config = config;
        _embeddings = new Idefics2VisionEmbeddings(config, ws.Sub("embeddings"));
        _encoder = new Idefics2Encoder(config, ws.Sub("encoder"));
        _postLayernorm = LayerNorm.Load(ws.Sub("post_layernorm"), config.HiddenSize, config.LayerNormEps);
    }

    /// <summary>
    /// One image: pixels [C, H, W], patchMask [hP, wP] -> last_hidden_state [hP*wP, embed]. The reference runs all real
    /// images of a batch together; rows of different images never interact, so one image at a time gives the same
    /// numbers with bounded memory. Per-image intermediates go to <paramref name="taps"/>.
    /// </summary>
    public void Forward(ReadOnlySpan<float> pixels, int height, int width, ReadOnlySpan<bool> patchMask, Span<float> lastHidden,
        TapCollector? taps, int image, Workspace w)
    {
        int p = _config.PatchSize, e = _config.HiddenSize;
        int hP = height / p, wP = width / p, n = hP * wP;
        var hidden = w.Get("vision.hidden", n * e);
        var convOut = w.Get("vision.conv", n * e);
        var positionIds = new long[n];
        _embeddings.Forward(pixels, height, width, patchMask, hidden, positionIds, convOut, w);
        if (taps is not null)
        {
            // Conv2d output layout [embed, hP, wP]; ours is [hP*wP, embed].
            var chw = new float[n * e];
            for (var i = 0; i < n; i++)
                for (var ch = 0; ch < e; ch++) chw[ch * n + i] = convOut[i * e + ch];
            taps.Add("vision.patch_embedding_conv_out", image, chw, [e, hP, wP]);
            taps.Add("vision.position_ids", image, Array.ConvertAll(positionIds, x => (float)x), [n]);
            taps.Add("vision.embeddings_out", image, hidden, [n, e]);
        }

        // The reference drops the mask entirely when no patch of the batch is masked; adding zeros is exact, so
        // deciding per image gives identical numbers.
        var anyMasked = patchMask[..n].Contains(false);
        var mask = anyMasked ? new float[n * n] : [];
        if (anyMasked) AttentionMasks.Padding(mask, n, patchMask[..n]);

        for (var l = 0; l < _encoder.Layers.Length; l++)
        {
            _encoder.Layers[l].Forward(hidden, n, mask, w);
            taps?.Add($"vision.encoder.layer{l}.out", image, hidden, [n, e]);
        }
        _postLayernorm.Forward(hidden, lastHidden);
        taps?.Add("vision.last_hidden_state", image, lastHidden[..(n * e)], [n, e]);
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
// Text decoder: Mistral (Idefics2Model.text_model = AutoModel.from_config(text_config))
// ------------------------------------------------------------------------------------------------------------------

/// <summary>
/// <c>MistralAttention</c> (eager): q/k/v/o without bias, rotary on q and k, GQA, scores / sqrt(head_dim) + causal
/// and padding mask, fp32 softmax. Keys and values go through the KV cache.
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py (class MistralAttention)
/// </summary>
internal sealed class MistralAttention
{
    private readonly Linear _q, _k, _v, _o;
    private readonly int _layer, _heads, _kvHeads, _headDim, _hidden;
    private readonly RotaryEmbedding _rotary;

    public MistralAttention(MistralConfig config, int layer, RotaryEmbedding rotary, WeightSource ws)
    {
        _layer = layer;
        _hidden = config.HiddenSize;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _rotary = rotary;
        _q = Linear.Load(ws.Sub("q_proj"), _hidden, _heads * _headDim, bias: false);
        _k = Linear.Load(ws.Sub("k_proj"), _hidden, _kvHeads * _headDim, bias: false);
        _v = Linear.Load(ws.Sub("v_proj"), _hidden, _kvHeads * _headDim, bias: false);
        _o = Linear.Load(ws.Sub("o_proj"), _heads * _headDim, _hidden, bias: false);
    }

    /// <summary>
    /// x [batch * n, hidden] -> y [batch * n, hidden]. positions [batch * n]; masks[b] is [n, past + n] for row b.
    /// Writes this layer's new keys/values into <paramref name="cache"/> at [past, past + n).
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, int batch, int n, ReadOnlySpan<long> positions, float[][] masks, KvCache cache, Span<float> y, Workspace w)
    {
        var rows = batch * n;
        int qSize = _heads * _headDim, kvSize = _kvHeads * _headDim;
        var q = w.Get("attn.q", rows * qSize);
        var k = w.Get("attn.k", rows * kvSize);
        var v = w.Get("attn.v", rows * kvSize);
        _q.Forward(x, rows, q); // [batch, n, heads, headDim]
        _k.Forward(x, rows, k); // [batch, n, kvHeads, headDim]
        _v.Forward(x, rows, v);
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

/// <summary>
/// <c>MistralMLP</c>: down_proj(silu(gate_proj(x)) * up_proj(x)).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py (class MistralMLP)
/// </summary>
internal sealed class MistralMLP
{
    private readonly Idefics2MLP _mlp; // same computation and weight names

    public MistralMLP(MistralConfig config, WeightSource ws) =>
        _mlp = new Idefics2MLP(config.HiddenSize, config.IntermediateSize, config.HiddenSize, ws);

    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y, Workspace w) => _mlp.Forward(x, n, y, w);
}

/// <summary>
/// <c>MistralDecoderLayer</c>: x + attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py (class MistralDecoderLayer)
/// </summary>
internal sealed class MistralDecoderLayer
{
    private readonly MistralAttention _selfAttn;
    private readonly MistralMLP _mlp;
    private readonly RmsNorm _inputLayernorm, _postAttentionLayernorm;
    private readonly int _hidden;

    public MistralDecoderLayer(MistralConfig config, int layer, RotaryEmbedding rotary, WeightSource ws)
    {
        _hidden = config.HiddenSize;
        _selfAttn = new MistralAttention(config, layer, rotary, ws.Sub("self_attn"));
        _mlp = new MistralMLP(config, ws.Sub("mlp"));
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
/// <c>MistralModel</c>: embed_tokens, decoder layers, final norm (hidden states follow HF's output_hidden_states
/// convention: [0] = inputs_embeds, [i] = after layer i-1, the last one after the final norm).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py (class MistralModel)
/// </summary>
internal sealed class MistralModel
{
    public readonly MistralConfig Config;
    public readonly WeightMatrix EmbedTokens; // [vocab, hidden]
    public readonly MistralDecoderLayer[] Layers;
    public readonly RmsNorm Norm;

    public MistralModel(MistralConfig config, WeightSource ws)
    {
        Config = config;
        EmbedTokens = new WeightMatrix(ws.Sub("embed_tokens").Get("weight", config.VocabSize, config.HiddenSize));
        var rotary = new RotaryEmbedding(config.HeadDim, config.RopeTheta);
        Layers = new MistralDecoderLayer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++) Layers[i] = new MistralDecoderLayer(config, i, rotary, ws.Sub("layers", i));
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
    public readonly Idefics2VisionTransformer VisionModel;
    public readonly Idefics2Connector Connector;
    public readonly MistralModel TextModel;

    public Idefics2Model(Idefics2Config config, WeightSource ws)
    {
        Config = config;
        TextModel = new MistralModel(config.TextConfig, ws.Sub("text_model"));
        VisionModel = new Idefics2VisionTransformer(config.VisionConfig, ws.Sub("vision_model"));
        Connector = new Idefics2Connector(config, ws.Sub("connector"));
    }

    /// <summary>
    /// The image half of <c>Idefics2Model.forward</c>: drop all-zero padding images, derive the patch mask (a patch
    /// counts only if ALL its pixels are real), run vision tower and connector.
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape, Action<string, ReadOnlySpan<float>, int[]>? tap)
    {
        var vc = Config.VisionConfig;
        if (shape.Batch <= 0 || shape.Images <= 0 || shape.Height <= 0 || shape.Width <= 0)
            throw new ArgumentException($"pixel_values shape [{shape.Batch}, {shape.Images}, {shape.Channels}, {shape.Height}, {shape.Width}] has an empty dimension");
        if (shape.Channels != vc.NumChannels)
            throw new ArgumentException($"pixel_values has {shape.Channels} channels, vision_config.num_channels is {vc.NumChannels}");
        if (shape.Height < vc.PatchSize || shape.Width < vc.PatchSize)
            throw new ArgumentException($"pixel_values {shape.Height}x{shape.Width} is smaller than one {vc.PatchSize}x{vc.PatchSize} patch");
        if (pixelValues.Length != shape.ImageSlots * shape.PixelsPerImage)
            throw new ArgumentException($"pixel_values has {pixelValues.Length} values, shape [{shape.Batch}, {shape.Images}, {shape.Channels}, {shape.Height}, {shape.Width}] needs {shape.ImageSlots * shape.PixelsPerImage}");
        if (!pixelAttentionMask.IsEmpty && pixelAttentionMask.Length != shape.ImageSlots * shape.MaskPerImage)
            throw new ArgumentException($"pixel_attention_mask has {pixelAttentionMask.Length} values, [{shape.Batch}, {shape.Images}, {shape.Height}, {shape.Width}] needs {shape.ImageSlots * shape.MaskPerImage}");

        var patches = (long)(shape.Height / vc.PatchSize) * (shape.Width / vc.PatchSize);
        if (patches * patches > Array.MaxLength || patches * Math.Max(vc.IntermediateSize, Config.TextConfig.IntermediateSize) > Array.MaxLength)
            throw new ArgumentException($"pixel_values {shape.Height}x{shape.Width} gives {patches} patches per image, too many to encode");
        var pixelsPerImage = (int)shape.PixelsPerImage;
        // real_images_inds: an image slot is padding iff every value == 0.0 (so -0.0 counts as zero, NaN as real)
        var real = new List<int>();
        for (var slot = 0; slot < shape.ImageSlots; slot++)
        {
            var values = pixelValues.Slice(slot * pixelsPerImage, pixelsPerImage);
            foreach (var x in values)
                if (x != 0f) { real.Add(slot); break; }
        }

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
            // patch kept iff all P x P mask pixels are set (unfold + sum == P*P); partial edge patches are dropped
            for (var py = 0; py < hP; py++)
                for (var px = 0; px < wP; px++)
                {
                    var all = true;
                    if (!pixelAttentionMask.IsEmpty)
                    {
                        var baseIndex = slot * (int)shape.MaskPerImage;
                        for (var ky = 0; ky < p && all; ky++)
                            all = !pixelAttentionMask.Slice(baseIndex + (py * p + ky) * shape.Width + px * p, p).Contains(false);
                    }
                    patchMask[py * wP + px] = all;
                }
            if (taps is not null)
                taps.Add("vision.patch_attention_mask", i, Array.ConvertAll(patchMask, b => b ? 1f : 0f), [hP, wP]);
            VisionModel.Forward(pixelValues.Slice(slot * pixelsPerImage, pixelsPerImage), shape.Height, shape.Width, patchMask, lastHidden, taps, i, w);
            Connector.Forward(lastHidden, n, patchMask, features.AsSpan(i * nLat * hidden, nLat * hidden), taps, i, w);
        }
        taps?.Flush();
        return new Idefics2ImageFeatures(features, real.Count, nLat, hidden, [.. real]);
    }

    /// <summary>
    /// <c>inputs_merger</c>: the rows of <c>&lt;image&gt;</c> tokens (row-major over the batch) take the image feature
    /// rows in order. The counts must match exactly.
    /// </summary>
    public void InputsMerger(ReadOnlySpan<long> inputIds, Span<float> inputsEmbeds, Idefics2ImageFeatures images)
    {
        var hidden = Config.TextConfig.HiddenSize;
        if (images.HiddenSize != hidden)
            throw new ArgumentException($"image features have hidden size {images.HiddenSize}, the text model {hidden}");
        var imageTokens = inputIds.Count((long)Config.ImageTokenId);
        var rows = images.Count * images.TokensPerImage;
        if (imageTokens != rows)
            throw new ArgumentException(
                $"the input ids hold {imageTokens} image tokens (id {Config.ImageTokenId}) but the image features have {images.Count} x {images.TokensPerImage} = {rows} rows");
        var next = 0;
        for (var t = 0; t < inputIds.Length; t++)
        {
            if (inputIds[t] != Config.ImageTokenId) continue;
            images.Data.AsSpan(next * hidden, hidden).CopyTo(inputsEmbeds.Slice(t * hidden, hidden));
            next++;
        }
    }
}

/// <summary>
/// Idefics2 for image-text-to-text generation (<c>Idefics2ForConditionalGeneration</c> of transformers v4.45.2):
/// encode images once with <see cref="EncodeImages"/>, then run decoder steps over a <see cref="KvCache"/> with
/// <see cref="Step"/>. Weights stay memory-mapped in their stored dtype (F32 / F16 / BF16).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py (class Idefics2ForConditionalGeneration)
/// </summary>
public sealed class Idefics2ForConditionalGeneration : IDisposable
{
    private readonly Idefics2Model _model;
    private readonly Linear _lmHead;
    private readonly SafetensorsCheckpoint? _ownedCheckpoint;

    private Idefics2ForConditionalGeneration(Idefics2Config config, WeightSource ws, SafetensorsCheckpoint? owned)
    {
        Config = config;
        _ownedCheckpoint = owned;
        _model = new Idefics2Model(config, ws.Sub("model"));
        var t = config.TextConfig;
        if (config.TieWordEmbeddings)
        {
            _lmHead = new DenseLinear(_model.TextModel.EmbedTokens, null, "model.text_model.embed_tokens");
            ws.Ignore("lm_head.weight"); // a tied copy, if the checkpoint carries one
        }
        else
        {
            _lmHead = Linear.Load(ws.Sub("lm_head"), t.HiddenSize, t.VocabSize, bias: false);
        }
    }

    /// <summary>
    /// Loads a checkpoint folder: config.json + model.safetensors or the sharded model.safetensors.index.json.
    /// Throws <see cref="InvalidDataException"/> naming the file and tensors when the checkpoint does not fit the
    /// config (missing, unused or wrongly shaped tensors).
    /// </summary>
    public static Idefics2ForConditionalGeneration Load(string folder)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"Idefics2: no config.json in {folder}", configPath);
        var config = Idefics2Config.Load(configPath);
        var checkpoint = SafetensorsCheckpoint.Open(folder);
        try
        {
            return Load(config, checkpoint, folder, ownsCheckpoint: true);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds the model over an open checkpoint (HF names: model.vision_model..., model.connector..., model.text_model...,
    /// lm_head.weight). With <paramref name="ownsCheckpoint"/>, <see cref="Dispose"/> closes it.
    /// </summary>
    public static Idefics2ForConditionalGeneration Load(Idefics2Config config, SafetensorsCheckpoint checkpoint, string description, bool ownsCheckpoint)
    {
        config.Validate(description);
        var ws = new WeightSource(checkpoint, description);
        var model = new Idefics2ForConditionalGeneration(config, ws, ownsCheckpoint ? checkpoint : null);
        ws.EnsureAllUsed();
        return model;
    }

    /// <summary>The parsed config.json.</summary>
    public Idefics2Config Config { get; }

    /// <summary>
    /// Optional receiver of named intermediates: (name, data fp32 row-major, shape). Names are those of the golden
    /// forward.safetensors (vision.patch_embedding_conv_out, vision.embeddings_out, vision.encoder.layer{i}.out,
    /// connector.perceiver.layer{i}.out, text.token_embeddings, merged_inputs_embeds, text.hidden_states.{i}, logits, ...);
    /// masks and position ids come as 0/1 and integer-valued floats. The span is only valid during the call.
    /// null = none (no extra work).
    /// </summary>
    public Action<string, ReadOnlySpan<float>, int[]>? Tap { get; set; }

    /// <summary>Vocabulary size of the logits.</summary>
    public int VocabSize => Config.TextConfig.VocabSize;

    /// <summary>
    /// Runs the vision tower and connector on pixel_values [B, N, C, H, W] with pixel_attention_mask [B, N, H, W]
    /// (empty = every pixel real). All-zero images (the processor's padding slots) are dropped, as the reference does.
    /// Returns the image tokens [numRealImages, n_latents, text hidden].
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape) =>
        _model.EncodeImages(pixelValues, pixelAttentionMask, shape, Tap);

    /// <summary>
    /// <see cref="EncodeImages(ReadOnlySpan{float}, ReadOnlySpan{bool}, Idefics2PixelShape)"/> with the mask as bytes
    /// (nonzero = real pixel), the layout image processors return (transformers' int64 0/1 mask).
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<byte> pixelAttentionMask, Idefics2PixelShape shape)
    {
        var mask = new bool[pixelAttentionMask.Length];
        for (var i = 0; i < mask.Length; i++) mask[i] = pixelAttentionMask[i] != 0;
        return _model.EncodeImages(pixelValues, mask, shape, Tap);
    }

    /// <summary>A fresh KV cache for <paramref name="batch"/> rows of up to <paramref name="maxLength"/> tokens.</summary>
    public KvCache CreateKvCache(int batch, int maxLength)
    {
        var t = Config.TextConfig;
        return new KvCache(t.NumHiddenLayers, batch, t.NumKeyValueHeads, t.HeadDim, maxLength);
    }

    /// <summary>
    /// One decoder step over <c>n = inputIds.Length / cache.Batch</c> new tokens per row.
    /// </summary>
    /// <param name="cache">Holds the keys/values of the tokens seen so far; advanced by n.</param>
    /// <param name="inputIds">[batch, n] new token ids.</param>
    /// <param name="positionIds">[batch, n] rotary positions (see <see cref="PositionIdsFromAttentionMask"/>).</param>
    /// <param name="attentionMask">[batch, cache.Length + n]: 1 = real token, 0 = padding, over ALL tokens so far.</param>
    /// <param name="images">Features whose rows replace the image tokens among the new tokens, in order; null = no merge.</param>
    /// <param name="allLogits">true: logits of every new position [batch, n, vocab]; false: the last one [batch, vocab].</param>
    public float[] Step(KvCache cache, ReadOnlySpan<long> inputIds, ReadOnlySpan<long> positionIds, ReadOnlySpan<long> attentionMask,
        Idefics2ImageFeatures? images = null, bool allLogits = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var t = Config.TextConfig;
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
        Ops.Embedding(_model.TextModel.EmbedTokens, inputIds, hidden);
        Tap?.Invoke("text.token_embeddings", hidden, [batch, n, h]);
        if (images is not null)
        {
            _model.InputsMerger(inputIds, hidden, images);
            Tap?.Invoke("merged_inputs_embeds", hidden, [batch, n, h]);
        }
        _model.TextModel.Forward(hidden, batch, n, positionIds, attentionMask, cache, Tap, new Workspace());

        var v = t.VocabSize;
        if (allLogits)
        {
            var logits = new float[rows * v];
            _lmHead.Forward(hidden, rows, logits);
            Tap?.Invoke("logits", logits, [batch, n, v]);
            return logits;
        }
        var last = new float[batch * h];
        for (var b = 0; b < batch; b++) hidden.AsSpan(((b + 1) * n - 1) * h, h).CopyTo(last.AsSpan(b * h));
        var lastLogits = new float[batch * v];
        _lmHead.Forward(last, batch, lastLogits);
        Tap?.Invoke("logits", lastLogits, [batch, 1, v]);
        return lastLogits;
    }

    /// <summary>
    /// One full forward without a persistent cache (as <c>model(**inputs, use_cache=False)</c>): logits of every
    /// position [batch, L, vocab] for input ids [batch, L]. Position ids default to <see cref="PositionIdsFromAttentionMask"/>.
    /// </summary>
    public float[] Forward(ReadOnlySpan<long> inputIds, int batch, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> positionIds = default,
        Idefics2ImageFeatures? images = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputIds.Length == 0 || inputIds.Length % batch != 0)
            throw new ArgumentException($"input ids: {inputIds.Length} ids is not [{batch}, L] with L > 0");
        var length = inputIds.Length / batch;
        var positions = positionIds.IsEmpty ? PositionIdsFromAttentionMask(attentionMask, batch) : positionIds.ToArray();
        var cache = CreateKvCache(batch, length);
        return Step(cache, inputIds, positions, attentionMask, images, allLogits: true);
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

    /// <summary>Closes the checkpoint when this model owns it.</summary>
    public void Dispose() => _ownedCheckpoint?.Dispose();
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
