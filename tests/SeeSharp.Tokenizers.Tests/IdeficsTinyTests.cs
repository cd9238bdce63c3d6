using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// tests/fixtures/idefics2-tiny and idefics3-tiny: the ids of each cases/*/prompt&lt;k&gt;_expanded.txt must equal the
/// unpadded golden input_ids of case.json (made by transformers' processor), and the Rust decodes of the generated
/// rows in tokenizer_json_check.json must match; the 8 seq-8 expansions of tests/fixtures/idefics2-chat-template
/// must encode to their tiny_tokenizer_ids_seq8_*.json (ids and token strings). Exact equality.
/// </summary>
public class IdeficsTinyTests
{
    public static IEnumerable<object[]> Prompts()
    {
        foreach (var model in new[] { "idefics2-tiny", "idefics3-tiny" })
            foreach (var dir in Directory.GetDirectories(Fixtures.Path(model, "cases")).OrderBy(d => d, StringComparer.Ordinal))
                foreach (var f in Directory.GetFiles(dir, "prompt*_expanded.txt").OrderBy(d => d, StringComparer.Ordinal))
                    yield return [model, Path.GetFileName(dir), Path.GetFileName(f)];
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void ExpandedPrompt_EncodesToGoldenInputIds(string model, string caseName, string promptFile)
    {
        var tok = Tokenizer.FromFolder(Fixtures.Path(model, "model"));
        var text = File.ReadAllText(Fixtures.Path(model, "cases", caseName, promptFile));
        int k = int.Parse(promptFile["prompt".Length..promptFile.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path(model, "cases", caseName, "case.json")));
        var row = FixtureData.Ints(doc.RootElement.GetProperty("input_ids")[k]);
        int[] expected;
        if (doc.RootElement.TryGetProperty("attention_mask", out var am))
        {
            var mask = FixtureData.Ints(am[k]);
            expected = row.Where((_, i) => mask[i] == 1).ToArray();
        }
        else expected = row;
        Assert.Equal(expected, tok.Encode(text).Ids.ToArray());
    }

    [Theory]
    [InlineData("idefics2-tiny")]
    [InlineData("idefics3-tiny")]
    public void GeneratedRows_DecodeLikeRust(string model)
    {
        var tok = Tokenizer.FromFolder(Fixtures.Path(model, "model"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path(model, "tokenizer_json_check.json")));
        int n = 0;
        foreach (var row in doc.RootElement.GetProperty("generated_token_decodes").EnumerateArray())
        {
            var ids = FixtureData.Ints(row.GetProperty("new_tokens"));
            Assert.Equal(row.GetProperty("tokenizer_json_decode").GetString(), tok.Decode(ids, false, false));
            Assert.Equal(row.GetProperty("tokenizer_json_decode_skip_special_tokens").GetString(), tok.Decode(ids, true, false));
            n++;
        }
        Assert.True(n > 0);
    }

    public static IEnumerable<object[]> ChatTemplateExpansions()
    {
        foreach (var dir in Directory.GetDirectories(Fixtures.Path("idefics2-chat-template")).OrderBy(d => d, StringComparer.Ordinal))
            foreach (var f in Directory.GetFiles(dir, "tiny_tokenizer_ids_seq8_*.json").OrderBy(d => d, StringComparer.Ordinal))
                yield return [Path.GetFileName(dir), Path.GetFileName(f)];
    }

    [Theory]
    [MemberData(nameof(ChatTemplateExpansions))]
    public void ChatTemplateExpansion_EncodesToGoldenIds(string caseName, string idsFile)
    {
        var tok = Tokenizer.FromFolder(Fixtures.Path("idefics2-tiny", "model"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("idefics2-chat-template", caseName, idsFile)));
        var text = File.ReadAllText(Fixtures.Path("idefics2-chat-template", caseName, doc.RootElement.GetProperty("text_file").GetString()!));
        var enc = tok.Encode(text);
        Assert.Equal(FixtureData.Ints(doc.RootElement.GetProperty("input_ids")), enc.Ids.ToArray());
        Assert.Equal(FixtureData.Strs(doc.RootElement.GetProperty("tokens")), enc.Tokens.ToArray());
    }
}
