using SeeSharp.Testing;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// <see cref="ChatTemplateLocator"/> against transformers' lookup order (chat_template.jinja, chat_template.json,
/// processor_config.json, tokenizer_config.json; named templates from a list) on throw-away folders, plus the real
/// idefics2-tiny model folder. Property tests, exact string equality.
/// </summary>
public sealed class LocatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seesharp-tpl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string file, string text) => File.WriteAllText(Path.Combine(_dir, file), text);

    [Fact]
    public void NoTemplateGivesNull()
    {
        Write("config.json", "{}");
        Write("tokenizer_config.json", """{"bos_token": "<s>"}""");
        Assert.Null(ChatTemplateLocator.Find(_dir));
    }

    [Fact]
    public void JinjaFileWinsOverEverything()
    {
        Write("chat_template.jinja", "J");
        Write("chat_template.json", """{"chat_template": "A"}""");
        Write("processor_config.json", """{"chat_template": "P"}""");
        Write("tokenizer_config.json", """{"chat_template": "T"}""");
        Assert.Equal("J", ChatTemplateLocator.Find(_dir));
    }

    [Fact]
    public void ChatTemplateJsonWinsOverProcessorAndTokenizer()
    {
        Write("chat_template.json", """{"chat_template": "A"}""");
        Write("processor_config.json", """{"chat_template": "P"}""");
        Write("tokenizer_config.json", """{"chat_template": "T"}""");
        Assert.Equal("A", ChatTemplateLocator.Find(_dir));
    }

    [Fact]
    public void ProcessorConfigWinsOverTokenizer()
    {
        Write("processor_config.json", """{"image_seq_len": 64, "chat_template": "P"}""");
        Write("tokenizer_config.json", """{"chat_template": "T"}""");
        Assert.Equal("P", ChatTemplateLocator.Find(_dir));
    }

    [Fact]
    public void ProcessorConfigWithoutKeyFallsThrough()
    {
        Write("processor_config.json", """{"image_seq_len": 64, "chat_template": null}""");
        Write("tokenizer_config.json", """{"chat_template": "T"}""");
        Assert.Equal("T", ChatTemplateLocator.Find(_dir));
    }

    [Fact]
    public void TokenizerListPicksDefaultOrName()
    {
        Write("tokenizer_config.json", """{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "U"}]}""");
        Assert.Equal("D", ChatTemplateLocator.Find(_dir));
        Assert.Equal("U", ChatTemplateLocator.Find(_dir, "tool_use"));
        var ex = Assert.Throws<InvalidDataException>(() => ChatTemplateLocator.Find(_dir, "rag"));
        Assert.Contains("rag", ex.Message);
        Assert.Contains("tool_use", ex.Message);
    }

    [Fact]
    public void TokenizerListWithoutDefaultNeedsAName()
    {
        Write("tokenizer_config.json", """{"chat_template": [{"name": "a", "template": "A"}]}""");
        var ex = Assert.Throws<InvalidDataException>(() => ChatTemplateLocator.Find(_dir));
        Assert.Contains("default", ex.Message);
    }

    [Theory]
    [InlineData("chat_template.json", "{not json", "not valid JSON")]
    [InlineData("chat_template.json", """{"chat_template": 5}""", "\"chat_template\"")]
    [InlineData("processor_config.json", """{"chat_template": ["x"]}""", "\"chat_template\"")]
    [InlineData("processor_config.json", """[1, 2]""", "JSON object")]
    [InlineData("tokenizer_config.json", """{"chat_template": {"a": 1}}""", "\"chat_template\"")]
    [InlineData("tokenizer_config.json", """{"chat_template": [{"name": "default"}]}""", "\"chat_template\"[0]")]
    [InlineData("tokenizer_config.json", """{"chat_template": "unterminated""", "not valid JSON")]
    public void MalformedFilesNameFileAndField(string file, string content, string mention)
    {
        Write(file, content);
        var ex = Assert.Throws<InvalidDataException>(() => ChatTemplateLocator.Find(_dir));
        Assert.Contains(file, ex.Message);
        Assert.Contains(mention, ex.Message);
    }

    [Fact]
    public void MissingFolderIsAnError() =>
        Assert.Throws<DirectoryNotFoundException>(() => ChatTemplateLocator.Find(Path.Combine(_dir, "nope")));

    [Fact]
    public void FindsTinyModelTemplateInChatTemplateJson()
    {
        string? t = ChatTemplateLocator.Find(Fixtures.Path("idefics2-tiny", "model"));
        Assert.NotNull(t);
        Assert.StartsWith("{% for message in messages %}{{message['role'].capitalize()}}", t);
    }
}
