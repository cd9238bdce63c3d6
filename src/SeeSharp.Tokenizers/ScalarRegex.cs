using System.Globalization;
using System.Text.RegularExpressions;

namespace SeeSharp.Tokenizers;

/// <summary>
/// A regex that behaves as if it ran on Unicode scalar values, as the Rust (Oniguruma) patterns of
/// <c>tokenizer.json</c> do. .NET's <see cref="Regex"/> sees UTF-16 units, so <c>\p{L}</c> would not match a
/// letter outside the BMP and <c>{1,3}</c> would count surrogate halves. Before matching, every non-BMP scalar is
/// replaced by ONE BMP stand-in of the same general category (so category classes, <c>\s</c>, <c>\w</c>, <c>.</c>
/// and counted repeats see one char of the right kind); match positions are mapped back to the real text.
/// </summary>
internal sealed class ScalarRegex
{
    private readonly Regex _regex;
    public string Pattern { get; }

    public ScalarRegex(string pattern, string file, string jsonPath)
    {
        Pattern = pattern;
        // Stand-ins keep categories, not identities: a pattern that names astral characters itself (a literal or a
        // range such as [𐐀-𐑏]) cannot be matched this way, so refuse it instead of tokenizing wrongly.
        foreach (var c in pattern)
            if (char.IsSurrogate(c))
                throw new TokenizerFormatException(file, jsonPath, "regex patterns containing characters outside the Basic Multilingual Plane are not supported");
        try
        {
            _regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException(file, jsonPath, $"regex pattern not supported by .NET: {e.Message}", e);
        }
    }

    /// <summary>Non-empty, non-overlapping matches, left to right, in UTF-16 units of <paramref name="text"/>.</summary>
    public List<(int Start, int End)> Matches(string text)
    {
        var result = new List<(int, int)>();
        bool hasSurrogates = false;
        foreach (var c in text) if (char.IsSurrogate(c)) { hasSurrogates = true; break; }
        if (!hasSurrogates)
        {
            for (var m = _regex.Match(text); m.Success; m = m.NextMatch())
                if (m.Length > 0) result.Add((m.Index, m.Index + m.Length));
            return result;
        }
        // proxy[i] stands for the scalar starting at map[i] in text; map[proxy.Length] = text.Length.
        var proxy = new char[text.Length];
        var map = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length;)
        {
            map[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                proxy[n++] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i += 2;
            }
            else proxy[n++] = text[i++];
        }
        map[n] = text.Length;
        var p = new string(proxy, 0, n);
        for (var m = _regex.Match(p); m.Success; m = m.NextMatch())
            if (m.Length > 0) result.Add((map[m.Index], map[m.Index + m.Length]));
        return result;
    }

    /// <summary>A BMP character of the given general category, chosen to be unlikely as a literal in a pattern.</summary>
    internal static char StandIn(UnicodeCategory cat) => cat switch
    {
        UnicodeCategory.UppercaseLetter => '\uA640',
        UnicodeCategory.LowercaseLetter => '\uA641',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u3400',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.SpaceSeparator => '\u2000',
        UnicodeCategory.LineSeparator => '\u2028',
        UnicodeCategory.ParagraphSeparator => '\u2029',
        UnicodeCategory.Control => '\u0001',
        UnicodeCategory.Format => '\u2060',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u201B',
        UnicodeCategory.FinalQuotePunctuation => '\u2E03',
        UnicodeCategory.OtherPunctuation => '\u2056',
        UnicodeCategory.MathSymbol => '\u2A00',
        UnicodeCategory.CurrencySymbol => '\u20A0',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u2620',
        _ => '\u0378', // OtherNotAssigned (and Surrogate, which a scalar never is)
    };
}
