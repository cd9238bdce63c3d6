using System.Text;

namespace SeeSharp.Tokenizers;

/// <summary>A <c>decoder</c> of tokenizer.json: a step of the chain that turns token strings into text.</summary>
internal abstract class Decoder
{
    public abstract List<string> DecodeChain(List<string> tokens);

    public string Decode(List<string> tokens) => string.Concat(DecodeChain(tokens));

    public static Decoder Load(JNode n)
    {
        switch (n.TypeName())
        {
            case "Sequence": return new SequenceDecoder(n.Req("decoders").Items().Select(Load).ToArray());
            case "ByteLevel": return new ByteLevelDecoder();
            case "Metaspace":
                {
                    var (rep, scheme) = MetaspacePreTokenizer.LoadCommon(n);
                    return new MetaspaceDecoder(rep, scheme != MetaspacePreTokenizer.Prepend.Never);
                }
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip": return new StripDecoder(n.Req("content").Str(), n.OptInt("start", 0), n.OptInt("stop", 0));
            case "Replace": return new ReplaceDecoder(Pattern.Load(n.Req("pattern")), n.Req("content").Str());
            case "WordPiece": return new WordPieceDecoder(n.OptStr("prefix") ?? "##", n.OptBool("cleanup", true));
            case "BPEDecoder": return new BpeSuffixDecoder(n.OptStr("suffix") ?? "</w>");
            default: throw n.Unknown("decoder");
        }
    }
}

internal sealed class SequenceDecoder(Decoder[] items) : Decoder
{
    public IReadOnlyList<Decoder> Items => items;

    public override List<string> DecodeChain(List<string> tokens)
    {
        foreach (var d in items) tokens = d.DecodeChain(tokens);
        return tokens;
    }
}

/// <summary>Maps GPT-2 byte chars back to bytes and reads the whole sequence as UTF-8 (invalid bytes -> U+FFFD).</summary>
internal sealed class ByteLevelDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens)
        {
            bool all = true;
            foreach (var c in t) if (!ByteLevel.CharToByte.ContainsKey(c)) { all = false; break; }
            if (all) foreach (var c in t) bytes.Add(ByteLevel.CharToByte[c]);
            else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(t));
        }
        return [System.Text.Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var sb = new StringBuilder(tokens[i].Length);
            foreach (var c in tokens[i])
            {
                if (c != replacement) sb.Append(c);
                else if (!(i == 0 && stripFirst)) sb.Append(' ');
            }
            result.Add(sb.ToString());
        }
        return result;
    }
}

/// <summary>
/// <c>&lt;0xXX&gt;</c> tokens become bytes; each run of them becomes its UTF-8 text if the whole run is valid,
/// otherwise one U+FFFD per byte token of the run (Rust ByteFallback).
/// </summary>
internal sealed class ByteFallbackDecoder : Decoder
{
    private static readonly UTF8Encoding s_strict = new(false, true);

    public static int ParseByteToken(string t)
    {
        if (t.Length != 6 || !t.StartsWith("<0x", StringComparison.Ordinal) || t[5] != '>') return -1;
        return Hex(t[3]) is var h and >= 0 && Hex(t[4]) is var l and >= 0 ? h * 16 + l : -1;
        static int Hex(char c) => c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'F' ? c - 'A' + 10 : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
    }

    public override List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var run = new List<byte>();
        void Flush()
        {
            if (run.Count == 0) return;
            try { result.Add(s_strict.GetString(run.ToArray())); }
            catch (DecoderFallbackException) { for (int k = 0; k < run.Count; k++) result.Add("\uFFFD"); }
            run.Clear();
        }
        foreach (var t in tokens)
        {
            int b = ParseByteToken(t);
            if (b >= 0) run.Add((byte)b);
            else { Flush(); result.Add(t); }
        }
        Flush();
        return result;
    }
}

internal sealed class FuseDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> chars from every token.</summary>
internal sealed class StripDecoder(string content, int start, int stop) : Decoder
{
    private readonly char _c = content.Length == 1 ? content[0] : throw new ArgumentException($"Strip decoder content must be one char, got '{content}'");

    public override List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        foreach (var t in tokens)
        {
            int s = 0;
            while (s < start && s < t.Length && t[s] == _c) s++;
            int e = t.Length, k = 0;
            while (k < stop && e > s && t[e - 1] == _c) { e--; k++; }
            result.Add(t[s..e]);
        }
        return result;
    }
}

internal sealed class ReplaceDecoder(Pattern pattern, string content) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.Select(t => pattern.Replace(t, content)).ToList();
}

internal sealed class WordPieceDecoder(string prefix, bool cleanup) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (i != 0)
                t = t.StartsWith(prefix, StringComparison.Ordinal) ? t[prefix.Length..] : " " + t;
            if (cleanup) t = Cleanup.ApplyWordPiece(t);
            result.Add(t);
        }
        return result;
    }
}

internal sealed class BpeSuffixDecoder(string suffix) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
            result.Add(tokens[i].Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal));
        return result;
    }
}

/// <summary>transformers' <c>clean_up_tokenization</c>, and the Rust WordPiece decoder's variant of it.</summary>
internal static class Cleanup
{
    /// <summary>Rust <c>decoders::wordpiece::cleanup</c>: the transformers list plus " do not" -&gt; " don't".</summary>
    public static string ApplyWordPiece(string s) => s
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" do not", " don't", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    /// <summary>transformers 4.45 <c>PreTrainedTokenizerBase.clean_up_tokenization</c>.</summary>
    public static string Apply(string s) => s
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);
}
