using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;

namespace SeeSharp.Models.Shared;

/// <summary>
/// What Idefics2ForConditionalGeneration and Idefics3ForConditionalGeneration share: image features from the
/// architecture's own vision side (<see cref="EncodeImages(ReadOnlySpan{float}, ReadOnlySpan{bool}, Idefics2PixelShape)"/>),
/// merged at the image tokens of a Llama-family decoder run step by step over a <see cref="KvCache"/>.
/// </summary>
public abstract class ImageTextForConditionalGeneration : IDisposable, IImageTextNetwork
{
    private readonly ImageTextDecoder _decoder;
    private readonly SafetensorsCheckpoint? _ownedCheckpoint;

    private protected ImageTextForConditionalGeneration(ImageTextDecoder decoder, SafetensorsCheckpoint? ownedCheckpoint)
    {
        _decoder = decoder;
        _ownedCheckpoint = ownedCheckpoint;
    }

    /// <summary>
    /// Optional receiver of named intermediates: (name, data fp32 row-major, shape). Names are those of the golden
    /// forward.safetensors (vision.patch_embedding_conv_out, vision.embeddings_out, vision.encoder.layer{i}.out,
    /// text.token_embeddings, merged_inputs_embeds, text.hidden_states.{i}, logits, ...); masks and position ids come as
    /// 0/1 and integer-valued floats. The span is only valid during the call. null = none (no extra work).
    /// </summary>
    public Action<string, ReadOnlySpan<float>, int[]>? Tap { get; set; }

    /// <summary>Vocabulary size of the logits.</summary>
    public abstract int VocabSize { get; }

    /// <summary>Image tokens per encoded image slot.</summary>
    public abstract int TokensPerImage { get; }

    private protected abstract long ImageTokenId { get; }
    private protected abstract int TextHiddenSize { get; }
    long IImageTextNetwork.ImageTokenId => ImageTokenId;
    int IImageTextNetwork.TextHiddenSize => TextHiddenSize;

    /// <summary>
    /// Runs the vision side on pixel_values [B, N, C, H, W] with pixel_attention_mask [B, N, H, W] (empty = every pixel
    /// real). All-zero images (the processor's padding slots) are dropped, as the reference does. Returns the image
    /// tokens [numRealImages, TokensPerImage, text hidden].
    /// </summary>
    public abstract Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape);

    /// <summary>
    /// <see cref="EncodeImages(ReadOnlySpan{float}, ReadOnlySpan{bool}, Idefics2PixelShape)"/> with the mask as bytes
    /// (nonzero = real pixel), the layout image processors return (transformers' int64 0/1 mask).
    /// </summary>
    public Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<byte> pixelAttentionMask, Idefics2PixelShape shape)
    {
        var mask = new bool[pixelAttentionMask.Length];
        for (var i = 0; i < mask.Length; i++) mask[i] = pixelAttentionMask[i] != 0;
        return EncodeImages(pixelValues, mask, shape);
    }

    /// <summary>A fresh KV cache for <paramref name="batch"/> rows of up to <paramref name="maxLength"/> tokens.</summary>
    public KvCache CreateKvCache(int batch, int maxLength) => _decoder.CreateKvCache(batch, maxLength);

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
        Idefics2ImageFeatures? images = null, bool allLogits = false) =>
        _decoder.Step(cache, inputIds, positionIds, attentionMask, images, allLogits, Tap);

    /// <summary>
    /// One full forward without a persistent cache (as <c>model(**inputs, use_cache=False)</c>): logits of every
    /// position [batch, L, vocab] for input ids [batch, L]. Position ids default to <see cref="PositionIdsFromAttentionMask"/>.
    /// </summary>
    public float[] Forward(ReadOnlySpan<long> inputIds, int batch, ReadOnlySpan<long> attentionMask, ReadOnlySpan<long> positionIds = default,
        Idefics2ImageFeatures? images = null) =>
        _decoder.Forward(inputIds, batch, attentionMask, positionIds, images, Tap);

    /// <summary>
    /// Position ids as <c>generate</c> derives them for (left-)padded batches: attention_mask.cumsum(-1) - 1, with
    /// padding positions set to 1. attentionMask [batch, L] -> [batch, L].
    /// </summary>
    public static long[] PositionIdsFromAttentionMask(ReadOnlySpan<long> attentionMask, int batch) =>
        ImageTextDecoder.PositionIdsFromAttentionMask(attentionMask, batch);

    /// <summary>Closes the checkpoint when this model owns it.</summary>
    public void Dispose()
    {
        _ownedCheckpoint?.Dispose();
        GC.SuppressFinalize(this);
    }
}
