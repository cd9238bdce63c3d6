using System.Collections.Concurrent;
using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>Loads tests/fixtures/tokenizers/*: the tokenizers and their golden expected.json (Rust tokenizers 0.23.2).</summary>
internal static class FixtureData
{
    public static readonly string[] Names = ["mistral_v01", "idefics2_like", "qwen3", "llama3"];

    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> s_tokenizers = new();
    private static readonly ConcurrentDictionary<string, Lazy<JsonElement[]>> s_cases = new();

    public static Tokenizer Tok(string name) =>
        s_tokenizers.GetOrAdd(name, n => new Lazy<Tokenizer>(() => Tokenizer.FromFolder(Fixtures.Path("tokenizers", n)))).Value;

    public static JsonElement[] Cases(string name) =>
        s_cases.GetOrAdd(name, n => new Lazy<JsonElement[]>(() =>
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("tokenizers", n, "expected.json")));
            return doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.Clone()).ToArray();
        })).Value;

    public static JsonElement Case(string name, string id) => Cases(name).Single(c => c.GetProperty("id").GetString() == id);

    /// <summary>(tokenizer, case id) for every tokenizer and every case of inputs.json.</summary>
    public static IEnumerable<object[]> AllCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("tokenizers", "inputs.json")));
        var ids = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();
        foreach (var n in Names)
            foreach (var id in ids)
                yield return [n, id];
    }

    public static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    public static string[] Strs(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
}
