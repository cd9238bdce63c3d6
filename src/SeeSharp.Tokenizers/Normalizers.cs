using System.Globalization;
using System.Text;

namespace SeeSharp.Tokenizers;

/// <summary>A <c>normalizer</c> of tokenizer.json.</summary>
internal abstract class Normalizer
{
    public abstract void Normalize(NormalizedString s);

    public static Normalizer Load(JNode n)
    {
        var type = n.TypeName();
        switch (type)
        {
            case "Sequence":
                return new SequenceNormalizer(n.Req("normalizers").Items().Select(Load).ToArray());
            case "NFC": return new UnicodeNormalizer(NormalizationForm.FormC);
            case "NFD": return new UnicodeNormalizer(NormalizationForm.FormD);
            case "NFKC": return new UnicodeNormalizer(NormalizationForm.FormKC);
            case "NFKD": return new UnicodeNormalizer(NormalizationForm.FormKD);
            case "Lowercase": return new LowercaseNormalizer();
            case "Strip": return new StripNormalizer(n.OptBool("left", true), n.OptBool("right", true));
            case "StripAccents": return new StripAccentsNormalizer();
            case "Prepend": return new PrependNormalizer(n.Req("prepend").Str());
            case "Replace": return new ReplaceNormalizer(Pattern.Load(n.Req("pattern")), n.Req("content").Str());
            case "BertNormalizer":
                return new BertNormalizer(n.OptBool("clean_text", true), n.OptBool("handle_chinese_chars", true),
                    n.Opt("strip_accents")?.Bool(), n.OptBool("lowercase", true));
            case "Nmt": return new NmtNormalizer();
            case "ByteLevel": return new ByteLevelNormalizer();
            case "Precompiled":
                {
                    // An empty charsmap is the identity; anything else needs SentencePiece's compiled trie.
                    var map = n.Opt("precompiled_charsmap");
                    if (map is null || (map.Value.Kind == System.Text.Json.JsonValueKind.String && map.Value.Str().Length == 0))
                        return new SequenceNormalizer([]);
                    throw new TokenizerFormatException(n.File, n.Path + ".type",
                        "normalizer type 'Precompiled' with a non-empty precompiled_charsmap is not supported (NotSupported)");
                }
            default:
                throw n.Unknown("normalizer");
        }
    }
}

internal sealed class SequenceNormalizer(Normalizer[] items) : Normalizer
{
    public override void Normalize(NormalizedString s) { foreach (var n in items) n.Normalize(s); }
}

internal sealed class UnicodeNormalizer(NormalizationForm form) : Normalizer
{
    public override void Normalize(NormalizedString s) => s.Normalize(form);
}

internal sealed class LowercaseNormalizer : Normalizer
{
    public override void Normalize(NormalizedString s) => s.MapScalars(Lower);

    internal static string? Lower(int cp)
    {
        if (cp == 0x130) return "i\u0307"; // Rust char::to_lowercase('İ') = "i̇"
        var str = char.ConvertFromUtf32(cp);
        var low = str.ToLowerInvariant();
        return low == str ? null : low;
    }
}

internal sealed class StripNormalizer(bool left, bool right) : Normalizer
{
    public override void Normalize(NormalizedString s)
    {
        var t = s.Text;
        int start = 0, end = t.Length;
        if (left) while (start < end && char.IsWhiteSpace(t[start])) start++;
        if (right) while (end > start && char.IsWhiteSpace(t[end - 1])) end--;
        s.Trim(start, end);
    }
}

internal sealed class StripAccentsNormalizer : Normalizer
{
    public override void Normalize(NormalizedString s) =>
        s.MapScalars(cp => CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.NonSpacingMark ? "" : null);
}

internal sealed class PrependNormalizer(string prepend) : Normalizer
{
    public override void Normalize(NormalizedString s) => s.Prepend(prepend);
}

internal sealed class ReplaceNormalizer(Pattern pattern, string content) : Normalizer
{
    public override void Normalize(NormalizedString s) => s.ReplaceRanges(pattern.Matches(s.Text), content);
}

/// <summary>Every UTF-8 byte becomes its GPT-2 printable char (the ByteLevel pre-tokenizer's mapping, without splitting).</summary>
internal sealed class ByteLevelNormalizer : Normalizer
{
    public override void Normalize(NormalizedString s) => ByteLevel.Encode(s);
}

internal sealed class NmtNormalizer : Normalizer
{
    public override void Normalize(NormalizedString s) => s.MapScalars(cp => cp switch
    {
        >= 0x0001 and <= 0x0008 or 0x000B or >= 0x000E and <= 0x001F or 0x007F or 0x008F or 0x009F => "",
        0x0009 or 0x000A or 0x000C or 0x000D or 0x1680 or >= 0x200B and <= 0x200F or 0x2028 or 0x2029
            or 0x2581 or 0xFEFF or 0xFFFD => " ",
        _ => null,
    });
}

/// <summary>BERT's normalizer: clean control chars, space around CJK ideographs, optional accent strip and lowercase.</summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChinese, bool? stripAccents, bool lowercase) : Normalizer
{
    public override void Normalize(NormalizedString s)
    {
        if (cleanText)
            s.MapScalars(cp =>
            {
                if (cp == 0 || cp == 0xFFFD || IsControl(cp)) return "";
                if (IsWhitespace(cp)) return " ";
                return null;
            });
        if (handleChinese) s.MapScalars(cp => IsChinese(cp) ? " " + char.ConvertFromUtf32(cp) + " " : null);
        if (stripAccents ?? lowercase)
        {
            s.Normalize(NormalizationForm.FormD);
            s.MapScalars(cp => CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.NonSpacingMark ? "" : null);
        }
        if (lowercase) s.MapScalars(LowercaseNormalizer.Lower);
    }

    private static bool IsWhitespace(int cp) => cp is '\t' or '\n' or '\r' || (cp < 0x10000 && char.IsWhiteSpace((char)cp));

    private static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r') return false;
        var c = CharUnicodeInfo.GetUnicodeCategory(cp);
        return c is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    private static bool IsChinese(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>The <c>pattern</c> of Replace / Split: <c>{"String": s}</c> (literal) or <c>{"Regex": r}</c>.</summary>
internal sealed class Pattern
{
    private readonly string? _literal;
    private readonly ScalarRegex? _regex;

    private Pattern(string? literal, ScalarRegex? regex) { _literal = literal; _regex = regex; }

    public static Pattern Load(JNode n)
    {
        if (n.Kind == System.Text.Json.JsonValueKind.String) return new Pattern(n.Str(), null); // older files
        if (n.Opt("String") is { } s) return new Pattern(s.Str(), null);
        if (n.Opt("Regex") is { } r) return new Pattern(null, new ScalarRegex(r.Str(), r.File, r.Path));
        throw n.Error("pattern must be {\"String\": ...} or {\"Regex\": ...}");
    }

    public static Pattern Literal(string s) => new(s, null);
    public static Pattern Regex(string r, string file, string path) => new(null, new ScalarRegex(r, file, path));

    public List<(int Start, int End)> Matches(string text)
    {
        if (_regex is not null) return _regex.Matches(text);
        var result = new List<(int, int)>();
        if (_literal!.Length == 0) return result;
        for (int i = text.IndexOf(_literal, StringComparison.Ordinal); i >= 0; i = text.IndexOf(_literal, i + _literal.Length, StringComparison.Ordinal))
            result.Add((i, i + _literal.Length));
        return result;
    }

    public string Replace(string text, string content)
    {
        var m = Matches(text);
        if (m.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        int prev = 0;
        foreach (var (s, e) in m) { sb.Append(text, prev, s - prev).Append(content); prev = e; }
        return sb.Append(text, prev, text.Length - prev).ToString();
    }
}
