namespace SeeSharp.Server;

/// <summary>
/// What the server asks of a model: one generation at a time for a parsed, validated request. The real backend is
/// <c>VisionModelChatBackend</c> (a <c>VisionModel</c> + <c>Processor</c>); tests give fakes.
/// </summary>
public interface IChatBackend
{
    /// <summary>The model name reported by <c>/v1/models</c> and in every response.</summary>
    string ModelId { get; }

    /// <summary>Longest sequence (prompt + answer) in tokens.</summary>
    int ContextLength { get; }

    /// <summary>
    /// Generates an answer. Yields text as it forms; the last update carries the finish reason. Throws
    /// <see cref="ApiException"/> for a request the model cannot take (e.g. a prompt longer than the context), before
    /// the first update. Cancelling <paramref name="ct"/> or disposing the enumerator stops generation at once.
    /// </summary>
    IAsyncEnumerable<ChatStreamUpdate> GenerateAsync(ChatRequest request, CancellationToken ct);
}

/// <summary>A chat completion request, parsed and checked against the server's limits.</summary>
public sealed record ChatRequest
{
    /// <summary>The conversation, in order.</summary>
    public required IReadOnlyList<ChatRequestMessage> Messages { get; init; }

    /// <summary>The client's <c>max_tokens</c> / <c>max_completion_tokens</c>, or null.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>The budget when <see cref="MaxTokens"/> is null (cut to what the context leaves).</summary>
    public int DefaultMaxTokens { get; init; } = 512;

    /// <summary>
    /// <c>temperature</c>: null keeps the checkpoint's generation config (greedy for Idefics2), 0 is greedy, above 0
    /// samples.
    /// </summary>
    public float? Temperature { get; init; }

    /// <summary><c>top_p</c> (used when sampling).</summary>
    public float? TopP { get; init; }

    /// <summary><c>top_k</c> (an extension some OpenAI-compatible servers accept; used when sampling).</summary>
    public int? TopK { get; init; }

    /// <summary><c>seed</c> of the sampler.</summary>
    public long? Seed { get; init; }

    /// <summary><c>stop</c>: generation ends before any of these strings, which are not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary><c>stream</c>: answer with Server-Sent Events.</summary>
    public bool Stream { get; init; }

    /// <summary><c>stream_options.include_usage</c>: a last chunk with the token counts.</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>Number of images over all messages.</summary>
    public int ImageCount => Messages.Sum(m => m.Parts.Count(p => p.Image is not null));
}

/// <summary>One message: <c>system</c>, <c>user</c> or <c>assistant</c> (OpenAI's <c>developer</c> becomes <c>system</c>).</summary>
public sealed record ChatRequestMessage(string Role, IReadOnlyList<ChatRequestPart> Parts);

/// <summary>A text part (<see cref="Text"/>) or an image part (<see cref="Image"/>: encoded PNG/JPEG/WebP/GIF bytes).</summary>
public sealed record ChatRequestPart(string? Text, byte[]? Image)
{
    /// <summary>A text part.</summary>
    public static ChatRequestPart FromText(string text) => new(text, null);

    /// <summary>An image part.</summary>
    public static ChatRequestPart FromImage(byte[] image) => new(null, image);
}

/// <summary>
/// A step of a generation: new text (possibly empty), how many tokens produced it, and on the last update the finish
/// reason (<c>stop</c> or <c>length</c>). <see cref="PromptTokens"/> is set on at least the last update.
/// </summary>
public sealed record ChatStreamUpdate(string Text, int NewTokens = 0, string? FinishReason = null, int? PromptTokens = null);

/// <summary>An error answered to the client in OpenAI's shape <c>{"error": {message, type, param, code}}</c>.</summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;
    /// <summary>The request field at fault (e.g. <c>messages[1].content[0].image_url.url</c>), or null.</summary>
    public string? Param { get; } = param;
    /// <summary>A machine-readable code (e.g. <c>context_length_exceeded</c>), or null.</summary>
    public string? Code { get; } = code;
    /// <summary>OpenAI's error type (<c>invalid_request_error</c>, <c>server_error</c>, ...).</summary>
    public string Type { get; } = type;
}
