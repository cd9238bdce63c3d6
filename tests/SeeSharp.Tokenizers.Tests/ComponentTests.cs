using System.Text.Json;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Components that the four fixture tokenizers do not use, checked against the expected values of the Rust
/// tokenizers crate's own unit tests (pre_tokenizers/{split,digits,punctuation,whitespace,bert,metaspace}.rs,
/// tokenizer/added_vocabulary.rs, models/unigram/model.rs; offsets there are bytes of ASCII text, which equal our
/// UTF-16 offsets) and against the documented behaviour of each component. Exact equality.
/// </summary>
public class ComponentTests
{
    private static JNode Node(string json) => new(JsonDocument.Parse(json).RootElement.Clone(), "test.json", "$");

    private static List<(string, int, int)> PreTok(string json, string text)
    {
        var pre = PreTokenizer.Load(Node(json));
        var splits = new List<PieceSplit> { new(NormalizedString.FromOriginal(text, 0, text.Length)) };
        pre.PreTokenize(splits);
        return splits.Select(s => { var (a, b) = s.N.ToOriginal(0, s.N.Length); return (s.N.Text, a, b); }).ToList();
    }

    public static IEnumerable<object[]> SplitBehaviors() =>
    [
        ["Removed", new[] { ("How", 0, 3), ("are", 4, 7), ("you", 8, 11), ("doing", 12, 17), ("?", 17, 18) }],
        ["Isolated", new[] { ("How", 0, 3), (" ", 3, 4), ("are", 4, 7), (" ", 7, 8), ("you", 8, 11), (" ", 11, 12), ("doing", 12, 17), ("?", 17, 18) }],
        ["MergedWithPrevious", new[] { ("How ", 0, 4), ("are ", 4, 8), ("you ", 8, 12), ("doing", 12, 17), ("?", 17, 18) }],
        ["MergedWithNext", new[] { ("How", 0, 3), (" are", 3, 7), (" you", 7, 11), (" doing", 11, 17), ("?", 17, 18) }],
        ["Contiguous", new[] { ("How", 0, 3), (" ", 3, 4), ("are", 4, 7), (" ", 7, 8), ("you", 8, 11), (" ", 11, 12), ("doing?", 12, 18) }],
    ];

    [Theory]
    [MemberData(nameof(SplitBehaviors))]
    public void Split_Behaviors_AsRust(string behavior, (string, int, int)[] expected)
    {
        var json = $$"""{"type":"Split","pattern":{"Regex":"\\w+|[^\\w\\s]+"},"behavior":"{{behavior}}","invert":true}""";
        Assert.Equal(expected, PreTok(json, "How are you doing?"));
    }

    [Fact]
    public void Split_StringPattern_EqualsRegex()
    {
        Assert.Equal(PreTok("""{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Removed","invert":false}""", "Hey, man!"),
            PreTok("""{"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false}""", "Hey, man!"));
        Assert.Equal(PreTok("""{"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false}""", "Hello Hello Hello"),
            PreTok("""{"type":"Split","pattern":{"String":"Hello"},"behavior":"Removed","invert":true}""", "Hello Hello Hello"));
    }

    [Fact]
    public void Digits_AsRust()
    {
        Assert.Equal([("Hey ", 0, 4), ("123", 4, 7), (" friend!", 7, 15)], PreTok("""{"type":"Digits","individual_digits":false}""", "Hey 123 friend!"));
        Assert.Equal([("Hey ", 0, 4), ("1", 4, 5), ("2", 5, 6), ("3", 6, 7), (" friend!", 7, 15)], PreTok("""{"type":"Digits","individual_digits":true}""", "Hey 123 friend!"));
    }

    [Fact]
    public void Punctuation_Whitespace_Bert_AsRust()
    {
        Assert.Equal([("Hey friend", 0, 10), ("!", 10, 11), ("     How are you", 11, 27), ("?", 27, 28), ("!", 28, 29), ("?", 29, 30)],
            PreTok("""{"type":"Punctuation"}""", "Hey friend!     How are you?!?"));
        Assert.Equal([("Hey", 0, 3), ("man", 4, 7), ("!", 7, 8)], PreTok("""{"type":"Whitespace"}""", "Hey man!"));
        Assert.Empty(PreTok("""{"type":"Whitespace"}""", "\n"));
        Assert.Equal([("Hey,", 0, 4), ("man,", 5, 9), ("Good?", 10, 15)], PreTok("""{"type":"WhitespaceSplit"}""", "Hey, man, Good?"));
        Assert.Equal([("Hey", 0, 3), ("friend", 4, 10), ("!", 10, 11), ("How", 16, 19), ("are", 20, 23), ("you", 24, 27), ("?", 27, 28), ("!", 28, 29), ("?", 29, 30)],
            PreTok("""{"type":"BertPreTokenizer"}""", "Hey friend!     How are you?!?"));
    }

    [Fact]
    public void Metaspace_AsRust()
    {
        const string json = """{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}""";
        Assert.Equal([("▁Hey", 0, 3), ("▁friend!", 3, 11)], PreTok(json, "Hey friend!"));
        Assert.Equal([("▁Hey", 0, 3), ("▁", 3, 4), ("▁", 4, 5), ("▁friend!", 5, 13)], PreTok(json, "Hey   friend!"));
        Assert.Equal([("▁Hey▁friend!", 0, 11)], PreTok("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}""", "Hey friend!"));
        Assert.Equal([("Hey", 0, 3), ("▁friend!", 3, 11)], PreTok("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}""", "Hey friend!"));
        var dec = Decoder.Load(Node("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"""));
        Assert.Equal("Hey friend!", dec.Decode(["▁Hey", "▁friend!"]));
    }

    [Fact]
    public void ByteLevel_PreTokenizer_SplitsOnScalars()
    {
        // GPT-2 regex: " ?\p{L}+" must take the astral letters 𝔘𝔫 as letters, and the emoji as one non-letter run.
        var r = PreTok("""{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}""", "x𝔘𝔫 🦙!");
        Assert.Equal(2, r.Count);
        Assert.Equal("Ġx" + ByteLevel.EncodeScalar(0x1D518) + ByteLevel.EncodeScalar(0x1D52B), r[0].Item1);
        Assert.Equal((0, 5), (r[0].Item2, r[0].Item3)); // "x𝔘𝔫" = 5 UTF-16 units, prefix space aligned to 'x'
        Assert.Equal((5, 9), (r[1].Item2, r[1].Item3)); // " 🦙!"
    }

    [Fact]
    public void ScalarRegex_CountsScalars()
    {
        // \p{N}{1,3} on astral digits (MATHEMATICAL DOUBLE-STRUCK DIGITs, Nd): groups of three scalars
        var re = new ScalarRegex(@"\p{N}{1,3}", "t", "$");
        var text = "𝟘𝟙𝟚𝟛𝟜";
        Assert.Equal([(0, 6), (6, 10)], re.Matches(text));
        var letters = new ScalarRegex(@"\p{L}+", "t", "$");
        Assert.Equal([(0, 6)], letters.Matches("a𝔘𝔫b"));
    }

    [Fact]
    public void StandIns_HaveTheirCategory()
    {
        foreach (System.Globalization.UnicodeCategory c in Enum.GetValues<System.Globalization.UnicodeCategory>())
        {
            if (c == System.Globalization.UnicodeCategory.Surrogate) continue;
            Assert.Equal(c, System.Globalization.CharUnicodeInfo.GetUnicodeCategory(ScalarRegex.StandIn(c)));
        }
    }

    private static List<(string Text, int? Id)> Extract(AddedVocabulary v, Normalizer? n, string text) =>
        v.ExtractAndNormalize(n, text).Select(s => (s.N.Text, s.Tokens?[0].Id)).ToList();

    [Fact]
    public void AddedTokens_Options_AsRust()
    {
        var v = new AddedVocabulary();
        v.Add(new AddedToken(0, "my", false, true, true, true, false));
        v.Add(new AddedToken(1, "name", false, false, false, true, false));
        v.Add(new AddedToken(2, "ony", false, false, false, true, true));
        v.Add(new AddedToken(3, "[CLS]", true, false, false, false, false));
        v.Add(new AddedToken(4, "[SEP]", true, false, false, false, false));
        var lower = new LowercaseNormalizer();
        v.Build(lower);
        Assert.Equal([("[CLS]", 3), (" my ", 0), ("name", 1), (" is anthony ", null), ("[SEP]", 4)],
            Extract(v, lower, "[CLS] My name is Anthony [SEP]"));
    }

    [Fact]
    public void AddedTokens_SingleWord_AsRust()
    {
        var v = new AddedVocabulary();
        v.Add(new AddedToken(0, "<mask>", false, false, false, true, true));
        var lower = new LowercaseNormalizer();
        v.Build(lower);
        Assert.Equal([("<mask>", 0), (" my name ", null), ("<mask>", 0), (" a<mask> <mask>ony ", null), ("<mask>", 0)],
            Extract(v, lower, "<mask> My name <mask> A<mask> <mask>ony <mask>"));
        Assert.Equal([("<mask>", 0), (", ", null), ("<mask>", 0), ("- ◌̰<mask>", null)],
            Extract(v, lower, "<mask>, <mask>- ◌̰<mask>"));
    }

    [Fact]
    public void AddedTokens_LStripRStrip_AsRust()
    {
        var v = new AddedVocabulary();
        v.Add(new AddedToken(0, "<mask>", false, true, true, true, true));
        var lower = new LowercaseNormalizer();
        v.Build(lower);
        Assert.Equal([("hi", null), (" <mask> ", 0), ("there", null), ("\t<mask>\t", 0), ("<mask>\u2000", 0)],
            Extract(v, lower, "Hi <mask> there\t<mask>\t<mask>\u2000"));
    }

    private static UnigramModel Unigram(params (string, double)[] pieces)
    {
        var json = JsonSerializer.Serialize(new { type = "Unigram", unk_id = 0, vocab = pieces.Select(p => new object[] { p.Item1, p.Item2 }).ToArray() });
        return UnigramModel.Load(Node(json));
    }

    [Fact]
    public void Unigram_Viterbi_AsRust()
    {
        var m = Unigram(("<unk>", 0), ("a", 0), ("b", 0), ("c", 0), ("d", 0), ("cd", 1), ("ab", 2), ("abc", 5), ("abcd", 10));
        Assert.Equal(["abcd"], m.Tokenize("abcd").Select(t => t.Value));
        var m2 = Unigram(("<unk>", 0), ("ab", 0), ("cd", -0.1), ("abc", -0.2), ("a", -0.3), ("b", -0.4), ("c", -0.5), ("ABC", -0.5),
            ("abcdabcd", 20), ("q", 20.5), ("r", 20.5), ("qr", -0.5));
        Assert.Equal(["abc"], m2.Tokenize("abc").Select(t => t.Value));
        Assert.Equal(["AB"], m2.Tokenize("AB").Select(t => t.Value));
        Assert.Equal(0, m2.Tokenize("AB")[0].Id);
        Assert.Equal(["ab", "cd"], m2.Tokenize("abcd").Select(t => t.Value));
        Assert.Equal(["abc", "c"], m2.Tokenize("abcc").Select(t => t.Value));
        Assert.Equal(["abcdabcd"], m2.Tokenize("abcdabcd").Select(t => t.Value));
        Assert.Equal(["q", "r"], m2.Tokenize("qr").Select(t => t.Value));
    }

    [Fact]
    public void Unigram_ByteFallback_AsRust()
    {
        var json = """{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["<unk>",0.0],["<0xC3>",-0.01],["<0xA9>",-0.03]]}""";
        var m = UnigramModel.Load(Node(json));
        Assert.Equal([new Token(1, "<0xC3>", 0, 1), new Token(2, "<0xA9>", 0, 1)], m.Tokenize("é"));
        Assert.Equal(0, m.Tokenize("?é")[0].Id);
    }

    [Fact]
    public void WordPiece_GreedyLongestMatch()
    {
        var t = Tokenizer.FromJson("""
        {"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
         "pre_tokenizer":{"type":"BertPreTokenizer"},
         "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
                  "vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"un":3,"##aff":4,"##able":5,"hello":6,"!":7,"cafe":8}},
         "post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]},
         "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
         "added_tokens":[{"id":1,"content":"[CLS]","special":true,"normalized":false},{"id":2,"content":"[SEP]","special":true,"normalized":false}]}
        """);
        var e = t.Encode("Unaffable hello! Café xyz");
        Assert.Equal(["[CLS]", "un", "##aff", "##able", "hello", "!", "cafe", "[UNK]", "[SEP]"], e.Tokens);
        Assert.Equal([(0, 0), (0, 2), (2, 5), (5, 9), (10, 15), (15, 16), (17, 21), (22, 25), (0, 0)], e.Offsets);
        Assert.Equal("unaffable hello! cafe [UNK]", t.Decode(e.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Roberta_ByteLevel_TrimOffsets()
    {
        var t = Tokenizer.FromJson("""
        {"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
         "model":{"type":"WordLevel","unk_token":"<unk>","vocab":{"<s>":0,"</s>":1,"<unk>":2,"Hello":3,"Ġworld":4}},
         "post_processor":{"type":"RobertaProcessing","sep":["</s>",1],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false},
         "decoder":{"type":"ByteLevel"},
         "added_tokens":[{"id":0,"content":"<s>","special":true},{"id":1,"content":"</s>","special":true}]}
        """);
        var e = t.Encode("Hello world");
        Assert.Equal([0, 3, 4, 1], e.Ids);
        Assert.Equal([(0, 0), (0, 5), (6, 11), (0, 0)], e.Offsets); // "Ġworld" trimmed to "world"
        Assert.Equal("<s>Hello world</s>", t.Decode(e.Ids));
        Assert.Equal("Hello world", t.Decode(e.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Normalizers_Compose()
    {
        static string Norm(string json, string text)
        {
            var n = Normalizer.Load(Node(json));
            var s = NormalizedString.FromOriginal(text, 0, text.Length);
            n.Normalize(s);
            return s.Text;
        }
        Assert.Equal("hello", Norm("""{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"StripAccents"},{"type":"Lowercase"},{"type":"Strip","left":true,"right":true}]}""", "  HÉLLO \t"));
        Assert.Equal("a-b-c", Norm("""{"type":"Replace","pattern":{"Regex":"\\s+"},"content":"-"}""", "a  b\tc"));
        Assert.Equal("fi", Norm("""{"type":"NFKC"}""", "ﬁ"));
        Assert.Equal("e\u0301", Norm("""{"type":"NFD"}""", "é"));
        Assert.Equal("é", Norm("""{"type":"NFC"}""", "e\u0301"));
        Assert.Equal("각", Norm("""{"type":"NFC"}""", "\u1100\u1161\u11A8"));
        Assert.Equal("\u1100\u1161\u11A8", Norm("""{"type":"NFD"}""", "각"));
        Assert.Equal(" 野  口  noguchi", Norm("""{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}""", "野口 Noguchi"));
        // canonical ordering of combining marks: below (220) before above (230)
        Assert.Equal("a\u0323\u0301", Norm("""{"type":"NFD"}""", "a\u0301\u0323"));
        Assert.Equal("ĠhÃ©", Norm("""{"type":"ByteLevel"}""", " hé"));
    }

    [Fact]
    public void Decoders_AsDocumented()
    {
        static string Dec(string json, params string[] toks) => Decoder.Load(Node(json)).Decode([.. toks]);
        Assert.Equal("\uFFFD\uFFFD\uFFFD\uFFFDa", Dec("""{"type":"ByteFallback"}""", "<0xC3>", "<0xA9>", "<0xC3>", "<0xC3>", "a"));
        Assert.Equal("éa\uFFFD", Dec("""{"type":"ByteFallback"}""", "<0xC3>", "<0xA9>", "a", "<0xC3>"));
        Assert.Equal("ab ", Dec("""{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Strip","content":" ","start":2,"stop":0}]}""", "  ", "ab "));
        Assert.Equal("hello world", Dec("""{"type":"WordPiece","prefix":"##","cleanup":true}""", "hel", "##lo", "world"));
        // cleanup runs per token (Rust): " do not" inside one token becomes " don't", across tokens it stays
        Assert.Equal("i don't.", Dec("""{"type":"WordPiece","prefix":"##","cleanup":true}""", "i", "do not", "."));
        Assert.Equal("i do not.", Dec("""{"type":"WordPiece","prefix":"##","cleanup":true}""", "i", "do", "not", "."));
        Assert.Equal("Hello world", Dec("""{"type":"ByteLevel"}""", "Hello", "Ġworld"));
    }

    private static List<Token> Bpe(string modelJson, string word) => BpeModel.Load(Node(modelJson)).Tokenize(word);

    [Fact]
    public void Bpe_Options()
    {
        // merges by rank: "b c" (rank 0) before "a b" (rank 1), so "abc" -> a + bc
        const string v = "\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5,\"<unk>\":6}";
        Assert.Equal(["a", "bc"], Bpe($$$"""{"type":"BPE",{{{v}}},"merges":["b c","a b"]}""", "abc").Select(t => t.Value));
        Assert.Equal(["a", "bc"], Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[["b","c"],["a","b"]]}""", "abc").Select(t => t.Value));
        // ignore_merges: a word that is in the vocab is one token even without a merge path
        Assert.Equal(["abc"], Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[],"ignore_merges":true}""", "abc").Select(t => t.Value));
        Assert.Equal(["a", "b", "c"], Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[]}""", "abc").Select(t => t.Value));
        // unknown chars: fused into one unk when fuse_unk, else one per char; offsets cover the chars
        Assert.Equal([new Token(0, "a", 0, 1), new Token(6, "<unk>", 1, 3), new Token(1, "b", 3, 4)],
            Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[],"unk_token":"<unk>","fuse_unk":true}""", "axyb"));
        Assert.Equal(4, Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[],"unk_token":"<unk>","fuse_unk":false}""", "axyb").Count);
        // no unk token: unknown chars are dropped (Rust)
        Assert.Equal(["a", "b"], Bpe($$$"""{"type":"BPE",{{{v}}},"merges":[]}""", "axyb").Select(t => t.Value));
    }

    [Fact]
    public void Bpe_PrefixAndSuffix()
    {
        const string json = """
            {"type":"BPE","vocab":{"a":0,"##b":1,"##c</w>":2,"a##b":3,"ab":4,"##b##c</w>":5,"##bc</w>":6},
             "merges":["##b ##c</w>","a ##b"],"continuing_subword_prefix":"##","end_of_word_suffix":"</w>"}
            """;
        // "##b" + "##c</w>" merges to "##bc</w>" (the prefix of the right part is dropped), then "a" + "##bc</w>" has no merge
        Assert.Equal(["a", "##bc</w>"], Bpe(json, "abc").Select(t => t.Value));
    }

    [Fact]
    public void Bpe_ByteFallback_MissingByteGivesUnk()
    {
        const string json = """{"type":"BPE","vocab":{"<unk>":0,"<0xC3>":1,"<0xA9>":2,"a":3},"merges":[],"unk_token":"<unk>","byte_fallback":true,"fuse_unk":true}""";
        Assert.Equal([1, 2, 3], Bpe(json, "éa").Select(t => t.Id));
        Assert.Equal([0, 3], Bpe(json, "ñüa").Select(t => t.Id)); // ñ = C3 B1: <0xB1> missing -> unk, fused with ü
    }
}
