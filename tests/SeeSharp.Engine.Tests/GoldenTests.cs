// Compares: engine ops on real checkpoint tensors against torch's outputs in the idefics2-tiny golden case
// "text_only" (transformers 4.45.2, fp32): the token embedding lookup must be exact; lm_head(final hidden state)
// must match the golden logits within Tolerances.EngineGoldenMaxAbsRelative.
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests;

public sealed class GoldenTests
{
    [Fact]
    public void EmbeddingAndLmHeadMatchTorch()
    {
        using var model = SafetensorsCheckpoint.Open(Fixtures.Path("idefics2-tiny", "model"));
        using var inputs = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "cases", "text_only", "inputs.safetensors"));
        using var forward = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "cases", "text_only", "forward.safetensors"));

        long[] ids = inputs.Get("input_ids").ToInt64Array();                     // [1, 39]
        var table = new WeightMatrix(model.Get("model.text_model.embed_tokens.weight"));   // [451, 64]
        var emb = new float[ids.Length * table.Cols];
        Ops.Embedding(table, ids, emb);
        Assert.Equal(forward.Get("text.token_embeddings").ToFloatArray(), emb);  // [1, 39, 64], a copy: exact

        var hidden = forward.Get("text.hidden_states").Select(2).Select(0);      // [39, 64], after the final norm
        var lmHead = new WeightMatrix(model.Get("lm_head.weight"));              // [451, 64]
        int t = (int)hidden.Shape[0];
        var logits = new float[t * lmHead.Rows];
        Ops.Linear(hidden.AsReadOnlySpan<float>(), t, lmHead, [], logits);       // GEMM path (m = 39)
        var golden = forward.Get("logits").ToFloatArray();                       // [1, 39, 451]
        AssertNear(golden, logits, "logits (m = 39)");

        var last = new float[lmHead.Rows];                                       // GEMV path (m = 1)
        Ops.Linear(hidden.AsReadOnlySpan<float>()[((t - 1) * 64)..], 1, lmHead, [], last);
        AssertNear(golden.AsSpan((t - 1) * lmHead.Rows).ToArray(), last, "logits of the last token (m = 1)");
    }

    private static void AssertNear(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)expected[i] - actual[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        Assert.True(maxDiff / maxRef <= Tolerances.EngineGoldenMaxAbsRelative, $"{what}: max diff {maxDiff:E3}, max |torch| {maxRef:E3}");
    }
}
