using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Nn;

using PixelShape = SeeSharp.Models.Idefics2.Idefics2PixelShape;

namespace SeeSharp.Models.Shared;

// The SigLIP vision tower with NaViT-style bucketed position ids that Idefics2 introduced and Idefics3 (SmolVLM) copies,
// ported class by class (STYLE.md 1). One piece of code serves both models; they differ only in which patches the
// pixel mask keeps (NaViTVariant): Idefics2 keeps a patch when ALL its pixels are real, Idefics3 when ANY is.
// The position ids are the same in both: v4.46's Idefics3VisionEmbeddings is "Copied from Idefics2VisionEmbeddings"
// (fractional coordinates torch.arange(0, 1 - 1e-6, 1 / nb)); the later index-based formula
// (arange(nb) / nb * (1 - 1e-6)) arrived in both models after v4.46 and is not what the golden data use.
//   https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/idefics2/modeling_idefics2.py
//   https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py
// (Idefics3VisionEmbeddings / Idefics3VisionAttention / ... / Idefics3VisionTransformer are the same classes.)

/// <summary>Which model's patch-mask rule and position-id formula the shared vision tower follows.</summary>
internal enum NaViTVariant
{
    /// <summary>transformers v4.45.2 Idefics2: keep a patch iff all its pixels are real.</summary>
    Idefics2,
    /// <summary>transformers v4.46 Idefics3: keep a patch iff any of its pixels is real.</summary>
    Idefics3,
}

/// <summary>The vision_config fields the shared tower reads (Idefics2VisionConfig and Idefics3VisionConfig).</summary>
internal interface INaViTVisionConfig
{
    int HiddenSize { get; }
    int IntermediateSize { get; }
    int NumHiddenLayers { get; }
    int NumAttentionHeads { get; }
    int NumChannels { get; }
    int PatchSize { get; }
    double LayerNormEps { get; }
    int NumPatchesPerSide { get; }
    int HeadDim { get; }
}

/// <summary>
/// <c>Idefics2VisionEmbeddings</c> / <c>Idefics3VisionEmbeddings</c>: patch embedding (Conv2d k=s=patch, valid) as a
/// matmul over unfolded patches, plus NaViT-style bucketed position embeddings for images of any aspect ratio.
/// </summary>
internal sealed class NaViTVisionEmbeddings
{
    private readonly INaViTVisionConfig _config;
    private readonly Linear _patchEmbedding;          // weight [embed, C*P*P] (the conv kernel flattened), bias [embed]
    private readonly WeightMatrix _positionEmbedding; // [num_patches_per_side², embed]
    private readonly float[] _boundaries;

    public NaViTVisionEmbeddings(INaViTVisionConfig config, WeightSource ws)
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
                $"vision embeddings: the patch attention mask keeps {kept} patches, not the {nbH} x {nbW} rectangle its first row/column imply");
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
/// </summary>
internal sealed class NaViTVisionAttention
{
    private readonly Linear _q, _k, _v, _out;
    private readonly int _heads, _headDim, _embed;
    private readonly float _scale;

    public NaViTVisionAttention(INaViTVisionConfig config, WeightSource ws)
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

/// <summary><c>Idefics2VisionMLP</c>: fc2(gelu_pytorch_tanh(fc1(x))).</summary>
internal sealed class NaViTVisionMLP
{
    private readonly Linear _fc1, _fc2;

    public NaViTVisionMLP(INaViTVisionConfig config, WeightSource ws)
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

/// <summary><c>Idefics2EncoderLayer</c>: pre-LN transformer block, x + attn(ln1(x)), then x + mlp(ln2(x)).</summary>
internal sealed class NaViTEncoderLayer
{
    private readonly NaViTVisionAttention _selfAttn;
    private readonly LayerNorm _layerNorm1, _layerNorm2;
    private readonly NaViTVisionMLP _mlp;
    private readonly int _embed;

    public NaViTEncoderLayer(INaViTVisionConfig config, WeightSource ws)
    {
        _embed = config.HiddenSize;
        _selfAttn = new NaViTVisionAttention(config, ws.Sub("self_attn"));
        _layerNorm1 = LayerNorm.Load(ws.Sub("layer_norm1"), _embed, config.LayerNormEps);
        _mlp = new NaViTVisionMLP(config, ws.Sub("mlp"));
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

/// <summary><c>Idefics2Encoder</c>: the stack of <see cref="NaViTEncoderLayer"/>.</summary>
internal sealed class NaViTEncoder
{
    public readonly NaViTEncoderLayer[] Layers;

    public NaViTEncoder(INaViTVisionConfig config, WeightSource ws)
    {
        Layers = new NaViTEncoderLayer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++) Layers[i] = new NaViTEncoderLayer(config, ws.Sub("layers", i));
    }
}

/// <summary>
/// <c>Idefics2VisionTransformer</c> / <c>Idefics3VisionTransformer</c>: embeddings -> encoder (with the patch padding
/// mask) -> post_layernorm. Also holds the image-level steps both models' <c>forward</c> share: dropping all-zero
/// padding images and deriving the patch mask from the pixel mask.
/// </summary>
internal sealed class NaViTVisionTransformer
{
    private readonly INaViTVisionConfig _config;
    private readonly NaViTVisionEmbeddings _embeddings;
    private readonly NaViTEncoder _encoder;
    private readonly LayerNorm _postLayernorm;

    public NaViTVisionTransformer(INaViTVisionConfig config, NaViTVariant variant, WeightSource ws)
    {
        _config = config;
        Variant = variant;
        _embeddings = new NaViTVisionEmbeddings(config, ws.Sub("embeddings"));
        _encoder = new NaViTEncoder(config, ws.Sub("encoder"));
        _postLayernorm = LayerNorm.Load(ws.Sub("post_layernorm"), config.HiddenSize, config.LayerNormEps);
    }

    public NaViTVariant Variant { get; }

    /// <summary>
    /// Checks a pixel batch against the config and returns the real image slots (b * Images + n) in batch order:
    /// <c>real_images_inds</c>, a slot is padding iff every value == 0.0 (so -0.0 counts as zero, NaN as real).
    /// <paramref name="widestRow"/> is the widest per-token row the caller's connector needs (bounds the work).
    /// </summary>
    public List<int> RealImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, PixelShape shape, long widestRow)
    {
        var vc = _config;
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
        if (patches * patches > Array.MaxLength || patches * Math.Max(vc.IntermediateSize, widestRow) > Array.MaxLength)
            throw new ArgumentException($"pixel_values {shape.Height}x{shape.Width} gives {patches} patches per image, too many to encode");
        var pixelsPerImage = (int)shape.PixelsPerImage;
        var real = new List<int>();
        for (var slot = 0; slot < shape.ImageSlots; slot++)
        {
            var values = pixelValues.Slice(slot * pixelsPerImage, pixelsPerImage);
            foreach (var x in values)
                if (x != 0f) { real.Add(slot); break; }
        }
        return real;
    }

    /// <summary>
    /// patch_attention_mask [hP, wP] of image slot <paramref name="slot"/>: unfold the pixel mask into P x P patches and
    /// keep a patch iff the sum of its mask is P*P (Idefics2) or &gt; 0 (Idefics3). An empty pixel mask keeps all.
    /// </summary>
    public void PatchMask(ReadOnlySpan<bool> pixelAttentionMask, int slot, PixelShape shape, Span<bool> patchMask) =>
        PatchMask(pixelAttentionMask, slot, shape, _config.PatchSize, Variant, patchMask);

    /// <summary>The rule of <see cref="PatchMask(ReadOnlySpan{bool}, int, PixelShape, Span{bool})"/> for a given patch size and variant.</summary>
    internal static void PatchMask(ReadOnlySpan<bool> pixelAttentionMask, int slot, PixelShape shape, int p, NaViTVariant variant, Span<bool> patchMask)
    {
        int hP = shape.Height / p, wP = shape.Width / p;
        var needAll = variant == NaViTVariant.Idefics2;
        for (var py = 0; py < hP; py++)
            for (var px = 0; px < wP; px++)
            {
                var keep = true;
                if (!pixelAttentionMask.IsEmpty)
                {
                    var baseIndex = slot * (int)shape.MaskPerImage;
                    var all = true;
                    var any = false;
                    for (var ky = 0; ky < p; ky++)
                    {
                        var row = pixelAttentionMask.Slice(baseIndex + (py * p + ky) * shape.Width + px * p, p);
                        if (row.Contains(false)) all = false;
                        if (row.Contains(true)) any = true;
                    }
                    keep = needAll ? all : any;
                }
                patchMask[py * wP + px] = keep;
            }
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
