using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Compares: every intermediate of cases/<case>/forward.safetensors (transformers 4.45.2, fp32, eager) and the logits,
// given cases/<case>/inputs.safetensors, with Tolerances.Model.MaxAbsError and Tolerances.Model.NormalizedMse.
// In batch2_leftpad the text tensors are compared only at positions whose attention mask is 1 (pad rows hold finite
// garbage in the reference, README "Numerics observed"). Integer and bool tensors (patch masks, position ids) must be exact.
public sealed class Idefics2ForwardTests : IClassFixture<Idefics2ModelFixture>
{
    private readonly Idefics2ModelFixture _fixture;

    public Idefics2ForwardTests(Idefics2ModelFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases => new(Idefics2Golden.CaseNames);

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryIntermediateMatchesTheReference(string caseName)
    {
        var golden = Idefics2Golden.Load(caseName);
        var model = _fixture.Model;
        var taps = new Dictionary<string, (float[] Data, int[] Shape)>();
        lock (model)
        {
            model.Tap = (name, data, shape) => taps[name] = (data.ToArray(), shape);
            try
            {
                var images = golden.EncodeImages(model);
                var logits = model.Forward(golden.InputIds, golden.Batch, golden.AttentionMask, golden.PositionIds, images);
                Assert.Equal(golden.Batch * golden.Length * model.VocabSize, logits.Length);
            }
            finally
            {
                model.Tap = null;
            }
        }

        using var forward = SafetensorsFile.Open(Path.Combine(golden.Folder, "forward.safetensors"));
        var failures = new List<string>();
        var compared = 0;
        foreach (var name in forward.Names.Order(StringComparer.Ordinal))
        {
            var expectedTensor = forward.Get(name);
            var expected = expectedTensor.ToFloatArray(); // bool / int64 golden tensors become exact small floats
            var shape = expectedTensor.Shape.Select(d => (int)d).ToArray();
            if (name == "text.hidden_states")
            {
                // [layers + 1, B, L, H] golden vs one tap per index
                var per = expected.Length / shape[0];
                for (var i = 0; i < shape[0]; i++)
                    Check($"text.hidden_states.{i}", expected.AsSpan(i * per, per).ToArray(), shape[1..], textRow: true);
                continue;
            }
            Check(name, expected, shape, textRow: name is "text.token_embeddings" or "merged_inputs_embeds" or "logits",
                exact: expectedTensor.DType is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64));
        }
        Assert.True(failures.Count == 0, $"{caseName}: {failures.Count} mismatch(es):\n" + string.Join("\n", failures));
        Assert.True(compared >= (golden.HasImages ? 17 : 5), $"{caseName}: only {compared} tensors compared");

        void Check(string name, float[] expected, int[] shape, bool textRow, bool exact = false)
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
            Func<int, bool>? include = null;
            if (textRow)
            {
                // [B, L, ...]: keep positions whose attention mask is 1
                var perPosition = expected.Length / (golden.Batch * golden.Length);
                include = i => golden.AttentionMask[i / perPosition] == 1;
            }
            var (maxAbs, nmse) = Compare.Errors(actual.Data, expected, include);
            compared++;
            if (exact && maxAbs != 0)
                failures.Add($"{name}: integer/bool tensor differs (max |diff| {maxAbs})");
            else if (!(maxAbs <= Tolerances.Model.MaxAbsError && nmse <= Tolerances.Model.NormalizedMse))
                failures.Add($"{name}: max |diff| {maxAbs:G3} (bound {Tolerances.Model.MaxAbsError}), nmse {nmse:G3} (bound {Tolerances.Model.NormalizedMse})");
        }
    }

    [Fact]
    public void PositionIdsForLeftPaddingMatchWhatGenerateUses()
    {
        // Golden: batch2_leftpad's position_ids (cumsum(attention_mask) - 1, pads set to 1), exact.
        var golden = Idefics2Golden.Load("batch2_leftpad");
        var ours = Idefics2ForConditionalGeneration.PositionIdsFromAttentionMask(golden.AttentionMask, golden.Batch);
        Assert.Equal(golden.PositionIds, ours);
    }
}

/// <summary>The tiny fp32 model, loaded once per test class.</summary>
public sealed class Idefics2ModelFixture : IDisposable
{
    public Idefics2ForConditionalGeneration Model { get; } = Idefics2ForConditionalGeneration.Load(Idefics2Golden.ModelFolder);

    public void Dispose() => Model.Dispose();
}
