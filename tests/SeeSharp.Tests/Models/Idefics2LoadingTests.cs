using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Loading: broken checkpoints built here with SafetensorsWriter (a tensor removed, an extra one, a wrong shape) must
// fail with messages that name the tensors / both shapes. And the model converted here to BF16 and to F16 must load with
// its weights kept in that dtype and give logits within Tolerances.Model.Bf16LogitsMaxAbs / F16LogitsMaxAbs of the fp32
// golden logits (cases/*/forward.safetensors), with the same greedy argmax wherever the golden top-2 margin is wide.
public sealed class Idefics2LoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seesharp-idefics2-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteCheckpoint(string name, Func<string, Tensor, IEnumerable<KeyValuePair<string, Tensor>>> edit)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(Idefics2Golden.ModelFolder, "config.json"), Path.Combine(folder, "config.json"));
        using var source = SafetensorsFile.Open(Path.Combine(Idefics2Golden.ModelFolder, "model.safetensors"));
        var tensors = source.Names.Order(StringComparer.Ordinal).SelectMany(n => edit(n, source.Get(n))).ToList();
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        return folder;
    }

    private static KeyValuePair<string, Tensor> Keep(string name, Tensor t) => new(name, t);

    [Fact]
    public void MissingAndUnusedTensorsAreListedByName()
    {
        const string dropped1 = "model.connector.perceiver_resampler.layers.1.mlp.up_proj.weight";
        const string dropped2 = "model.vision_model.encoder.layers.0.layer_norm2.bias";
        const string extra = "model.text_model.layers.7.self_attn.rotary_emb.inv_freq";
        var folder = WriteCheckpoint("missing", (n, t) => n switch
        {
            dropped1 or dropped2 => [],
            "lm_head.weight" => [Keep(n, t), Keep(extra, Tensor.FromArray(new float[8], 8))],
            _ => [Keep(n, t)],
        });
        var e = Assert.Throws<InvalidDataException>(() => Idefics2ForConditionalGeneration.Load(folder));
        Assert.Contains(folder, e.Message);
        Assert.Contains("2 missing", e.Message);
        Assert.Contains(dropped1, e.Message);
        Assert.Contains(dropped2, e.Message);
        Assert.Contains("1 unused", e.Message);
        Assert.Contains(extra, e.Message);
    }

    [Fact]
    public void WrongShapeNamesTheTensorAndBothShapes()
    {
        const string name = "model.text_model.layers.1.self_attn.k_proj.weight"; // [32, 64]
        var folder = WriteCheckpoint("shape", (n, t) => n == name ? [Keep(n, Tensor.FromArray(new float[64 * 64], 64, 64))] : [Keep(n, t)]);
        var e = Assert.Throws<InvalidDataException>(() => Idefics2ForConditionalGeneration.Load(folder));
        Assert.Contains(name, e.Message);
        Assert.Contains("[64, 64]", e.Message);
        Assert.Contains("[32, 64]", e.Message);
    }

    [Fact]
    public void WeightSourceScopesNamesAndCountsUses()
    {
        using var checkpoint = SafetensorsCheckpoint.Open(Path.Combine(Idefics2Golden.ModelFolder, "model.safetensors"));
        var ws = new WeightSource(checkpoint, "tiny");
        var layer = ws.Sub("model").Sub("vision_model").Sub("encoder.layers", 1);
        Assert.Equal("model.vision_model.encoder.layers.1", layer.Prefix);
        var q = layer.Sub("self_attn").Get("q_proj.weight", 32, 32);
        Assert.Equal(DType.F32, q.DType);
        Assert.Equal([32L, 32L], q.Shape);
        Assert.Contains("model.vision_model.encoder.layers.1.self_attn.k_proj.weight", ws.UnusedNames);
        Assert.DoesNotContain("model.vision_model.encoder.layers.1.self_attn.q_proj.weight", ws.UnusedNames);
        Assert.Equal(82, ws.UnusedNames.Count);
        var placeholder = ws.Get("no.such.tensor", 3, 2);
        Assert.Equal([3L, 2L], placeholder.Shape);
        Assert.Equal(["no.such.tensor"], ws.MissingNames);
    }

    [Fact]
    public void ShardedCheckpointGivesTheSameLogits()
    {
        // The tiny checkpoint split here into two shards + model.safetensors.index.json must load and give
        // bit-identical logits to the single file (same bytes, same kernels).
        var folder = Path.Combine(_dir, "sharded");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(Idefics2Golden.ModelFolder, "config.json"), Path.Combine(folder, "config.json"));
        var weightMap = new Dictionary<string, string>();
        using (var source = SafetensorsFile.Open(Path.Combine(Idefics2Golden.ModelFolder, "model.safetensors")))
        {
            var names = source.Names.Order(StringComparer.Ordinal).ToArray();
            var shards = new[] { names.Where(n => n.StartsWith("model.vision_model", StringComparison.Ordinal)), names.Where(n => !n.StartsWith("model.vision_model", StringComparison.Ordinal)) };
            for (var i = 0; i < shards.Length; i++)
            {
                var file = $"model-{i + 1:00000}-of-00002.safetensors";
                SafetensorsWriter.Write(Path.Combine(folder, file), shards[i].Select(n => Keep(n, source.Get(n))).ToList());
                foreach (var n in shards[i]) weightMap[n] = file;
            }
        }
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["metadata"] = new Dictionary<string, long>(), ["weight_map"] = weightMap }));

        var golden = Idefics2Golden.Load("single_img");
        using var single = Idefics2ForConditionalGeneration.Load(Idefics2Golden.ModelFolder);
        using var sharded = Idefics2ForConditionalGeneration.Load(folder);
        var a = single.Forward(golden.InputIds, 1, golden.AttentionMask, images: golden.EncodeImages(single));
        var b = sharded.Forward(golden.InputIds, 1, golden.AttentionMask, images: golden.EncodeImages(sharded));
        Assert.Equal(a, b);
    }

    public static TheoryData<string> HalfTypes => new("BF16", "F16");

    [Theory]
    [MemberData(nameof(HalfTypes))]
    public void HalfPrecisionCheckpointLoadsAsStoredAndStaysClose(string dtypeName)
    {
        var dtype = dtypeName == "BF16" ? DType.BF16 : DType.F16;
        var bound = dtype == DType.BF16 ? Tolerances.Model.Bf16LogitsMaxAbs : Tolerances.Model.F16LogitsMaxAbs;
        var folder = WriteCheckpoint(dtypeName, (n, t) => [Keep(n, Convert(t, dtype))]);

        using (var checkpoint = SafetensorsCheckpoint.Open(folder))
        {
            // weights are used as stored: the loader hands out the file's BF16/F16 tensors, no fp32 copy
            var ws = new WeightSource(checkpoint, folder);
            var w = ws.Get("lm_head.weight", 451, 64);
            Assert.Equal(dtype, w.DType);
            Assert.Equal(dtype, new WeightMatrix(w).DType);
        }

        using var model = Idefics2ForConditionalGeneration.Load(folder);
        var worst = 0.0;
        var argmaxChecked = 0;
        foreach (var caseName in Idefics2Golden.CaseNames)
        {
            var golden = Idefics2Golden.Load(caseName);
            var logits = model.Forward(golden.InputIds, golden.Batch, golden.AttentionMask, golden.PositionIds, golden.EncodeImages(model));
            using var forward = SafetensorsFile.Open(Path.Combine(golden.Folder, "forward.safetensors"));
            var expected = forward.Get("logits").ToFloatArray();
            var v = model.VocabSize;
            for (var p = 0; p < golden.Batch * golden.Length; p++)
            {
                if (golden.AttentionMask[p] == 0) continue;
                var a = logits.AsSpan(p * v, v);
                var e = expected.AsSpan(p * v, v);
                worst = Math.Max(worst, Compare.Errors(a, e).MaxAbs);
                var (top1, margin) = Top1(e);
                if (margin > 4 * bound)
                {
                    Assert.Equal(top1, Top1(a).Index);
                    argmaxChecked++;
                }
            }
        }
        Assert.True(worst <= bound, $"{dtypeName}: logits max |diff| {worst:G3} vs fp32 golden, bound {bound}");
        Assert.True(argmaxChecked > 100, $"{dtypeName}: only {argmaxChecked} positions had a clear argmax");
    }

    private static (int Index, float Margin) Top1(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        var second = float.NegativeInfinity;
        for (var i = 0; i < row.Length; i++) if (i != best && row[i] > second) second = row[i];
        return (best, row[best] - second);
    }

    /// <summary>fp32 tensor -> BF16 (round to nearest even) or F16 (IEEE, .NET's Half conversion).</summary>
    private static Tensor Convert(Tensor t, DType dtype)
    {
        var values = t.ToFloatArray();
        var result = Tensor.Allocate(dtype, t.Shape);
        var bits = result.AsSpan<ushort>();
        for (var i = 0; i < values.Length; i++)
        {
            if (dtype == DType.F16)
            {
                bits[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
            }
            else
            {
                var u = BitConverter.SingleToUInt32Bits(values[i]);
                u += 0x7FFF + ((u >> 16) & 1);
                bits[i] = (ushort)(u >> 16);
            }
        }
        return result;
    }
}
