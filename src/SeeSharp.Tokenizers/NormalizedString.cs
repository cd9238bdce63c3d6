using System.Text;

namespace SeeSharp.Tokenizers;

/// <summary>
/// A piece of text being normalized, with the alignment of every UTF-16 unit of the current text to a range of
/// the original input (also UTF-16 units). Mirrors the Rust <c>NormalizedString</c>: a char produced from another
/// char keeps that char's alignment, so token offsets can always be mapped back to the original text.
/// </summary>
internal sealed class NormalizedString
{
    public string Text { get; private set; }
    // Align[i] = original [Start, End) of Text[i]; both units of a surrogate pair hold the same range.
    private (int Start, int End)[] _align;
    /// <summary>Original range covered by this piece (used when the text becomes empty).</summary>
    public int OrigStart { get; private set; }
    public int OrigEnd { get; private set; }

    private NormalizedString(string text, (int, int)[] align, int origStart, int origEnd)
    {
        Text = text;
        _align = align;
        OrigStart = origStart;
        OrigEnd = origEnd;
    }

    /// <summary>A piece equal to <c>original[start..end)</c>.</summary>
    public static NormalizedString FromOriginal(string original, int start, int end)
    {
        var text = original.Substring(start, end - start);
        var align = new (int, int)[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            int u = start + i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                align[i] = (u, u + 2);
                align[i + 1] = (u, u + 2);
                i++;
            }
            else align[i] = (u, u + 1);
        }
        return new NormalizedString(text, align, start, end);
    }

    public int Length => Text.Length;
    public bool IsEmpty => Text.Length == 0;

    public (int Start, int End) AlignAt(int i) => _align[i];

    /// <summary>Original range of the normalized range [start, end).</summary>
    public (int Start, int End) ToOriginal(int start, int end)
    {
        if (Text.Length == 0) return (OrigStart, OrigStart);
        if (start >= end)
        {
            int p = start < Text.Length ? _align[start].Start : _align[^1].End;
            return (p, p);
        }
        return (_align[start].Start, _align[end - 1].End);
    }

    public NormalizedString Slice(int start, int end)
    {
        var align = _align[start..end];
        var (os, oe) = start < end ? (align[0].Item1, align[^1].Item2) : ToOriginal(start, start);
        return new NormalizedString(Text.Substring(start, end - start), align, os, oe);
    }

    /// <summary>Replaces each scalar by <paramref name="map"/>(scalar); every produced unit keeps the scalar's alignment.</summary>
    public void MapScalars(Func<int, string?> map)
    {
        var sb = new StringBuilder(Text.Length);
        var align = new List<(int, int)>(Text.Length);
        for (int i = 0; i < Text.Length;)
        {
            int n = ScalarLen(Text, i);
            int cp = n == 2 ? char.ConvertToUtf32(Text[i], Text[i + 1]) : Text[i];
            var r = map(cp);
            var a = _align[i];
            if (r is null) { sb.Append(Text, i, n); align.Add(a); if (n == 2) align.Add(a); }
            else { sb.Append(r); for (int k = 0; k < r.Length; k++) align.Add(a); }
            i += n;
        }
        Text = sb.ToString();
        _align = align.ToArray();
    }

    /// <summary>Fast path for one-char-per-char maps of ASCII text: alignments stay as they are.</summary>
    public bool TryMapAscii(char[] table)
    {
        foreach (var c in Text) if (c >= 0x80) return false;
        Text = string.Create(Text.Length, (Text, table), static (span, st) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = st.table[st.Text[i]];
        });
        return true;
    }

    /// <summary>Puts <paramref name="s"/> in front; it takes the alignment of the first unit (no-op on an empty piece).</summary>
    public void Prepend(string s)
    {
        if (Text.Length == 0 || s.Length == 0) return;
        var align = new (int, int)[s.Length + _align.Length];
        for (int i = 0; i < s.Length; i++) align[i] = _align[0];
        _align.CopyTo(align, s.Length);
        Text = s + Text;
        _align = align;
    }

    public void Append(string s)
    {
        if (Text.Length == 0 || s.Length == 0) return;
        var align = new (int, int)[s.Length + _align.Length];
        _align.CopyTo(align, 0);
        for (int i = 0; i < s.Length; i++) align[_align.Length + i] = _align[^1];
        Text += s;
        _align = align;
    }

    /// <summary>
    /// Replaces the given non-overlapping, sorted ranges by <paramref name="content"/>; its chars take the alignment
    /// of the last replaced char, as Rust's <c>NormalizedString::replace</c> does.
    /// </summary>
    public void ReplaceRanges(IReadOnlyList<(int Start, int End)> ranges, string content)
    {
        if (ranges.Count == 0) return;
        var sb = new StringBuilder(Text.Length);
        var align = new List<(int, int)>(Text.Length);
        int prev = 0;
        foreach (var (s, e) in ranges)
        {
            sb.Append(Text, prev, s - prev);
            for (int k = prev; k < s; k++) align.Add(_align[k]);
            if (e > s)
            {
                var a = _align[e - 1]; // Rust: inserted chars take the alignment of the last replaced char
                sb.Append(content);
                for (int k = 0; k < content.Length; k++) align.Add(a);
            }
            prev = e;
        }
        sb.Append(Text, prev, Text.Length - prev);
        for (int k = prev; k < Text.Length; k++) align.Add(_align[k]);
        Text = sb.ToString();
        _align = align.ToArray();
    }

    /// <summary>Keeps only [start, end) of the current text (used by Strip).</summary>
    public void Trim(int start, int end)
    {
        if (start == 0 && end == Text.Length) return;
        var (os, oe) = ToOriginal(start, end);
        Text = Text.Substring(start, end - start);
        _align = _align[start..end];
        if (Text.Length == 0) { OrigStart = os; OrigEnd = oe; }
    }

    /// <summary>
    /// Unicode normalization. Text is cut into clusters (a scalar plus the following scalars that can combine with
    /// it: non-starters, second halves of compositions); each cluster is normalized on its own and its i-th output
    /// scalar gets the alignment of its i-th input scalar (the last one when the output is longer), as the Rust
    /// alignment tracking does. Clusters of quick-check-stable chars are copied as they are.
    /// </summary>
    public void Normalize(NormalizationForm form)
    {
        bool allStable = true;
        foreach (var c in Text) if (!Unicode.UnicodeNormalization.IsStable(c, form)) { allStable = false; break; }
        if (allStable) return;
        var sb = new StringBuilder(Text.Length);
        var align = new List<(int, int)>(Text.Length);
        var inStarts = new List<int>();
        int i = 0;
        while (i < Text.Length)
        {
            int j = i + ScalarLen(Text, i);
            while (j < Text.Length && Unicode.UnicodeNormalization.IsContinuation(ScalarAt(Text, j))) j += ScalarLen(Text, j);
            bool stable = true;
            for (int k = i; k < j; k++) if (!Unicode.UnicodeNormalization.IsStable(Text[k], form)) { stable = false; break; }
            if (stable)
            {
                sb.Append(Text, i, j - i);
                for (int k = i; k < j; k++) align.Add(_align[k]);
                i = j;
                continue;
            }
            var norm = Unicode.UnicodeNormalization.Normalize(Text.Substring(i, j - i), form);
            inStarts.Clear();
            for (int k = i; k < j; k += ScalarLen(Text, k)) inStarts.Add(k);
            int outIdx = 0;
            for (int k = 0; k < norm.Length;)
            {
                int n = ScalarLen(norm, k);
                var a = _align[inStarts[Math.Min(outIdx, inStarts.Count - 1)]];
                sb.Append(norm, k, n);
                for (int q = 0; q < n; q++) align.Add(a);
                k += n;
                outIdx++;
            }
            i = j;
        }
        Text = sb.ToString();
        _align = align.ToArray();
    }

    public static int ScalarLen(string s, int i) =>
        char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    public static int ScalarAt(string s, int i) =>
        ScalarLen(s, i) == 2 ? char.ConvertToUtf32(s[i], s[i + 1]) : s[i];

    /// <summary>Cuts the piece at <paramref name="parts"/> (sorted, covering [0, Length)) with a match flag each.</summary>
    public List<NormalizedString> Split(List<(int Start, int End, bool IsMatch)> parts, SplitBehavior behavior)
    {
        var outRanges = new List<(int, int)>();
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var p in parts) outRanges.Add((p.Start, p.End));
                break;
            case SplitBehavior.Removed:
                foreach (var p in parts) if (!p.IsMatch) outRanges.Add((p.Start, p.End));
                break;
            case SplitBehavior.MergedWithPrevious:
                {
                    bool prevMatch = false;
                    foreach (var p in parts)
                    {
                        if (p.IsMatch && !prevMatch && outRanges.Count > 0) outRanges[^1] = (outRanges[^1].Item1, p.End);
                        else outRanges.Add((p.Start, p.End));
                        prevMatch = p.IsMatch;
                    }
                    break;
                }
            case SplitBehavior.MergedWithNext:
                {
                    bool prevMatch = false;
                    for (int k = 0; k < parts.Count; k++)
                    {
                        var p = parts[k];
                        if (!p.IsMatch && prevMatch && outRanges.Count > 0) outRanges[^1] = (outRanges[^1].Item1, p.End);
                        else outRanges.Add((p.Start, p.End));
                        prevMatch = p.IsMatch;
                    }
                    break;
                }
            case SplitBehavior.Contiguous:
                {
                    // Rust merges every run of equal flags (consecutive non-matches too, as inverted patterns give)
                    bool prevMatch = false;
                    foreach (var p in parts)
                    {
                        if (p.IsMatch == prevMatch && outRanges.Count > 0) outRanges[^1] = (outRanges[^1].Item1, p.End);
                        else outRanges.Add((p.Start, p.End));
                        prevMatch = p.IsMatch;
                    }
                    break;
                }
        }
        var result = new List<NormalizedString>(outRanges.Count);
        foreach (var (s, e) in outRanges) if (e > s) result.Add(Slice(s, e));
        return result;
    }

    /// <summary>Builds the full part list (matches and gaps) from sorted non-overlapping match ranges.</summary>
    public static List<(int Start, int End, bool IsMatch)> PartsFromMatches(int length, IEnumerable<(int Start, int End)> matches, bool invert = false)
    {
        var parts = new List<(int, int, bool)>();
        int prev = 0;
        foreach (var (s, e) in matches)
        {
            if (e <= s) continue;
            if (s > prev) parts.Add((prev, s, invert));
            parts.Add((s, e, !invert));
            prev = e;
        }
        if (prev < length) parts.Add((prev, length, invert));
        return parts;
    }
}

/// <summary>How a pre-tokenizer treats the delimiters it found (Rust <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }
