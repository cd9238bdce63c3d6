using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// Compares against transformers 4.45.2 renders of the real Idefics2 chat template:
/// tests/fixtures/idefics2-chat-template/*/rendered.txt (Idefics2Processor.apply_chat_template of messages.json), and
/// the prompt&lt;k&gt;.txt files of tests/fixtures/idefics2-tiny/cases and idefics3-tiny/cases, rendered from the
/// model folder's own chat_template.json (found through <see cref="ChatTemplateLocator"/>). Tolerance: none (exact
/// string equality).
/// </summary>
public sealed class Idefics2TemplateTests
{
    public static TheoryData<string> ConversationCases()
    {
        var data = new TheoryData<string>();
        using var index = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("idefics2-chat-template", "index.json")));
        foreach (var p in index.RootElement.EnumerateObject()) data.Add(p.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ConversationCases))]
    public void RendersReferenceConversation(string caseName)
    {
        var template = ChatTemplate.Parse(File.ReadAllText(Fixtures.Path("idefics2-chat-template", "chat_template.jinja")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("idefics2-chat-template", caseName, "messages.json")));
        var messages = (List<object?>)TemplateValues.FromJson(doc.RootElement.GetProperty("messages"))!;
        bool agp = doc.RootElement.GetProperty("add_generation_prompt").GetBoolean();
        string expected = File.ReadAllText(Fixtures.Path("idefics2-chat-template", caseName, "rendered.txt"));
        Assert.Equal(expected, template.Apply(messages, agp, SpecialTokens("idefics2-tiny")));
    }

    /// <summary>
    /// case.json of the tiny-model cases records ids and images but not the messages; the README says each prompt is
    /// apply_chat_template(messages, add_generation_prompt=True). The messages are the seed conversation of
    /// idefics2-chat-template/seed_2img_genprompt (two images), or one image + "Describe the picture.", or text only,
    /// as each case's note and image list say.
    /// </summary>
    private static List<object?> MessagesFor(string model, string caseName, int sample)
    {
        string json = (model, caseName, sample) switch
        {
            (_, "chat_2img" or "chat_2img_split", 0) or ("idefics2-tiny", "batch2_leftpad", 0) =>
                File.ReadAllText(Fixtures.Path("idefics2-chat-template", "seed_2img_genprompt", "messages.json")),
            (_, "single_img" or "single_img_nosplit", 0) or ("idefics2-tiny", "batch2_leftpad", 1) =>
                """{"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe the picture."}]}]}""",
            ("idefics2-tiny", "text_only", 0) =>
                """{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is in the picture? Answer briefly."}]}]}""",
            _ => throw new InvalidOperationException($"no messages known for {model}/{caseName} sample {sample}"),
        };
        using var doc = JsonDocument.Parse(json);
        return (List<object?>)TemplateValues.FromJson(doc.RootElement.GetProperty("messages"))!;
    }

    /// <summary>bos/eos/unk/pad tokens of special_tokens_map.json, as transformers passes them to the template.</summary>
    private static Dictionary<string, object?> SpecialTokens(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path(model, "model", "special_tokens_map.json")));
        var d = new Dictionary<string, object?>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            d[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.Object => p.Value.GetProperty("content").GetString(),
                JsonValueKind.Array => p.Value.EnumerateArray().Select(x => (object?)(x.ValueKind == JsonValueKind.Object ? x.GetProperty("content").GetString() : x.GetString())).ToList(),
                _ => p.Value.GetString(),
            };
        }
        return d;
    }

    public static TheoryData<string, string, int> TinyPrompts()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var model in new[] { "idefics2-tiny", "idefics3-tiny" })
        {
            foreach (var dir in Directory.GetDirectories(Fixtures.Path(model, "cases")).OrderBy(d => d, StringComparer.Ordinal))
            {
                foreach (var f in Directory.GetFiles(dir, "prompt*.txt").Where(f => !f.EndsWith("_expanded.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                {
                    string stem = Path.GetFileNameWithoutExtension(f);
                    data.Add(model, Path.GetFileName(dir), int.Parse(stem["prompt".Length..], System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
        return data;
    }

    [Fact]
    public void TinyPromptsAreAllFound() => Assert.Equal(8, TinyPrompts().Count);

    [Theory]
    [MemberData(nameof(TinyPrompts))]
    public void RendersTinyModelPrompt(string model, string caseName, int sample)
    {
        string? source = ChatTemplateLocator.Find(Fixtures.Path(model, "model"));
        Assert.NotNull(source);
        var template = ChatTemplate.Parse(source);
        string expected = File.ReadAllText(Fixtures.Path(model, "cases", caseName, $"prompt{sample}.txt"));
        Assert.Equal(expected, template.Apply(MessagesFor(model, caseName, sample), addGenerationPrompt: true, SpecialTokens(model)));
    }
}
