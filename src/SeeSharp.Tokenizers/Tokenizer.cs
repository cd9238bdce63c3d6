using System.Text.Json;

namespace SeeSharp.Tokenizers;

/// <summary>
/// A Hugging Face fast tokenizer loaded from <c>tokenizer.json</c> (plus <c>tokenizer_config.json</c>), in pure C#.
/// Encoding follows the Rust <c>tokenizers</c> pipeline: added tokens, normalizer, pre-tokenizer, model
/// (BPE / Unigram / WordPiece), post-processor. <see cref="Decode"/> offers both the Rust decode
/// (<c>cleanUpTokenizationSpaces: false</c>) and transformers' <c>tokenizer.decode</c> (the default, which applies
/// <c>clean_up_tokenization_spaces</c> from tokenizer_config.json). Instances are immutable and thread-safe.
/// </summary>
public sealed class Tokenizer
{
    /// <summary>Largest tokenizer.json / tokenizer_config.json accepted (bytes).</summary>
    public const long MaxFileBytes = 512L * 1024 * 1024;

    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly Model _model;
    private readonly PostProcessor? _postProcessor;
    private readonly Decoder? _decoder;
    private readonly AddedVocabulary _added;
    private readonly HashSet<int> _specialIds = new();
    private readonly bool[] _isByteToken;
    private readonly bool _cleanUp;
    private readonly Dictionary<string, string> _specialMap;
    private readonly ConfigExtras _extras;

    /// <summary>Other tokenizer_config.json values the processor and chat templates need.</summary>
    private sealed record ConfigExtras(string? ChatTemplate, Dictionary<string, string> ChatTemplates, string[] AdditionalSpecialTokens, string PaddingSide);

    private Tokenizer(Normalizer? normalizer, PreTokenizer? pre, Model model, PostProcessor? post, Decoder? decoder,
        AddedVocabulary added, bool cleanUp, Dictionary<string, string> specialMap, int? modelMaxLength,
        bool? addBos, bool? addEos, ConfigExtras extras)
    {
        _extras = extras;
        _normalizer = normalizer;
        _preTokenizer = pre;
        _model = model;
        _postProcessor = post;
        _decoder = decoder;
        _added = added;
        _cleanUp = cleanUp;
        _specialMap = specialMap;
        ModelMaxLength = modelMaxLength;
        AddBosToken = addBos;
        AddEosToken = addEos;
        foreach (var t in added.ById.Values) if (t.Special) _specialIds.Add(t.Id);
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var kv in model.Vocab) { tokens.Add(kv.Key); maxId = Math.Max(maxId, kv.Value); }
        foreach (var t in added.ById.Values) { tokens.Add(t.Content); maxId = Math.Max(maxId, t.Id); }
        VocabSize = tokens.Count;
        _isByteToken = new bool[maxId + 1];
        bool byteFallback = decoder is not null && ContainsByteFallback(decoder);
        if (byteFallback)
            for (int b = 0; b < 256; b++)
                if (model.TokenToId(Model.ByteToken((byte)b)) is int id && added.IdToToken(id) is null) _isByteToken[id] = true;
    }

    private static bool ContainsByteFallback(Decoder d) => d switch
    {
        ByteFallbackDecoder => true,
        SequenceDecoder s => s.Items.Any(ContainsByteFallback),
        _ => false,
    };

    /// <summary>Loads <paramref name="tokenizerJson"/> and, if given, <paramref name="tokenizerConfigJson"/>.</summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="TokenizerFormatException">Malformed JSON, a bad field, or an unsupported component (message names file and JSON path).</exception>
    public static Tokenizer FromFile(string tokenizerJson, string? tokenizerConfigJson = null)
    {
        var bytes = ReadBounded(tokenizerJson);
        byte[]? cfgBytes = tokenizerConfigJson is null ? null : ReadBounded(tokenizerConfigJson);
        return Load(tokenizerJson, bytes, tokenizerConfigJson, cfgBytes);
    }

    /// <summary>Loads <c>tokenizer.json</c> from <paramref name="folder"/>, plus <c>tokenizer_config.json</c> when present.</summary>
    public static Tokenizer FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"tokenizer folder not found: {folder}");
        var tj = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(tj)) throw new FileNotFoundException($"{tj}: tokenizer.json not found in {folder}", tj);
        var cfg = Path.Combine(folder, "tokenizer_config.json");
        return FromFile(tj, File.Exists(cfg) ? cfg : null);
    }

    private static byte[] ReadBounded(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        var len = new FileInfo(path).Length;
        if (len > MaxFileBytes) throw new TokenizerFormatException(path, "$", $"file is {len} bytes, more than the {MaxFileBytes} accepted");
        return File.ReadAllBytes(path);
    }

    /// <summary>Loads from JSON text in memory (<paramref name="name"/> is used in error messages).</summary>
    internal static Tokenizer FromJson(string tokenizerJson, string? configJson = null, string name = "tokenizer.json") =>
        Load(name, System.Text.Encoding.UTF8.GetBytes(tokenizerJson), configJson is null ? null : "tokenizer_config.json",
            configJson is null ? null : System.Text.Encoding.UTF8.GetBytes(configJson));

    internal static Tokenizer Load(string file, byte[] json, string? cfgFile, byte[]? cfgJson)
    {
        using var doc = JNode.Parse(file, json);
        var root = new JNode(doc.RootElement, file, "$");
        if (root.Kind != JsonValueKind.Object) throw root.Error($"expected a JSON object, got {root.Kind}");

        // "truncation" / "padding" are ignored: transformers resets both on every call that does not ask for them
        // (set_truncation_and_padding with the default do_not_truncate / do_not_pad), so tokenizer(text) never uses them.

        var normalizer = root.Opt("normalizer") is { } nn ? Normalizer.Load(nn) : null;
        var pre = root.Opt("pre_tokenizer") is { } pn ? PreTokenizer.Load(pn) : null;
        var model = Model.Load(root.Req("model"));
        var post = root.Opt("post_processor") is { } ppn ? PostProcessor.Load(ppn) : null;
        var decoder = root.Opt("decoder") is { } dn ? Decoder.Load(dn) : null;

        var added = new AddedVocabulary();
        if (root.Opt("added_tokens") is { } at)
            foreach (var t in at.Items()) added.Add(AddedToken.Load(t));

        bool cleanUp = false;
        int? maxLen = null;
        bool? addBos = null, addEos = null;
        var specialMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var extras = new ConfigExtras(null, new Dictionary<string, string>(StringComparer.Ordinal), [], "right");
        if (cfgJson is not null)
        {
            using var cdoc = JNode.Parse(cfgFile!, cfgJson);
            var c = new JNode(cdoc.RootElement, cfgFile!, "$");
            if (c.Kind != JsonValueKind.Object) throw c.Error($"expected a JSON object, got {c.Kind}");
            if (c.Opt("added_tokens_decoder") is { } atd)
                foreach (var (idStr, v) in atd.Props())
                {
                    if (!int.TryParse(idStr, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
                        throw v.Error($"added_tokens_decoder key '{idStr}' is not a token id");
                    added.Add(AddedToken.Load(v, id));
                }
            cleanUp = c.OptBool("clean_up_tokenization_spaces", false);
            if (c.Opt("model_max_length") is { } ml && ml.Kind == JsonValueKind.Number)
                maxLen = ml.El.TryGetInt32(out var m) ? m : int.MaxValue; // transformers writes 1e30 for "no limit"
            added.EncodeSpecialTokens = c.OptBool("split_special_tokens", false);
            extras = LoadExtras(c);
            addBos = c.Opt("add_bos_token")?.Bool();
            addEos = c.Opt("add_eos_token")?.Bool();
            foreach (var key in new[] { "bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token" })
                if (c.Opt(key) is { } tn) specialMap[key] = tn.Kind == JsonValueKind.String ? tn.Str() : tn.Req("content").Str();
            // transformers' LlamaTokenizerFast / GemmaTokenizerFast always rebuild the post-processor from
            // add_bos_token (default true) / add_eos_token (default false) and the class's default bos/eos tokens.
            var cls = c.OptStr("tokenizer_class");
            if (cls is "LlamaTokenizer" or "LlamaTokenizerFast" or "CodeLlamaTokenizer" or "CodeLlamaTokenizerFast")
                post = BuildLlamaTemplate(c, added, model, specialMap, addBos ?? true, addEos ?? false, "<s>", "</s>");
            else if (cls is "GemmaTokenizer" or "GemmaTokenizerFast")
                post = BuildLlamaTemplate(c, added, model, specialMap, addBos ?? true, addEos ?? false, "<bos>", "<eos>");
        }
        added.Build(normalizer);
        return new Tokenizer(normalizer, pre, model, post, decoder, added, cleanUp, specialMap, maxLen, addBos, addEos, extras);
    }

    private static ConfigExtras LoadExtras(JNode c)
    {
        string? chat = null;
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        if (c.Opt("chat_template") is { } ct)
        {
            if (ct.Kind == JsonValueKind.String) chat = ct.Str();
            else
                foreach (var item in ct.Items()) // [{"name": "default", "template": "..."}, ...]
                    named[item.Req("name").Str()] = item.Req("template").Str();
            if (chat is null && named.TryGetValue("default", out var d)) chat = d;
        }
        var extra = c.Opt("additional_special_tokens")?.Items()
            .Select(t => t.Kind == JsonValueKind.String ? t.Str() : t.Req("content").Str()).ToArray() ?? [];
        var side = c.OptStr("padding_side") ?? "right";
        if (side is not ("left" or "right")) throw new TokenizerFormatException(c.File, "$.padding_side", $"must be 'left' or 'right', got '{side}'");
        return new ConfigExtras(chat, named, extra, side);
    }

    private static TemplateProcessor BuildLlamaTemplate(JNode cfg, AddedVocabulary added, Model model, Dictionary<string, string> map,
        bool addBos, bool addEos, string defaultBos, string defaultEos)
    {
        var single = new List<(bool, int, int[], string[])>();
        (bool, int, int[], string[]) Special(string key, string dflt)
        {
            var tok = map.GetValueOrDefault(key, dflt);
            var id = added.TokenToId(tok) ?? model.TokenToId(tok)
                ?? throw new TokenizerFormatException(cfg.File, "$." + key, $"add_{key} is true but its token '{tok}' is not in the vocabulary");
            return (false, 0, [id], [tok]);
        }
        if (addBos) single.Add(Special("bos_token", defaultBos));
        single.Add((true, 0, [], []));
        if (addEos) single.Add(Special("eos_token", defaultEos));
        return new TemplateProcessor(single);
    }

    /// <summary>Distinct tokens of the model vocabulary plus the added tokens (Python's <c>len(tokenizer)</c>).</summary>
    public int VocabSize { get; }
    /// <summary><c>model_max_length</c> from tokenizer_config.json (int.MaxValue for "unlimited"), or null.</summary>
    public int? ModelMaxLength { get; }
    /// <summary><c>add_bos_token</c> from tokenizer_config.json, or null when absent.</summary>
    public bool? AddBosToken { get; }
    /// <summary><c>add_eos_token</c> from tokenizer_config.json, or null when absent.</summary>
    public bool? AddEosToken { get; }
    /// <summary><c>clean_up_tokenization_spaces</c> from tokenizer_config.json (false when absent).</summary>
    public bool CleanUpTokenizationSpaces => _cleanUp;
    /// <summary>Beginning-of-sequence token from tokenizer_config.json.</summary>
    public string? BosToken => _specialMap.GetValueOrDefault("bos_token");
    /// <summary>End-of-sequence token from tokenizer_config.json.</summary>
    public string? EosToken => _specialMap.GetValueOrDefault("eos_token");
    /// <summary>Padding token from tokenizer_config.json.</summary>
    public string? PadToken => _specialMap.GetValueOrDefault("pad_token");
    /// <summary>Unknown token from tokenizer_config.json.</summary>
    public string? UnkToken => _specialMap.GetValueOrDefault("unk_token");
    /// <summary>The special tokens of tokenizer_config.json by name (<c>bos_token</c> -&gt; <c>&lt;s&gt;</c>, ...), e.g. for chat templates.</summary>
    public IReadOnlyDictionary<string, string> SpecialTokensMap => _specialMap;

    /// <summary>
    /// <c>chat_template</c> of tokenizer_config.json (the <c>default</c> one when it is a list of named templates), or
    /// null. Processors may instead have it in chat_template.json / processor_config.json.
    /// </summary>
    public string? ChatTemplate => _extras.ChatTemplate;
    /// <summary>Named chat templates when tokenizer_config.json gives a list (e.g. <c>default</c>, <c>tool_use</c>).</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates => _extras.ChatTemplates;
    /// <summary><c>additional_special_tokens</c> of tokenizer_config.json.</summary>
    public IReadOnlyList<string> AdditionalSpecialTokens => _extras.AdditionalSpecialTokens;
    /// <summary><c>padding_side</c> of tokenizer_config.json: "left" or "right" (default).</summary>
    public string PaddingSide => _extras.PaddingSide;

    /// <summary>Id of a token (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token) => _added.TokenToId(token) ?? _model.TokenToId(token);
    /// <summary>Token string of an id, or null.</summary>
    public string? IdToToken(int id) => _added.IdToToken(id) ?? _model.IdToToken(id);
    /// <summary>Whether <paramref name="id"/> is an added token marked <c>special</c> (skipped by <c>skipSpecialTokens</c>).</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    internal bool IsByteFallbackToken(int id) => id >= 0 && id < _isByteToken.Length && _isByteToken[id];

    /// <summary>Encodes <paramref name="text"/> as the Rust <c>Tokenizer::encode</c> (with char offsets).</summary>
    public Encoding Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var splits = _added.ExtractAndNormalize(_normalizer, text);
        _preTokenizer?.PreTokenize(splits);

        var toks = new List<EncToken>();
        foreach (var sp in splits)
        {
            var list = sp.Tokens ?? _model.Tokenize(sp.N.Text);
            foreach (var t in list)
            {
                var (s, e) = sp.N.ToOriginal(t.Start, t.End);
                toks.Add(new EncToken(t.Id, t.Value, s, e, 0, false));
            }
        }
        if (_postProcessor is not null) toks = _postProcessor.Process(toks, addSpecialTokens);

        // UTF-16 unit -> scalar index
        var map = new int[text.Length + 1];
        int sc = 0;
        for (int i = 0; i < text.Length;)
        {
            int n = NormalizedString.ScalarLen(text, i);
            map[i] = sc;
            if (n == 2) map[i + 1] = sc;
            sc++;
            i += n;
        }
        map[text.Length] = sc;
        var ids = new int[toks.Count];
        var strs = new string[toks.Count];
        var offs = new (int, int)[toks.Count];
        var types = new int[toks.Count];
        var special = new bool[toks.Count];
        for (int k = 0; k < toks.Count; k++)
        {
            var t = toks[k];
            ids[k] = t.Id;
            strs[k] = t.Value;
            offs[k] = t.Special ? (0, 0) : (map[t.Start], map[t.End]);
            types[k] = t.TypeId;
            special[k] = t.Special;
        }
        return new Encoding(ids, strs, offs, types, special);
    }

    /// <summary>
    /// Decodes ids to text. With <paramref name="cleanUpTokenizationSpaces"/> <c>false</c> this is the Rust
    /// <c>Tokenizer::decode</c>; left null it follows tokenizer_config.json's <c>clean_up_tokenization_spaces</c>
    /// as transformers' <c>tokenizer.decode</c> does (" ." -&gt; "." etc.). Unknown ids are ignored, as in Rust.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            var t = IdToToken(id);
            if (t is null) continue;
            if (skipSpecialTokens && _added.IsSpecialToken(t)) continue;
            tokens.Add(t);
        }
        var text = _decoder is not null ? _decoder.Decode(tokens) : string.Join(" ", tokens);
        if (cleanUpTokenizationSpaces ?? _cleanUp) text = Cleanup.Apply(text);
        return text;
    }

    /// <summary>A decoder that turns ids into text one id at a time (see <see cref="StreamingDecoder"/>).</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);
}
