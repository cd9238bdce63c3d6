using SeeSharp.Generation;
using SeeSharp.Models.Idefics3;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models.Idefics3;

// Compares the PUBLIC API with tests/fixtures/idefics3-tiny/cases/<case> (transformers 4.46.0.dev0):
//   Processor.FromPretrainedAsync + Chat (images from tests/fixtures/images) + Apply: the rendered prompt with
//   prompt0.txt and the expanded prompt with prompt0_expanded.txt (exact strings), input_ids / attention_mask (exact),
//   pixel_values (bit-exact, Tolerances.PixelValuesMaxAbsDiff) and pixel_attention_mask (exact) of inputs.safetensors;
//   VisionModel.FromPretrainedAsync + GenerateAsync (MaxNewTokens 20, the checkpoint's greedy generation config):
//   the generated tokens with new_tokens of generate.safetensors, exactly.
public sealed class Idefics3PipelineTests
{
    public static TheoryData<string> Cases => new(Idefics3Golden.CaseNames);

    private static async Task<(Idefics3Processor Processor, ModelInputs Inputs)> ProcessAsync(Idefics3Golden golden)
    {
        var processor = Assert.IsType<Idefics3Processor>(await Processor.FromPretrainedAsync(Idefics3Golden.ModelFolder));
        processor.DoImageSplitting = golden.DoImageSplitting; // as the reference set image_processor.do_image_splitting
        var chat = golden.Chat();
        Assert.Equal(File.ReadAllText(Path.Combine(golden.Folder, "prompt0.txt")), processor.ApplyChatTemplate(chat));
        return (processor, processor.Apply(chat));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ProcessorOutputMatchesTheReference(string caseName)
    {
        var golden = Idefics3Golden.Load(caseName);
        var (processor, inputs) = await ProcessAsync(golden);
        Assert.Equal(4, processor.ImageSeqLen);
        Assert.Equal(File.ReadAllText(Path.Combine(golden.Folder, "prompt0_expanded.txt")), Assert.Single(inputs.Prompts));
        Assert.Equal(golden.InputIds, inputs.InputIds);
        Assert.Equal(golden.AttentionMask, inputs.AttentionMask);
        var pixels = inputs.Pixels!;
        Assert.Equal([golden.PixelShape.Batch, golden.PixelShape.Images, golden.PixelShape.Channels, golden.PixelShape.Height, golden.PixelShape.Width],
            pixels.PixelValuesShape);
        var worst = 0.0;
        for (var i = 0; i < golden.PixelValues.Length; i++) worst = Math.Max(worst, Math.Abs(golden.PixelValues[i] - pixels.PixelValues[i]));
        Assert.True(worst <= Tolerances.PixelValuesMaxAbsDiff, $"pixel_values differ by {worst}");
        Assert.Equal(golden.PixelMask, pixels.PixelAttentionMask.Select(b => b != 0).ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GreedyGenerationThroughThePublicApiMatchesGenerate(string caseName)
    {
        var golden = Idefics3Golden.Load(caseName);
        var (processor, inputs) = await ProcessAsync(golden);
        using var model = await VisionModel.FromPretrainedAsync(Idefics3Golden.ModelFolder);
        Assert.IsType<SeeSharp.Models.Idefics3.Idefics3VisionModel>(model);
        Assert.Equal("idefics3", model.ModelType);
        var result = await model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 20 });
        Assert.Equal(golden.NewTokens, result.Tokens.Select(t => (long)t).ToArray());
        Assert.Equal(golden.Length, result.PromptTokens);
        Assert.NotNull(processor.Decode(result.Tokens));
    }

    [Fact]
    public async Task ConversationReusesTheCacheAndImagesOfTheFirstTurn()
    {
        // Property: a follow-up generation in a conversation (prefix + images reused) gives the same tokens as a fresh one.
        var golden = Idefics3Golden.Load("chat_2img_split");
        var processor = (Idefics3Processor)await Processor.FromPretrainedAsync(Idefics3Golden.ModelFolder);
        using var model = await VisionModel.FromPretrainedAsync(Idefics3Golden.ModelFolder);
        var images = golden.Images.Select(i => Image.Load(Fixtures.Path("images", i))).ToArray();
        var first = new Chat().User(images[0], "What do we see in this image?");
        var second = new Chat().User(images[0], "What do we see in this image?").Assistant("In this image we can see two cats on the nets.")
            .User(images[1], "And how about this image?");
        var options = new GenerationOptions { MaxNewTokens = 5 };
        using var conversation = model.StartConversation();
        await conversation.GenerateAsync(processor.Apply(first), options);
        var reused = await conversation.GenerateAsync(processor.Apply(second), options);
        var fresh = await model.GenerateAsync(processor.Apply(second), options);
        Assert.Equal(fresh.Tokens, reused.Tokens);
        Assert.Equal(golden.NewTokens.Take(5).Select(t => (int)t), fresh.Tokens);
    }

    [Fact]
    public async Task ImageCountMismatchesFailWithTransformersMessages()
    {
        var processor = (Idefics3Processor)await Processor.FromPretrainedAsync(Idefics3Golden.ModelFolder);
        var image = Image.Load(Fixtures.Path("images", "astronaut.png"));
        var e = Assert.Throws<ArgumentException>(() => processor.Process(["User:<image><image>hi"], [[image]]));
        Assert.Equal("The number of images in the text [2] and images [1] should be the same.", e.Message);
        e = Assert.Throws<ArgumentException>(() => processor.Process(["User:<image>hi"], [[]]));
        Assert.Equal("Found 1 <image> tokens in the text but no images were passed.", e.Message);
        var text = processor.Process(["User: hi"], [[]]);
        Assert.Null(text.Pixels);
    }

    [Fact]
    public async Task ImagePromptStringsFollowTheReferenceLayout()
    {
        // Hand-built from processing_idefics3.py's _prompt_split_image / _prompt_single_image with image_seq_len 4.
        var processor = (Idefics3Processor)await Processor.FromPretrainedAsync(Idefics3Golden.ModelFolder);
        const string I4 = "<image><image><image><image>";
        Assert.Equal($"<fake_token_around_image><global-img>{I4}<fake_token_around_image>", processor.ImagePromptString(0, 0));
        Assert.Equal($"<fake_token_around_image><row_1_col_1>{I4}<fake_token_around_image><row_1_col_2>{I4}\n" +
                     $"<fake_token_around_image><row_2_col_1>{I4}<fake_token_around_image><row_2_col_2>{I4}\n" +
                     $"\n<fake_token_around_image><global-img>{I4}<fake_token_around_image>", processor.ImagePromptString(2, 2));
        Assert.Equal($"a<fake_token_around_image><global-img>{I4}<fake_token_around_image>b", processor.ExpandImageTokens("a<image>b", [0], [0]));
    }
}
