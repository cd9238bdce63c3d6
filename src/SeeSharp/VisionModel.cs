using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using SeeSharp.Generation;
using SeeSharp.Hub;
using SeeSharp.Tokenizers;

namespace SeeSharp;

/// <summary>
/// An image-text-to-text model (transformers' <c>AutoModelForImageTextToText</c> role): loads a checkpoint by Hub id
/// or folder, picking the architecture from <c>config.json</c>, and generates answers for <see cref="ModelInputs"/>.
/// One generation runs at a time per model; others wait their turn.
/// </summary>
public abstract class VisionModel : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    /// <summary>For architectures: the folder the checkpoint was loaded from and its generation defaults.</summary>
    protected VisionModel(string folder)
    {
        Folder = folder;
        GenerationConfig = GenerationConfig.Load(folder);
    }

    /// <summary>The local checkpoint folder.</summary>
    public string Folder { get; }
    /// <summary>The checkpoint's <c>generation_config.json</c> (transformers' defaults where absent).</summary>
    public GenerationConfig GenerationConfig { get; }
    /// <summary><c>config.json</c>'s <c>model_type</c>.</summary>
    public abstract string ModelType { get; }
    /// <summary>Longest sequence the model takes (prompt + answer).</summary>
    public abstract int MaxPositions { get; }

    /// <summary>
    /// Loads a model: <paramref name="idOrFolder"/> is a local checkpoint folder or a Hub id <c>org/name[@revision]</c>
    /// (downloaded into the huggingface_hub cache on first use). The architecture comes from <c>config.json</c>.
    /// </summary>
    public static async Task<VisionModel> FromPretrainedAsync(string idOrFolder, LoadOptions? options = null, CancellationToken ct = default)
    {
        options ??= new LoadOptions();
        if (options.Threads is int t) Engine.Kernels.WorkerPool.Configure(t);
        var folder = await ResolveAsync(idOrFolder, options.Hub, options.Progress, ct).ConfigureAwait(false);
        var arch = Architectures.Find(folder);
        return await Task.Run(() => arch.LoadModel(folder, options), ct).ConfigureAwait(false);
    }

    internal static async Task<string> ResolveAsync(string idOrFolder, HubOptions? hub, IProgress<LoadProgress>? progress, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrFolder);
        if (Directory.Exists(idOrFolder)) return Path.GetFullPath(idOrFolder);
        IProgress<DownloadProgress>? downloads = progress is null ? null
            : new SyncReport(p => progress.Report(new LoadProgress("download", p.File, p.BytesDone, p.TotalBytes)));
        return await ModelLocator.ResolveAsync(idOrFolder, hub, downloads, ct).ConfigureAwait(false);
    }

    /// <summary>Generates an answer for every row of <paramref name="inputs"/>.</summary>
    public async Task<GenerationResult> GenerateAsync(ModelInputs inputs, GenerationOptions? options = null, CancellationToken ct = default)
    {
        GenerationResult? result = null;
        await foreach (var chunk in GenerateStreamingAsync(inputs, options, ct).ConfigureAwait(false))
            result ??= chunk.Result;
        return result ?? throw new InvalidOperationException("generation ended without a result");
    }

    /// <summary>
    /// Generates on a background thread and yields text as it forms (never half a UTF-8 character). Stopping the
    /// enumeration or cancelling <paramref name="ct"/> stops generation within one decode step.
    /// </summary>
    public IAsyncEnumerable<GenerationChunk> GenerateStreamingAsync(ModelInputs inputs, GenerationOptions? options = null, CancellationToken ct = default)
        => StreamAsync(inputs, options, conversation: null, ct);

    /// <summary>
    /// Starts a conversation: each of its generations reuses the KV cache and image features of the longest prefix it
    /// shares with the previous one, so a follow-up question costs only its new tokens.
    /// </summary>
    public Conversation StartConversation() => new(this);

    internal async IAsyncEnumerable<GenerationChunk> StreamAsync(ModelInputs inputs, GenerationOptions? options, Conversation? conversation,
        [EnumeratorCancellation] CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(inputs);
        var settings = GenerationConfig.Resolve(options, inputs.SequenceLength);
        if (inputs.SequenceLength + settings.MaxNewTokens > MaxPositions)
            throw new ArgumentException($"prompt ({inputs.SequenceLength} tokens) + max_new_tokens ({settings.MaxNewTokens}) exceeds the model's {MaxPositions} positions");
        var channel = Channel.CreateBounded<GenerationChunk>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        Task worker;
        try
        {
            worker = Task.Factory.StartNew(() => Produce(inputs, settings, options?.OutputScores == true, conversation, channel.Writer, stop.Token),
                stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        catch
        {
            _gate.Release();
            throw;
        }
        try
        {
            await foreach (var chunk in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                yield return chunk;
            await worker.ConfigureAwait(false); // surfaces the worker's exception
        }
        finally
        {
            stop.Cancel();
            try { await worker.ConfigureAwait(false); } catch { /* already reported or cancelled */ }
            _gate.Release();
        }
    }

    private void Produce(ModelInputs inputs, GenerationSettings settings, bool keepScores, Conversation? conversation,
        ChannelWriter<GenerationChunk> writer, CancellationToken ct)
    {
        try
        {
            int batch = inputs.BatchSize;
            var tokenizer = inputs.Processor.Tokenizer;
            var decoders = Enumerable.Range(0, batch).Select(_ => tokenizer.CreateStreamingDecoder(skipSpecialTokens: true)).ToArray();
            var texts = Enumerable.Range(0, batch).Select(_ => new System.Text.StringBuilder()).ToArray();
            var tokens = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
            var finish = new FinishReason[batch];
            var scores = keepScores ? new List<float[]>() : null;
            var prompts = Enumerable.Range(0, batch).Select(r => inputs.Row(r).ToArray()).ToList();

            var session = CreateSession(inputs, settings, conversation, out double imageSeconds, out int prefillTokens);
            bool adopted = false;
            var timed = new TimedSession(session);
            try
            {
                Func<int, IReadOnlyList<long>, bool>? stopCheck = settings.StopStrings.Count == 0 ? null
                    : (row, generated) => EndsWithStopString(tokenizer, generated, settings.StopStrings);
                foreach (var step in Generator.Run(timed, prompts, settings, stopCheck, ct))
                {
                    scores?.Add(step.ScoresProcessed);
                    for (int r = 0; r < batch; r++)
                    {
                        if (!step.Active[r]) continue;
                        int id = (int)step.Tokens[r];
                        tokens[r].Add(id);
                        var text = decoders[r].Push(id);
                        finish[r] = step.Finish[r];
                        if (finish[r] != FinishReason.None) text += decoders[r].Flush();
                        texts[r].Append(text);
                        writer.WriteAsync(new GenerationChunk(r, text, id, finish[r]), ct).AsTask().GetAwaiter().GetResult();
                    }
                }
                if (conversation is not null)
                {
                    // The cache holds the prompt and every generated token but the last (it was never fed back).
                    conversation.Adopt(session, prompts[0].Concat(tokens[0].Take(Math.Max(0, tokens[0].Count - 1)).Select(t => (long)t)));
                    adopted = true;
                }
            }
            catch
            {
                conversation?.Invalidate();
                throw;
            }
            finally
            {
                if (!adopted) session.Dispose();
            }
            for (int r = 0; r < batch; r++)
            {
                if (finish[r] == FinishReason.None) finish[r] = FinishReason.Length; // max_new_tokens == 0
            }
            int promptTokens = Enumerable.Range(0, batch).Sum(inputs.RowLength);
            var timings = new GenerationTimings
            {
                ImageEncodeSeconds = imageSeconds,
                PrefillSeconds = timed.PrefillSeconds,
                PrefillTokens = prefillTokens,
                DecodeSeconds = timed.StepSeconds,
                DecodeTokens = timed.Steps,
            };
            var rows = Enumerable.Range(0, batch).Select(r => new GenerationRow(tokens[r], texts[r].ToString(), finish[r])).ToList();
            var result = new GenerationResult(rows, promptTokens, timings, scores);
            writer.WriteAsync(new GenerationChunk(0, "", -1, finish[0], result), ct).AsTask().GetAwaiter().GetResult();
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    private static bool EndsWithStopString(Tokenizer tokenizer, IReadOnlyList<long> generated, IReadOnlyList<string> stops)
    {
        // Decode only a tail long enough to hold the longest stop string (a token is at least one character).
        int longest = stops.Max(s => s.Length);
        int from = Math.Max(0, generated.Count - longest - 2);
        var tail = tokenizer.Decode(generated.Skip(from).Select(t => (int)t).ToArray(), skipSpecialTokens: true);
        foreach (var s in stops) if (s.Length > 0 && tail.Contains(s, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>
    /// Encodes the images (reusing the conversation's where it can), fills the KV cache with the part of the prompt
    /// the conversation does not already hold, and returns a session ready to prefill.
    /// </summary>
    private protected abstract IDecoderSession CreateSession(ModelInputs inputs, GenerationSettings settings, Conversation? conversation,
        out double imageEncodeSeconds, out int prefillTokens);

    /// <summary>Frees the weights' mappings and buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Architecture-specific cleanup.</summary>
    protected virtual void Dispose(bool disposing) { }

    private sealed class TimedSession(IDecoderSession inner) : IDecoderSession
    {
        private readonly Stopwatch _clock = new();
        public double PrefillSeconds { get; private set; }
        public double StepSeconds => _clock.Elapsed.TotalSeconds;
        public int Steps { get; private set; }
        public int BatchSize => inner.BatchSize;
        public int VocabSize => inner.VocabSize;
        public void Prefill(Span<float> logits)
        {
            var t = Stopwatch.StartNew();
            inner.Prefill(logits);
            PrefillSeconds = t.Elapsed.TotalSeconds;
        }
        public void Step(ReadOnlySpan<long> tokens, Span<float> logits)
        {
            _clock.Start();
            inner.Step(tokens, logits);
            _clock.Stop();
            Steps++;
        }
        public void Dispose() { }
    }
}

/// <summary>Forwards download progress on the reporting thread, in order.</summary>
file sealed class SyncReport(Action<DownloadProgress> report) : IProgress<DownloadProgress>
{
    public void Report(DownloadProgress value) => report(value);
}
