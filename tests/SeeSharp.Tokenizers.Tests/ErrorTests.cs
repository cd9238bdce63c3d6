namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Bad input: unknown component types, malformed JSON, missing files and fields must fail with an exception whose
/// message names the file, the JSON path and the offending value. Property tests, no reference output.
/// </summary>
public class ErrorTests
{
    private const string Model = """{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}""";

    private static TokenizerFormatException Bad(string json, string? config = null) =>
        Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromJson(json, config));

    [Theory]
    [InlineData("normalizer", "FancyNorm", "$.normalizer.type")]
    [InlineData("pre_tokenizer", "FancyPre", "$.pre_tokenizer.type")]
    [InlineData("post_processor", "FancyPost", "$.post_processor.type")]
    [InlineData("decoder", "FancyDecoder", "$.decoder.type")]
    public void UnknownComponentType_NamesFilePathAndType(string field, string type, string path)
    {
        var e = Bad($$$"""{"model":{{{Model}}},"{{{field}}}":{"type":"{{{type}}}"}}""");
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains(type, e.Message);
        Assert.Equal(path, e.JsonPath);
    }

    [Fact]
    public void UnknownTypeInsideSequence_NamesTheIndex()
    {
        var e = Bad($$$"""{"model":{{{Model}}},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits"},{"type":"Nope"}]}}""");
        Assert.Equal("$.pre_tokenizer.pretokenizers[1].type", e.JsonPath);
        Assert.Contains("Nope", e.Message);
    }

    [Fact]
    public void UnknownModelType_NamesIt()
    {
        var e = Bad("""{"model":{"type":"Magic","vocab":{}}}""");
        Assert.Equal("$.model.type", e.JsonPath);
        Assert.Contains("Magic", e.Message);
    }

    [Fact]
    public void MalformedJson_NamesFileAndPosition()
    {
        var e = Bad("""{"model": {"type": "BPE", "vocab": {"a": 0,}""");
        Assert.Equal("$", e.JsonPath);
        Assert.Contains("malformed JSON", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
        var c = Bad($$$"""{"model":{{{Model}}}}""", "{ not json");
        Assert.Contains("tokenizer_config.json", c.Message);
    }

    [Fact]
    public void MissingAndMistypedFields_AreNamed()
    {
        Assert.Equal("$.model", Bad("""{"normalizer":null}""").JsonPath);
        Assert.Equal("$.model.vocab.a", Bad("""{"model":{"type":"BPE","vocab":{"a":"zero"},"merges":[]}}""").JsonPath);
        var m = Bad("""{"model":{"type":"BPE","vocab":{"a":0},"merges":["a c"]}}""");
        Assert.Equal("$.model.merges[0]", m.JsonPath);
        Assert.Contains("'c'", m.Message);
        Assert.Equal("$.normalizer.prepend", Bad($$$"""{"model":{{{Model}}},"normalizer":{"type":"Prepend"}}""").JsonPath);
        Assert.Contains("regex", Bad($$$"""{"model":{{{Model}}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"}}""").Message);
        Assert.Contains("Basic Multilingual Plane", Bad($$$"""{"model":{{{Model}}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"[𐐀-𐑏]+"},"behavior":"Isolated"}}""").Message);
        Assert.Contains("Precompiled", Bad($$$"""{"model":{{{Model}}},"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAA"}}""").Message);
        Assert.Equal("$.added_tokens[0].id", Bad($$$"""{"model":{{{Model}}},"added_tokens":[{"content":"<x>"}]}""").JsonPath);
        Assert.Equal("$.pre_tokenizer.behavior", Bad($$$"""{"model":{{{Model}}},"pre_tokenizer":{"type":"Split","pattern":{"String":" "},"behavior":"Sideways"}}""").JsonPath);
    }

    [Fact]
    public void MissingFiles_NameThePath()
    {
        var dir = Path.Combine(Path.GetTempPath(), "seesharp-tok-missing-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => Tokenizer.FromFile(Path.Combine(dir, "tokenizer.json")));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => Tokenizer.FromFolder(dir));
        Directory.CreateDirectory(dir);
        try
        {
            var f = Assert.Throws<FileNotFoundException>(() => Tokenizer.FromFolder(dir));
            Assert.Contains(dir, f.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), $$$"""{"model":{{{Model}}}}""");
            var cfg = Assert.Throws<FileNotFoundException>(() => Tokenizer.FromFile(Path.Combine(dir, "tokenizer.json"), Path.Combine(dir, "nope.json")));
            Assert.Contains("nope.json", cfg.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "[1, 2");
            var bad = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromFolder(dir));
            Assert.Contains(Path.Combine(dir, "tokenizer.json"), bad.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TruncatedRealFile_FailsCleanly()
    {
        var bytes = File.ReadAllBytes(SeeSharp.Testing.Fixtures.Path("idefics2-tiny", "model", "tokenizer.json"));
        var e = Assert.Throws<TokenizerFormatException>(() => Tokenizer.Load("tokenizer.json", bytes[..(bytes.Length / 2)], null, null));
        Assert.Contains("malformed JSON", e.Message);
    }
}
