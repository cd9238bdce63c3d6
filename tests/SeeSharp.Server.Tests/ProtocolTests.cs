using System.Net;
using System.Text.Json;
using SeeSharp.Server;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// The OpenAI wire format over a fake backend whose answer is a known function of the request
/// (<see cref="FakeBackend.Answer"/>): exact equality of text, usage and chunk order with the OpenAI API reference
/// (chat.completion / chat.completion.chunk objects, SSE framing, [DONE]). No numeric tolerance involved.
/// </summary>
public sealed class ProtocolTests
{
    [Fact]
    public async Task NonStreamedCompletionHasOpenAiShape()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend());
        using var response = await host.PostJsonAsync(Api.Simple("one two three", "\"max_tokens\":50"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.True(root.GetProperty("created").GetInt64() > 1_600_000_000);
        Assert.Equal("fake-model", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("three two one (1 msgs)", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = root.GetProperty("usage");
        Assert.Equal("one two three".Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal("one two three".Length + 4, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamedCompletionSendsRoleThenDeltasThenFinishThenUsageThenDone()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend());
        using var response = await host.PostJsonAsync(Api.Simple("a b c", "\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = Api.Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        // First: the role; every chunk but the usage one has "usage": null when include_usage is on.
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        // Then the content deltas, then one chunk with the finish reason and an empty delta.
        Assert.Equal("c b a (1 msgs)", Api.StreamedText(events));
        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.False(finish.GetProperty("delta").TryGetProperty("content", out _));
        Assert.All(chunks.SkipLast(2), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        // Last: no choices, the usage.
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(4, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamWithoutIncludeUsageHasNoUsageChunk()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend());
        using var response = await host.PostJsonAsync(Api.Simple("x y", "\"stream\":true"));
        var events = Api.Events(await response.Content.ReadAsStringAsync());
        Assert.All(events.SkipLast(1), e => Assert.False(JsonDocument.Parse(e).RootElement.TryGetProperty("usage", out _)));
        Assert.Equal("y x (1 msgs)", Api.StreamedText(events));
    }

    [Fact]
    public async Task MaxTokensCutsTheAnswerWithFinishReasonLength()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend());
        using var response = await host.PostJsonAsync(Api.Simple("1 2 3 4 5", "\"max_completion_tokens\":2"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal("5 4 ", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StopStringEndsTheAnswerBeforeIt(bool stream)
    {
        var backend = new FakeBackend();
        await using var host = await TestHost.StartAsync(backend);
        // Answer words: "gamma " "beta " "alpha " "(1 msgs)"; stop on "ta al" spans two tokens.
        using var response = await host.PostJsonAsync(Api.Simple("alpha beta gamma", $"\"stop\":[\"zzz\",\"ta al\"],\"stream\":{(stream ? "true" : "false")}"));
        var body = await response.Content.ReadAsStringAsync();
        string text = stream ? Api.StreamedText(Api.Events(body))
            : JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal("gamma be", text);
        Assert.Equal(0, backend.Cancelled); // stopping early is not a cancellation
        Assert.Equal(1, (await host.HealthAsync()).GetProperty("generations").GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task MultiTurnWithImagesReachesTheBackendInOrder()
    {
        var png = await File.ReadAllBytesAsync(Fixtures.Path("images", "chelsea.png"));
        await using var host = await TestHost.StartAsync(new FakeBackend());
        var body = $$$"""
            {"model": "x", "messages": [
              {"role": "system", "content": "be brief"},
              {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "{{{Api.DataUrl(png)}}}"}}, {"type": "text", "text": "what is it"}]},
              {"role": "assistant", "content": [{"type": "text", "text": "a cat"}]},
              {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "text", "text": " here"}, {"type": "image_url", "image_url": {"url": "{{{Api.DataUrl(png)}}}", "detail": "auto"}}]}
            ]}
            """;
        using var response = await host.PostJsonAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"here and [img {png.Length}] [img {png.Length}] (4 msgs)",
            doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task BackendFailureIs500OrAnErrorEventAndTheServerGoesOn()
    {
        var backend = new FakeBackend { FailAfterFirstToken = true };
        await using var host = await TestHost.StartAsync(backend);
        var error = await Api.AssertErrorAsync(await host.PostJsonAsync(Api.Simple("a b")), 500, "generation_failed");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Contains("model exploded", error.GetProperty("message").GetString());

        using var stream = await host.PostJsonAsync(Api.Simple("a b", "\"stream\":true"));
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode); // the headers were out before the failure
        var events = Api.Events(await stream.Content.ReadAsStringAsync());
        Assert.DoesNotContain("[DONE]", events);
        Assert.Equal("generation_failed", JsonDocument.Parse(events[^1]).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, (await host.HealthAsync()).GetProperty("generations").GetProperty("failed").GetInt32());
        Assert.Equal(0, (await host.HealthAsync()).GetProperty("queue").GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task ModelsHealthAndPage()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend());
        using (var doc = JsonDocument.Parse(await host.Http.GetStringAsync("v1/models")))
        {
            Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
            Assert.Equal("fake-model", doc.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
            Assert.Equal("model", doc.RootElement.GetProperty("data")[0].GetProperty("object").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("v1/models/fake-model")).StatusCode);
        await Api.AssertErrorAsync(await host.Http.GetAsync("v1/models/other"), 404, "model_not_found");
        await Api.AssertErrorAsync(await host.Http.GetAsync("v1/nothing"), 404, "not_found");
        await Api.AssertErrorAsync(await host.Http.GetAsync("v1/chat/completions"), 405, "method_not_allowed");
        var health = await host.HealthAsync();
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(0, health.GetProperty("queue").GetProperty("running").GetInt32());
        using var page = await host.Http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/v1/chat/completions", html);
        Assert.DoesNotContain("://", html.Replace("http://www.w3.org", "")); // self-contained: no CDN, no external URL
    }
}
