using SeeSharp.Generation;

namespace SeeSharp;

/// <summary>
/// A multi-turn conversation with one model: each generation reuses the KV cache of the longest token prefix it
/// shares with what the cache already holds, and the features of images already encoded, so a follow-up question
/// costs only its new tokens. The answers are the same as generating the whole conversation afresh.
/// Batch size 1; one generation at a time.
/// </summary>
public sealed class Conversation : IDisposable
{
    private readonly VisionModel _model;

    internal Conversation(VisionModel model) => _model = model;

    /// <summary>Architecture-specific state: the decoder session whose KV cache holds <see cref="CachedTokens"/>.</summary>
    internal IDecoderSession? Session { get; private set; }

    /// <summary>The tokens whose keys and values are in <see cref="Session"/>'s cache, in order.</summary>
    internal List<long> CachedTokens { get; } = [];

    /// <summary>Content keys of the images whose tokens are in the cache, in prompt order.</summary>
    internal List<string> CachedImageKeys { get; } = [];

    /// <summary>Encoded image features by content key, kept across turns.</summary>
    internal Dictionary<string, float[]> ImageFeatures { get; } = [];

    /// <summary>Generates the answer to the conversation in <paramref name="inputs"/>, reusing what it can.</summary>
    public Task<GenerationResult> GenerateAsync(ModelInputs inputs, GenerationOptions? options = null, CancellationToken ct = default)
        => CollectAsync(GenerateStreamingAsync(inputs, options, ct));

    /// <summary>Streams the answer to the conversation in <paramref name="inputs"/>, reusing what it can.</summary>
    public IAsyncEnumerable<GenerationChunk> GenerateStreamingAsync(ModelInputs inputs, GenerationOptions? options = null, CancellationToken ct = default)
    {
        if (inputs.BatchSize != 1) throw new ArgumentException($"a conversation generates one row at a time, not {inputs.BatchSize}");
        return _model.StreamAsync(inputs, options, this, ct);
    }

    /// <summary>Forgets the cache and the image features.</summary>
    public void Reset()
    {
        Session?.Dispose();
        Session = null;
        CachedTokens.Clear();
        CachedImageKeys.Clear();
        ImageFeatures.Clear();
    }

    /// <summary>Keeps <paramref name="session"/> (and disposes the previous one) with the tokens its cache holds.</summary>
    internal void Adopt(IDecoderSession session, IEnumerable<long> cachedTokens)
    {
        if (!ReferenceEquals(Session, session)) Session?.Dispose();
        Session = session;
        CachedTokens.Clear();
        CachedTokens.AddRange(cachedTokens);
        CachedImageKeys.Clear();
        CachedImageKeys.AddRange(PendingImageKeys);
    }

    /// <summary>Set by the architecture when it prepares a generation: the keys of that prompt's images.</summary>
    internal List<string> PendingImageKeys { get; } = [];

    /// <summary>Drops the cache after a failed or cancelled generation (its content is unknown).</summary>
    internal void Invalidate()
    {
        Session?.Dispose();
        Session = null;
        CachedTokens.Clear();
        CachedImageKeys.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => Reset();

    private static async Task<GenerationResult> CollectAsync(IAsyncEnumerable<GenerationChunk> chunks)
    {
        GenerationResult? result = null;
        await foreach (var c in chunks.ConfigureAwait(false)) result ??= c.Result;
        return result ?? throw new InvalidOperationException("generation ended without a result");
    }
}
