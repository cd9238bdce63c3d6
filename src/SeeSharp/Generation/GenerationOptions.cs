using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeeSharp.Generation;

/// <summary>
/// What the caller asks of one generation. Every property left <c>null</c> takes the checkpoint's value from
/// <c>generation_config.json</c>, and where that is silent transformers' own default (<see cref="GenerationConfig"/>).
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Maximum number of tokens to generate (transformers' <c>max_new_tokens</c>); wins over <see cref="MaxLength"/>.</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary>Maximum total length, prompt included (<c>max_length</c>).</summary>
    public int? MaxLength { get; init; }
    /// <summary>End-of-sequence tokens are banned until this many new tokens exist (<c>min_new_tokens</c>).</summary>
    public int? MinNewTokens { get; init; }
    /// <summary>Sample instead of taking the most likely token (<c>do_sample</c>).</summary>
    public bool? DoSample { get; init; }
    /// <summary>Softmax temperature (sampling only).</summary>
    public float? Temperature { get; init; }
    /// <summary>Keep the k most likely tokens (sampling only; 0 disables).</summary>
    public int? TopK { get; init; }
    /// <summary>Nucleus sampling mass (sampling only; 1 disables).</summary>
    public float? TopP { get; init; }
    /// <summary>Keep tokens whose probability is at least <c>MinP</c> times the best one's (sampling only).</summary>
    public float? MinP { get; init; }
    /// <summary>CTRL-style repetition penalty over the prompt and the generated tokens (1 disables).</summary>
    public float? RepetitionPenalty { get; init; }
    /// <summary>Token sequences never to produce (<c>bad_words_ids</c>).</summary>
    public IReadOnlyList<IReadOnlyList<int>>? BadWordsIds { get; init; }
    /// <summary>Tokens that end a sequence (<c>eos_token_id</c>, one or several).</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }
    /// <summary>Token written after a sequence has finished, in batched generation (<c>pad_token_id</c>).</summary>
    public int? PadTokenId { get; init; }
    /// <summary>Strings that end generation as soon as the decoded answer contains one (<c>stop_strings</c>).</summary>
    public IReadOnlyList<string>? StopStrings { get; init; }
    /// <summary>Seed of the sampling random-number generator; the same seed gives the same tokens.</summary>
    public ulong? Seed { get; init; }
    /// <summary>Keep the processed scores of every step in the result (transformers' <c>output_scores</c>).</summary>
    public bool OutputScores { get; init; }
}

/// <summary>
/// <c>generation_config.json</c> with transformers 4.45.2's <c>GenerationConfig</c> defaults for the keys SeeSharp uses.
/// </summary>
public sealed record GenerationConfig
{
    // Settable, not init: System.Text.Json's source generator sets every init-only property, turning keys absent
    // from the file into zeros instead of keeping the defaults below.
    [JsonPropertyName("max_length")] public int MaxLength { get; set; } = 20;
    [JsonPropertyName("max_new_tokens")] public int? MaxNewTokens { get; set; }
    [JsonPropertyName("min_length")] public int MinLength { get; set; }
    [JsonPropertyName("min_new_tokens")] public int? MinNewTokens { get; set; }
    [JsonPropertyName("do_sample")] public bool DoSample { get; set; }
    [JsonPropertyName("temperature")] public float Temperature { get; set; } = 1.0f;
    [JsonPropertyName("top_k")] public int TopK { get; set; } = 50;
    [JsonPropertyName("top_p")] public float TopP { get; set; } = 1.0f;
    [JsonPropertyName("min_p")] public float? MinP { get; set; }
    [JsonPropertyName("repetition_penalty")] public float RepetitionPenalty { get; set; } = 1.0f;
    [JsonPropertyName("bad_words_ids")] public List<List<int>>? BadWordsIds { get; set; }
    [JsonPropertyName("eos_token_id")] [JsonConverter(typeof(IntOrIntListConverter))] public List<int>? EosTokenId { get; set; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; }
    [JsonPropertyName("stop_strings")] [JsonConverter(typeof(StringOrStringListConverter))] public List<string>? StopStrings { get; set; }

    /// <summary>Reads <c>generation_config.json</c> of a checkpoint folder; transformers' defaults when the file is absent.</summary>
    public static GenerationConfig Load(string folder)
    {
        var path = Path.Combine(folder, "generation_config.json");
        if (!File.Exists(path)) return new GenerationConfig();
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), GenerationJsonContext.Default.GenerationConfig)
                ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Merges the caller's options over this config into the settings one generation runs with.</summary>
    public GenerationSettings Resolve(GenerationOptions? options, int promptLength)
    {
        options ??= new GenerationOptions();
        // From max_length, transformers still generates one token when the prompt already reaches it (with a warning).
        int maxNew = options.MaxNewTokens
            ?? (options.MaxLength is int ml ? Math.Max(1, ml - promptLength) : MaxNewTokens ?? Math.Max(1, MaxLength - promptLength));
        int minNew = options.MinNewTokens ?? MinNewTokens ?? Math.Max(0, MinLength - promptLength);
        var settings = new GenerationSettings
        {
            MaxNewTokens = Math.Max(0, maxNew),
            MinNewTokens = Math.Max(0, minNew),
            DoSample = options.DoSample ?? DoSample,
            Temperature = options.Temperature ?? Temperature,
            TopK = options.TopK ?? TopK,
            TopP = options.TopP ?? TopP,
            MinP = options.MinP ?? MinP,
            RepetitionPenalty = options.RepetitionPenalty ?? RepetitionPenalty,
            BadWordsIds = options.BadWordsIds ?? (IReadOnlyList<IReadOnlyList<int>>?)BadWordsIds?.Select(l => (IReadOnlyList<int>)l).ToList() ?? [],
            EosTokenIds = options.EosTokenIds ?? (IReadOnlyList<int>?)EosTokenId ?? [],
            PadTokenId = options.PadTokenId ?? PadTokenId ?? EosTokenId?.FirstOrDefault() ?? 0,
            StopStrings = options.StopStrings ?? (IReadOnlyList<string>?)StopStrings ?? [],
            Seed = options.Seed,
        };
        settings.Validate();
        return settings;
    }
}

/// <summary>The fully resolved settings of one generation.</summary>
public sealed record GenerationSettings
{
    public int MaxNewTokens { get; init; }
    public int MinNewTokens { get; init; }
    public bool DoSample { get; init; }
    public float Temperature { get; init; } = 1f;
    public int TopK { get; init; }
    public float TopP { get; init; } = 1f;
    public float? MinP { get; init; }
    public float RepetitionPenalty { get; init; } = 1f;
    public IReadOnlyList<IReadOnlyList<int>> BadWordsIds { get; init; } = [];
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int PadTokenId { get; init; }
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    public ulong? Seed { get; init; }

    /// <summary>Rejects values transformers rejects, naming the option.</summary>
    public void Validate()
    {
        if (DoSample && !(Temperature > 0f) ) throw new ArgumentException($"temperature must be > 0 when sampling (got {Temperature})");
        if (TopK < 0) throw new ArgumentException($"top_k must be >= 0 (got {TopK})");
        if (!(TopP > 0f && TopP <= 1f)) throw new ArgumentException($"top_p must be in (0, 1] (got {TopP})");
        if (MinP is float mp && !(mp >= 0f && mp <= 1f)) throw new ArgumentException($"min_p must be in [0, 1] (got {mp})");
        if (!(RepetitionPenalty > 0f)) throw new ArgumentException($"repetition_penalty must be > 0 (got {RepetitionPenalty})");
        foreach (var w in BadWordsIds)
            if (w.Count == 0) throw new ArgumentException("bad_words_ids must not contain an empty sequence");
    }
}

internal sealed class IntOrIntListConverter : JsonConverter<List<int>?>
{
    public override List<int>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.Number) return [reader.GetInt32()];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("expected an integer or a list of integers");
        var list = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(reader.GetInt32());
        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<int>? value, JsonSerializerOptions options)
    {
        if (value is null) { writer.WriteNullValue(); return; }
        writer.WriteStartArray();
        foreach (var v in value) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}

internal sealed class StringOrStringListConverter : JsonConverter<List<string>?>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.String) return [reader.GetString()!];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("expected a string or a list of strings");
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(reader.GetString()!);
        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<string>? value, JsonSerializerOptions options)
    {
        if (value is null) { writer.WriteNullValue(); return; }
        writer.WriteStartArray();
        foreach (var v in value) writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}

[JsonSerializable(typeof(GenerationConfig))]
internal sealed partial class GenerationJsonContext : JsonSerializerContext;
