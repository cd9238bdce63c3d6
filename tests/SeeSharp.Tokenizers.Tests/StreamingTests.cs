using SeeSharp.Testing;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Streaming decode properties: the concatenated chunks equal the Rust decode (skip special) of the whole sequence
/// — for the fixture strings (see FixtureTests), for the generated rows of tests/fixtures/idefics2-tiny and
/// idefics3-tiny tokenizer_json_check.json (invalid byte-fallback runs), and for emoji byte sequences; no chunk holds
/// a lone surrogate or a U+FFFD the full decode does not have. Exact equality.
/// </summary>
public class StreamingTests
{
    internal static void AssertNoBrokenText(string chunk, string full)
    {
        for (int i = 0; i < chunk.Length; i++)
        {
            if (char.IsHighSurrogate(chunk[i]))
            {
                Assert.True(i + 1 < chunk.Length && char.IsLowSurrogate(chunk[i + 1]), $"lone high surrogate in chunk '{chunk}'");
                i++;
            }
            else Assert.False(char.IsLowSurrogate(chunk[i]), $"lone low surrogate in chunk '{chunk}'");
        }
        if (chunk.Contains('\uFFFD')) Assert.Contains('\uFFFD', full);
    }

    private static string Stream(Tokenizer tok, IEnumerable<int> ids, bool skip, List<string>? chunks = null)
    {
        var s = tok.CreateStreamingDecoder(skip);
        var sb = new System.Text.StringBuilder();
        foreach (var id in ids) { var p = s.Push(id); chunks?.Add(p); sb.Append(p); }
        var f = s.Flush();
        chunks?.Add(f);
        return sb.Append(f).ToString();
    }

    [Theory]
    [InlineData("idefics2-tiny")]
    [InlineData("idefics3-tiny")]
    public void GeneratedRows_StreamEqualsRustDecode(string model)
    {
        var tok = Tokenizer.FromFolder(Fixtures.Path(model, "model"));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path(model, "tokenizer_json_check.json")));
        foreach (var row in doc.RootElement.GetProperty("generated_token_decodes").EnumerateArray())
        {
            var ids = FixtureData.Ints(row.GetProperty("new_tokens"));
            var full = row.GetProperty("tokenizer_json_decode_skip_special_tokens").GetString()!;
            var chunks = new List<string>();
            Assert.Equal(full, Stream(tok, ids, skip: true, chunks));
            foreach (var c in chunks) AssertNoBrokenText(c, full);
        }
    }

    [Fact]
    public void EmojiByteFallback_NeverEmitsHalfCharacters()
    {
        var tok = FixtureData.Tok("mistral_v01");
        var text = "llama 🦙 family 👨‍👩‍👧 ok é 𠀀";
        var ids = tok.Encode(text).Ids;
        var chunks = new List<string>();
        var full = tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
        Assert.Equal(full, Stream(tok, ids, skip: true, chunks));
        Assert.DoesNotContain('\uFFFD', full);
        foreach (var c in chunks) AssertNoBrokenText(c, full);
        // byte tokens are held until their run ends: the 🦙's 4 byte tokens produce one chunk
        Assert.Contains(chunks, c => c.Contains("🦙"));
    }

    [Fact]
    public void ByteLevelEmoji_NeverEmitsHalfCharacters()
    {
        var tok = FixtureData.Tok("llama3");
        var ids = tok.Encode("emoji 😀🎉👍🏽 family 👨‍👩‍👧 flag 🇫🇷 llama 🦙").Ids;
        var chunks = new List<string>();
        var full = tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
        Assert.Equal(full, Stream(tok, ids, skip: true, chunks));
        foreach (var c in chunks) AssertNoBrokenText(c, full);
    }

    [Fact]
    public void InvalidByteRun_BecomesOneReplacementPerByte()
    {
        // <0xC3><0xA9> is "é"; adding <0x80> makes the whole run invalid: Rust gives three U+FFFD.
        var tok = Tokenizer.FromFolder(Fixtures.Path("idefics2-tiny", "model"));
        int B(int b) => tok.TokenToId($"<0x{b:X2}>")!.Value;
        var ids = new[] { B(0xC3), B(0xA9), B(0x80), tok.TokenToId("▁t")!.Value };
        var full = tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
        Assert.StartsWith("\uFFFD\uFFFD\uFFFD", full);
        Assert.Equal(full, Stream(tok, ids, skip: true));
        var ok = new[] { B(0xC3), B(0xA9), tok.TokenToId("▁t")!.Value };
        Assert.Equal("é t", Stream(tok, ok, skip: true));
    }

    [Fact]
    public void LeadingSpace_StrippedOnlyAtTheVeryStart()
    {
        var tok = FixtureData.Tok("mistral_v01");
        var ids = tok.Encode("Hello world, how are you?", addSpecialTokens: true).Ids;
        var chunks = new List<string>();
        Assert.Equal("Hello world, how are you?", Stream(tok, ids, skip: true, chunks));
        Assert.Equal("Hello", chunks.First(c => c.Length > 0));
    }

    [Theory]
    [InlineData("mistral_v01")]
    [InlineData("idefics2_like")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("mistral_v01+metaspace")]
    public void RandomIdSequences_StreamEqualsDecode(string name)
    {
        // Property test (seeded): random mixes of byte tokens, special tokens, ordinary pieces and ids of real text.
        // "+metaspace": the Mistral vocabulary with a Metaspace pre-tokenizer and a [ByteFallback, Metaspace] decoder
        // (Llama-2 / T5 style), whose first-token rule the window must respect.
        var tok = name.EndsWith("+metaspace", StringComparison.Ordinal) ? MetaspaceVariant() : FixtureData.Tok(name);
        name = name.Split('+')[0];
        var rng = new Random(1234);
        var pool = new List<int>();
        for (int b = 0; b < 256; b++) if (tok.TokenToId($"<0x{b:X2}>") is int bid) pool.Add(bid);
        for (int b = 0; b < 256; b++) if (tok.TokenToId(((char)ByteLevel.ByteToChar[b]).ToString()) is int cid) pool.Add(cid);
        foreach (var c in FixtureData.Cases(name)) pool.AddRange(FixtureData.Ints(c.GetProperty("ids_add_special")));
        for (int k = 0; k < 200; k++) pool.Add(rng.Next(tok.VocabSize));
        for (int trial = 0; trial < 300; trial++)
        {
            var ids = Enumerable.Range(0, rng.Next(1, 24)).Select(_ => pool[rng.Next(pool.Count)]).ToArray();
            foreach (var skip in new[] { true, false })
            {
                var chunks = new List<string>();
                var full = tok.Decode(ids, skip, cleanUpTokenizationSpaces: false);
                var streamed = Stream(tok, ids, skip, chunks);
                Assert.True(full == streamed, $"ids [{string.Join(",", ids)}] skip={skip}: full '{full}' streamed '{streamed}'");
                foreach (var c in chunks) AssertNoBrokenText(c, full);
            }
        }
    }

    private static Tokenizer MetaspaceVariant()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixtures.Path("tokenizers", "mistral_v01", "tokenizer.json")))!;
        node["normalizer"] = null;
        node["pre_tokenizer"] = System.Text.Json.Nodes.JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}""");
        node["decoder"] = System.Text.Json.Nodes.JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}]}""");
        return Tokenizer.FromJson(node.ToJsonString());
    }

    [Fact]
    public void MetaspaceVariant_EncodesLikeTheLegacyForm()
    {
        // Metaspace(prepend first) without added tokens in the text = Prepend+Replace normalizer: same ids.
        var t = MetaspaceVariant();
        foreach (var text in new[] { "Hello world", "two  spaces inside", "naïve café 🦙" }) // no leading space: Metaspace would not prepend then
            Assert.Equal(FixtureData.Tok("mistral_v01").Encode(text).Ids, t.Encode(text).Ids);
        Assert.Equal("Hello world", t.Decode(t.Encode("Hello world").Ids, skipSpecialTokens: true));
    }
}
