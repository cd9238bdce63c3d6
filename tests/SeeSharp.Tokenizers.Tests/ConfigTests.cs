using SeeSharp.Testing;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// tokenizer_config.json handling, checked against the fixture files' own contents (special tokens, flags) and
/// against transformers' documented behaviour (LlamaTokenizerFast rebuilds its template from add_bos/add_eos;
/// split_special_tokens). Exact equality.
/// </summary>
public class ConfigTests
{
    [Fact]
    public void SpecialTokens_FromConfig()
    {
        var t = FixtureData.Tok("idefics2_like");
        Assert.Equal("<s>", t.BosToken);
        Assert.Equal("</s>", t.EosToken);
        Assert.Equal("<unk>", t.UnkToken);
        Assert.Equal("<s>", t.SpecialTokensMap["bos_token"]);
        Assert.Equal(32003, t.VocabSize);
        Assert.Equal(32001, t.TokenToId("<image>"));
        Assert.Equal("<end_of_utterance>", t.IdToToken(32002));
        Assert.True(t.IsSpecial(32001));
        Assert.False(t.IsSpecial(100));
        Assert.True(t.AddBosToken);
        Assert.False(t.AddEosToken);

        var q = FixtureData.Tok("qwen3");
        Assert.Null(q.BosToken);
        Assert.Equal("<|im_end|>", q.EosToken);
        Assert.Equal("<|endoftext|>", q.PadToken);
        Assert.Equal(131072, q.ModelMaxLength);
        Assert.False(q.IsSpecial(q.TokenToId("<think>")!.Value)); // added but not special

        Assert.StartsWith("{%- if tools %}", q.ChatTemplate);
        Assert.Equal(13, q.AdditionalSpecialTokens.Count);
        Assert.Equal("<|im_start|>", q.AdditionalSpecialTokens[0]);
        Assert.Equal("right", q.PaddingSide);
        Assert.Null(t.ChatTemplate);
        Assert.Equal("left", Tokenizer.FromFolder(Fixtures.Path("idefics2-tiny", "model")).PaddingSide);

        var l = FixtureData.Tok("llama3");
        Assert.Equal(128256, l.VocabSize);
        Assert.Equal(int.MaxValue, l.ModelMaxLength); // 1e30 = "no limit"
        Assert.True(l.CleanUpTokenizationSpaces);
    }

    [Fact]
    public void LlamaConfig_RebuildsTemplateFromAddBosAddEos()
    {
        var json = File.ReadAllText(Fixtures.Path("tokenizers", "mistral_v01", "tokenizer.json"));
        var t = Tokenizer.FromJson(json, """{"tokenizer_class":"LlamaTokenizer","add_bos_token":false,"add_eos_token":true,"bos_token":"<s>","eos_token":"</s>"}""");
        var plain = FixtureData.Tok("mistral_v01").Encode("Hi there", addSpecialTokens: false).Ids;
        Assert.Equal([.. plain, 2], t.Encode("Hi there").Ids);
        var e = Assert.Throws<TokenizerFormatException>(() =>
            Tokenizer.FromJson(json, """{"tokenizer_class":"LlamaTokenizer","add_eos_token":true,"eos_token":"<nope>"}"""));
        Assert.Contains("$.eos_token", e.Message);
    }

    [Fact]
    public void NamedChatTemplates_DefaultIsChosen()
    {
        const string tj = """{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""";
        var t = Tokenizer.FromJson(tj, """{"chat_template":[{"name":"tool_use","template":"T"},{"name":"default","template":"D"}]}""");
        Assert.Equal("D", t.ChatTemplate);
        Assert.Equal("T", t.ChatTemplates["tool_use"]);
    }

    [Fact]
    public void SplitSpecialTokens_EncodesThemAsText()
    {
        var json = File.ReadAllText(Fixtures.Path("tokenizers", "qwen3", "tokenizer.json"));
        var t = Tokenizer.FromJson(json, """{"split_special_tokens":true}""");
        var ids = t.Encode("<|im_start|>user").Ids;
        Assert.DoesNotContain(151644, ids);
        Assert.Equal("<|im_start|>user", t.Decode(ids));
    }

    [Fact]
    public void AddedTokensDecoder_AddsMissingTokens()
    {
        const string tj = """{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}""";
        var t = Tokenizer.FromJson(tj, """{"added_tokens_decoder":{"3":{"content":"<img>","special":true,"normalized":false,"lstrip":false,"rstrip":false,"single_word":false}}}""");
        Assert.Equal([2, 3, 0], t.Encode("ab<img>a").Ids);
        Assert.True(t.IsSpecial(3));
        Assert.Equal("ab a", t.Decode([2, 3, 0], skipSpecialTokens: true));
        Assert.Equal(4, t.VocabSize);
    }
}

/// <summary>Hostile text: lone surrogates and control chars must encode without throwing (property test).</summary>
public class HostileTextTests
{
    [Theory]
    [InlineData("mistral_v01")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void LoneSurrogates_DoNotThrow(string name)
    {
        var tok = FixtureData.Tok(name);
        var text = "a\uD800b \uDC00c \uD83D";
        var e = tok.Encode(text);
        Assert.NotEmpty(e.Ids);
        Assert.All(e.Offsets, o => Assert.True(o.Start <= o.End && o.End <= text.Length));
        Assert.NotNull(tok.Decode(e.Ids));
    }
}
