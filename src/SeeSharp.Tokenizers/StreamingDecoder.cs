namespace SeeSharp.Tokenizers;

/// <summary>
/// Turns generated ids into text as they arrive. Its concatenated output (all <see cref="Push"/> results, then
/// <see cref="Flush"/>) equals <see cref="Tokenizer.Decode"/> of the whole sequence without the
/// transformers-level clean-up (the Rust decode). Works like the Rust <c>DecodeStream</c>: it decodes only a short
/// window of recent ids (since the last-but-one emission) and emits the part of the text the newest id added. Text is
/// held back while it could still change: while the window ends in a byte-fallback token (Rust decodes a whole run of
/// <c>&lt;0xXX&gt;</c> tokens at once, invalid runs as one U+FFFD per byte) or in U+FFFD (an incomplete UTF-8
/// character of byte-level tokens). So no half character and no wrong leading space is ever emitted.
/// Cost per id is proportional to the window, which is a few tokens except inside such held-back runs.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tok;
    private readonly bool _skipSpecial;
    private readonly List<int> _ids = new();
    private string _prefix = "";
    private int _prefixIndex;

    internal StreamingDecoder(Tokenizer tok, bool skipSpecialTokens)
    {
        _tok = tok;
        _skipSpecial = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the text that is now final (possibly empty).</summary>
    public string Push(int id)
    {
        if (_skipSpecial && _tok.IsSpecial(id)) return "";
        if (_tok.IdToToken(id) is null) return ""; // unknown ids decode to nothing, as in Rust
        if (_prefix.Length == 0 && _ids.Count > 0 && !IsHeld(_ids[^1]))
        {
            var p = Decode(_ids);
            if (!p.EndsWith('\uFFFD')) { _prefix = p; _prefixIndex = _ids.Count; }
        }
        _ids.Add(id);
        if (IsHeld(id)) return "";
        var s = Decode(_ids);
        if (s.Length > _prefix.Length && !s.EndsWith('\uFFFD') && s.StartsWith(_prefix, StringComparison.Ordinal))
        {
            var text = s[_prefix.Length..];
            int newPrefixIndex = _ids.Count - _prefixIndex;
            _ids.RemoveRange(0, _prefixIndex);
            _prefix = Decode(_ids);
            _prefixIndex = newPrefixIndex;
            return text;
        }
        return "";
    }

    /// <summary>Emits whatever is still held back (call once the sequence is complete) and resets the state.</summary>
    public string Flush()
    {
        var s = Decode(_ids);
        var text = s.StartsWith(_prefix, StringComparison.Ordinal) ? s[_prefix.Length..] : s;
        _ids.Clear();
        _prefix = "";
        _prefixIndex = 0;
        return text;
    }

    private bool IsHeld(int id) => _tok.IsByteFallbackToken(id);

    private string Decode(List<int> ids) => _tok.Decode(ids, _skipSpecial, cleanUpTokenizationSpaces: false);
}
