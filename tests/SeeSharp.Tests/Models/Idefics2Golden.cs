using System.Text.Json;
using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

/// <summary>One case of tests/fixtures/idefics2-tiny/cases: the golden inputs, forward and generate outputs.</summary>
internal sealed class Idefics2Golden
{
    public static readonly string[] CaseNames = ["batch2_leftpad", "chat_2img", "chat_2img_split", "single_img", "text_only"];

    public static string ModelFolder => Fixtures.Path("idefics2-tiny", "model");

    public required string Name { get; init; }
    public required int Batch { get; init; }
    public required int Length { get; init; }
    public required long[] InputIds { get; init; }       // [Batch, Length]
    public required long[] AttentionMask { get; init; }  // [Batch, Length]
    public long[]? PositionIds { get; init; }            // [Batch, Length], batched case only
    public float[]? PixelValues { get; init; }           // [B, N, C, H, W]
    public bool[]? PixelMask { get; init; }              // [B, N, H, W]
    public Idefics2PixelShape PixelShape { get; init; }
    public required long[] NewTokens { get; init; }      // [Batch, 20]
    public required int NewTokenCount { get; init; }
    public required float[] LogitsRaw { get; init; }     // [Batch, 20, vocab]
    public required string Folder { get; init; }

    public static Idefics2Golden Load(string name)
    {
        var folder = Fixtures.Path("idefics2-tiny", "cases", name);
        using var inputs = SafetensorsFile.Open(Path.Combine(folder, "inputs.safetensors"));
        using var generate = SafetensorsFile.Open(Path.Combine(folder, "generate.safetensors"));
        var ids = inputs.Get("input_ids");
        int batch = (int)ids.Shape[0], length = (int)ids.Shape[1];
        float[]? pixels = null;
        bool[]? mask = null;
        Idefics2PixelShape shape = default;
        if (inputs.Contains("pixel_values"))
        {
            var pv = inputs.Get("pixel_values");
            var s = pv.Shape;
            shape = new Idefics2PixelShape((int)s[0], (int)s[1], (int)s[2], (int)s[3], (int)s[4]);
            pixels = pv.ToFloatArray();
            mask = Array.ConvertAll(inputs.Get("pixel_attention_mask").ToFloatArray(), x => x != 0f); // int64 or float64 (README)
        }
        var newTokens = generate.Get("new_tokens");
        return new Idefics2Golden
        {
            Name = name,
            Folder = folder,
            Batch = batch,
            Length = length,
            InputIds = ids.ToInt64Array(),
            AttentionMask = inputs.Get("attention_mask").ToInt64Array(),
            PositionIds = inputs.Contains("position_ids") ? inputs.Get("position_ids").ToInt64Array() : null,
            PixelValues = pixels,
            PixelMask = mask,
            PixelShape = shape,
            NewTokens = newTokens.ToInt64Array(),
            NewTokenCount = (int)newTokens.Shape[1],
            LogitsRaw = generate.Get("logits_raw").ToFloatArray(),
        };
    }

    public bool HasImages => PixelValues is not null;

    public Idefics2ImageFeatures? EncodeImages(Idefics2ForConditionalGeneration model) =>
        HasImages ? model.EncodeImages(PixelValues, PixelMask, PixelShape) : null;

    /// <summary>bad_words_ids (single-token ones) and eos_token_id of model/generation_config.json.</summary>
    public static (int[] BadWords, int[] Eos, int Pad) GenerationConfig()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelFolder, "generation_config.json")));
        var root = doc.RootElement;
        var bad = root.GetProperty("bad_words_ids").EnumerateArray().Select(a =>
        {
            Assert.Equal(1, a.GetArrayLength()); // the tiny (and real) config only bans single tokens
            return a[0].GetInt32();
        }).ToArray();
        var eosElement = root.GetProperty("eos_token_id");
        var eos = eosElement.ValueKind == JsonValueKind.Array ? eosElement.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [eosElement.GetInt32()];
        return (bad, eos, root.GetProperty("pad_token_id").GetInt32());
    }
}

/// <summary>Error metrics of a port against the reference.</summary>
internal static class Compare
{
    /// <summary>max |a - b| and Σ(a - b)² / Σ b² over the elements where <paramref name="include"/> is true (all if null).</summary>
    public static (double MaxAbs, double Nmse) Errors(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, Func<int, bool>? include = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxAbs = 0, num = 0, den = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            if (include is not null && !include(i)) continue;
            double d = (double)actual[i] - expected[i];
            if (double.IsNaN(d)) return (double.NaN, double.NaN);
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
            num += d * d;
            den += (double)expected[i] * expected[i];
        }
        return (maxAbs, den == 0 ? num : num / den);
    }
}
