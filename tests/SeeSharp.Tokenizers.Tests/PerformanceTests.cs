using SeeSharp.Testing;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Performance sanity without timed assertions: inputs large enough that a quadratic BPE (or re-scanning the text
/// per token) would run for minutes, while the linear-ish implementation takes well under a second. Checked
/// property: decode(encode(text)) reproduces the text (round trip, exact), and a repeated word encodes to the same
/// ids each time (word cache).
/// </summary>
public class PerformanceTests
{
    private static string LongText()
    {
        var sb = new System.Text.StringBuilder();
        var words = new[] { "The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "é", "你好", "🦙", "123456", "\n" };
        for (int i = 0; sb.Length < 200_000; i++) sb.Append(words[i * 7 % words.Length]).Append(' ');
        return sb.ToString();
    }

    [Theory]
    [InlineData("mistral_v01")]
    [InlineData("llama3")]
    public void LongInput_RoundTrips(string name)
    {
        var tok = FixtureData.Tok(name);
        var text = LongText();
        var ids = tok.Encode(text, addSpecialTokens: false).Ids;
        Assert.Equal(text, tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false)[..text.Length]);
    }

    [Fact]
    public void VeryLongSingleWord_IsNotQuadratic()
    {
        // Mistral has no pre-tokenizer: 100k chars without spaces form ONE BPE word (priority-queue merges: n log n).
        var tok = FixtureData.Tok("mistral_v01");
        var text = string.Concat(Enumerable.Repeat("abcdefghij", 10_000));
        var ids = tok.Encode(text, addSpecialTokens: false).Ids;
        Assert.Equal(text, tok.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
    }
}

/// <summary>Thread safety (property): encoding the fixture strings from many threads at once gives the golden ids.</summary>
public class ConcurrencyTests
{
    [Fact]
    public void ParallelEncode_GivesGoldenIds()
    {
        var tok = FixtureData.Tok("qwen3");
        var cases = FixtureData.Cases("qwen3");
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, cases.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var c = cases[i % cases.Length];
            var ids = tok.Encode(c.GetProperty("text").GetString()!).Ids;
            if (!ids.SequenceEqual(FixtureData.Ints(c.GetProperty("ids_add_special")))) failures.Add(c.GetProperty("id").GetString()!);
        });
        Assert.Empty(failures);
    }
}
