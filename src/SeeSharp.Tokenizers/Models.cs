using System.Collections.Concurrent;
using System.Text.Json;

namespace SeeSharp.Tokenizers;

/// <summary>The <c>model</c> of tokenizer.json: turns one pre-token into tokens.</summary>
internal abstract class Model
{
    public abstract List<Token> Tokenize(string text);
    public abstract int? TokenToId(string token);
    public abstract string? IdToToken(int id);
    public abstract IEnumerable<KeyValuePair<string, int>> Vocab { get; }
    public abstract int VocabSize { get; }

    public static Model Load(JNode n)
    {
        // Old files may omit "type"; infer it the way the Rust deserializer does.
        string type;
        if (n.Opt("type") is { } t) type = t.Str();
        else if (n.Opt("merges") is not null) type = "BPE";
        else if (n.Opt("continuing_subword_prefix") is not null || n.Opt("max_input_chars_per_word") is not null) type = "WordPiece";
        else if (n.Opt("vocab") is { Kind: JsonValueKind.Array }) type = "Unigram";
        else if (n.Opt("vocab") is not null && n.Opt("unk_token") is not null) type = "WordLevel";
        else throw n.Error("model has no 'type' and its fields match no known model");
        return type switch
        {
            "BPE" => BpeModel.Load(n),
            "WordPiece" => WordPieceModel.Load(n),
            "Unigram" => UnigramModel.Load(n),
            "WordLevel" => WordLevelModel.Load(n),
            _ => throw new TokenizerFormatException(n.File, n.Path + ".type", $"unknown or unsupported model type '{type}'"),
        };
    }

    internal static (Dictionary<string, int> Vocab, string[] IdToToken) LoadVocabObject(JNode v)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int max = -1;
        foreach (var (name, idNode) in v.Props())
        {
            int id = idNode.Int();
            if (id < 0) throw idNode.Error($"negative token id {id}");
            vocab[name] = id;
            if (id > max) max = id;
        }
        if (max >= 10_000_000) throw v.Error($"token id {max} is implausibly large");
        var r = new string[max + 1];
        foreach (var (k, id) in vocab) r[id] = k;
        return (vocab, r);
    }

    internal static string ByteToken(byte b) => $"<0x{b:X2}>";
}

/// <summary>Byte-pair encoding, as the Rust <c>BPE</c> model (merges applied by rank with a priority queue; words cached).</summary>
internal sealed class BpeModel : Model
{
    private const int CacheCapacity = 10_000;
    private const int MaxCachedWordLength = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _vocabR;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly string? _unkToken;
    private readonly string _prefix;
    private readonly string _suffix;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteIds; // id of <0xXX>, or -1
    private readonly ConcurrentDictionary<string, Token[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(Dictionary<string, int> vocab, string[] vocabR, Dictionary<long, (int, int)> merges, string? unk,
        string prefix, string suffix, bool fuseUnk, bool byteFallback, bool ignoreMerges)
    {
        _vocab = vocab;
        _vocabR = vocabR;
        _merges = merges;
        _unkToken = unk;
        _prefix = prefix;
        _suffix = suffix;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue(ByteToken((byte)b), out var id) ? id : -1;
    }

    public static new BpeModel Load(JNode n)
    {
        if (n.Opt("dropout") is { } d && d.Double() is var p && p > 0 && p < 1)
            throw new TokenizerFormatException(n.File, d.Path, $"BPE dropout {p} is not supported (encoding would be random)");
        var (vocab, vocabR) = LoadVocabObject(n.Req("vocab"));
        var prefix = n.OptStr("continuing_subword_prefix") ?? "";
        var suffix = n.OptStr("end_of_word_suffix") ?? "";
        var merges = new Dictionary<long, (int, int)>(PairComparer.Instance);
        var mn = n.Opt("merges");
        if (mn is { } mergesNode)
        {
            int rank = 0;
            foreach (var m in mergesNode.Items())
            {
                string a, b;
                if (m.Kind == JsonValueKind.String)
                {
                    var s = m.Str();
                    var parts = s.Split(' ');
                    if (parts.Length != 2) throw m.Error($"merge '{s}' is not two tokens separated by one space");
                    (a, b) = (parts[0], parts[1]);
                }
                else if (m.Kind == JsonValueKind.Array && m.Count == 2) (a, b) = (m[0].Str(), m[1].Str());
                else throw m.Error($"merge must be \"a b\" or [a, b], got {m.Raw()}");
                if (!vocab.TryGetValue(a, out var ia)) throw m.Error($"merge token '{a}' is not in the vocab");
                if (!vocab.TryGetValue(b, out var ib)) throw m.Error($"merge token '{b}' is not in the vocab");
                var merged = a + (prefix.Length > 0 && b.StartsWith(prefix, StringComparison.Ordinal) ? b[prefix.Length..] : b);
                if (!vocab.TryGetValue(merged, out var im)) throw m.Error($"merged token '{merged}' is not in the vocab");
                merges.TryAdd(Key(ia, ib), (rank, im));
                rank++;
            }
        }
        var unk = n.OptStr("unk_token");
        return new BpeModel(vocab, vocabR, merges, unk, prefix, suffix, n.OptBool("fuse_unk", false), n.OptBool("byte_fallback", false), n.OptBool("ignore_merges", false));
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>long's own hash is hi ^ lo, which collides for every (a, b) pair with the same XOR; mix instead.</summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long k) => (int)((ulong)(k * unchecked((long)0x9E3779B97F4A7C15)) >> 32);
    }

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;
    public override string? IdToToken(int id) => id >= 0 && id < _vocabR.Length ? _vocabR[id] : null;
    public override IEnumerable<KeyValuePair<string, int>> Vocab => _vocab;
    public override int VocabSize => _vocab.Count;

    public override List<Token> Tokenize(string text)
    {
        if (text.Length == 0) return [];
        if (_ignoreMerges && _vocab.TryGetValue(text, out var whole)) return [new Token(whole, text, 0, text.Length)];
        if (_cache.TryGetValue(text, out var cached)) return [.. cached];
        var result = MergeWord(text);
        if (text.Length <= MaxCachedWordLength)
        {
            if (_cache.Count >= CacheCapacity) _cache.Clear();
            _cache.TryAdd(text, result);
        }
        return [.. result];
    }

    private struct Symbol
    {
        public int Id, Start, Len, Prev, Next;
    }

    private Token[] MergeWord(string w)
    {
        // 1. one symbol per scalar (or its byte tokens / unk)
        var syms = new List<Symbol>(w.Length);
        var lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int unkId = -1;
        bool haveUnk = _unkToken is not null && _vocab.TryGetValue(_unkToken, out unkId);
        bool prevUnk = false;
        for (int i = 0; i < w.Length;)
        {
            int n = NormalizedString.ScalarLen(w, i);
            bool first = i == 0, last = i + n == w.Length;
            int id;
            bool found;
            if ((first || _prefix.Length == 0) && (!last || _suffix.Length == 0)) found = lookup.TryGetValue(w.AsSpan(i, n), out id);
            else
            {
                string s = w.Substring(i, n);
                if (!first) s = _prefix + s;
                if (last) s += _suffix;
                found = _vocab.TryGetValue(s, out id);
            }
            if (found)
            {
                syms.Add(new Symbol { Id = id, Start = i, Len = n });
                prevUnk = false;
            }
            else
            {
                bool done = false;
                if (_byteFallback)
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(w.Substring(i, n));
                    if (bytes.All(b => _byteIds[b] >= 0))
                    {
                        // every byte token spans the whole char: UTF-16 offsets cannot split it
                        foreach (var b in bytes) syms.Add(new Symbol { Id = _byteIds[b], Start = i, Len = n });
                        done = true;
                        prevUnk = false;
                    }
                }
                if (!done && _unkToken is not null && !haveUnk)
                    throw new InvalidOperationException($"BPE: '{w.Substring(i, n)}' is not in the vocabulary and unk_token '{_unkToken}' is missing from it too");
                if (!done && haveUnk)
                {
                    if (_fuseUnk && prevUnk)
                    {
                        var lastSym = syms[^1];
                        lastSym.Len = i + n - lastSym.Start;
                        syms[^1] = lastSym;
                    }
                    else syms.Add(new Symbol { Id = unkId, Start = i, Len = n });
                    prevUnk = true;
                }
            }
            i += n;
        }
        int count = syms.Count;
        var arr = syms.ToArray();
        for (int k = 0; k < count; k++) { arr[k].Prev = k - 1; arr[k].Next = k + 1 < count ? k + 1 : -1; }

        // 2. merges by rank (then leftmost), with a priority queue: O(n log n) per word
        var initial = new List<((int Pos, int NewId), long)>(count);
        for (int k = 0; k + 1 < count; k++)
            if (_merges.TryGetValue(Key(arr[k].Id, arr[k + 1].Id), out var m)) initial.Add(((k, m.NewId), ((long)m.Rank << 32) | (uint)k));
        var queue = new PriorityQueue<(int Pos, int NewId), long>(initial); // heapify: O(n)
        while (queue.TryDequeue(out var top, out var pri))
        {
            int pos = top.Pos;
            if (arr[pos].Len == 0 || arr[pos].Next == -1) continue;
            int next = arr[pos].Next;
            if (!_merges.TryGetValue(Key(arr[pos].Id, arr[next].Id), out var cur) || cur.NewId != top.NewId || cur.Rank != (int)(pri >> 32)) continue;
            // merge next into pos
            int newLen = arr[next].Start + arr[next].Len - arr[pos].Start;
            arr[pos].Id = cur.NewId;
            arr[pos].Len = newLen;
            arr[pos].Next = arr[next].Next;
            arr[next].Len = 0;
            if (arr[pos].Next != -1) arr[arr[pos].Next].Prev = pos;
            int prev = arr[pos].Prev;
            if (prev != -1 && _merges.TryGetValue(Key(arr[prev].Id, arr[pos].Id), out var mp))
                queue.Enqueue((prev, mp.NewId), ((long)mp.Rank << 32) | (uint)prev);
            int nx = arr[pos].Next;
            if (nx != -1 && _merges.TryGetValue(Key(arr[pos].Id, arr[nx].Id), out var mn))
                queue.Enqueue((pos, mn.NewId), ((long)mn.Rank << 32) | (uint)pos);
        }
        var result = new List<Token>(count);
        for (int k = 0; count > 0 && k != -1; k = arr[k].Next)
            result.Add(new Token(arr[k].Id, _vocabR[arr[k].Id], arr[k].Start, arr[k].Start + arr[k].Len));
        return [.. result];
    }
}

/// <summary>WordPiece: greedy longest match first, continuation pieces carry a prefix (usually <c>##</c>).</summary>
internal sealed class WordPieceModel : Model
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _vocabR;
    private readonly string _unk;
    private readonly string _prefix;
    private readonly int _maxChars;

    private WordPieceModel(Dictionary<string, int> vocab, string[] vocabR, string unk, string prefix, int maxChars)
    {
        _vocab = vocab; _vocabR = vocabR; _unk = unk; _prefix = prefix; _maxChars = maxChars;
    }

    public static new WordPieceModel Load(JNode n)
    {
        var (vocab, r) = LoadVocabObject(n.Req("vocab"));
        var unk = n.OptStr("unk_token") ?? "[UNK]";
        if (!vocab.ContainsKey(unk)) throw new TokenizerFormatException(n.File, n.Path + ".unk_token", $"unk_token '{unk}' is not in the vocab");
        return new WordPieceModel(vocab, r, unk, n.OptStr("continuing_subword_prefix") ?? "##", n.OptInt("max_input_chars_per_word", 100));
    }

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;
    public override string? IdToToken(int id) => id >= 0 && id < _vocabR.Length ? _vocabR[id] : null;
    public override IEnumerable<KeyValuePair<string, int>> Vocab => _vocab;
    public override int VocabSize => _vocab.Count;

    public override List<Token> Tokenize(string text)
    {
        int scalars = 0;
        for (int i = 0; i < text.Length; i += NormalizedString.ScalarLen(text, i)) scalars++;
        if (scalars > _maxChars) return [new Token(_vocab[_unk], _unk, 0, text.Length)];
        var result = new List<Token>();
        int start = 0;
        while (start < text.Length)
        {
            int end = text.Length;
            Token? cur = null;
            while (start < end)
            {
                var sub = text[start..end];
                if (start > 0) sub = _prefix + sub;
                if (_vocab.TryGetValue(sub, out var id)) { cur = new Token(id, sub, start, end); break; }
                end -= end - 2 >= start && char.IsLowSurrogate(text[end - 1]) && char.IsHighSurrogate(text[end - 2]) ? 2 : 1;
            }
            if (cur is null) return [new Token(_vocab[_unk], _unk, 0, text.Length)];
            result.Add(cur.Value);
            start = end;
        }
        return result;
    }
}

/// <summary>Unigram language model: Viterbi over the pieces (SentencePiece's algorithm, as the Rust <c>Unigram</c>).</summary>
internal sealed class UnigramModel : Model
{
    private const double UnkPenalty = 10.0;
    private readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly int _unkId;
    private readonly bool _byteFallback;
    private readonly double _unkScore;
    private readonly int _maxPieceLen;

    private readonly bool _fuseUnk;

    private UnigramModel(string[] pieces, double[] scores, int unkId, bool byteFallback, bool fuseUnk)
    {
        _pieces = pieces; _scores = scores; _unkId = unkId; _byteFallback = byteFallback; _fuseUnk = fuseUnk;
        double min = double.MaxValue;
        for (int i = 0; i < pieces.Length; i++)
        {
            _vocab.TryAdd(pieces[i], i);
            min = Math.Min(min, scores[i]);
            _maxPieceLen = Math.Max(_maxPieceLen, pieces[i].Length);
        }
        _unkScore = (pieces.Length == 0 ? 0 : min) - UnkPenalty;
    }

    public static new UnigramModel Load(JNode n)
    {
        var v = n.Req("vocab");
        var pieces = new string[v.Count];
        var scores = new double[v.Count];
        int i = 0;
        foreach (var e in v.Items())
        {
            if (e.Kind != JsonValueKind.Array || e.Count != 2) throw e.Error("Unigram vocab entry must be [piece, score]");
            pieces[i] = e[0].Str();
            scores[i] = e[1].Double();
            i++;
        }
        int unk = n.Opt("unk_id")?.Int() ?? -1;
        if (unk >= pieces.Length) throw new TokenizerFormatException(n.File, n.Path + ".unk_id", $"unk_id {unk} outside the vocab ({pieces.Length})");
        return new UnigramModel(pieces, scores, unk, n.OptBool("byte_fallback", false), n.OptBool("fuse_unk", true));
    }

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;
    public override string? IdToToken(int id) => id >= 0 && id < _pieces.Length ? _pieces[id] : null;
    public override IEnumerable<KeyValuePair<string, int>> Vocab => _vocab;
    public override int VocabSize => _pieces.Length;

    public override List<Token> Tokenize(string text)
    {
        if (text.Length == 0) return [];
        int n = text.Length;
        var lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        var best = new (double Score, int Start, int Id)[n + 1];
        for (int i = 1; i <= n; i++) best[i] = (0, -1, -1);
        best[0] = (0, 0, -1);
        for (int s = 0; s < n;)
        {
            if (s > 0 && best[s].Start == -1) { s += NormalizedString.ScalarLen(text, s); continue; }
            int mb = NormalizedString.ScalarLen(text, s);
            bool single = false;
            double here = best[s].Score;
            int maxEnd = Math.Min(n, s + _maxPieceLen);
            for (int e = s + 1; e <= maxEnd; e++)
            {
                if (e < n && char.IsLowSurrogate(text[e]) && char.IsHighSurrogate(text[e - 1])) continue;
                if (!lookup.TryGetValue(text.AsSpan(s, e - s), out var id)) continue;
                double cand = here + _scores[id];
                if (best[e].Start == -1 || cand > best[e].Score) best[e] = (cand, s, id);
                if (e - s == mb) single = true;
            }
            if (!single)
            {
                double cand = here + _unkScore;
                if (best[s + mb].Start == -1 || cand > best[s + mb].Score) best[s + mb] = (cand, s, _unkId);
            }
            s += mb;
        }
        var rev = new List<(int Start, int End, int Id)>();
        for (int e = n; e > 0;)
        {
            var b = best[e];
            rev.Add((b.Start, e, b.Id));
            e = b.Start;
        }
        rev.Reverse();
        // fuse consecutive unknown pieces into one string (Rust fuse_unk, on by default for Unigram)
        var pieces = new List<(int Start, int End)>();
        for (int k = 0; k < rev.Count; k++)
        {
            var (s, e, id) = rev[k];
            bool unk = id == _unkId || id < 0;
            if (unk && _fuseUnk && pieces.Count > 0 && k > 0 && (rev[k - 1].Id == _unkId || rev[k - 1].Id < 0))
                pieces[^1] = (pieces[^1].Start, e);
            else pieces.Add((s, e));
        }
        var result = new List<Token>();
        foreach (var (s, e) in pieces)
        {
            var str = text[s..e];
            if (_vocab.TryGetValue(str, out var id)) { result.Add(new Token(id, str, s, e)); continue; }
            if (_byteFallback)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(str);
                var ids = bytes.Select(b => _vocab.TryGetValue(ByteToken(b), out var bid) ? bid : -1).ToArray();
                if (ids.All(x => x >= 0))
                {
                    foreach (var bid in ids) result.Add(new Token(bid, _pieces[bid], s, e));
                    continue;
                }
            }
            if (_unkId < 0) throw new InvalidOperationException($"Unigram model has no unk_id and cannot encode '{str}'");
            result.Add(new Token(_unkId, str, s, e)); // Rust keeps the text as the token string
        }
        return result;
    }
}

/// <summary>WordLevel: the whole pre-token is looked up, else the unk token.</summary>
internal sealed class WordLevelModel : Model
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _vocabR;
    private readonly string _unk;

    private WordLevelModel(Dictionary<string, int> vocab, string[] vocabR, string unk) { _vocab = vocab; _vocabR = vocabR; _unk = unk; }

    public static new WordLevelModel Load(JNode n)
    {
        var (vocab, r) = LoadVocabObject(n.Req("vocab"));
        return new WordLevelModel(vocab, r, n.OptStr("unk_token") ?? "<unk>");
    }

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;
    public override string? IdToToken(int id) => id >= 0 && id < _vocabR.Length ? _vocabR[id] : null;
    public override IEnumerable<KeyValuePair<string, int>> Vocab => _vocab;
    public override int VocabSize => _vocab.Count;

    public override List<Token> Tokenize(string text)
    {
        if (_vocab.TryGetValue(text, out var id)) return [new Token(id, text, 0, text.Length)];
        if (_vocab.TryGetValue(_unk, out var unk)) return [new Token(unk, _unk, 0, text.Length)];
        throw new InvalidOperationException($"WordLevel: '{text}' is not in the vocabulary and unk_token '{_unk}' is missing");
    }
}
