using SeeSharp.Server;

namespace SeeSharp.Server.Tests;

/// <summary>
/// How an OpenAI request becomes SeeSharp generation options and a chat (VisionModelChatBackend): the documented
/// temperature rule (absent: checkpoint default, 0: greedy, above 0: sampling), token budgets against the context,
/// roles and image order. Compared against: hand-written expected values.
/// </summary>
public sealed class BackendMappingTests
{
    private static ChatRequest Request(float? temperature = null, int? maxTokens = null) => new()
    {
        Messages = [new ChatRequestMessage("user", [ChatRequestPart.FromText("hi")])],
        Temperature = temperature, MaxTokens = maxTokens, DefaultMaxTokens = 512, TopP = 0.9f, TopK = 7, Seed = -1,
    };

    [Fact]
    public void TemperatureRule()
    {
        var absent = VisionModelChatBackend.ToOptions(Request(), 10, 4096);
        Assert.Null(absent.DoSample);
        Assert.Null(absent.Temperature);
        var zero = VisionModelChatBackend.ToOptions(Request(0f), 10, 4096);
        Assert.False(zero.DoSample);
        Assert.Null(zero.Temperature);
        var warm = VisionModelChatBackend.ToOptions(Request(0.7f), 10, 4096);
        Assert.True(warm.DoSample);
        Assert.Equal(0.7f, warm.Temperature);
        Assert.Equal(0.9f, warm.TopP);
        Assert.Equal(7, warm.TopK);
        Assert.Equal(ulong.MaxValue, warm.Seed); // seed -1 keeps its 64 bits
    }

    [Fact]
    public void TokenBudgets()
    {
        Assert.Equal(512, VisionModelChatBackend.ToOptions(Request(), 10, 4096).MaxNewTokens);
        Assert.Equal(96, VisionModelChatBackend.ToOptions(Request(), 4000, 4096).MaxNewTokens); // default cut to the room left
        Assert.Equal(96, VisionModelChatBackend.ToOptions(Request(maxTokens: 96), 4000, 4096).MaxNewTokens);
        Assert.Equal("max_tokens", Assert.Throws<ApiException>(() => VisionModelChatBackend.ToOptions(Request(maxTokens: 97), 4000, 4096)).Param);
        Assert.Equal("context_length_exceeded", Assert.Throws<ApiException>(() => VisionModelChatBackend.ToOptions(Request(), 4096, 4096)).Code);
    }

    [Fact]
    public void ChatKeepsRolesAndPartOrder()
    {
        byte[] a = [1, 2, 3], b = [4, 5];
        var chat = VisionModelChatBackend.ToChat(new ChatRequest
        {
            Messages =
            [
                new ChatRequestMessage("system", [ChatRequestPart.FromText("sys")]),
                new ChatRequestMessage("user", [ChatRequestPart.FromImage(a), ChatRequestPart.FromText("q"), ChatRequestPart.FromImage(b)]),
                new ChatRequestMessage("assistant", [ChatRequestPart.FromText("ans")]),
            ],
        });
        Assert.Equal(["system", "user", "assistant"], chat.Turns.Select(t => t.Role));
        var parts = chat.Turns[1].Parts;
        Assert.Equal(a, parts[0].Image!.Bytes);
        Assert.Equal("q", parts[1].Text);
        Assert.Equal(b, parts[2].Image!.Bytes);
    }
}
