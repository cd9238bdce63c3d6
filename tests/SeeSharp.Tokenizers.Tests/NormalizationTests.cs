using System.Text;
using System.Text.Json;
using SeeSharp.Tokenizers.Unicode;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Our Unicode normalization vs Python's unicodedata (the Unicode version the tables were generated from):
/// Data/normalization_cases.json holds 400 random strings over Latin, combining marks, Hangul, Greek, Indic,
/// compatibility and astral characters with their NFC/NFD/NFKC/NFKD (made by Data/make_normalization_cases.py).
/// Both the whole-string path and the cluster-wise path used by the normalizers must match exactly.
/// </summary>
public class NormalizationTests
{
    public static IEnumerable<object[]> Forms() => [["NFC"], ["NFD"], ["NFKC"], ["NFKD"]];

    [Theory]
    [MemberData(nameof(Forms))]
    public void MatchesPythonUnicodedata(string formName)
    {
        var form = formName switch { "NFC" => NormalizationForm.FormC, "NFD" => NormalizationForm.FormD, "NFKC" => NormalizationForm.FormKC, _ => NormalizationForm.FormKD };
        var path = Path.Combine(SeeSharp.Testing.Fixtures.Root, "..", "SeeSharp.Tokenizers.Tests", "Data", "normalization_cases.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        Assert.Equal(UnicodeNormalization.DataVersion, doc.RootElement.GetProperty("unicode_version").GetString());
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var s = c.GetProperty("s").GetString()!;
            var expected = c.GetProperty(formName).GetString()!;
            Assert.True(expected == UnicodeNormalization.Normalize(s, form), $"{formName} of {Escape(s)}: expected {Escape(expected)}, got {Escape(UnicodeNormalization.Normalize(s, form))}");
            var ns = NormalizedString.FromOriginal(s, 0, s.Length);
            ns.Normalize(form);
            Assert.True(expected == ns.Text, $"{formName} (clusters) of {Escape(s)}: expected {Escape(expected)}, got {Escape(ns.Text)}");
            n++;
        }
        Assert.Equal(400, n);
    }

    private static string Escape(string s) => string.Concat(s.EnumerateRunes().Select(r => $"U+{r.Value:X4} "));
}
