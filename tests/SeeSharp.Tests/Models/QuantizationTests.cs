using SeeSharp.Engine.Quant;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Nn;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Int8 / int4 weights on the tiny Idefics2 (decoder + connector quantized, vision and lm_head dense) against the fp32
// golden logits of every case, at every position whose attention mask is 1: top-1 agreement and mean KL divergence
// KL(p_fp32 || p_quant), bounds in Tolerances.Quant (Idefics2* entries). And quantize -> save -> load: bit-identical logits.
public class QuantizationTests
{
    private static (double Top1, double MeanKl, int Positions, double Top1Clear, int Clear) Compare(Quantization q)
    {
        var policy = new QuantizationPolicy(QuantizationPolicy.For(q), null, QuantizationPolicy.DecoderAndConnector);
        using var model = Idefics2ForConditionalGeneration.Load(Idefics2Golden.ModelFolder, policy);
        int agree = 0, positions = 0, agreeClear = 0, clear = 0;
        double kl = 0;
        foreach (var name in Idefics2Golden.CaseNames)
        {
            var golden = Idefics2Golden.Load(name);
            var logits = model.Forward(golden.InputIds, golden.Batch, golden.AttentionMask, golden.PositionIds, golden.EncodeImages(model));
            using var forward = SafetensorsFile.Open(Path.Combine(golden.Folder, "forward.safetensors"));
            var reference = forward.Get("logits").ToFloatArray();
            int v = model.VocabSize;
            for (int t = 0; t < golden.Batch * golden.Length; t++)
            {
                if (golden.AttentionMask[t] == 0) continue;
                var p = reference.AsSpan(t * v, v);
                var qv = logits.AsSpan(t * v, v);
                positions++;
                bool same = ArgMax(p) == ArgMax(qv);
                if (same) agree++;
                if (Margin(p) >= Tolerances.QuantModel.ClearMargin) { clear++; if (same) agreeClear++; }
                kl += Kl(p, qv);
            }
        }
        return (agree / (double)positions, kl / positions, positions, agreeClear / (double)clear, clear);
    }

    [Fact]
    public void Int8KeepsTopOneAndDistribution()
    {
        var (top1, kl, n, top1Clear, clear) = Compare(Quantization.Int8);
        Assert.True(top1 >= Tolerances.QuantModel.Idefics2Int8Top1, $"int8 top-1 agreement {top1:P2} over {n} positions");
        Assert.True(top1Clear >= Tolerances.QuantModel.Idefics2Int8Top1Clear, $"int8 top-1 agreement {top1Clear:P2} over the {clear} positions with a clear fp32 winner");
        Assert.True(kl <= Tolerances.QuantModel.Idefics2Int8MeanKl, $"int8 mean KL {kl:E3} over {n} positions");
    }

    [Fact]
    public void Int4StaysWithinItsLooserBounds()
    {
        var (top1, kl, n, top1Clear, clear) = Compare(Quantization.Int4);
        Assert.True(top1 >= Tolerances.QuantModel.Idefics2Int4Top1, $"int4 top-1 agreement {top1:P2} over {n} positions");
        Assert.True(top1Clear >= Tolerances.QuantModel.Idefics2Int4Top1Clear, $"int4 top-1 agreement {top1Clear:P2} over the {clear} positions with a clear fp32 winner");
        Assert.True(kl <= Tolerances.QuantModel.Idefics2Int4MeanKl, $"int4 mean KL {kl:E3} over {n} positions");
    }

    // Decode steps (one token per step) run q/k/v and gate/up as one shared-input GEMV each (SharedInputLinear):
    // the logits must be bit-identical to running every projection on its own.
    [Theory]
    [InlineData(Quantization.Int8)]
    [InlineData(Quantization.Int4)]
    public void SharedInputDecodeStepsEqualSeparateProjectionsExactly(Quantization q)
    {
        var policy = new QuantizationPolicy(QuantizationPolicy.For(q), null, QuantizationPolicy.DecoderAndConnector);
        using var model = Idefics2ForConditionalGeneration.Load(Idefics2Golden.ModelFolder, policy);
        long[] prompt = [1, 17, 42, 99, 5, 8];
        List<float[]> Run()
        {
            var cache = model.CreateKvCache(1, 16);
            var mask = Enumerable.Repeat(1L, prompt.Length).ToList();
            var logits = model.Step(cache, prompt, Enumerable.Range(0, prompt.Length).Select(i => (long)i).ToArray(), mask.ToArray());
            var steps = new List<float[]>();
            for (int s = 0; s < 5; s++)
            {
                long next = ArgMax(logits.AsSpan(logits.Length - model.VocabSize));
                mask.Add(1);
                logits = model.Step(cache, [next], [prompt.Length + s], mask.ToArray());
                steps.Add(logits);
            }
            return steps;
        }
        var shared = Run();
        List<float[]> separate;
        SharedInputLinear.Enabled = false;
        try { separate = Run(); }
        finally { SharedInputLinear.Enabled = true; }
        for (int s = 0; s < shared.Count; s++)
            Assert.True(shared[s].AsSpan().SequenceEqual(separate[s]), $"{q}: decode step {s} logits differ between shared-input and separate projections");
    }

    [Theory]
    [InlineData(Quantization.Int8)]
    [InlineData(Quantization.Int4)]
    public async Task QuantizeSaveLoadRoundTripsBitExactly(Quantization q)
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-quant-");
        try
        {
            var output = Path.Combine(dir.FullName, "q");
            CheckpointQuantizer.Quantize(Idefics2Golden.ModelFolder, output, q);
            Assert.NotNull(QuantizationPolicy.ReadStored(output));
            using (var file = SafetensorsFile.Open(Path.Combine(output, "model.safetensors")))
            {
                Assert.True(file.Contains("model.text_model.layers.0.mlp.up_proj.qweight"));
                Assert.True(file.Contains("model.vision_model.encoder.layers.0.mlp.fc1.weight")); // vision stays dense
                Assert.True(file.Contains("lm_head.weight"));
            }
            var golden = Idefics2Golden.Load("chat_2img");
            using var inPlace = Idefics2ForConditionalGeneration.Load(Idefics2Golden.ModelFolder,
                new QuantizationPolicy(QuantizationPolicy.For(q), null, QuantizationPolicy.DecoderAndConnector));
            using var stored = Idefics2ForConditionalGeneration.Load(output, QuantizationPolicy.Resolve(output, Quantization.None));
            var a = inPlace.Forward(golden.InputIds, golden.Batch, golden.AttentionMask, golden.PositionIds, golden.EncodeImages(inPlace));
            var b = stored.Forward(golden.InputIds, golden.Batch, golden.AttentionMask, golden.PositionIds, golden.EncodeImages(stored));
            Assert.Equal(a, b);

            // And from the public API: the quantized folder generates like the in-place quantized model.
            using var vm = await VisionModel.FromPretrainedAsync(output);
            using var vmInPlace = await VisionModel.FromPretrainedAsync(Idefics2Golden.ModelFolder, new LoadOptions { Quantization = q });
            var processor = await Processor.FromPretrainedAsync(output);
            var inputs = processor.Apply(new Chat().User(Image.Load(Fixtures.Path("images", "astronaut.png")), "Describe the picture."));
            var options = new SeeSharp.Generation.GenerationOptions { MaxNewTokens = 10 };
            Assert.Equal((await vmInPlace.GenerateAsync(inputs, options)).Tokens, (await vm.GenerateAsync(inputs, options)).Tokens);
            Assert.Throws<IOException>(() => CheckpointQuantizer.Quantize(Idefics2Golden.ModelFolder, output, q)); // never overwrites
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void ForeignQuantizationConfigIsAClearError()
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-quant-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "config.json"), """{"model_type": "idefics2", "quantization_config": {"quant_method": "bitsandbytes", "load_in_8bit": true}}""");
            var e = Assert.Throws<InvalidDataException>(() => QuantizationPolicy.ReadStored(dir.FullName));
            Assert.Contains("bitsandbytes", e.Message);
            Assert.Contains("config.json", e.Message);
        }
        finally { dir.Delete(true); }
    }

    private static float Margin(ReadOnlySpan<float> x)
    {
        float a = float.NegativeInfinity, b = float.NegativeInfinity;
        foreach (var v in x) { if (v > a) { b = a; a = v; } else if (v > b) b = v; }
        return a - b;
    }

    private static int ArgMax(ReadOnlySpan<float> x) { int b = 0; for (int i = 1; i < x.Length; i++) if (x[i] > x[b]) b = i; return b; }

    private static double Kl(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double mp = double.NegativeInfinity, mq = double.NegativeInfinity;
        foreach (var x in p) mp = Math.Max(mp, x);
        foreach (var x in q) mq = Math.Max(mq, x);
        double zp = 0, zq = 0;
        for (int i = 0; i < p.Length; i++) { zp += Math.Exp(p[i] - mp); zq += Math.Exp(q[i] - mq); }
        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - mp - Math.Log(zp), lq = q[i] - mq - Math.Log(zq);
            kl += Math.Exp(lp) * (lp - lq);
        }
        return kl;
    }
}
