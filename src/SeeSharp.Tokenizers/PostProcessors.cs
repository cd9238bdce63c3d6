namespace SeeSharp.Tokenizers;

/// <summary>A token of the encoding being built; offsets are UTF-16 units of the original text.</summary>
internal record struct EncToken(int Id, string Value, int Start, int End, int TypeId, bool Special);

/// <summary>A <c>post_processor</c> of tokenizer.json (single-sequence form).</summary>
internal abstract class PostProcessor
{
    public abstract List<EncToken> Process(List<EncToken> tokens, bool addSpecialTokens);

    public static PostProcessor Load(JNode n)
    {
        switch (n.TypeName())
        {
            case "TemplateProcessing": return TemplateProcessor.Load(n);
            case "ByteLevel": return new ByteLevelPostProcessor(n.OptBool("trim_offsets", true), n.OptBool("add_prefix_space", true));
            case "RobertaProcessing":
                return new ClsSepProcessor(LoadPair(n.Req("cls")), LoadPair(n.Req("sep")), n.OptBool("trim_offsets", true), n.OptBool("add_prefix_space", true));
            case "BertProcessing":
                return new ClsSepProcessor(LoadPair(n.Req("cls")), LoadPair(n.Req("sep")), false, false);
            case "Sequence": return new SequenceProcessor(n.Req("processors").Items().Select(Load).ToArray());
            default: throw n.Unknown("post_processor");
        }
    }

    private static (string, int) LoadPair(JNode n)
    {
        if (n.Kind != System.Text.Json.JsonValueKind.Array || n.Count != 2) throw n.Error("expected [token, id]");
        return (n[0].Str(), n[1].Int());
    }
}

internal sealed class SequenceProcessor(PostProcessor[] items) : PostProcessor
{
    public override List<EncToken> Process(List<EncToken> tokens, bool addSpecialTokens)
    {
        foreach (var p in items) tokens = p.Process(tokens, addSpecialTokens);
        return tokens;
    }
}

/// <summary>Byte-level post-processing: optionally trims the offsets of leading/trailing 'Ġ' (spaces).</summary>
internal sealed class ByteLevelPostProcessor(bool trimOffsets, bool addPrefixSpace) : PostProcessor
{
    public override List<EncToken> Process(List<EncToken> tokens, bool addSpecialTokens)
    {
        if (!trimOffsets) return tokens;
        for (int i = 0; i < tokens.Count; i++) tokens[i] = Trim(tokens[i], i, addPrefixSpace);
        return tokens;
    }

    /// <summary>Rust <c>process_offsets</c>: offsets skip the leading/trailing 'Ġ' or whitespace chars of the token.</summary>
    internal static EncToken Trim(EncToken t, int index, bool addPrefixSpace)
    {
        static bool Space(char c) => c == '\u0120' || char.IsWhiteSpace(c);
        int lead = 0; while (lead < t.Value.Length && Space(t.Value[lead])) lead++;
        int trail = 0; while (trail < t.Value.Length && Space(t.Value[t.Value.Length - 1 - trail])) trail++;
        int s = t.Start, e = t.End;
        if (lead > 0)
        {
            bool isFirst = index == 0 || s == 0;
            if (isFirst && addPrefixSpace && lead == 1) lead = 0; // keep the space the pre-tokenizer added
            s = Math.Min(s + lead, e);
        }
        if (trail > 0 && e >= trail) e = Math.Max(e - trail, s);
        return t with { Start = s, End = e };
    }
}

/// <summary>BERT / RoBERTa: <c>cls A sep</c>.</summary>
internal sealed class ClsSepProcessor((string Tok, int Id) cls, (string Tok, int Id) sep, bool trimOffsets, bool addPrefixSpace) : PostProcessor
{
    public override List<EncToken> Process(List<EncToken> tokens, bool addSpecialTokens)
    {
        if (trimOffsets) for (int i = 0; i < tokens.Count; i++) tokens[i] = ByteLevelPostProcessor.Trim(tokens[i], i, addPrefixSpace);
        if (!addSpecialTokens) return tokens;
        var r = new List<EncToken>(tokens.Count + 2) { new(cls.Id, cls.Tok, 0, 0, 0, true) };
        r.AddRange(tokens);
        r.Add(new EncToken(sep.Id, sep.Tok, 0, 0, 0, true));
        return r;
    }
}

/// <summary>TemplateProcessing: the <c>single</c> template, e.g. <c>&lt;s&gt; $A</c>.</summary>
internal sealed class TemplateProcessor : PostProcessor
{
    private readonly List<(bool IsSequence, int TypeId, int[] Ids, string[] Tokens)> _single;

    internal TemplateProcessor(List<(bool, int, int[], string[])> single) => _single = single;

    public static new TemplateProcessor Load(JNode n)
    {
        var specials = new Dictionary<string, (int[], string[])>(StringComparer.Ordinal);
        if (n.Opt("special_tokens") is { } st)
            foreach (var (name, v) in st.Props())
            {
                var ids = v.Req("ids").Items().Select(x => x.Int()).ToArray();
                var toks = v.Req("tokens").Items().Select(x => x.Str()).ToArray();
                if (ids.Length != toks.Length) throw v.Error("special token 'ids' and 'tokens' differ in length");
                specials[name] = (ids, toks);
            }
        var single = new List<(bool, int, int[], string[])>();
        var sn = n.Req("single");
        foreach (var piece in sn.Items())
        {
            if (piece.Kind == System.Text.Json.JsonValueKind.String)
            {
                // compact string form: "$A", "$B:1", "[CLS]", "[SEP]:0"
                var s = piece.Str();
                var parts = s.Split(':');
                int typeId = parts.Length > 1 && int.TryParse(parts[1], out var t) ? t : 0;
                if (parts[0].StartsWith('$')) single.Add((true, typeId, [], []));
                else if (specials.TryGetValue(parts[0], out var sp)) single.Add((false, typeId, sp.Item1, sp.Item2));
                else throw piece.Error($"template piece '{s}' names no special token");
            }
            else if (piece.Opt("Sequence") is { } seq) single.Add((true, seq.OptInt("type_id", 0), [], []));
            else if (piece.Opt("SpecialToken") is { } spt)
            {
                var id = spt.Req("id").Str();
                if (!specials.TryGetValue(id, out var sp)) throw spt.Error($"special token '{id}' is not in special_tokens");
                single.Add((false, spt.OptInt("type_id", 0), sp.Item1, sp.Item2));
            }
            else throw piece.Error("template piece must be Sequence or SpecialToken");
        }
        return new TemplateProcessor(single);
    }

    public override List<EncToken> Process(List<EncToken> tokens, bool addSpecialTokens)
    {
        var r = new List<EncToken>(tokens.Count + 4);
        foreach (var (isSeq, typeId, ids, toks) in _single)
        {
            if (isSeq) foreach (var t in tokens) r.Add(t with { TypeId = typeId });
            else if (addSpecialTokens) for (int k = 0; k < ids.Length; k++) r.Add(new EncToken(ids[k], toks[k], 0, 0, typeId, true));
        }
        return r;
    }
}
