namespace SeeSharp.Tokenizers;

/// <summary>An entry of <c>added_tokens</c> (tokenizer.json) or <c>added_tokens_decoder</c> (tokenizer_config.json).</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool Normalized, bool SingleWord)
{
    public static AddedToken Load(JNode n, int? id = null) => new(
        id ?? n.Req("id").Int(),
        n.Req("content").Str(),
        n.OptBool("special", false),
        n.OptBool("lstrip", false),
        n.OptBool("rstrip", false),
        n.OptBool("normalized", !n.OptBool("special", false)),
        n.OptBool("single_word", false));
}

/// <summary>
/// Added tokens, matched before the model as the Rust <c>AddedVocabulary</c> does: non-normalized ones on the raw
/// text, then (after normalizing the rest) normalized ones on the normalized text. Matching is leftmost-longest;
/// <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c> are honoured.
/// </summary>
internal sealed class AddedVocabulary
{
    private readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);
    private readonly Dictionary<int, AddedToken> _byId = new();
    private Matcher _raw = new([]);
    private Matcher _normalized = new([]);

    public IReadOnlyDictionary<int, AddedToken> ById => _byId;

    /// <summary>transformers' <c>split_special_tokens</c> (Rust <c>encode_special_tokens</c>): special tokens in the text are not matched.</summary>
    public bool EncodeSpecialTokens { get; set; }

    public void Add(AddedToken t)
    {
        if (_byContent.ContainsKey(t.Content) || _byId.ContainsKey(t.Id)) return;
        _byContent[t.Content] = t;
        _byId[t.Id] = t;
    }

    public void Build(Normalizer? normalizer)
    {
        var raw = new List<(string, AddedToken)>();
        var norm = new List<(string, AddedToken)>();
        foreach (var t in _byId.Values.OrderBy(t => t.Id))
        {
            if (t.Content.Length == 0) continue;
            if (t.Normalized && normalizer is not null)
            {
                var ns = NormalizedString.FromOriginal(t.Content, 0, t.Content.Length);
                normalizer.Normalize(ns);
                if (ns.Text.Length > 0) norm.Add((ns.Text, t));
            }
            else if (t.Normalized) norm.Add((t.Content, t));
            else raw.Add((t.Content, t));
        }
        _raw = new Matcher(raw);
        _normalized = new Matcher(norm);
    }

    public int? TokenToId(string token) => _byContent.TryGetValue(token, out var t) ? t.Id : null;
    public string? IdToToken(int id) => _byId.TryGetValue(id, out var t) ? t.Content : null;
    public bool IsSpecialToken(string token) => _byContent.TryGetValue(token, out var t) && t.Special;

    /// <summary>
    /// Rust <c>extract_and_normalize</c>: split the raw text on non-normalized added tokens, normalize the other
    /// pieces, split those on normalized added tokens. Empty pieces are dropped.
    /// </summary>
    public List<PieceSplit> ExtractAndNormalize(Normalizer? normalizer, string text)
    {
        var splits = new List<PieceSplit>();
        if (text.Length > 0) splits.Add(new PieceSplit(NormalizedString.FromOriginal(text, 0, text.Length)));
        SplitWith(splits, _raw);
        foreach (var sp in splits) if (sp.Tokens is null) normalizer?.Normalize(sp.N);
        splits.RemoveAll(sp => sp.Tokens is null && sp.N.IsEmpty);
        SplitWith(splits, _normalized);
        return splits;
    }

    private void SplitWith(List<PieceSplit> splits, Matcher m)
    {
        if (m.IsEmpty) return;
        bool encodeSpecial = EncodeSpecialTokens;
        var result = new List<PieceSplit>(splits.Count);
        foreach (var sp in splits)
        {
            if (sp.Tokens is not null) { result.Add(sp); continue; }
            var text = sp.N.Text;
            int startOffset = 0;
            foreach (var (ms, me, tok) in m.FindAll(text))
            {
                int start = ms, stop = me;
                if (start < startOffset) continue; // overlaps an rstrip-extended previous match
                if (encodeSpecial && tok.Special) continue;
                if (tok.SingleWord)
                {
                    bool startOk = start == 0 || !IsWordChar(text, start - 1, before: true);
                    bool stopOk = stop == text.Length || !IsWordChar(text, stop, before: false);
                    if (!startOk || !stopOk) continue;
                }
                if (tok.LStrip)
                {
                    int ns = start;
                    while (ns > 0 && char.IsWhiteSpace(text[ns - 1])) ns--;
                    start = Math.Max(ns, startOffset);
                }
                if (tok.RStrip) while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
                if (start > startOffset) result.Add(new PieceSplit(sp.N.Slice(startOffset, start)));
                var piece = sp.N.Slice(start, stop);
                result.Add(new PieceSplit(piece, [new Token(tok.Id, tok.Content, 0, piece.Length)]));
                startOffset = stop;
            }
            if (startOffset == 0) result.Add(sp);
            else if (startOffset < text.Length) result.Add(new PieceSplit(sp.N.Slice(startOffset, text.Length)));
        }
        splits.Clear();
        splits.AddRange(result);
    }

    // Rust: \w at the end of the text before / at the start of the text after the match.
    private static bool IsWordChar(string s, int i, bool before)
    {
        int cp;
        if (before && char.IsLowSurrogate(s[i]) && i > 0 && char.IsHighSurrogate(s[i - 1])) cp = char.ConvertToUtf32(s[i - 1], s[i]);
        else cp = NormalizedString.ScalarAt(s, i);
        if (cp == '_') return true;
        var c = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp);
        return c is System.Globalization.UnicodeCategory.UppercaseLetter or System.Globalization.UnicodeCategory.LowercaseLetter
            or System.Globalization.UnicodeCategory.TitlecaseLetter or System.Globalization.UnicodeCategory.ModifierLetter
            or System.Globalization.UnicodeCategory.OtherLetter or System.Globalization.UnicodeCategory.DecimalDigitNumber
            or System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
            or System.Globalization.UnicodeCategory.EnclosingMark or System.Globalization.UnicodeCategory.ConnectorPunctuation
            or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber;
    }

    /// <summary>Leftmost-longest, non-overlapping multi-string search (what aho-corasick LeftmostLongest gives).</summary>
    private sealed class Matcher
    {
        private readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirst;
        public bool IsEmpty => _byFirst.Count == 0;

        public Matcher(List<(string Pattern, AddedToken Token)> patterns)
        {
            _byFirst = patterns.GroupBy(p => p.Pattern[0])
                .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Pattern.Length).ToArray());
        }

        public IEnumerable<(int Start, int End, AddedToken Token)> FindAll(string text)
        {
            for (int i = 0; i < text.Length;)
            {
                if (_byFirst.TryGetValue(text[i], out var cands))
                {
                    bool found = false;
                    foreach (var (p, t) in cands)
                    {
                        if (p.Length <= text.Length - i && string.CompareOrdinal(text, i, p, 0, p.Length) == 0)
                        {
                            yield return (i, i + p.Length, t);
                            i += p.Length;
                            found = true;
                            break;
                        }
                    }
                    if (found) continue;
                }
                i++;
            }
        }
    }
}
