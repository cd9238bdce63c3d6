using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Compares: greedy decoding (20 new tokens, bad_words_ids banned, eos stops a row, finished rows emit pad, as
// transformers 4.45.2 generate) with cases/<case>/generate.safetensors `new_tokens` — exactly — and each step's
// raw logits with `logits_raw` (Tolerances.Model.MaxAbsError / NormalizedMse). Then our KV-cache path against our own
// no-cache full forward over prompt + generated tokens (Tolerances.Model.CacheVsFullMaxAbs), and cache cropping.
public sealed class Idefics2GenerationTests : IClassFixture<Idefics2ModelFixture>
{
    private readonly Idefics2ModelFixture _fixture;

    public Idefics2GenerationTests(Idefics2ModelFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases => new(Idefics2Golden.CaseNames);

    /// <summary>Greedy generate as HF does it; returns new tokens [B, steps] and each step's raw logits [B, steps, V].</summary>
    internal static (long[] Tokens, float[] Logits) Greedy(Idefics2ForConditionalGeneration model, Idefics2Golden golden, int steps,
        Idefics2ImageFeatures? images)
    {
        var (bad, eos, pad) = Idefics2Golden.GenerationConfig();
        int b = golden.Batch, v = model.VocabSize;
        var cache = model.CreateKvCache(b, golden.Length + steps);
        var mask = golden.AttentionMask.ToArray();
        var length = golden.Length;
        var positions = Idefics2ForConditionalGeneration.PositionIdsFromAttentionMask(mask, b);
        var logits = model.Step(cache, golden.InputIds, positions, mask, images);
        var tokens = new long[b * steps];
        var allLogits = new float[b * steps * v];
        var unfinished = Enumerable.Repeat(true, b).ToArray();
        for (var s = 0; s < steps; s++)
        {
            var next = new long[b];
            for (var r = 0; r < b; r++)
            {
                var row = logits.AsSpan(r * v, v);
                row.CopyTo(allLogits.AsSpan((r * steps + s) * v, v));
                var best = -1;
                for (var i = 0; i < v; i++)
                {
                    if (bad.Contains(i)) continue;
                    if (best < 0 || row[i] > row[best]) best = i; // first maximum, as torch.argmax
                }
                next[r] = unfinished[r] ? best : pad;
                tokens[r * steps + s] = next[r];
                if (eos.Contains((int)next[r])) unfinished[r] = false;
            }
            if (s == steps - 1 || !unfinished.Contains(true)) break;
            // attention mask grows by a 1 per row; the new position is cumsum - 1 of the grown mask
            var grown = new long[b * (length + 1)];
            var newPositions = new long[b];
            for (var r = 0; r < b; r++)
            {
                mask.AsSpan(r * length, length).CopyTo(grown.AsSpan(r * (length + 1)));
                grown[r * (length + 1) + length] = 1;
                newPositions[r] = grown.AsSpan(r * (length + 1), length + 1).ToArray().Sum() - 1;
            }
            mask = grown;
            length++;
            logits = model.Step(cache, next, newPositions, mask);
        }
        return (tokens, allLogits);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyTokensMatchGenerateAndCacheAgreesWithFullForward(string caseName)
    {
        var golden = Idefics2Golden.Load(caseName);
        var model = _fixture.Model;
        var images = golden.EncodeImages(model);
        var steps = golden.NewTokenCount;
        var (tokens, logits) = Greedy(model, golden, steps, images);
        Assert.Equal(golden.NewTokens, tokens);

        var (maxAbs, nmse) = Compare.Errors(logits, golden.LogitsRaw);
        Assert.True(maxAbs <= Tolerances.Model.MaxAbsError && nmse <= Tolerances.Model.NormalizedMse,
            $"{caseName}: per-step logits vs logits_raw: max |diff| {maxAbs:G3}, nmse {nmse:G3}");

        // No-cache full forward over prompt + the first steps - 1 generated tokens: its logits at positions
        // L-1 .. L+steps-2 are the step logits (the reference's full_sequence_logits_at_generated_positions).
        int b = golden.Batch, l = golden.Length, v = model.VocabSize, total = l + steps - 1;
        var ids = new long[b * total];
        var mask = new long[b * total];
        for (var r = 0; r < b; r++)
        {
            golden.InputIds.AsSpan(r * l, l).CopyTo(ids.AsSpan(r * total));
            tokens.AsSpan(r * steps, steps - 1).CopyTo(ids.AsSpan(r * total + l));
            golden.AttentionMask.AsSpan(r * l, l).CopyTo(mask.AsSpan(r * total));
            mask.AsSpan(r * total + l, steps - 1).Fill(1);
        }
        var full = model.Forward(ids, b, mask, images: images);
        var worst = 0.0;
        for (var r = 0; r < b; r++)
            for (var s = 0; s < steps; s++)
            {
                var fromFull = full.AsSpan((r * total + l - 1 + s) * v, v);
                var fromCache = logits.AsSpan((r * steps + s) * v, v);
                worst = Math.Max(worst, Compare.Errors(fromCache, fromFull).MaxAbs);
            }
        Assert.True(worst <= Tolerances.Model.CacheVsFullMaxAbs, $"{caseName}: KV-cache vs full forward max |diff| {worst:G3}");
    }

    [Fact]
    public void CroppedCacheReusesThePrefixOfAConversation()
    {
        // Property: prefill(prompt) + crop back to a prefix + step(rest) gives the logits of one pass over the prompt.
        var golden = Idefics2Golden.Load("chat_2img");
        var model = _fixture.Model;
        var images = golden.EncodeImages(model)!;
        var fromBytes = model.EncodeImages(golden.PixelValues, Array.ConvertAll(golden.PixelMask!, b => (byte)(b ? 1 : 0)), golden.PixelShape);
        Assert.Equal(images.Data, fromBytes.Data); // the byte-mask overload is the same computation
        Assert.Equal([0, 1], images.SourceSlots);
        var rejoined = Idefics2ImageFeatures.Concat(images.Slice(0, 1), images.Slice(1, 1));
        Assert.Equal(images.Data, rejoined.Data);
        Assert.Equal(2, rejoined.Count);
        var l = golden.Length;
        var positions = Idefics2ForConditionalGeneration.PositionIdsFromAttentionMask(golden.AttentionMask, 1);
        var cache = model.CreateKvCache(1, l + 4);
        var expected = model.Step(cache, golden.InputIds, positions, golden.AttentionMask, images);

        // a prefix that ends after the first image (its features are the first image's rows)
        var ids = golden.InputIds;
        var lastImageToken = Array.LastIndexOf(ids, 449L, l - 1);
        var firstImageEnd = Array.IndexOf(ids, 448L, Array.IndexOf(ids, 449L) + 1) + 1;
        Assert.True(firstImageEnd > 0 && firstImageEnd < lastImageToken);
        cache.Crop(firstImageEnd);
        Assert.Equal(firstImageEnd, cache.Length);
        var rest = ids.AsSpan(firstImageEnd).ToArray();
        var again = model.Step(cache, rest, positions.AsSpan(firstImageEnd).ToArray(), golden.AttentionMask, images.Slice(1, 1));
        Assert.Equal(l, cache.Length);
        var (maxAbs, _) = Compare.Errors(again, expected);
        Assert.True(maxAbs <= Tolerances.Model.CacheVsFullMaxAbs, $"cropped-cache logits differ by {maxAbs:G3}");

        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Crop(l + 1));
        var overflow = Assert.Throws<ArgumentException>(() => model.Step(cache, new long[5], new long[5], Enumerable.Repeat(1L, l + 5).ToArray()));
        Assert.Contains("MaxLength", overflow.Message);
    }

    [Fact]
    public void StepRejectsMismatchedImageTokenCounts()
    {
        var golden = Idefics2Golden.Load("single_img");
        var model = _fixture.Model;
        var images = golden.EncodeImages(model)!;
        var cache = model.CreateKvCache(1, golden.Length);
        var ids = golden.InputIds.ToArray();
        ids[Array.IndexOf(ids, 449L)] = 370; // one image token fewer than the features have rows
        var positions = Idefics2ForConditionalGeneration.PositionIdsFromAttentionMask(golden.AttentionMask, 1);
        var e = Assert.Throws<ArgumentException>(() => model.Step(cache, ids, positions, golden.AttentionMask, images));
        Assert.Contains("image tokens", e.Message);
        Assert.Equal(0, cache.Length);
    }

    [Fact]
    public void KvCacheGrowsAppendsAndCrops()
    {
        // Property test of the cache on its own: writes land at [Length, Length + n), Crop forgets the tail.
        var cache = new KvCache(layers: 2, batch: 2, kvHeads: 2, headDim: 3, maxLength: 40);
        for (var step = 0; step < 20; step++)
        {
            for (var l = 0; l < 2; l++)
                for (var r = 0; r < 2; r++)
                {
                    var k = Enumerable.Range(0, 2 * 6).Select(i => (float)(step * 1000 + l * 100 + r * 10 + i)).ToArray();
                    cache.Write(l, r, k, k.Select(x => -x).ToArray(), 2);
                }
            cache.Advance(2);
        }
        Assert.Equal(40, cache.Length);
        Assert.Equal(19 * 1000 + 100 + 10 + 11, cache.Keys(1, 1, 40)[^1]);
        Assert.Equal(-(19 * 1000 + 100 + 10 + 11), cache.Values(1, 1, 40)[^1]);
        Assert.Throws<InvalidOperationException>(() => cache.Write(0, 0, new float[6], new float[6], 1));
        cache.Crop(3);
        cache.Write(0, 1, [7, 7, 7, 7, 7, 7], [8, 8, 8, 8, 8, 8], 1);
        cache.Write(1, 1, [7, 7, 7, 7, 7, 7], [8, 8, 8, 8, 8, 8], 1);
        cache.Advance(1);
        Assert.Equal(4, cache.Length);
        Assert.Equal(7f, cache.Keys(0, 1, 4)[3 * 6]);
        Assert.Equal(1000 + 10f, cache.Keys(0, 1, 4)[2 * 6]); // token 2 = step 1's first token, untouched
    }
}

// Bad inputs to the model's public entry points fail fast with messages that name the sizes (no golden data).
public sealed class Idefics2InputValidationTests : IClassFixture<Idefics2ModelFixture>
{
    private readonly Idefics2ForConditionalGeneration _model;

    public Idefics2InputValidationTests(Idefics2ModelFixture fixture) => _model = fixture.Model;

    [Fact]
    public void EncodeImagesRejectsInconsistentShapes()
    {
        var shape = new Idefics2PixelShape(1, 1, 3, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[3 * 28 * 27], ReadOnlySpan<bool>.Empty, shape));
        Assert.Contains("pixel_values has 2268 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[3 * 28 * 28], new bool[5], shape));
        Assert.Contains("pixel_attention_mask has 5 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[4 * 28 * 28], ReadOnlySpan<bool>.Empty, shape with { Channels = 4 }));
        Assert.Contains("num_channels", e.Message);
        e = Assert.Throws<ArgumentException>(() => _model.EncodeImages(new float[3 * 10 * 28], ReadOnlySpan<bool>.Empty, shape with { Height = 10 }));
        Assert.Contains("smaller than one 14x14 patch", e.Message);
        // all-zero images are padding: nothing to encode
        var none = _model.EncodeImages(new float[3 * 28 * 28], ReadOnlySpan<bool>.Empty, shape);
        Assert.Equal(0, none.Count);
    }

    [Fact]
    public void StepRejectsInconsistentInputs()
    {
        var cache = _model.CreateKvCache(2, 16);
        Assert.Contains("not [2, n]", Assert.Throws<ArgumentException>(() => _model.Step(cache, new long[3], new long[3], new long[3])).Message);
        Assert.Contains("position ids", Assert.Throws<ArgumentException>(() => _model.Step(cache, new long[4], new long[2], new long[4])).Message);
        Assert.Contains("attention mask", Assert.Throws<ArgumentException>(() => _model.Step(cache, new long[4], new long[4], new long[3])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.Step(cache, [1, 451, 1, 1], new long[4], [1, 1, 1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.Step(cache, [1, -1, 1, 1], new long[4], [1, 1, 1, 1]));
        Assert.Equal(0, cache.Length);
    }
}
