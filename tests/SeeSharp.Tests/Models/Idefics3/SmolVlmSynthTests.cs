using System.Text.Json.Nodes;
using SeeSharp.Engine;
using SeeSharp.Generation;
using SeeSharp.Models.Idefics3;
using SeeSharp.Testing;
using SeeSharp.Tools;

namespace SeeSharp.Tests.Models.Idefics3;

// Tests tools/SeeSharp.Tools/SmolVlmSynth.cs (compiled into this project) — the code path of
// `synth --config smolvlm-256m|smolvlm-2.2b` — on a TINY spec written the same way:
//   property: VisionModel.FromPretrainedAsync loads the written folder, which proves (WeightSource.EnsureAllUsed) that the
//   synthesized tensor names and shapes are exactly the ones Idefics3ForConditionalGeneration has, no more, no fewer;
//   property: the processor expands one image into (tiles + 1) x image_seq_len <image> tokens at the spec's image
//   token id, framed by the spec's <fake_token_around_image> / <global-img> / row ids;
//   property: greedy generation runs MaxNewTokens steps;
//   reference values: the preset configs parse with SeeSharp's Idefics3Config and give the image_seq_len of the real
//   processor_config.json (64 for SmolVLM-256M, 81 for SmolVLM-Instruct: exact), and their parameter counts lie within
//   ParameterCountRelativeTolerance of the model cards' 256M and 2.2B.
public sealed class SmolVlmSynthTests
{
    private const double ParameterCountRelativeTolerance = 0.03;
    private const int NewTokens = 3;

    private static readonly SmolVlmSpec Tiny = new("tiny",
        VisionHidden: 32, VisionIntermediate: 64, VisionLayers: 2, VisionHeads: 4, ImageSize: 56, PatchSize: 14, ScaleFactor: 2,
        Hidden: 64, Intermediate: 128, Layers: 2, Heads: 4, KvHeads: 2, Vocab: 560, RopeTheta: 100000.0, RmsEps: 1e-5,
        MaxPositions: 4096, TiedEmbeddings: false,
        GlobalImageTokenId: 500, FakeImageTokenId: 537, ImageTokenId: 538, EndOfUtteranceTokenId: 559,
        LongestEdge: 112, MaxImageSize: 56);

    private static string WriteTiny(SmolVlmSpec spec)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"seesharp-smolvlm-synth-{Guid.NewGuid():N}");
        SmolVlmSynth.Write(spec, dir, DType.F32, seed: 7, shardGb: 4.9, Fixtures.Path("idefics3-tiny", "model"), _ => { });
        return dir;
    }

    [Fact]
    public async Task TinySynthesizedCheckpointLoadsAndGeneratesThroughTheFacade()
    {
        var dir = WriteTiny(Tiny);
        try
        {
            using var model = await VisionModel.FromPretrainedAsync(dir);
            Assert.IsType<Idefics3VisionModel>(model);
            var processor = Assert.IsType<Idefics3Processor>(await Processor.FromPretrainedAsync(dir));
            Assert.Equal(Tiny.ImageSeqLen, processor.ImageSeqLen);
            var chat = new Chat().User(Image.Load(Fixtures.Path("images", "camera.png")), "What is this?");
            var inputs = processor.Apply(chat);
            // camera.png is resized to longest edge 112 = 2 x 56: a 2 x 2 split (or fewer along the short side) + global.
            int tiles = inputs.Pixels!.PixelValuesShape[1];
            Assert.InRange(tiles, 2, 5);
            Assert.Equal(tiles * Tiny.ImageSeqLen, inputs.InputIds.Count(id => id == Tiny.ImageTokenId));
            Assert.Contains((long)Tiny.GlobalImageTokenId!, inputs.InputIds);
            Assert.Contains((long)Tiny.GlobalImageTokenId! + 1, inputs.InputIds); // <row_1_col_1>
            Assert.Contains((long)Tiny.FakeImageTokenId, inputs.InputIds);
            Assert.All(inputs.InputIds, id => Assert.InRange(id, 0, Tiny.Vocab - 1));

            var result = await model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = NewTokens, MinNewTokens = NewTokens });
            Assert.Equal(NewTokens, result.Tokens.Count);
            Assert.Equal(inputs.InputIds.Length, result.PromptTokens);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutGlobalImageTokensTheRowTagsAreTokenizedAsText()
    {
        // The SmolVLM-Instruct (2.2B) layout: only <fake_token_around_image>, <image>, <end_of_utterance> are added tokens.
        var spec = Tiny with { GlobalImageTokenId = null, FakeImageTokenId = 557, ImageTokenId = 558, EndOfUtteranceTokenId = 559, Vocab = 560 };
        var dir = WriteTiny(spec);
        try
        {
            using var model = await VisionModel.FromPretrainedAsync(dir);
            var processor = await Processor.FromPretrainedAsync(dir);
            var inputs = processor.Apply(new Chat().User(Image.Load(Fixtures.Path("images", "camera.png")), "What is this?"));
            int tiles = inputs.Pixels!.PixelValuesShape[1];
            Assert.Equal(tiles * spec.ImageSeqLen, inputs.InputIds.Count(id => id == spec.ImageTokenId));
            Assert.All(inputs.InputIds, id => Assert.True(id < 448 || id >= 557, $"unexpected id {id}"));
            var result = await model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 1 });
            Assert.Single(result.Tokens);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("smolvlm-256m", 64, 256e6)]
    [InlineData("smolvlm-2.2b", 81, 2.2e9)]
    public void PresetConfigsParseAndHaveTheRealImageSeqLenAndSize(string name, int imageSeqLen, double cardParameters)
    {
        var spec = SmolVlmSpec.ByName(name)!;
        var config = Idefics3Config.Parse(spec.ConfigJson("bfloat16").ToJsonString(), name);
        Assert.Equal(imageSeqLen, config.ImageSeqLen);
        Assert.Equal(imageSeqLen, spec.ImageSeqLen);
        Assert.Equal(spec.ImageTokenId, config.ImageTokenId);
        double parameters = spec.Tensors().Sum(t => (double)t.Shape.Aggregate(1L, (x, y) => x * y));
        Assert.InRange(parameters, cardParameters * (1 - ParameterCountRelativeTolerance), cardParameters * (1 + ParameterCountRelativeTolerance) + 0.05e9);
    }
}
