using System.Globalization;

namespace SeeSharp.Tokenizers;

/// <summary>One piece of the input during encoding: its text, and its tokens once known (added token or model output).</summary>
internal sealed class PieceSplit(NormalizedString n, List<Token>? tokens = null)
{
    public NormalizedString N = n;
    public List<Token>? Tokens = tokens;
}

/// <summary>A token before offsets are mapped back: id, string, and [Start, End) in its piece's normalized text.</summary>
internal readonly record struct Token(int Id, string Value, int Start, int End);

/// <summary>A <c>pre_tokenizer</c> of tokenizer.json: cuts each not-yet-tokenized piece into smaller pieces.</summary>
internal abstract class PreTokenizer
{
    public abstract List<NormalizedString> Split(NormalizedString s, bool isFirst);

    public void PreTokenize(List<PieceSplit> splits)
    {
        var result = new List<PieceSplit>(splits.Count);
        foreach (var sp in splits)
        {
            if (sp.Tokens is not null) { result.Add(sp); continue; }
            foreach (var p in Split(sp.N, sp.N.OrigStart == 0))
                if (!p.IsEmpty) result.Add(new PieceSplit(p));
        }
        splits.Clear();
        splits.AddRange(result);
    }

    public static SplitBehavior LoadBehavior(JNode? n, SplitBehavior dflt)
    {
        if (n is null) return dflt;
        return n.Value.Str() switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            var v => throw n.Value.Error($"unknown split behavior '{v}'"),
        };
    }

    public static PreTokenizer Load(JNode n)
    {
        switch (n.TypeName())
        {
            case "Sequence":
                return new SequencePreTokenizer(n.Req("pretokenizers").Items().Select(Load).ToArray());
            case "ByteLevel":
                return new ByteLevelPreTokenizer(n.OptBool("add_prefix_space", true), n.OptBool("use_regex", true), n.File, n.Path);
            case "Metaspace":
                return MetaspacePreTokenizer.Load(n);
            case "Split":
                return new SplitPreTokenizer(Pattern.Load(n.Req("pattern")), LoadBehavior(n.Req("behavior"), SplitBehavior.Isolated), n.OptBool("invert", false));
            case "Digits":
                return new CharClassPreTokenizer(c => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber,
                    n.OptBool("individual_digits", false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous);
            case "Punctuation":
                return new CharClassPreTokenizer(IsPunctuation, LoadBehavior(n.Opt("behavior"), SplitBehavior.Isolated));
            case "Whitespace":
                return new SplitPreTokenizer(Pattern.Regex(@"\w+|[^\w\s]+", n.File, n.Path), SplitBehavior.Removed, invert: true);
            case "WhitespaceSplit":
                return new CharClassPreTokenizer(IsWhitespace, SplitBehavior.Removed);
            case "BertPreTokenizer":
                return new SequencePreTokenizer([new CharClassPreTokenizer(IsWhitespace, SplitBehavior.Removed), new CharClassPreTokenizer(IsPunctuation, SplitBehavior.Isolated)]);
            case "CharDelimiterSplit":
                {
                    var d = n.Req("delimiter").Str();
                    return new SplitPreTokenizer(Pattern.Literal(d), SplitBehavior.Removed, false);
                }
            default:
                throw n.Unknown("pre_tokenizer");
        }
    }

    internal static bool IsWhitespace(int cp) => cp < 0x10000 && char.IsWhiteSpace((char)cp);

    internal static bool IsPunctuation(int cp) =>
        (cp < 0x80 && char.IsAsciiLetterOrDigit((char)cp) == false && cp > 0x20 && cp < 0x7F) ||
        CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}

internal sealed class SequencePreTokenizer(PreTokenizer[] items) : PreTokenizer
{
    public override List<NormalizedString> Split(NormalizedString s, bool isFirst)
    {
        var cur = new List<NormalizedString> { s };
        foreach (var p in items)
        {
            var next = new List<NormalizedString>();
            foreach (var c in cur)
                foreach (var x in p.Split(c, c.OrigStart == 0 && isFirst))
                    if (!x.IsEmpty) next.Add(x);
            cur = next;
        }
        return cur;
    }
}

internal sealed class SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert) : PreTokenizer
{
    public override List<NormalizedString> Split(NormalizedString s, bool isFirst) =>
        s.Split(NormalizedString.PartsFromMatches(s.Length, pattern.Matches(s.Text), invert), behavior);
}

/// <summary>Splits on every scalar of a class (each its own match), e.g. digits, punctuation, whitespace.</summary>
internal sealed class CharClassPreTokenizer(Func<int, bool> isMatch, SplitBehavior behavior) : PreTokenizer
{
    public override List<NormalizedString> Split(NormalizedString s, bool isFirst)
    {
        var t = s.Text;
        var matches = new List<(int, int)>();
        for (int i = 0; i < t.Length;)
        {
            int n = NormalizedString.ScalarLen(t, i);
            if (isMatch(NormalizedString.ScalarAt(t, i))) matches.Add((i, i + n));
            i += n;
        }
        return s.Split(NormalizedString.PartsFromMatches(s.Length, matches), behavior);
    }
}

/// <summary>GPT-2 byte-level: optional GPT-2 regex split, then every UTF-8 byte becomes one printable char.</summary>
internal sealed class ByteLevelPreTokenizer : PreTokenizer
{
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private readonly bool _addPrefixSpace;
    private readonly ScalarRegex? _regex;

    public ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex, string file, string path)
    {
        _addPrefixSpace = addPrefixSpace;
        _regex = useRegex ? new ScalarRegex(Gpt2Pattern, file, path) : null;
    }

    public override List<NormalizedString> Split(NormalizedString s, bool isFirst)
    {
        if (_addPrefixSpace && !s.Text.StartsWith(' ')) s.Prepend(" ");
        var parts = _regex is null ? [s] : s.Split(NormalizedString.PartsFromMatches(s.Length, _regex.Matches(s.Text)), SplitBehavior.Isolated);
        foreach (var p in parts) ByteLevel.Encode(p);
        return parts;
    }
}

internal sealed class MetaspacePreTokenizer(char replacement, MetaspacePreTokenizer.Prepend scheme, bool split) : PreTokenizer
{
    internal enum Prepend { Always, First, Never }

    public static new MetaspacePreTokenizer Load(JNode n)
    {
        var (rep, scheme) = LoadCommon(n);
        return new MetaspacePreTokenizer(rep, scheme, n.OptBool("split", true));
    }

    internal static (char Replacement, Prepend Scheme) LoadCommon(JNode n)
    {
        var r = n.Req("replacement");
        var rs = r.Str();
        if (rs.Length != 1) throw r.Error($"replacement must be one BMP character, got '{rs}'");
        Prepend scheme;
        if (n.Opt("prepend_scheme") is { } ps)
            scheme = ps.Str() switch
            {
                "always" => Prepend.Always,
                "first" => Prepend.First,
                "never" => Prepend.Never,
                var v => throw ps.Error($"unknown prepend_scheme '{v}'"),
            };
        else scheme = n.OptBool("add_prefix_space", true) ? Prepend.Always : Prepend.Never;
        return (rs[0], scheme);
    }

    public override List<NormalizedString> Split(NormalizedString s, bool isFirst)
    {
        var rep = replacement.ToString();
        s.MapScalars(cp => cp == ' ' ? rep : null);
        bool prepend = scheme switch
        {
            Prepend.Always => true,
            Prepend.First => s.OrigStart == 0,
            _ => false,
        };
        if (prepend && !s.Text.StartsWith(replacement)) s.Prepend(rep);
        if (!split) return [s];
        var matches = new List<(int, int)>();
        for (int i = 0; i < s.Text.Length; i++) if (s.Text[i] == replacement) matches.Add((i, i + 1));
        return s.Split(NormalizedString.PartsFromMatches(s.Length, matches), SplitBehavior.MergedWithNext);
    }
}

/// <summary>The GPT-2 byte &lt;-&gt; printable char table.</summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = BuildTable();
    public static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(x => x.c, x => x.Item2);
    private static readonly string[] s_byteStr = ByteToChar.Select(c => c.ToString()).ToArray();

    private static char[] BuildTable()
    {
        var t = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            t[b] = printable ? (char)b : (char)(256 + n++);
        }
        return t;
    }

    /// <summary>Maps every UTF-8 byte of the piece to its char (ASCII-only pieces take a copy-free path).</summary>
    public static void Encode(NormalizedString s)
    {
        if (!s.TryMapAscii(ByteToChar)) s.MapScalars(EncodeScalar);
    }

    public static string EncodeScalar(int cp)
    {
        if (cp < 0x80) return s_byteStr[cp];
        Span<byte> buf = stackalloc byte[4];
        if (cp is >= 0xD800 and <= 0xDFFF) cp = 0xFFFD; // lone surrogate: Rust strings cannot hold one
        int n = new System.Text.Rune(cp).EncodeToUtf8(buf);
        return n switch
        {
            2 => string.Concat(s_byteStr[buf[0]], s_byteStr[buf[1]]),
            3 => string.Concat(s_byteStr[buf[0]], s_byteStr[buf[1]], s_byteStr[buf[2]]),
            _ => string.Concat(s_byteStr[buf[0]], s_byteStr[buf[1]], s_byteStr[buf[2]], s_byteStr[buf[3]]),
        };
    }
}
