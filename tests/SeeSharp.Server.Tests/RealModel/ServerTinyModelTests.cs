using System.Net;
using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// The server over the tiny random Idefics2: answers (non-streamed and streamed) must equal, character for character,
/// the public API's <c>GenerateAsync</c> for the same chat (greedy, deterministic; the text is gibberish), with the
/// same prompt/completion token counts and finish reason. No tolerance: exact equality.
/// </summary>
public sealed class ServerTinyModelTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    [Fact]
    public async Task NonStreamedTwoImageChatEqualsGenerateAsync()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        using var response = await tiny.Host.PostJsonAsync(TinyModelHost.SeedRequest());
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var root = TinyModelHost.Parse(body);
        var choice = root.GetProperty("choices")[0];
        Assert.Equal(expected.Text, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(TinyModelHost.FinishName(expected.FinishReason), choice.GetProperty("finish_reason").GetString());
        Assert.Equal(expected.PromptTokens, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Tokens.Count, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("idefics2-tiny", root.GetProperty("model").GetString());
    }

    [Fact]
    public async Task StreamedTwoImageChatEqualsGenerateAsync()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        using var response = await tiny.Host.PostJsonAsync(TinyModelHost.SeedRequest("\"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = Api.Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(expected.Text, Api.StreamedText(events));
        var finish = TinyModelHost.Parse(events[^3]).GetProperty("choices")[0].GetProperty("finish_reason").GetString();
        Assert.Equal(TinyModelHost.FinishName(expected.FinishReason), finish);
        var usage = TinyModelHost.Parse(events[^2]).GetProperty("usage");
        Assert.Equal(expected.PromptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Tokens.Count, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task TemperatureZeroIsGreedyAndSeededSamplingRepeats()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        using (var greedy = await tiny.Host.PostJsonAsync(TinyModelHost.SeedRequest("\"temperature\": 0")))
            Assert.Equal(expected.Text, TinyModelHost.Parse(await greedy.Content.ReadAsStringAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var sampled = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            using var r = await tiny.Host.PostJsonAsync(TinyModelHost.SeedRequest("\"temperature\": 1.5, \"top_p\": 0.95, \"seed\": 1234"));
            sampled.Add(TinyModelHost.Parse(await r.Content.ReadAsStringAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        }
        Assert.Equal(sampled[0], sampled[1]);
    }

    [Fact]
    public async Task PromptPlusMaxTokensOverTheContextIs400()
    {
        // The tiny model's context is 4096 positions; the prompt has ~40 tokens.
        using var response = await tiny.Host.PostJsonAsync(TinyModelHost.SeedRequest().Replace($"\"max_tokens\": {TinyModelHost.MaxTokens}", "\"max_tokens\": 4090"));
        await Api.AssertErrorAsync(response, 400, "context_length_exceeded", "max_tokens");
    }

    [Fact]
    public async Task CorruptImageBehindAValidHeaderIs400()
    {
        // A PNG whose header is fine but whose data ends after IHDR: the decoder (in the processor) refuses it.
        var png = ErrorTests.PngHeader(64, 64);
        var body = $"{{\"messages\": [{{\"role\": \"user\", \"content\": [{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{Api.DataUrl(png)}\"}}}}, {{\"type\": \"text\", \"text\": \"hi\"}}]}}]}}";
        using var response = await tiny.Host.PostJsonAsync(body);
        await Api.AssertErrorAsync(response, 400, "invalid_image");
    }
}
