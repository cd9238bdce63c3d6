using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Models.Shared;
using SeeSharp.Nn;

namespace SeeSharp.Models.Idefics3;

// Idefics3 / SmolVLM (vision tower + pixel-shuffle connector + Llama decoder), ported from transformers v4.46 (STYLE.md 1):
//   https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py
// The vision tower is the shared NaViT/SigLIP one (Models/Shared/NaViTVisionTransformer.cs) in its Idefics3 variant
// (a patch is kept if ANY of its pixels is real; position ids as Idefics2's, which v4.46 copies); the text model,
// inputs_merger and lm_head are the shared Llama-family decoder (Models/Shared/LlamaDecoder.cs). This file holds what
// only Idefics3 has: Idefics3SimpleMLP, Idefics3Connector (pixel shuffle), Idefics3Model and the generation class.
// Image features use the same types as Idefics2 (Idefics2ImageFeatures, Idefics2PixelShape): their meaning is
// model-independent ([images, tokens per image, text hidden] and [B, N, C, H, W]).
// Left out on purpose: the flash-attention / SDPA variants (eager is the numeric reference), training-only code.

/// <summary>
/// <c>Idefics3SimpleMLP</c>: proj = Linear(vision hidden · scale_factor², text hidden, bias=False).
/// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py (class Idefics3SimpleMLP)
/// </summary>
internal sealed class Idefics3SimpleMLP
{
    private readonly Linear _proj;

    public Idefics3SimpleMLP(Idefics3Config config, WeightSource ws)
    {
        var input = config.VisionConfig.HiddenSize * config.ScaleFactor * config.ScaleFactor;
        _proj = Linear.Load(ws.Sub("proj"), input, config.TextConfig.HiddenSize, bias: false);
    }

    /// <summary>x [n, vision hidden · s²] -> y [n, text hidden].</summary>
    public void Forward(ReadOnlySpan<float> x, int n, Span<float> y) => _proj.Forward(x, n, y);
}

/// <summary>
/// <c>Idefics3Connector</c>: pixel_shuffle (space-to-depth by scale_factor) then the modality projection.
/// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py (class Idefics3Connector)
/// </summary>
internal sealed class Idefics3Connector
{
    private readonly int _scale, _visionHidden, _textHidden;
    private readonly Idefics3SimpleMLP _modalityProjection;

    public Idefics3Connector(Idefics3Config config, WeightSource ws)
    {
        _scale = config.ScaleFactor;
        _visionHidden = config.VisionConfig.HiddenSize;
        _textHidden = config.TextConfig.HiddenSize;
        _modalityProjection = new Idefics3SimpleMLP(config, ws.Sub("modality_projection"));
    }

    /// <summary>Image tokens the connector makes of <paramref name="seq"/> vision states.</summary>
    public int TokensFor(int seq) => seq / (_scale * _scale);

    /// <summary>
    /// <c>pixel_shuffle</c> of one image: x [seq, E] with seq = side², side = sqrt(seq) -> y [seq / s², E · s²], where
    /// output token (i', j') (row-major over side/s x side/s) is the concatenation over k, m in [0, s) (k outer) of
    /// x[(i'·s + k) · side + j'·s + m] — the result of the reference's view / permute / reshape sequence.
    /// </summary>
    internal static void PixelShuffle(ReadOnlySpan<float> x, int seq, int embed, int scale, Span<float> y)
    {
        var side = (int)Math.Sqrt(seq);
        while ((long)side * side > seq) side--;
        while ((long)(side + 1) * (side + 1) <= seq) side++;
        if (side * side != seq || side % scale != 0)
            throw new ArgumentException($"pixel_shuffle: {seq} patches is not a square grid divisible by scale_factor {scale}");
        var outSide = side / scale;
        var outEmbed = embed * scale * scale;
        for (var i2 = 0; i2 < outSide; i2++)
            for (var j2 = 0; j2 < outSide; j2++)
            {
                var dst = y.Slice((i2 * outSide + j2) * outEmbed, outEmbed);
                var offset = 0;
                for (var k = 0; k < scale; k++)
                    for (var m = 0; m < scale; m++)
                    {
                        x.Slice(((i2 * scale + k) * side + j2 * scale + m) * embed, embed).CopyTo(dst.Slice(offset, embed));
                        offset += embed;
                    }
            }
    }

    /// <summary>One image: vision states [seq, vision hidden] -> image tokens [seq / s², text hidden].</summary>
    public void Forward(ReadOnlySpan<float> imageHiddenStates, int seq, Span<float> y, TapCollector? taps, int image)
    {
        var tokens = TokensFor(seq);
        var shuffled = new float[tokens * _visionHidden * _scale * _scale];
        PixelShuffle(imageHiddenStates, seq, _visionHidden, _scale, shuffled);
        taps?.Add("connector.pixel_shuffle_out", image, shuffled, [tokens, _visionHidden * _scale * _scale]);
        _modalityProjection.Forward(shuffled, tokens, y);
        taps?.Add("connector.output_image_hidden_states", image, y[..(tokens * _textHidden)], [tokens, _textHidden]);
    }
}

/// <summary>
/// <c>Idefics3Model</c> (image half): vision_model + connector. The text half (embeddings, inputs_merger, text_model)
/// is the shared <see cref="ImageTextDecoder"/>.
/// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py (class Idefics3Model)
/// </summary>
internal sealed class Idefics3Model
{
    public readonly Idefics3Config Config;
    public readonly NaViTVisionTransformer VisionModel;
    public readonly Idefics3Connector Connector;

    public Idefics3Model(Idefics3Config config, WeightSource ws)
    {
        Config = config;
        VisionModel = new NaViTVisionTransformer(config.VisionConfig, NaViTVariant.Idefics3, ws.Sub("vision_model"));
        Connector = new Idefics3Connector(config, ws.Sub("connector"));
    }

    /// <summary>
    /// The image half of <c>Idefics3Model.forward</c>: drop all-zero padding images, derive the patch mask (a patch
    /// counts if ANY of its pixels is real), run the vision tower and the connector.
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape,
        Action<string, ReadOnlySpan<float>, int[]>? tap)
    {
        var vc = Config.VisionConfig;
        var s = Config.ScaleFactor;
        var real = VisionModel.RealImages(pixelValues, pixelAttentionMask, shape, (long)vc.HiddenSize * s * s);
        var pixelsPerImage = (int)shape.PixelsPerImage;
        int p = vc.PatchSize, hP = shape.Height / p, wP = shape.Width / p, n = hP * wP;
        if (hP != wP || hP % s != 0)
            throw new ArgumentException(
                $"pixel_values {shape.Height}x{shape.Width} gives a {hP} x {wP} patch grid; Idefics3's pixel shuffle needs a square grid divisible by scale_factor {s}");
        int tokens = Connector.TokensFor(n), hidden = Config.TextConfig.HiddenSize;
        var features = new float[real.Count * tokens * hidden];
        var taps = tap is null ? null : new TapCollector(tap, real.Count);
        var patchMask = new bool[n];
        var lastHidden = new float[n * vc.HiddenSize];
        var w = new Workspace();
        for (var i = 0; i < real.Count; i++)
        {
            var slot = real[i];
            VisionModel.PatchMask(pixelAttentionMask, slot, shape, patchMask); // any real pixel keeps the patch
            taps?.Add("vision.patch_attention_mask", i, Array.ConvertAll(patchMask, b => b ? 1f : 0f), [hP, wP]);
            VisionModel.Forward(pixelValues.Slice(slot * pixelsPerImage, pixelsPerImage), shape.Height, shape.Width, patchMask, lastHidden, taps, i, w);
            Connector.Forward(lastHidden, n, features.AsSpan(i * tokens * hidden, tokens * hidden), taps, i);
        }
        taps?.Flush();
        return new Idefics2ImageFeatures(features, real.Count, tokens, hidden, [.. real]);
    }
}

/// <summary>
/// Idefics3 / SmolVLM for image-text-to-text generation (<c>Idefics3ForConditionalGeneration</c> of transformers v4.46):
/// encode images once with <see cref="EncodeImages(ReadOnlySpan{float}, ReadOnlySpan{bool}, Idefics2PixelShape)"/>, then
/// run decoder steps over a <see cref="KvCache"/> with <see cref="Step"/>. Weights stay memory-mapped in their stored
/// dtype (F32 / F16 / BF16).
/// https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/idefics3/modeling_idefics3.py (class Idefics3ForConditionalGeneration)
/// </summary>
public sealed class Idefics3ForConditionalGeneration : ImageTextForConditionalGeneration
{
    private readonly Idefics3Model _model;

    private Idefics3ForConditionalGeneration(Idefics3Config config, WeightSource ws, SafetensorsCheckpoint? owned)
        : base(new ImageTextDecoder(config.TextConfig.ToDecoderSettings(), ws.Sub("model").Sub("text_model"), ws, config.TieWordEmbeddings, config.ImageTokenId), owned)
    {
        // tie_weights(): lm_head shares embed_tokens when the top-level tie_word_embeddings is set
        Config = config;
        _model = new Idefics3Model(config, ws.Sub("model"));
    }

    /// <summary>
    /// Loads a checkpoint folder: config.json + model.safetensors or the sharded model.safetensors.index.json.
    /// Throws <see cref="InvalidDataException"/> naming the file and tensors when the checkpoint does not fit the
    /// config (missing, unused or wrongly shaped tensors).
    /// </summary>
    public static Idefics3ForConditionalGeneration Load(string folder, QuantizationPolicy? quantization = null) =>
        CheckpointLoading.FromFolder(folder, "Idefics3", Idefics3Config.Load,
            (config, checkpoint) => Load(config, checkpoint, folder, ownsCheckpoint: true, quantization));

    /// <summary>
    /// Builds the model over an open checkpoint (HF names: model.vision_model..., model.connector.modality_projection.proj.weight,
    /// model.text_model..., lm_head.weight). With <paramref name="ownsCheckpoint"/>, <see cref="Dispose"/> closes it.
    /// </summary>
    public static Idefics3ForConditionalGeneration Load(Idefics3Config config, SafetensorsCheckpoint checkpoint, string description, bool ownsCheckpoint,
        QuantizationPolicy? quantization = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(description);
        return CheckpointLoading.Build(checkpoint, description, quantization, ws => new Idefics3ForConditionalGeneration(config, ws, ownsCheckpoint ? checkpoint : null));
    }

    /// <summary>The parsed config.json.</summary>
    public Idefics3Config Config { get; }

    /// <inheritdoc />
    public override int VocabSize => Config.TextConfig.VocabSize;

    /// <inheritdoc />
    public override int TokensPerImage => Config.ImageSeqLen;

    private protected override long ImageTokenId => Config.ImageTokenId;
    private protected override int TextHiddenSize => Config.TextConfig.HiddenSize;

    /// <inheritdoc />
    public override Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape) =>
        _model.EncodeImages(pixelValues, pixelAttentionMask, shape, Tap);
}
