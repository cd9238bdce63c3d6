using System.Text.Json;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Generation;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Generation;

/// <summary>One tiny model and processor for the whole class (loading is cheap, but the model serialises generations).</summary>
public sealed class TinyIdefics2 : IDisposable
{
    public static readonly string Folder = Fixtures.Path("idefics2-tiny", "model");
    public VisionModel Model { get; } = VisionModel.FromPretrainedAsync(Folder).GetAwaiter().GetResult();
    public void Dispose() => Model.Dispose();
}

// The seed's workflow through the PUBLIC API (Processor.FromPretrainedAsync, Chat, Image.Load, processor.Apply,
// model.GenerateAsync / GenerateStreamingAsync) against tests/fixtures/idefics2-tiny/cases/*: ids and pixels exact,
// greedy tokens exact, processed scores within Tolerances.Generation.ScoresProcessedMaxAbs at every step.
public class PublicApiTests(TinyIdefics2 tiny) : IClassFixture<TinyIdefics2>
{
    private static readonly string Cases = Fixtures.Path("idefics2-tiny", "cases");
    private static Image Img(string name) => Image.Load(Fixtures.Path("images", name));

    /// <summary>The conversations the fixture's cases were made from (their prompt&lt;k&gt;.txt show them rendered).</summary>
    public static Chat Seed() => new Chat()
        .User(Img("chelsea.png"), "What do we see in this image?")
        .Assistant("In this image we can see two cats on the nets.")
        .User(Img("coffee.png"), "And how about this image?");
    public static Chat Astronaut() => new Chat().User(Img("astronaut.png"), "Describe the picture.");
    public static Chat TextOnly() => new Chat().User("What is in the picture? Answer briefly.");

    public static IEnumerable<object[]> CaseNames() => new[] { "batch2_leftpad", "chat_2img", "chat_2img_split", "single_img", "text_only" }.Select(c => new object[] { c });

    private static (IReadOnlyList<Chat> Chats, bool Split) CaseChats(string name) => name switch
    {
        "batch2_leftpad" => (new[] { Seed(), Astronaut() }, false),
        "chat_2img" => (new[] { Seed() }, false),
        "chat_2img_split" => (new[] { Seed() }, true),
        "single_img" => (new[] { Astronaut() }, false),
        "text_only" => (new[] { TextOnly() }, false),
        _ => throw new ArgumentException(name),
    };

    private static async Task<(Idefics2Processor Processor, ModelInputs Inputs)> Prepare(string name)
    {
        var processor = (Idefics2Processor)await Processor.FromPretrainedAsync(TinyIdefics2.Folder);
        var (chats, split) = CaseChats(name);
        processor.DoImageSplitting = split;
        return (processor, processor.Apply(chats, addGenerationPrompt: true));
    }

    [Theory, MemberData(nameof(CaseNames))]
    public async Task ProcessorGivesTheGoldenPromptsIdsAndPixels(string name)
    {
        var (processor, inputs) = await Prepare(name);
        var (chats, _) = CaseChats(name);
        for (int k = 0; k < chats.Count; k++)
        {
            Assert.Equal(File.ReadAllText(Path.Combine(Cases, name, $"prompt{k}.txt")), processor.ApplyChatTemplate(chats[k]));
            Assert.Equal(File.ReadAllText(Path.Combine(Cases, name, $"prompt{k}_expanded.txt")), inputs.Prompts[k]);
        }
        using var golden = SafetensorsFile.Open(Path.Combine(Cases, name, "inputs.safetensors"));
        Assert.Equal(golden.Get("input_ids").ToInt64Array(), inputs.InputIds);
        Assert.Equal(golden.Get("attention_mask").ToInt64Array(), inputs.AttentionMask);
        if (golden.Contains("pixel_values"))
        {
            Assert.NotNull(inputs.Pixels);
            Assert.Equal(golden.Get("pixel_values").ToFloatArray(), inputs.Pixels!.PixelValues);
            Assert.Equal(golden.Get("pixel_attention_mask").ToFloatArray(), inputs.Pixels.PixelAttentionMask.Select(b => (float)b).ToArray());
        }
        else Assert.Null(inputs.Pixels);
    }

    [Theory, MemberData(nameof(CaseNames))]
    public async Task GreedyGenerationGivesTheGoldenTokensAndScores(string name)
    {
        var (_, inputs) = await Prepare(name);
        var result = await tiny.Model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 20, OutputScores = true });
        using var golden = SafetensorsFile.Open(Path.Combine(Cases, name, "generate.safetensors"));
        var newTokens = golden.Get("new_tokens").ToInt64Array();
        var scores = golden.Get("scores_processed").ToFloatArray(); // [batch, 20, vocab]
        int batch = inputs.BatchSize, steps = 20, vocab = scores.Length / (batch * steps);
        for (int r = 0; r < batch; r++)
        {
            // A row that stopped early is padded by transformers with pad_token_id; ours lists only its real tokens.
            var expected = newTokens.Skip(r * steps).Take(steps).ToArray();
            var ours = result.Rows[r].Tokens.Select(t => (long)t).ToArray();
            Assert.Equal(expected.Take(ours.Length), ours);
        }
        Assert.NotNull(result.Scores);
        for (int s = 0; s < result.Scores!.Count; s++)
            for (int r = 0; r < batch; r++)
                for (int v = 0; v < vocab; v++)
                {
                    float want = scores[(r * steps + s) * vocab + v], got = result.Scores[s][r * vocab + v];
                    if (float.IsNegativeInfinity(want)) Assert.True(float.IsNegativeInfinity(got), $"step {s} row {r} id {v}: {got} should be -inf");
                    else Assert.True(MathF.Abs(want - got) <= Tolerances.Generation.ScoresProcessedMaxAbs, $"step {s} row {r} id {v}: {got} vs {want}");
                }
        Assert.Equal(inputs.RowLength(0) + (batch > 1 ? inputs.RowLength(1) : 0), result.PromptTokens);
    }

    [Theory, MemberData(nameof(CaseNames))]
    public async Task StreamedChunksConcatenateToTheDecodedAnswer(string name)
    {
        var (processor, inputs) = await Prepare(name);
        var texts = new System.Text.StringBuilder[inputs.BatchSize].Select(_ => new System.Text.StringBuilder()).ToArray();
        GenerationResult? result = null;
        await foreach (var chunk in tiny.Model.GenerateStreamingAsync(inputs, new GenerationOptions { MaxNewTokens = 20 }))
        {
            Assert.False(HasLoneSurrogate(chunk.Text), $"chunk {JsonSerializer.Serialize(chunk.Text)} splits a character");
            texts[chunk.Row].Append(chunk.Text);
            result ??= chunk.Result;
        }
        Assert.NotNull(result);
        for (int r = 0; r < inputs.BatchSize; r++)
        {
            Assert.Equal(processor.Decode(result!.Rows[r].Tokens, skipSpecialTokens: true), texts[r].ToString());
            Assert.Equal(texts[r].ToString(), result.Rows[r].Text);
        }
    }

    [Fact]
    public async Task FirstChunkArrivesBeforeGenerationEndsAndCancellationStopsWithinAStep()
    {
        var (_, inputs) = await Prepare("single_img");
        var model = (Idefics2VisionModel)tiny.Model;
        int steps = 0;
        model.Model.Tap = (n, _, _) => { if (n == "logits") Interlocked.Increment(ref steps); };
        try
        {
            using var cts = new CancellationTokenSource();
            int chunks = 0, stepsAtFirst = -1, stepsAtCancel = -1;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var c in model.GenerateStreamingAsync(inputs, new GenerationOptions { MaxNewTokens = 20 }, cts.Token))
                {
                    chunks++;
                    if (chunks == 1) stepsAtFirst = Volatile.Read(ref steps);
                    if (chunks == 3) { stepsAtCancel = Volatile.Read(ref steps); cts.Cancel(); }
                }
            });
            // The producer runs at most a step or two ahead of the reader (bounded hand-off), never to the end.
            Assert.InRange(stepsAtFirst, 1, 3);
            Assert.InRange(Volatile.Read(ref steps), stepsAtCancel, stepsAtCancel + 2);
            Assert.True(Volatile.Read(ref steps) < 21);
        }
        finally { model.Model.Tap = null; }
        // Resources released: the model takes the next generation at once, with the same answer as before.
        var again = await model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 20 });
        Assert.Equal(20, again.Tokens.Count);
    }

    [Fact]
    public async Task TopKOneSamplingEqualsGreedyAndASeedRepeats()
    {
        var (_, inputs) = await Prepare("single_img");
        var greedy = await tiny.Model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 12 });
        var topK1 = await tiny.Model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 12, DoSample = true, TopK = 1, Seed = 3 });
        Assert.Equal(greedy.Tokens, topK1.Tokens);
        var sampled = new GenerationOptions { MaxNewTokens = 12, DoSample = true, Temperature = 1.5f, TopK = 0, Seed = 1234 };
        var a = await tiny.Model.GenerateAsync(inputs, sampled);
        var b = await tiny.Model.GenerateAsync(inputs, sampled);
        Assert.Equal(a.Tokens, b.Tokens);
        var c = await tiny.Model.GenerateAsync(inputs, sampled with { Seed = 99 });
        Assert.NotEqual(a.Tokens, c.Tokens); // 12 draws at temperature 1.5 over 451 ids: equal only by a negligible chance
    }

    [Fact]
    public async Task ConversationReuseGivesTheSameTokensForLessPrefill()
    {
        var processor = await Processor.FromPretrainedAsync(TinyIdefics2.Folder);
        var options = new GenerationOptions { MaxNewTokens = 8 };
        using var conversation = tiny.Model.StartConversation();
        var chat = new Chat().User(Img("chelsea.png"), "What do we see in this image?");
        var first = await conversation.GenerateAsync(processor.Apply(chat), options);
        chat.Assistant(first.Text.Trim()).User(Img("coffee.png"), "And how about this image?");
        var inputs2 = processor.Apply(chat);
        var reused = await conversation.GenerateAsync(inputs2, options);
        var fresh = await tiny.Model.GenerateAsync(inputs2, options);
        Assert.True(fresh.Tokens.SequenceEqual(reused.Tokens), $"first {string.Join(",", first.Tokens)} [{first.Text}] reused {string.Join(",", reused.Tokens)} fresh {string.Join(",", fresh.Tokens)} prefill {reused.Timings.PrefillTokens}");
        Assert.Equal(inputs2.SequenceLength, fresh.Timings.PrefillTokens);
        Assert.True(reused.Timings.PrefillTokens < inputs2.SequenceLength - 20,
            $"turn 2 prefilled {reused.Timings.PrefillTokens} of {inputs2.SequenceLength} tokens");
        // A third turn that edits the past falls back to a full prefill and still matches a fresh run.
        var edited = new Chat().User(Img("coffee.png"), "Something else entirely?");
        var inputs3 = processor.Apply(edited);
        Assert.Equal((await tiny.Model.GenerateAsync(inputs3, options)).Tokens, (await conversation.GenerateAsync(inputs3, options)).Tokens);
    }

    [Fact]
    public async Task ImageCountMismatchAndPromptTooLongAreClearErrors()
    {
        var processor = await Processor.FromPretrainedAsync(TinyIdefics2.Folder);
        var ex = Assert.Throws<ArgumentException>(() => processor.Process(["User:<image><image>hi"], [[Img("chelsea.png")]]));
        Assert.Contains("The number of images in the text [2] and images [1] should be the same.", ex.Message);
        Assert.Throws<ArgumentException>(() => processor.Process(["User:<image>hi"], [[]]));
        var inputs = processor.Apply(TextOnly());
        var tooLong = await Assert.ThrowsAsync<ArgumentException>(() => tiny.Model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = int.MaxValue - 100 }));
        Assert.Contains("exceeds", tooLong.Message);
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i])) { if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return true; i++; }
            else if (char.IsLowSurrogate(s[i])) return true;
        }
        return false;
    }
}
