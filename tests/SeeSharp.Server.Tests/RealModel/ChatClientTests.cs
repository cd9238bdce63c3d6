using System.Text;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiFinishReason = Microsoft.Extensions.AI.ChatFinishReason;

namespace SeeSharp.Server.Tests;

/// <summary>
/// <c>model.AsChatClient(processor)</c> (Microsoft.Extensions.AI) over the tiny Idefics2: text + image
/// <see cref="DataContent"/> messages, streamed and not, must give exactly the public API's <c>GenerateAsync</c>
/// answer for the same chat, with its token counts and finish reason. No tolerance: exact equality.
/// </summary>
public sealed class ChatClientTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    private static List<AiChatMessage> SeedMessages() =>
    [
        new(ChatRole.User, [new DataContent(TinyModelHost.Png("chelsea.png"), "image/png"), new TextContent("What do we see in this image?")]),
        new(ChatRole.Assistant, "In this image we can see two cats on the nets."),
        new(ChatRole.User, [new DataContent(TinyModelHost.Png("coffee.png"), "image/png"), new TextContent("And how about this image?")]),
    ];

    private IChatClient Client() => tiny.Model.AsChatClient(tiny.Processor, "idefics2-tiny");

    [Fact]
    public async Task GetResponseEqualsGenerateAsync()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        using var client = Client();
        var response = await client.GetResponseAsync(SeedMessages(), new ChatOptions { MaxOutputTokens = TinyModelHost.MaxTokens });
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(expected.FinishReason == Generation.FinishReason.Length ? AiFinishReason.Length : AiFinishReason.Stop, response.FinishReason);
        Assert.Equal(expected.PromptTokens, response.Usage?.InputTokenCount);
        Assert.Equal(expected.Tokens.Count, response.Usage?.OutputTokenCount);
        Assert.Equal(expected.PromptTokens + expected.Tokens.Count, response.Usage?.TotalTokenCount);
        Assert.Equal("idefics2-tiny", response.ModelId);
    }

    [Fact]
    public async Task StreamingEqualsGenerateAsync()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        using var client = Client();
        var text = new StringBuilder();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(SeedMessages(), new ChatOptions { MaxOutputTokens = TinyModelHost.MaxTokens, Temperature = 0 }))
        {
            text.Append(update.Text);
            updates.Add(update);
        }
        Assert.Equal(expected.Text, text.ToString());
        Assert.True(updates.Count > 2, "the answer should arrive in pieces");
        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(expected.Tokens.Count, usage.OutputTokenCount);
        Assert.NotNull(updates[^1].FinishReason);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
    }

    [Fact]
    public async Task StopSequenceEndsTheAnswerBeforeIt()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        Assert.True(expected.Text.Length >= 8, $"the tiny model's answer is too short for this test: '{expected.Text}'");
        string stop = expected.Text.Substring(4, 2);
        using var client = Client();
        var response = await client.GetResponseAsync(SeedMessages(), new ChatOptions { MaxOutputTokens = TinyModelHost.MaxTokens, StopSequences = [stop] });
        Assert.Equal(expected.Text[..expected.Text.IndexOf(stop, StringComparison.Ordinal)], response.Text);
        Assert.Equal(AiFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task InstructionsBecomeASystemTurn()
    {
        var chat = new Chat().System("Answer briefly.").User(Image.FromBytes(TinyModelHost.Png("astronaut.png")), "Describe the picture.");
        var expected = await tiny.ExpectedAsync(chat, maxTokens: 8);
        using var client = Client();
        var response = await client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new DataContent(TinyModelHost.Png("astronaut.png"), "image/png"), new TextContent("Describe the picture.")])],
            new ChatOptions { MaxOutputTokens = 8, Instructions = "Answer briefly." });
        Assert.Equal(expected.Text, response.Text);
    }

    [Fact]
    public async Task UnsupportedContentIsRefusedAndMetadataIsThere()
    {
        using var client = Client();
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new UriContent(new Uri("http://example.org/a.png"), "image/png")])]));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new DataContent("hello"u8.ToArray(), "text/plain")])]));
        var metadata = client.GetService<ChatClientMetadata>();
        Assert.Equal("seesharp", metadata?.ProviderName);
        Assert.Equal("idefics2-tiny", metadata?.DefaultModelId);
        Assert.Same(tiny.Model, client.GetService<VisionModel>());
    }
}
