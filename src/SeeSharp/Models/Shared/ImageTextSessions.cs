using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SeeSharp.Generation;
using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;
using SeeSharp.Processing;

namespace SeeSharp.Models.Shared;

/// <summary>
/// What <see cref="ImageTextSessions"/> needs of an image-text network whose image features replace image tokens
/// (Idefics2ForConditionalGeneration, Idefics3ForConditionalGeneration).
/// </summary>
internal interface IImageTextNetwork
{
    /// <summary>The image token id of config.json.</summary>
    long ImageTokenId { get; }
    /// <summary>Image tokens per encoded image slot (perceiver latents for Idefics2, image_seq_len for Idefics3).</summary>
    int TokensPerImage { get; }
    /// <summary>Decoder hidden size.</summary>
    int TextHiddenSize { get; }
    /// <summary>Vocabulary size of the logits.</summary>
    int VocabSize { get; }
    Idefics2ImageFeatures EncodeImages(ReadOnlySpan<float> pixelValues, ReadOnlySpan<bool> pixelAttentionMask, Idefics2PixelShape shape);
    KvCache CreateKvCache(int batch, int maxLength);
    float[] Step(KvCache cache, ReadOnlySpan<long> inputIds, ReadOnlySpan<long> positionIds, ReadOnlySpan<long> attentionMask,
        Idefics2ImageFeatures? images = null, bool allLogits = false);
}

/// <summary>
/// The generation side of a <see cref="VisionModel"/> over an <see cref="IImageTextNetwork"/>, shared by the Idefics2 and
/// Idefics3 adapters: encodes the images once per generation (or reuses a conversation's), merges them at the image
/// token positions, prefills the KV cache, then decodes one token per row per step with the position ids
/// <c>generate</c> uses for left padding.
/// </summary>
internal sealed class ImageTextSessions(IImageTextNetwork model, int maxPositions)
{
    public IDecoderSession CreateSession(ModelInputs inputs, GenerationSettings settings, Conversation? conversation,
        out double imageEncodeSeconds, out int prefillTokens)
    {
        int batch = inputs.BatchSize, length = inputs.SequenceLength;
        long imageToken = model.ImageTokenId;
        int tokensPerImage = model.TokensPerImage;

        var clock = Stopwatch.StartNew();
        var (realSlots, keys) = RealImages(inputs.Pixels, withKeys: conversation is not null);
        if (conversation is not null)
        {
            conversation.PendingImageKeys.Clear();
            conversation.PendingImageKeys.AddRange(keys!);
        }

        // Conversation reuse: keep the longest cached prefix that leaves >= 1 new token, ends on an image boundary,
        // and whose images are the same images (image tokens are equal ids whatever the picture).
        int reuse = 0;
        Session? previous = conversation?.Session as Session;
        if (conversation is not null && previous is not null && batch == 1)
        {
            var ids = inputs.Row(0);
            var cached = CollectionsMarshal.AsSpan(conversation.CachedTokens);
            int max = Math.Min(cached.Length, length - 1);
            while (reuse < max && cached[reuse] == ids[reuse]) reuse++;
            while (reuse > 0 && ids[..reuse].Count(imageToken) % tokensPerImage != 0) reuse--;
            int same = 0, inPrefix = ids[..reuse].Count(imageToken) / tokensPerImage;
            while (same < inPrefix && same < conversation.CachedImageKeys.Count && conversation.CachedImageKeys[same] == keys![same]) same++;
            if (same < inPrefix) reuse = ids.IndexOfNth(imageToken, same * tokensPerImage);
        }
        int imagesInPrefix = reuse == 0 ? 0 : inputs.Row(0)[..reuse].Count(imageToken) / tokensPerImage;

        var features = EncodeImages(inputs.Pixels, realSlots, keys, imagesInPrefix, conversation);
        imageEncodeSeconds = clock.Elapsed.TotalSeconds;

        Session session;
        if (reuse > 0)
        {
            session = previous!;
            session.Cache.Crop(reuse);
            if (conversation!.ImageFeatures.Count > 256) conversation.ImageFeatures.Clear(); // bound the kept features
        }
        else
        {
            if (previous is not null) conversation!.Invalidate();
            session = new Session(model, model.CreateKvCache(batch, maxPositions));
        }
        session.Begin(inputs, reuse, features);
        prefillTokens = (length - reuse) * batch;
        return session;
    }

    /// <summary>
    /// Image features of the real images after the first <paramref name="skip"/> (those already in the cache).
    /// A conversation keeps features by the content of each image slot, so an image is encoded once per conversation.
    /// </summary>
    private Idefics2ImageFeatures? EncodeImages(PixelBatch? pixels, List<int> real, List<string>? allKeys, int skip, Conversation? conversation)
    {
        if (pixels is null) return null;
        int slotSize = 3 * pixels.Height * pixels.Width, maskSize = pixels.Height * pixels.Width;
        var wanted = real.Skip(skip).ToList();
        if (wanted.Count == 0) return null;
        var keys = allKeys?.Skip(skip).ToList();
        var missing = new List<int>();
        for (int i = 0; i < wanted.Count; i++)
            if (keys is null || !conversation!.ImageFeatures.ContainsKey(keys[i])) missing.Add(i);

        int latents = model.TokensPerImage, hidden = model.TextHiddenSize;
        var data = new float[wanted.Count * latents * hidden];
        if (missing.Count > 0)
        {
            // One pixel batch [1, missing, 3, H, W] of just the images to encode.
            var pv = new float[missing.Count * slotSize];
            var mask = new bool[missing.Count * maskSize];
            for (int i = 0; i < missing.Count; i++)
            {
                int slot = wanted[missing[i]];
                pixels.PixelValues.AsSpan(slot * slotSize, slotSize).CopyTo(pv.AsSpan(i * slotSize));
                var m = pixels.PixelAttentionMask.AsSpan(slot * maskSize, maskSize);
                for (int j = 0; j < maskSize; j++) mask[i * maskSize + j] = m[j] != 0;
            }
            var encoded = model.EncodeImages(pv, mask, new Idefics2PixelShape(1, missing.Count, 3, pixels.Height, pixels.Width));
            if (encoded.Count != missing.Count)
                throw new InvalidOperationException($"encoded {encoded.Count} images, expected {missing.Count}");
            for (int i = 0; i < missing.Count; i++)
            {
                var one = encoded.Data.AsSpan(i * latents * hidden, latents * hidden);
                one.CopyTo(data.AsSpan(missing[i] * latents * hidden));
                if (keys is not null) conversation!.ImageFeatures[keys[missing[i]]] = one.ToArray();
            }
        }
        if (keys is not null)
            for (int i = 0; i < wanted.Count; i++)
                if (!missing.Contains(i)) conversation!.ImageFeatures[keys[i]].CopyTo(data.AsSpan(i * latents * hidden));
        return new Idefics2ImageFeatures(data, wanted.Count, latents, hidden, wanted.ToArray());
    }

    /// <summary>The real image slots (all-zero padding slots are dropped, as the model does), and their content keys.</summary>
    private static (List<int> Slots, List<string>? Keys) RealImages(PixelBatch? pixels, bool withKeys)
    {
        var real = new List<int>();
        if (pixels is null) return (real, withKeys ? [] : null);
        int slotSize = 3 * pixels.Height * pixels.Width, maskSize = pixels.Height * pixels.Width;
        for (int b = 0; b < pixels.Batch; b++)
            for (int n = 0; n < pixels.ImagesPerSample; n++)
            {
                int slot = b * pixels.ImagesPerSample + n;
                if (pixels.PixelValues.AsSpan(slot * slotSize, slotSize).ContainsAnyExcept(0f)) real.Add(slot);
            }
        return (real, withKeys ? real.Select(s => SlotKey(pixels, s, slotSize, maskSize)).ToList() : null);
    }

    private static string SlotKey(PixelBatch pixels, int slot, int slotSize, int maskSize)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(BitConverter.GetBytes(pixels.Height));
        sha.AppendData(BitConverter.GetBytes(pixels.Width));
        sha.AppendData(MemoryMarshal.AsBytes(pixels.PixelValues.AsSpan(slot * slotSize, slotSize)));
        sha.AppendData(pixels.PixelAttentionMask.AsSpan(slot * maskSize, maskSize));
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>The decoder state of one generation (kept by a conversation for the next turn).</summary>
    private sealed class Session(IImageTextNetwork model, KvCache cache) : IDecoderSession
    {
        private long[] _pendingIds = [];
        private long[] _pendingPositions = [];
        private Idefics2ImageFeatures? _pendingImages;
        private readonly List<long>[] _mask = Enumerable.Range(0, cache.Batch).Select(_ => new List<long>()).ToArray();
        private readonly long[] _nextPosition = new long[cache.Batch];

        public KvCache Cache { get; } = cache;
        public int BatchSize => Cache.Batch;
        public int VocabSize => model.VocabSize;

        /// <summary>Sets up the prompt tokens after the first <paramref name="reuse"/> (already in the cache).</summary>
        public void Begin(ModelInputs inputs, int reuse, Idefics2ImageFeatures? images)
        {
            int batch = inputs.BatchSize, length = inputs.SequenceLength, n = length - reuse;
            var positions = ImageTextDecoder.PositionIdsFromAttentionMask(inputs.AttentionMask, batch);
            _pendingIds = new long[batch * n];
            _pendingPositions = new long[batch * n];
            for (int b = 0; b < batch; b++)
            {
                inputs.Row(b)[reuse..].CopyTo(_pendingIds.AsSpan(b * n, n));
                positions.AsSpan(b * length + reuse, n).CopyTo(_pendingPositions.AsSpan(b * n, n));
                _mask[b].Clear();
                _mask[b].AddRange(inputs.AttentionMask.AsSpan(b * length, length).ToArray());
                _nextPosition[b] = _mask[b].Sum();
            }
            _pendingImages = images;
        }

        public void Prefill(Span<float> logits) => Run(logits);

        public void Step(ReadOnlySpan<long> tokens, Span<float> logits)
        {
            _pendingIds = tokens.ToArray();
            _pendingPositions = new long[BatchSize];
            for (int b = 0; b < BatchSize; b++)
            {
                _pendingPositions[b] = _nextPosition[b]++;
                _mask[b].Add(1);
            }
            _pendingImages = null;
            Run(logits);
        }

        private void Run(Span<float> logits)
        {
            var mask = _mask.SelectMany(m => m).ToArray();
            var result = model.Step(Cache, _pendingIds, _pendingPositions, mask, _pendingImages);
            result.AsSpan(0, logits.Length).CopyTo(logits);
        }

        public void Dispose() => Cache.Clear();
    }
}

internal static class SpanSearch
{
    /// <summary>Index of the <paramref name="n"/>-th (0-based) occurrence of <paramref name="value"/>, or the length when absent.</summary>
    public static int IndexOfNth(this ReadOnlySpan<long> span, long value, int n)
    {
        for (int i = 0; i < span.Length; i++)
            if (span[i] == value && n-- == 0) return i;
        return span.Length;
    }
}
