using System.Text.Json;
using SeeSharp.Generation;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// The tiny random Idefics2 (tests/fixtures/idefics2-tiny/model) loaded once, served by a <see cref="SeeSharpServer"/>
/// on 127.0.0.1 and a free port, with the API key <see cref="ApiKey"/>. Expected answers come from the same model
/// through the public API (<see cref="VisionModel.GenerateAsync"/>).
/// </summary>
public sealed class TinyModelHost : IAsyncLifetime
{
    public const string ApiKey = "test-key-0123";
    public const int MaxTokens = 20;
    public static readonly string Folder = Fixtures.Path("idefics2-tiny", "model");

    public VisionModel Model { get; private set; } = null!;
    public Processor Processor { get; private set; } = null!;
    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Model = await VisionModel.FromPretrainedAsync(Folder);
        Processor = await Processor.FromPretrainedAsync(Folder);
        Host = await TestHost.StartAsync(new VisionModelChatBackend(Model, Processor, "idefics2-tiny"), new ServerOptions { ApiKey = ApiKey, MaxQueueLength = 8 });
        Host.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Model.Dispose();
    }

    public static byte[] Png(string name) => File.ReadAllBytes(Fixtures.Path("images", name));

    /// <summary>The seed conversation of the fixtures: two images over a multi-turn chat.</summary>
    public static Chat SeedChat() => new Chat()
        .User(Image.FromBytes(Png("chelsea.png")), "What do we see in this image?")
        .Assistant("In this image we can see two cats on the nets.")
        .User(Image.FromBytes(Png("coffee.png")), "And how about this image?");

    /// <summary>The same conversation as an OpenAI request body (images as base64 data: URLs).</summary>
    public static string SeedRequest(string extra = "")
    {
        string chelsea = Api.DataUrl(Png("chelsea.png")), coffee = Api.DataUrl(Png("coffee.png"));
        return "{\"model\": \"idefics2-tiny\", \"max_tokens\": " + MaxTokens + (extra.Length > 0 ? ", " + extra : "") + ", \"messages\": ["
            + "{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"" + chelsea + "\"}}, {\"type\": \"text\", \"text\": \"What do we see in this image?\"}]},"
            + "{\"role\": \"assistant\", \"content\": \"In this image we can see two cats on the nets.\"},"
            + "{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"" + coffee + "\"}}, {\"type\": \"text\", \"text\": \"And how about this image?\"}]}"
            + "]}";
    }

    /// <summary>The answer of the public API for <paramref name="chat"/>, greedy (the checkpoint's default), <see cref="MaxTokens"/> tokens at most.</summary>
    public async Task<GenerationResult> ExpectedAsync(Chat chat, int maxTokens = MaxTokens)
        => await Model.GenerateAsync(Processor.Apply(chat, addGenerationPrompt: true), new GenerationOptions { MaxNewTokens = maxTokens });

    public static string FinishName(FinishReason r) => r == FinishReason.Length ? "length" : "stop";

    public static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
