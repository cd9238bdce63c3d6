using System.ClientModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// The official OpenAI clients against the server over the tiny Idefics2: the .NET <c>OpenAI</c> package (always)
/// and the <c>openai</c> npm package (when <c>node</c> and tests/SeeSharp.Server.Tests/node/node_modules are there;
/// install with <c>npm ci --prefix tests/SeeSharp.Server.Tests/node</c>). Compared against: the public API's
/// <c>GenerateAsync</c> for the same two-image chat, exact text, token counts and finish reason.
/// </summary>
public sealed class OfficialClientTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    private ChatClient Client(string key = TinyModelHost.ApiKey) => new("idefics2-tiny", new ApiKeyCredential(key),
        new OpenAIClientOptions { Endpoint = new Uri(tiny.Host.Address, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    private static List<OpenAI.Chat.ChatMessage> SeedMessages() =>
    [
        new UserChatMessage(
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(TinyModelHost.Png("chelsea.png")), "image/png"),
            ChatMessageContentPart.CreateTextPart("What do we see in this image?")),
        new AssistantChatMessage("In this image we can see two cats on the nets."),
        new UserChatMessage(
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(TinyModelHost.Png("coffee.png")), "image/png"),
            ChatMessageContentPart.CreateTextPart("And how about this image?")),
    ];

    [Fact]
    public async Task DotNetOpenAiClientNonStreamedAndStreamed()
    {
        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        var options = new ChatCompletionOptions { MaxOutputTokenCount = TinyModelHost.MaxTokens };

        ChatCompletion completion = await Client().CompleteChatAsync(SeedMessages(), options);
        Assert.Equal(expected.Text, completion.Content[0].Text);
        Assert.Equal(expected.FinishReason == Generation.FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.Tokens.Count, completion.Usage.OutputTokenCount);
        Assert.StartsWith("chatcmpl-", completion.Id);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Client().CompleteChatStreamingAsync(SeedMessages(), new ChatCompletionOptions { MaxOutputTokenCount = TinyModelHost.MaxTokens }))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(expected.Text, text.ToString());
        Assert.Equal(completion.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(expected.Tokens.Count, usage!.OutputTokenCount);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client("wrong").CompleteChatAsync(SeedMessages(), options));
        Assert.Equal(401, refused.Status);
    }

    [SkippableFact]
    public async Task NodeOpenAiClientNonStreamedAndStreamed()
    {
        var dir = Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "SeeSharp.Server.Tests", "node");
        var node = FindOnPath("node");
        Skip.If(node is null, "node is not installed (apt-get install -y nodejs npm)");
        Skip.IfNot(File.Exists(Path.Combine(dir, "node_modules", "openai", "package.json")),
            $"the openai npm package is not installed: npm ci --prefix {dir}");

        var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
        var request = JsonNode.Parse(TinyModelHost.SeedRequest())!.AsObject();
        request["baseURL"] = new Uri(tiny.Host.Address, "v1").ToString();
        request["apiKey"] = TinyModelHost.ApiKey;
        var file = Path.Combine(Path.GetTempPath(), $"seesharp-node-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, request.ToJsonString());
        try
        {
            var psi = new ProcessStartInfo(node!, [Path.Combine(dir, "chat.mjs"), file])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir,
            };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1))) await process.WaitForExitAsync(limit.Token);
            Assert.True(process.ExitCode == 0, $"node exited with {process.ExitCode}: {await stderr}");
            var result = TinyModelHost.Parse(await stdout);
            string finish = TinyModelHost.FinishName(expected.FinishReason);
            Assert.Equal(expected.Text, result.GetProperty("text").GetString());
            Assert.Equal(finish, result.GetProperty("finish").GetString());
            Assert.Equal(expected.PromptTokens, result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
            Assert.Equal(expected.Tokens.Count, result.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("assistant", result.GetProperty("streamRole").GetString());
            Assert.Equal(expected.Text, result.GetProperty("streamText").GetString());
            Assert.Equal(finish, result.GetProperty("streamFinish").GetString());
            Assert.Equal(expected.Tokens.Count, result.GetProperty("streamUsage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal(401, result.GetProperty("unauthorized").GetProperty("status").GetInt32());
        }
        finally
        {
            File.Delete(file);
        }
    }

    internal static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
