using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Models.Idefics3;
using SeeSharp.Testing;
using SeeSharp.Tests.Models;

namespace SeeSharp.Tests.Models.Idefics3;

// Compares: every tensor of tests/fixtures/idefics3-tiny/cases/<case>/forward.safetensors (transformers 4.46.0.dev0,
// fp32, eager) — vision patch mask and position ids exactly, every float intermediate and the logits within
// Tolerances.Idefics3.MaxAbsError / NormalizedMse — given the case's inputs.safetensors. Then greedy decoding over our
// KV cache (20 steps, generation_config's bad_words_ids and eos) against generate.safetensors: new_tokens exactly,
// logits_raw within the same bounds, and the cached steps against our own no-cache forward (CacheVsFullMaxAbs).
public sealed class Idefics3ForwardTests : IClassFixture<Idefics3ModelFixture>
{
    private readonly Idefics3ForConditionalGeneration _model;

    public Idefics3ForwardTests(Idefics3ModelFixture fixture) => _model = fixture.Model;

    public static TheoryData<string> Cases => new(Idefics3Golden.CaseNames);

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryIntermediateMatchesTheReference(string caseName)
    {
        var golden = Idefics3Golden.Load(caseName);
        var taps = new Dictionary<string, (float[] Data, int[] Shape)>();
        lock (_model)
        {
            _model.Tap = (name, data, shape) => taps[name] = (data.ToArray(), shape);
            try
            {
                var images = golden.EncodeImages(_model);
                var logits = _model.Forward(golden.InputIds, 1, golden.AttentionMask, images: images);
                Assert.Equal(golden.Length * _model.VocabSize, logits.Length);
            }
            finally
            {
                _model.Tap = null;
            }
        }

        using var forward = SafetensorsFile.Open(Path.Combine(golden.Folder, "forward.safetensors"));
        var failures = new List<string>();
        var compared = 0;
        foreach (var name in forward.Names.Order(StringComparer.Ordinal))
        {
            var tensor = forward.Get(name);
            var expected = tensor.ToFloatArray(); // bool / int64 golden tensors become exact small floats
            var shape = tensor.Shape.Select(d => (int)d).ToArray();
            if (name == "text.hidden_states")
            {
                var per = expected.Length / shape[0]; // [layers + 1, B, L, H] golden vs one tap per index
                for (var i = 0; i < shape[0]; i++) Check($"text.hidden_states.{i}", expected.AsSpan(i * per, per).ToArray(), shape[1..], false);
                continue;
            }
            Check(name, expected, shape, exact: tensor.DType is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64));
        }
        Assert.True(failures.Count == 0, $"{caseName}: {failures.Count} mismatch(es):\n" + string.Join("\n", failures));
        Assert.Equal(14, compared); // 11 named tensors + 3 hidden states

        void Check(string name, float[] expected, int[] shape, bool exact)
        {
            if (!taps.TryGetValue(name, out var actual))
            {
                failures.Add($"{name}: not reported by the model's tap");
                return;
            }
            if (!actual.Shape.SequenceEqual(shape))
            {
                failures.Add($"{name}: shape [{string.Join(", ", actual.Shape)}], golden [{string.Join(", ", shape)}]");
                return;
            }
            var (maxAbs, nmse) = Compare.Errors(actual.Data, expected);
            compared++;
            if (exact && maxAbs != 0)
                failures.Add($"{name}: integer/bool tensor differs (max |diff| {maxAbs})");
            else if (!(maxAbs <= Tolerances.Idefics3.MaxAbsError && nmse <= Tolerances.Idefics3.NormalizedMse))
                failures.Add($"{name}: max |diff| {maxAbs:G3} (bound {Tolerances.Idefics3.MaxAbsError}), nmse {nmse:G3} (bound {Tolerances.Idefics3.NormalizedMse})");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyTokensAndStepLogitsMatchGenerate(string caseName)
    {
        var golden = Idefics3Golden.Load(caseName);
        var (bad, eos, _) = GenerationConfig();
        var images = golden.EncodeImages(_model);
        int steps = golden.NewTokens.Length, v = _model.VocabSize, l = golden.Length;
        var cache = _model.CreateKvCache(1, l + steps);
        var positions = Idefics3ForConditionalGeneration.PositionIdsFromAttentionMask(golden.AttentionMask, 1);
        var logits = _model.Step(cache, golden.InputIds, positions, golden.AttentionMask, images);
        var tokens = new long[steps];
        var stepLogits = new float[steps * v];
        var count = 0;
        for (var s = 0; s < steps; s++)
        {
            logits.CopyTo(stepLogits.AsSpan(s * v));
            var best = -1;
            for (var i = 0; i < v; i++)
                if (!bad.Contains(i) && (best < 0 || logits[i] > logits[best])) best = i; // first maximum, as torch.argmax
            tokens[s] = best;
            count++;
            if (eos.Contains(best) || s == steps - 1) break;
            logits = _model.Step(cache, [best], [l + s], Enumerable.Repeat(1L, l + s + 1).ToArray());
        }
        Assert.Equal(golden.NewTokens, tokens);
        Assert.Equal(steps, count);
        var (maxAbs, nmse) = Compare.Errors(stepLogits, golden.LogitsRaw);
        Assert.True(maxAbs <= Tolerances.Idefics3.MaxAbsError && nmse <= Tolerances.Idefics3.NormalizedMse,
            $"{caseName}: per-step logits vs logits_raw: max |diff| {maxAbs:G3}, nmse {nmse:G3}");

        // no-cache forward over prompt + the first steps - 1 tokens: positions L-1 .. L+steps-2 are the step logits
        var total = l + steps - 1;
        var ids = golden.InputIds.Concat(tokens.Take(steps - 1)).ToArray();
        var full = _model.Forward(ids, 1, Enumerable.Repeat(1L, total).ToArray(), images: images);
        var (cacheVsFull, _) = Compare.Errors(stepLogits, full.AsSpan((l - 1) * v, steps * v));
        Assert.True(cacheVsFull <= Tolerances.Idefics3.CacheVsFullMaxAbs, $"{caseName}: KV-cache vs full forward max |diff| {cacheVsFull:G3}");
    }

    [Fact]
    public void EncodeImagesRejectsBadShapesAndSkipsPaddingSlots()
    {
        var shape = new Idefics2PixelShape(1, 2, 3, 56, 56);
        var pixels = new float[2 * 3 * 56 * 56];
        pixels.AsSpan(0, 3 * 56 * 56).Fill(0.25f); // slot 1 stays all-zero padding
        var features = _model.EncodeImages(pixels, ReadOnlySpan<bool>.Empty, shape);
        Assert.Equal(1, features.Count);
        Assert.Equal([0], features.SourceSlots);
        Assert.Equal(_model.TokensPerImage, features.TokensPerImage);
        Assert.Equal(4, _model.TokensPerImage);
        var e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[3 * 56 * 42], ReadOnlySpan<bool>.Empty, shape with { Images = 1, Width = 42 }));
        Assert.Contains("square grid", e.Message);
        e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[5], ReadOnlySpan<bool>.Empty, shape));
        Assert.Contains("pixel_values has 5 values", e.Message);
    }

    internal static (int[] BadWords, int[] Eos, int Pad) GenerationConfig()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Idefics3Golden.ModelFolder, "generation_config.json")));
        var root = doc.RootElement;
        return (root.GetProperty("bad_words_ids").EnumerateArray().Select(a => a[0].GetInt32()).ToArray(),
            root.GetProperty("eos_token_id").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            root.GetProperty("pad_token_id").GetInt32());
    }
}
