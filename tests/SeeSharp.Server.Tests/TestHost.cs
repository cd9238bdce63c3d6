using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using SeeSharp.Server;

namespace SeeSharp.Server.Tests;

/// <summary>A <see cref="SeeSharpServer"/> on 127.0.0.1 and a free port, with an HttpClient pointed at it.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private TestHost(SeeSharpServer server, HttpClient http) { Server = server; Http = http; }

    public SeeSharpServer Server { get; }
    public HttpClient Http { get; }
    public Uri Address => Server.Address;

    public static async Task<TestHost> StartAsync(IChatBackend backend, ServerOptions? options = null)
    {
        var log = Environment.GetEnvironmentVariable("SEESHARP_TEST_LOG") is "1" ? Console.Error : null;
        var server = new SeeSharpServer(backend, (options ?? new ServerOptions()) with { Host = "127.0.0.1", Port = 0 }, log);
        await server.StartAsync();
        var http = new HttpClient(NoDrainHandler()) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
        return new TestHost(server, http);
    }

    /// <summary>
    /// A handler that closes the connection when a response is dropped unread, as a browser's abort does (by default
    /// HttpClient first drains up to 1 MiB for up to 2 s to reuse the connection, so the server would see the
    /// client leave only then).
    /// </summary>
    public static SocketsHttpHandler NoDrainHandler() => new() { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero };

    public Task<HttpResponseMessage> PostJsonAsync(string json, string? apiKey = null, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    public async Task<JsonElement> HealthAsync()
    {
        using var doc = JsonDocument.Parse(await Http.GetStringAsync("health"));
        return doc.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>Request bodies and response readers shared by the tests.</summary>
internal static class Api
{
    public static string DataUrl(byte[] png, string mediaType = "image/png") => $"data:{mediaType};base64,{Convert.ToBase64String(png)}";

    /// <summary>A one-message request: <c>{"messages": [{"role": "user", "content": text}], ...extra}</c>.</summary>
    public static string Simple(string text, string extra = "")
        => $"{{\"model\":\"m\",\"messages\":[{{\"role\":\"user\",\"content\":{JsonSerializer.Serialize(text)}}}]{(extra.Length > 0 ? "," + extra : "")}}}";

    /// <summary>The data lines of a Server-Sent Events body, in order ("[DONE]" included).</summary>
    public static List<string> Events(string body)
        => body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).Where(e => e.StartsWith("data: ", StringComparison.Ordinal))
            .Select(e => e["data: ".Length..]).ToList();

    /// <summary>The streamed text: the concatenated <c>choices[0].delta.content</c> of every chunk.</summary>
    public static string StreamedText(IEnumerable<string> events)
    {
        var sb = new StringBuilder();
        foreach (var e in events.Where(e => e != "[DONE]"))
        {
            using var doc = JsonDocument.Parse(e);
            var choices = doc.RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c)) sb.Append(c.GetString());
        }
        return sb.ToString();
    }

    /// <summary>Asserts the OpenAI error shape and returns the error object.</summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, int status, string? code = null, string? param = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected HTTP {status}, got {(int)response.StatusCode}: {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        using var doc = JsonDocument.Parse(body);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p));
        Assert.True(error.TryGetProperty("code", out var c));
        if (code is not null) Assert.Equal(code, c.GetString());
        if (param is not null) Assert.Equal(param, p.GetString());
        return error.Clone();
    }
}

/// <summary>
/// A deterministic stand-in for a model: its answer is a pure function of the request (the last user text reversed,
/// word by word, plus the image count and the byte length of each image), streamed one word per "token". Tests
/// can hold every generation at a gate to fill the queue, and it counts the generations it saw cancelled.
/// </summary>
internal sealed class FakeBackend : IChatBackend
{
    private int _cancelled, _started;

    public string ModelId => "fake-model";
    public int ContextLength { get; init; } = 4096;

    /// <summary>When set, every generation waits here after its first token until released.</summary>
    public SemaphoreSlim? Gate { get; set; }

    /// <summary>When set, a request without max_tokens never ends on its own (until cancelled), yielding a token per step.</summary>
    public bool Endless { get; init; }

    /// <summary>When set, generation fails (InvalidOperationException "model exploded") after its first token.</summary>
    public bool FailAfterFirstToken { get; init; }

    /// <summary>Generations cancelled while running.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Generations started.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Signalled each time a generation has yielded its first token.</summary>
    public SemaphoreSlim FirstToken { get; } = new(0);

    /// <summary>The words a request's answer consists of (the expected text is their concatenation).</summary>
    public static List<string> Answer(ChatRequest request)
    {
        var last = request.Messages.Last(m => m.Role == "user");
        var text = string.Concat(last.Parts.Select(p => p.Text ?? ""));
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Reverse().Select(w => w + " ").ToList();
        foreach (var image in request.Messages.SelectMany(m => m.Parts).Where(p => p.Image is not null)) words.Add($"[img {image.Image!.Length}] ");
        words.Add($"({request.Messages.Count} msgs)");
        return words;
    }

    public async IAsyncEnumerable<ChatStreamUpdate> GenerateAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        Interlocked.Increment(ref _started);
        int prompt = request.Messages.Sum(m => m.Parts.Sum(p => p.Text?.Length ?? 100));
        var words = Answer(request);
        int max = request.MaxTokens ?? request.DefaultMaxTokens;
        int i = 0;
        bool endless = Endless && request.MaxTokens is null;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (!endless && (i == words.Count || i == max))
                {
                    yield return new ChatStreamUpdate("", 0, i == words.Count ? "stop" : "length", prompt);
                    yield break;
                }
                yield return new ChatStreamUpdate(endless ? "tick " : words[i], 1, null, prompt);
                if (i == 0)
                {
                    FirstToken.Release();
                    if (Gate is { } gate) await gate.WaitAsync(ct);
                    if (FailAfterFirstToken) throw new InvalidOperationException("model exploded");
                }
                i++;
                await Task.Yield();
                if (endless) await Task.Delay(1, ct);
            }
        }
        finally
        {
            if (ct.IsCancellationRequested) Interlocked.Increment(ref _cancelled);
        }
    }
}
