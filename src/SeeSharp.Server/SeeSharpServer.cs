using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SeeSharp.Server;

/// <summary>
/// An OpenAI-compatible HTTP server over one model (Kestrel, minimal APIs):
/// <c>POST /v1/chat/completions</c> (JSON or Server-Sent Events), <c>GET /v1/models</c>, <c>GET /health</c> and a
/// chat page at <c>/</c>. Generations run one at a time behind a bounded queue; a client that disconnects cancels
/// its generation at once.
/// </summary>
public sealed class SeeSharpServer : IAsyncDisposable
{
    /// <summary>The <c>system_fingerprint</c> of every response.</summary>
    public const string SystemFingerprint = "fp_seesharp";

    private readonly IChatBackend _backend;
    private readonly ServerOptions _options;
    private readonly WebApplication _app;
    private readonly GenerationQueue _queue;
    private readonly ChatRequestParser _parser;
    private readonly HttpClient? _http;
    private readonly byte[]? _apiKeyHash;
    private readonly TextWriter? _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private int _running;
    private bool _started, _disposed;

    /// <summary>Sets up (but does not start) a server for <paramref name="backend"/>; <paramref name="log"/> gets one line per request.</summary>
    public SeeSharpServer(IChatBackend backend, ServerOptions? options = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
        _options = options ?? new ServerOptions();
        _options.Validate();
        _log = log is null ? null : TextWriter.Synchronized(log);
        _queue = new GenerationQueue(_options.MaxQueueLength);
        _http = _options.AllowRemoteImages ? new HttpClient { Timeout = Timeout.InfiniteTimeSpan } : null;
        _parser = new ChatRequestParser(_options, _http);
        _apiKeyHash = _options.ApiKey is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(_options.ApiKey));
        _app = Build();
    }

    /// <summary>Counters of completed, cancelled, failed and rejected requests.</summary>
    public ServerMetrics Metrics { get; } = new();

    /// <summary>The address the server listens on (set by <see cref="StartAsync"/>; with port 0, the port picked).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Binds and starts serving.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _app.StartAsync(ct).ConfigureAwait(false);
        _started = true;
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no listening address");
        Address = new Uri(first.Replace("://[::]", "://localhost").Replace("://0.0.0.0", "://localhost").TrimEnd('/') + "/");
    }

    /// <summary>Resolves when the host stops (Ctrl+C / SIGTERM or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    /// <summary>
    /// Stops: new and queued requests get 503, running generations get <see cref="ServerOptions.ShutdownGracePeriod"/>
    /// to finish, then their connections are aborted, which cancels them.
    /// </summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        _stopping.Cancel();
        if (_started) await _app.StopAsync(ct).ConfigureAwait(false);
        _started = false;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        await _app.DisposeAsync().ConfigureAwait(false);
        _http?.Dispose();
        _stopping.Dispose();
    }

    private WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(SeeSharpServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = _options.ShutdownGracePeriod);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = _options.MaxRequestBodyBytes + OverLimitDrainBytes;
            // The handler copies the body out as it arrives; a small per-connection buffer keeps Kestrel's pinned
            // block pool from growing to (connections x 1 MiB) under concurrent image uploads.
            k.Limits.MaxRequestBufferSize = 64 * 1024;
            if (_options.Host == "localhost" && _options.Port != 0) k.ListenLocalhost(_options.Port);
            else k.Listen(ParseHost(_options.Host), _options.Port);
        });
        var app = builder.Build();
        app.Lifetime.ApplicationStopping.Register(() => _stopping.Cancel());
        app.Use(LogAndAuthenticateAsync);
        app.MapGet("/", ServeIndexAsync);
        app.MapGet("/health", HealthAsync);
        app.MapGet("/v1/models", ModelsAsync);
        app.MapGet("/v1/models/{id}", ModelAsync);
        app.MapPost("/v1/chat/completions", ChatCompletionsAsync);
        app.MapMethods("/v1/chat/completions", ["GET", "PUT", "DELETE", "PATCH"], ctx =>
            WriteErrorAsync(ctx, new ApiException(405, $"{ctx.Request.Method} is not allowed on /v1/chat/completions; use POST", code: "method_not_allowed")));
        app.MapFallback(ctx => WriteErrorAsync(ctx, new ApiException(404, $"no route for {ctx.Request.Method} {ctx.Request.Path}", code: "not_found")));
        return app;
    }

    private static IPAddress ParseHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(host, out var ip) => ip,
        _ => throw new ArgumentException($"host '{host}' is not an IP address or 'localhost'"),
    };

    // --- middleware ---------------------------------------------------------------------------------------------

    private async Task LogAndAuthenticateAsync(HttpContext ctx, RequestDelegate next)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (_apiKeyHash is not null && ctx.Request.Path.StartsWithSegments("/v1") && !Authorized(ctx.Request))
            {
                Metrics.OnRejected();
                ctx.Response.Headers.WWWAuthenticate = "Bearer";
                await WriteErrorAsync(ctx, new ApiException(401, "missing or incorrect API key: send 'Authorization: Bearer <key>'", code: "invalid_api_key"))
                    .ConfigureAwait(false);
                return;
            }
            await next(ctx).ConfigureAwait(false);
        }
        finally
        {
            _log?.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {ctx.Request.Method} {ctx.Request.Path} {ctx.Response.StatusCode} " +
                $"{System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds:F0} ms{(ctx.RequestAborted.IsCancellationRequested ? " (client gone)" : "")}");
        }
    }

    /// <summary>Compares SHA-256 digests in constant time (so neither the key's bytes nor its length leak through timing).</summary>
    private bool Authorized(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _apiKeyHash);
    }

    // --- small endpoints ----------------------------------------------------------------------------------------

    private static async Task ServeIndexAsync(HttpContext ctx)
    {
        await using var page = typeof(SeeSharpServer).Assembly.GetManifestResourceStream("SeeSharp.Server.index.html")
            ?? throw new InvalidOperationException("the chat page resource SeeSharp.Server.index.html is missing from the assembly");
        ctx.Response.ContentType = "text/html; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'";
        await page.CopyToAsync(ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
    }

    private Task HealthAsync(HttpContext ctx)
    {
        int running = Volatile.Read(ref _running);
        var json = OpenAiJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("status", _stopping.IsCancellationRequested ? "stopping" : "ok");
            w.WriteString("model", _backend.ModelId);
            w.WriteBoolean("auth_required", _apiKeyHash is not null);
            w.WriteStartObject("queue");
            w.WriteNumber("running", running);
            w.WriteNumber("waiting", Math.Max(0, _queue.Admitted - running));
            w.WriteNumber("max_waiting", _options.MaxQueueLength);
            w.WriteEndObject();
            w.WriteStartObject("generations");
            w.WriteNumber("completed", Metrics.Completed);
            w.WriteNumber("cancelled", Metrics.Cancelled);
            w.WriteNumber("failed", Metrics.Failed);
            w.WriteEndObject();
            w.WriteStartObject("requests");
            w.WriteNumber("rejected", Metrics.Rejected);
            w.WriteNumber("queue_full", Metrics.QueueFull);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        return WriteJsonAsync(ctx, 200, json);
    }

    private void WriteModel(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", _backend.ModelId);
        w.WriteString("object", "model");
        w.WriteNumber("created", _created);
        w.WriteString("owned_by", "seesharp");
        w.WriteEndObject();
    }

    private Task ModelsAsync(HttpContext ctx) => WriteJsonAsync(ctx, 200, OpenAiJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        WriteModel(w);
        w.WriteEndArray();
        w.WriteEndObject();
    }));

    private Task ModelAsync(HttpContext ctx, string id) => id == _backend.ModelId
        ? WriteJsonAsync(ctx, 200, OpenAiJson.Write(WriteModel))
        : WriteErrorAsync(ctx, new ApiException(404, $"model '{id}' is not served here (this server serves '{_backend.ModelId}')", "model", "model_not_found"));

    // --- chat completions ---------------------------------------------------------------------------------------

    private async Task ChatCompletionsAsync(HttpContext ctx)
    {
        var aborted = ctx.RequestAborted;
        try
        {
            if (_stopping.IsCancellationRequested) throw ShuttingDown();
            var body = await ReadBodyAsync(ctx).ConfigureAwait(false);
            var request = await _parser.ParseAsync(body, aborted).ConfigureAwait(false);
            using var ticket = _queue.TryEnter();
            if (ticket is null)
            {
                Metrics.OnQueueFull();
                ctx.Response.Headers.RetryAfter = _queue.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new ApiException(429, $"the server is busy: {_options.MaxQueueLength} requests are already waiting for the model; retry later",
                    code: "rate_limit_exceeded", type: "requests");
            }
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted, _stopping.Token))
            {
                try
                {
                    await ticket.WaitTurnAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    throw ShuttingDown();
                }
            }
            Interlocked.Increment(ref _running);
            try
            {
                await GenerateAsync(ctx, request, aborted).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
        catch (ApiException e)
        {
            if (e.Status < 500) Metrics.OnRejected();
            if (!ctx.Response.HasStarted && !aborted.IsCancellationRequested) await WriteErrorAsync(ctx, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away while its request was read or queued: nothing to answer.
        }
    }

    private static ApiException ShuttingDown() => new(503, "the server is shutting down", code: "server_shutting_down", type: "server_error");

    /// <summary>
    /// A body found too large while reading (no Content-Length) is read on, discarding, for up to this many more bytes:
    /// a client that is nearly done sending then gets its 413 instead of a reset connection.
    /// </summary>
    private const long OverLimitDrainBytes = 1L << 20;

    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext ctx)
    {
        long limit = _options.MaxRequestBodyBytes;
        if (ctx.Request.ContentLength > limit) throw TooLarge(ctx.Request.ContentLength.Value);
        using var buffer = new MemoryStream(ctx.Request.ContentLength is long n ? (int)n : 64 * 1024); // n <= limit <= 1 GiB
        var chunk = new byte[65536];
        try
        {
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    long drained = 0;
                    while (drained < OverLimitDrainBytes && (read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
                        drained += read;
                    throw TooLarge(null);
                }
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(null);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);

        ApiException TooLarge(long? size) => new(413,
            $"the request body{(size is long s ? $" ({s} bytes)" : "")} is larger than this server's limit of {limit} bytes", code: "request_too_large");
    }

    /// <summary>Runs one generation and answers it as one JSON object or as Server-Sent Events.</summary>
    private async Task GenerateAsync(HttpContext ctx, ChatRequest request, CancellationToken aborted)
    {
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = _backend.ModelId;
        var filter = new StopSequenceFilter(request.Stop);
        var text = new StringBuilder();
        int promptTokens = 0, completionTokens = 0;
        string? finish = null;
        bool streaming = false;

        var updates = _backend.GenerateAsync(request, aborted).GetAsyncEnumerator(aborted);
        try
        {
            try
            {
                while (finish is null && await updates.MoveNextAsync().ConfigureAwait(false))
                {
                    var u = updates.Current;
                    completionTokens += u.NewTokens;
                    promptTokens = u.PromptTokens ?? promptTokens;
                    var delta = filter.Push(u.Text);
                    if (filter.Stopped) finish = "stop";
                    else if (u.FinishReason is not null)
                    {
                        finish = u.FinishReason;
                        delta += filter.Flush();
                    }
                    if (request.Stream)
                    {
                        if (!streaming)
                        {
                            // Headers go out only once the backend has accepted the request (its errors keep their status).
                            streaming = true;
                            ctx.Response.StatusCode = 200;
                            ctx.Response.ContentType = "text/event-stream; charset=utf-8";
                            ctx.Response.Headers.CacheControl = "no-cache";
                            ctx.Response.Headers["X-Accel-Buffering"] = "no";
                            await SendEventAsync(ctx, OpenAiJson.Chunk(id, created, model, "assistant", "", null, request.IncludeUsage), aborted).ConfigureAwait(false);
                        }
                        if (delta.Length > 0)
                            await SendEventAsync(ctx, OpenAiJson.Chunk(id, created, model, null, delta, null, request.IncludeUsage), aborted).ConfigureAwait(false);
                    }
                    else text.Append(delta);
                }
                if (finish is null)
                {
                    finish = "stop"; // the backend ended without saying why: treat as a natural end
                    var rest = filter.Flush();
                    if (request.Stream && streaming && rest.Length > 0)
                        await SendEventAsync(ctx, OpenAiJson.Chunk(id, created, model, null, rest, null, request.IncludeUsage), aborted).ConfigureAwait(false);
                    else text.Append(rest);
                }
            }
            finally
            {
                await updates.DisposeAsync().ConfigureAwait(false); // stops the generation when we leave early (stop string)
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Metrics.OnCancelled();
            return;
        }
        catch (ClientGoneException)
        {
            Metrics.OnCancelled();
            return;
        }
        catch (ApiException e) when (streaming)
        {
            // Headers are gone: the error becomes the stream's last event.
            Metrics.OnRejected();
            try
            {
                await SendEventAsync(ctx, OpenAiJson.Error(e.Message, e.Type, e.Param, e.Code), aborted).ConfigureAwait(false);
            }
            catch (ClientGoneException) { }
            return;
        }
        catch (ApiException)
        {
            throw;
        }
        catch (Exception e)
        {
            Metrics.OnFailed();
            _log?.WriteLine($"generation failed: {e}");
            var error = new ApiException(500, $"generation failed: {e.Message}", code: "generation_failed", type: "server_error");
            if (!streaming) throw error;
            try
            {
                await SendEventAsync(ctx, OpenAiJson.Error(error.Message, error.Type, null, error.Code), aborted).ConfigureAwait(false);
            }
            catch (ClientGoneException) { }
            return;
        }

        Metrics.OnCompleted();
        try
        {
            if (!request.Stream)
            {
                await WriteJsonAsync(ctx, 200, OpenAiJson.Completion(id, created, model, text.ToString(), finish, promptTokens, completionTokens)).ConfigureAwait(false);
                return;
            }
            if (!streaming)
            {
                // Nothing came from the backend before it finished: still a well-formed stream.
                ctx.Response.ContentType = "text/event-stream; charset=utf-8";
                await SendEventAsync(ctx, OpenAiJson.Chunk(id, created, model, "assistant", "", null, request.IncludeUsage), aborted).ConfigureAwait(false);
            }
            await SendEventAsync(ctx, OpenAiJson.Chunk(id, created, model, null, null, finish, request.IncludeUsage), aborted).ConfigureAwait(false);
            if (request.IncludeUsage)
                await SendEventAsync(ctx, OpenAiJson.UsageChunk(id, created, model, promptTokens, completionTokens), aborted).ConfigureAwait(false);
            await ctx.Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), aborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ClientGoneException or IOException or OperationCanceledException)
        {
            // The answer was complete; the client left before reading all of it.
        }
    }

    private static readonly byte[] s_dataPrefix = "data: "u8.ToArray();
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();

    /// <summary>Writes one SSE event; a failed write means the client went away (<see cref="ClientGoneException"/>).</summary>
    private static async Task SendEventAsync(HttpContext ctx, byte[] json, CancellationToken ct)
    {
        var body = ctx.Response.Body;
        try
        {
            await body.WriteAsync(s_dataPrefix, ct).ConfigureAwait(false);
            await body.WriteAsync(json, ct).ConfigureAwait(false);
            await body.WriteAsync(s_eventEnd, ct).ConfigureAwait(false);
            await body.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            throw new ClientGoneException(e);
        }
    }

    /// <summary>Writing the response failed: the connection is gone, so is the reason to generate.</summary>
    private sealed class ClientGoneException(Exception inner) : Exception("the client closed the connection", inner);

    private static async Task WriteJsonAsync(HttpContext ctx, int status, byte[] json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = json.Length;
        await ctx.Response.Body.WriteAsync(json, ctx.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext ctx, ApiException e)
        => WriteJsonAsync(ctx, e.Status, OpenAiJson.Error(e.Message, e.Type, e.Param, e.Code));
}
