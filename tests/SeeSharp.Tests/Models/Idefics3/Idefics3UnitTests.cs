using SeeSharp.Models.Idefics3;
using SeeSharp.Models.Shared;
using SeeSharp.Nn;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models.Idefics3;

// Properties and hand-computed values (no golden file): config defaults copied from transformers v4.46
// configuration_idefics3.py / configuration_llama.py, rejected settings, the patch-mask rule that distinguishes
// Idefics3 from Idefics2 in the shared vision tower, and pixel_shuffle against an independent
// reshape/permute transcription. Exact comparisons.
public sealed class Idefics3UnitTests
{
    [Fact]
    public void ConfigDefaultsAreTheReferenceOnes()
    {
        var c = Idefics3Config.Parse("{\"model_type\": \"idefics3\"}");
        Assert.Equal(128_257, c.ImageTokenId);
        Assert.Equal(2, c.ScaleFactor);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal((1152, 3072, 12, 16, 224, 32, 1e-6), (c.VisionConfig.HiddenSize, c.VisionConfig.IntermediateSize, c.VisionConfig.NumHiddenLayers,
            c.VisionConfig.NumAttentionHeads, c.VisionConfig.ImageSize, c.VisionConfig.PatchSize, c.VisionConfig.LayerNormEps));
        var t = c.TextConfig; // text_config None -> LlamaConfig(rms_norm_eps=1e-5, pad_token_id=128002, tie_word_embeddings=False)
        Assert.Equal((32000, 4096, 11008, 32, 32, 32, 128, 2048), (t.VocabSize, t.HiddenSize, t.IntermediateSize, t.NumHiddenLayers,
            t.NumAttentionHeads, t.NumKeyValueHeads, t.HeadDim, t.MaxPositionEmbeddings));
        Assert.Equal((1e-5, 128_002, 10000.0), (t.RmsNormEps, t.PadTokenId, t.RopeTheta));
        Assert.Equal(12, c.ImageSeqLen); // (224 / 32)² = 49 -> 49 / 4 = 12 (integer division; such a grid fails at encode time)
        var given = Idefics3Config.Parse("{\"model_type\": \"smolvlm\", \"text_config\": {\"hidden_size\": 64, \"num_attention_heads\": 4}}");
        Assert.Equal(1e-6, given.TextConfig.RmsNormEps); // a given text_config keeps LlamaConfig's own default
        Assert.Equal(16, given.TextConfig.HeadDim);
    }

    [Theory]
    [InlineData("{\"model_type\": \"idefics2\"}", "model_type")]
    [InlineData("{\"text_config\": {\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}}", "rope_scaling.low_freq_factor")]
    [InlineData("{\"text_config\": {\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}}}", "rope_scaling")]
    [InlineData("{\"text_config\": {\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}}", "rope_scaling")]
    [InlineData("{\"text_config\": {\"rope_scaling\": {\"type\": \"linear\"}}}", "rope_scaling.factor")]
    [InlineData("{\"text_config\": {\"model_type\": \"mistral\"}}", "text_config.model_type")]
    [InlineData("{\"scale_factor\": 0}", "scale_factor")]
    [InlineData("{\"text_config\": {\"num_key_value_heads\": 5}}", "num_key_value_heads")]
    public void UnsupportedOrImpossibleConfigsFailNamingTheField(string json, string field)
    {
        var e = Record.Exception(() => Idefics3Config.Parse(json, "x/config.json"));
        Assert.True(e is InvalidDataException or NotSupportedException, e?.ToString());
        Assert.Contains("x/config.json", e!.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void DefaultRopeScalingIsAccepted()
    {
        Assert.Null(Idefics3Config.Parse("{\"text_config\": {\"rope_scaling\": null}}").TextConfig.ToDecoderSettings().RopeScaling);
        Assert.Null(Idefics3Config.Parse("{\"text_config\": {\"rope_scaling\": {\"rope_type\": \"default\"}}}").TextConfig.ToDecoderSettings().RopeScaling);
    }

    [Fact]
    public void ScaledRopeInverseFrequenciesFollowTheReferenceFormulas()
    {
        // Hand-computed from modeling_rope_utils.py (v4.46): head_dim 8, theta 10000 -> inv_freq 1, 0.1, 0.01, 0.001
        // (fp32), wavelengths 2π / inv_freq = 6.28, 62.8, 628, 6283. llama3 with factor 8, low 1, high 4, original 1024:
        // low_freq_wavelen 1024, high_freq_wavelen 256 -> [0] and [1] kept (short), [3] divided by 8 (long), [2] (628 in
        // between) smoothed: s = (1024 / 628.3 - 1) / 3 = 0.2099, (1 - s) * 0.01 / 8 + s * 0.01 = 0.003087.
        var llama3 = Idefics3Config.Parse("{\"text_config\": {\"head_dim\": 8, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, " +
            "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 1024}}}").TextConfig.ToDecoderSettings();
        var rotary = RopeScaling.Create(8, 10000, llama3.RopeScaling);
        var f = rotary.InverseFrequencies.ToArray();
        Assert.Equal(new RotaryEmbedding(8, 10000).InverseFrequencies[0], f[0]);
        Assert.Equal(new RotaryEmbedding(8, 10000).InverseFrequencies[1], f[1]);
        Assert.Equal(0.001f / 8, f[3], 1e-9f);
        var s = (1024 / (2 * Math.PI / 0.01) - 1) / 3;
        Assert.Equal((1 - s) * 0.01 / 8 + s * 0.01, f[2], 1e-7);
        var linear = Idefics3Config.Parse("{\"text_config\": {\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}}").TextConfig.ToDecoderSettings();
        var scaled = RopeScaling.Create(8, 10000, linear.RopeScaling).InverseFrequencies.ToArray();
        Assert.Equal(new RotaryEmbedding(8, 10000).InverseFrequencies.ToArray().Select(x => x / 2f), scaled);
    }

    [Fact]
    public void PatchMaskKeepsPartialPatchesOnlyForIdefics3()
    {
        // A 28x28 image (2 x 2 patches of 14) whose real pixels cover 20 columns: patch column 1 is partly real.
        var mask = new bool[28 * 28];
        for (var y = 0; y < 28; y++) for (var x = 0; x < 20; x++) mask[y * 28 + x] = true;
        var shape = new SeeSharp.Models.Idefics2.Idefics2PixelShape(1, 1, 3, 28, 28);
        bool[] Run(NaViTVariant variant)
        {
            var patchMask = new bool[4];
            NaViTVisionTransformer.PatchMask(mask, 0, shape, 14, variant, patchMask);
            return patchMask;
        }
        Assert.Equal([true, true, true, true], Run(NaViTVariant.Idefics3));
        Assert.Equal([true, false, true, false], Run(NaViTVariant.Idefics2));
    }

    [Fact]
    public void PixelShuffleIsTheReferenceViewPermuteReshape()
    {
        // Independent transcription of the reference's tensor ops on index arithmetic, for a 4x4 grid, embed 3, scale 2.
        const int side = 4, embed = 3, s = 2, seq = side * side;
        var x = Enumerable.Range(0, seq * embed).Select(i => (float)i).ToArray();
        // view(h, w/s, E*s) -> permute(0,2,1,3) -> reshape(w/s, h/s, E*s*s) -> permute(0,2,1,3) -> reshape(seq/s², E*s²)
        var a = new float[side / s, side, embed * s]; // permuted [w/s, h, E*s]
        for (var h = 0; h < side; h++) for (var j = 0; j < side / s; j++) for (var c = 0; c < embed * s; c++) a[j, h, c] = x[(h * side) * embed + j * embed * s + c];
        var expected = new float[seq / (s * s) * embed * s * s];
        for (var i2 = 0; i2 < side / s; i2++)
            for (var j = 0; j < side / s; j++)
                for (var c = 0; c < embed * s * s; c++)
                {
                    // reshape of a (contiguous [w/s, h, E*s]) to [w/s, h/s, E*s*s]: element (j, i2, c) = a[j, i2*s + c / (E*s), c % (E*s)]
                    expected[(i2 * (side / s) + j) * embed * s * s + c] = a[j, i2 * s + c / (embed * s), c % (embed * s)];
                }
        var actual = new float[expected.Length];
        Idefics3Connector.PixelShuffle(x, seq, embed, s, actual);
        Assert.Equal(expected, actual);
        Assert.Throws<ArgumentException>(() => Idefics3Connector.PixelShuffle(new float[12 * embed], 12, embed, s, new float[12 * embed]));
    }

    [Fact]
    public void ArchitectureRegistryFindsIdefics3AndSmolVlmCheckpoints()
    {
        Assert.Equal("idefics3", Architectures.Find(Idefics3Golden.ModelFolder).ModelType);
        var folder = Path.Combine(Path.GetTempPath(), $"seesharp-smolvlm-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"smolvlm\", \"architectures\": [\"SmolVLMForConditionalGeneration\"]}");
            Assert.Equal("idefics3", Architectures.Find(folder).ModelType);
            Assert.Equal("smolvlm", Idefics3Config.Load(Path.Combine(folder, "config.json")).ModelType);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
