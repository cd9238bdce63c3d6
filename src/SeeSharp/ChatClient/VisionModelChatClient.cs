using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SeeSharp.Generation;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace SeeSharp;

/// <summary><see cref="IChatClient"/> for a SeeSharp model (Microsoft.Extensions.AI).</summary>
public static class VisionModelChatClientExtensions
{
    /// <summary>
    /// An <see cref="IChatClient"/> over <paramref name="model"/> and <paramref name="processor"/>: messages with
    /// <see cref="TextContent"/> and image <see cref="DataContent"/> become a <see cref="Chat"/>, <see cref="ChatOptions"/>
    /// become <see cref="GenerationOptions"/>. The client does not own the model: disposing it leaves the model alone.
    /// </summary>
    /// <remarks>
    /// <see cref="ChatOptions.Temperature"/> null keeps the checkpoint's generation config (greedy for Idefics2), 0 is
    /// greedy, above 0 samples. <see cref="ChatOptions.MaxOutputTokens"/> null is
    /// <see cref="VisionModelChatClient.DefaultMaxOutputTokens"/> cut to what the context leaves after the prompt.
    /// Stop sequences end the answer and are not part of it. URLs (<see cref="UriContent"/>) are refused: nothing is
    /// fetched.
    /// </remarks>
    public static IChatClient AsChatClient(this VisionModel model, Processor processor, string? modelId = null)
        => new VisionModelChatClient(model, processor, modelId);
}

/// <summary>The <see cref="IChatClient"/> made by <see cref="VisionModelChatClientExtensions.AsChatClient"/>.</summary>
public sealed class VisionModelChatClient : IChatClient
{
    /// <summary>Output budget when <see cref="ChatOptions.MaxOutputTokens"/> is not given.</summary>
    public const int DefaultMaxOutputTokens = 512;

    private readonly VisionModel _model;
    private readonly Processor _processor;
    private readonly ChatClientMetadata _metadata;

    internal VisionModelChatClient(VisionModel model, Processor processor, string? modelId)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));
        _metadata = new ChatClientMetadata("seesharp", providerUri: null, modelId ?? Path.GetFileName(model.Folder.TrimEnd('/', '\\')));
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false)) updates.Add(update);
        return updates.ToChatResponse();
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var chat = ToChat(messages, options);
        var inputs = _processor.Apply(chat, addGenerationPrompt: true);
        int prompt = inputs.RowLength(0);
        var generation = ToGenerationOptions(options, prompt, _model.MaxPositions);
        var stops = options?.StopSequences?.Where(s => !string.IsNullOrEmpty(s)).ToList() ?? [];
        var filter = new StopTrimmer(stops);
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        string messageId = Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        int produced = 0;
        ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text)
        {
            ResponseId = responseId, MessageId = messageId, ModelId = _metadata.DefaultModelId, CreatedAt = created,
        };

        FinishReason finish = FinishReason.None;
        await foreach (var chunk in _model.GenerateStreamingAsync(inputs, generation, cancellationToken).ConfigureAwait(false))
        {
            if (chunk.Result is { } result)
            {
                finish = result.FinishReason;
                break;
            }
            if (chunk.TokenId >= 0) produced++;
            var text = filter.Push(chunk.Text);
            if (text.Length > 0) yield return Update(text);
            if (filter.Stopped)
            {
                finish = FinishReason.Stop;
                break; // leaving the enumeration stops the generation
            }
        }
        var rest = filter.Flush();
        if (rest.Length > 0) yield return Update(rest);
        var last = Update("");
        last.Contents.Clear();
        last.Contents.Add(new UsageContent(new UsageDetails { InputTokenCount = prompt, OutputTokenCount = produced, TotalTokenCount = prompt + produced }));
        last.FinishReason = finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
        yield return last;
    }

    /// <summary>The SeeSharp chat for Microsoft.Extensions.AI messages (and <see cref="ChatOptions.Instructions"/> as a first system turn).</summary>
    public static Chat ToChat(IEnumerable<AiChatMessage> messages, ChatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var chat = new Chat();
        if (!string.IsNullOrEmpty(options?.Instructions)) chat.System(options.Instructions);
        int m = 0;
        foreach (var message in messages)
        {
            string role = message.Role == ChatRole.System ? "system"
                : message.Role == ChatRole.User ? "user"
                : message.Role == ChatRole.Assistant ? "assistant"
                : throw new NotSupportedException($"message {m}: role '{message.Role}' is not supported (system, user, assistant)");
            var parts = new List<object>();
            int c = 0;
            foreach (var content in message.Contents)
            {
                parts.Add(content switch
                {
                    TextContent t => t.Text ?? "",
                    DataContent d when d.HasTopLevelMediaType("image") => Image.FromBytes(d.Data.ToArray(), $"message {m} content {c} ({d.MediaType})"),
                    DataContent d => throw new NotSupportedException($"message {m} content {c}: media type '{d.MediaType}' is not an image"),
                    UriContent u => throw new NotSupportedException($"message {m} content {c}: image URLs ({u.Uri}) are not fetched; pass the bytes as DataContent"),
                    _ => throw new NotSupportedException($"message {m} content {c}: {content.GetType().Name} is not supported (TextContent, image DataContent)"),
                });
                c++;
            }
            chat.Add(role, parts.ToArray());
            m++;
        }
        if (chat.Turns.Count == 0) throw new ArgumentException("no messages to answer", nameof(messages));
        return chat;
    }

    /// <summary>Generation options for <see cref="ChatOptions"/>, given the prompt length and the model's context.</summary>
    public static GenerationOptions ToGenerationOptions(ChatOptions? options, int promptTokens, int contextLength)
    {
        int room = contextLength - promptTokens;
        if (room < 1) throw new ArgumentException($"the prompt has {promptTokens} tokens, which leaves no room in the model's context of {contextLength} tokens");
        int max = options?.MaxOutputTokens ?? Math.Min(DefaultMaxOutputTokens, room);
        if (max < 0) throw new ArgumentException($"MaxOutputTokens must be >= 0 (got {max})");
        if (max > room) throw new ArgumentException($"the prompt ({promptTokens} tokens) + MaxOutputTokens ({max}) is more than the model's context of {contextLength} tokens");
        float? t = options?.Temperature;
        if (t < 0f) throw new ArgumentException($"Temperature must be >= 0 (got {t})");
        return new GenerationOptions
        {
            MaxNewTokens = max,
            DoSample = t switch { null => null, 0f => false, _ => true },
            Temperature = t > 0f ? t : null,
            TopP = options?.TopP,
            TopK = options?.TopK,
            Seed = options?.Seed is long s ? unchecked((ulong)s) : null,
        };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        if (serviceType.IsInstanceOfType(_processor)) return _processor;
        return null;
    }

    /// <summary>Nothing to free: the model and processor belong to the caller.</summary>
    public void Dispose() { }

    /// <summary>Ends the text before the first stop sequence, holding back a tail that might still become one.</summary>
    private sealed class StopTrimmer(IReadOnlyList<string> stops)
    {
        private string _pending = "";
        public bool Stopped { get; private set; }

        public string Push(string text)
        {
            if (Stopped) return "";
            if (stops.Count == 0) return text;
            var s = _pending + text;
            int cut = stops.Select(stop => s.IndexOf(stop, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                Stopped = true;
                _pending = "";
                return s[..cut];
            }
            int hold = 0;
            foreach (var stop in stops)
                for (int k = Math.Min(stop.Length - 1, s.Length); k > hold; k--)
                    if (s.AsSpan(s.Length - k).SequenceEqual(stop.AsSpan(0, k))) { hold = k; break; }
            _pending = s[^hold..];
            return s[..^hold];
        }

        public string Flush()
        {
            var rest = Stopped ? "" : _pending;
            _pending = "";
            return rest;
        }
    }
}
