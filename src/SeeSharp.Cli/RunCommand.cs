using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SeeSharp.Generation;

namespace SeeSharp.Cli;

/// <summary><c>seesharp run</c>: one answer, streamed to stdout, or one JSON object with <c>--json</c>.</summary>
internal static class RunCommand
{
    public static Command Create(CliIo io)
    {
        var o = new ModelOptions();
        var images = new Option<string[]>("--image") { Description = "An image file for the prompt (repeatable, in order).", Arity = ArgumentArity.ZeroOrMore };
        var messages = new Option<string?>("--messages") { Description = "A JSON chat: [{role, content: [{type: image, path} | {type: text, text}]}]." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: text, token_ids, prompt_tokens, finish_reason, timings." };
        var prompt = new Argument<string?>("PROMPT") { Description = "The user's question (a last user turn).", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("run", "Answer a prompt about images with a model.");
        o.AddTo(cmd);
        cmd.Options.Add(images); cmd.Options.Add(messages); cmd.Options.Add(json);
        cmd.Arguments.Add(prompt);
        cmd.SetAction(async (pr, ct) =>
        {
            var chat = BuildChat(pr.GetValue(messages), pr.GetValue(images) ?? [], pr.GetValue(prompt));
            bool asJson = pr.GetValue(json);
            var load = Stopwatch.StartNew();
            using var model = await VisionModel.FromPretrainedAsync(o.Model(pr), o.LoadOptions(pr, progress: asJson ? null : ProgressBar.ForLoad(io)), ct);
            var processor = await Processor.FromPretrainedAsync(o.Model(pr), o.LoadOptions(pr, null).Hub, ct);
            double loadSeconds = load.Elapsed.TotalSeconds;
            var inputs = processor.Apply(chat, addGenerationPrompt: true);
            var options = o.GenerationOptions(pr, model);
            GenerationResult? result = null;
            await foreach (var chunk in model.GenerateStreamingAsync(inputs, options, ct))
            {
                if (!asJson && chunk.Text.Length > 0) { io.Out.Write(chunk.Text); io.Out.Flush(); }
                result ??= chunk.Result;
            }
            if (result is null) throw new InvalidOperationException("generation ended without a result");
            if (asJson) io.Out.WriteLine(ResultJson(result, loadSeconds));
            else io.Out.WriteLine();
            return 0;
        });
        return cmd;
    }

    /// <summary>The conversation from --messages, then a last user turn from --image and PROMPT if given.</summary>
    internal static Chat BuildChat(string? messagesPath, string[] images, string? prompt)
    {
        var chat = messagesPath is null ? new Chat() : Messages.Load(messagesPath, imagesRequired: true);
        if (images.Length > 0 || prompt is not null)
        {
            var parts = new List<object>();
            foreach (var path in images) parts.Add(Image.Load(path));
            if (prompt is not null) parts.Add(prompt);
            chat.User(parts.ToArray());
        }
        if (chat.Turns.Count == 0) throw new ArgumentException("nothing to answer: give a PROMPT, --image or --messages");
        return chat;
    }

    internal static string ResultJson(GenerationResult r, double loadSeconds)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("text", r.Text);
            w.WriteStartArray("token_ids");
            foreach (var t in r.Tokens) w.WriteNumberValue(t);
            w.WriteEndArray();
            w.WriteNumber("prompt_tokens", r.PromptTokens);
            w.WriteString("finish_reason", r.FinishReason == FinishReason.Length ? "length" : r.FinishReason == FinishReason.Cancelled ? "cancelled" : "stop");
            w.WriteStartObject("timings");
            w.WriteNumber("load_s", Math.Round(loadSeconds, 4));
            w.WriteNumber("image_encode_s", Math.Round(r.Timings.ImageEncodeSeconds, 4));
            w.WriteNumber("prefill_s", Math.Round(r.Timings.PrefillSeconds, 4));
            w.WriteNumber("prefill_tokens_per_s", Math.Round(r.Timings.PrefillTokensPerSecond, 2));
            w.WriteNumber("decode_s", Math.Round(r.Timings.DecodeSeconds, 4));
            w.WriteNumber("decode_tokens_per_s", Math.Round(r.Timings.DecodeTokensPerSecond, 2));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>The options every model-running command shares (DESIGN.md's contract names).</summary>
internal sealed class ModelOptions
{
    public readonly Option<string> ModelOpt = new("--model") { Description = "A Hub id (org/name[@revision]) or a local checkpoint folder.", Required = true };
    public readonly Option<int?> MaxNewTokens = new("--max-new-tokens") { Description = "Most tokens to generate." };
    public readonly Option<float?> Temperature = new("--temperature") { Description = "Sample with this temperature (0: greedy)." };
    public readonly Option<float?> TopP = new("--top-p") { Description = "Nucleus sampling mass." };
    public readonly Option<int?> TopK = new("--top-k") { Description = "Sample among the k most likely tokens." };
    public readonly Option<ulong?> Seed = new("--seed") { Description = "Seed for sampling." };
    public readonly Option<string> Quantize = new("--quantize") { Description = "Weights: none, int8 or int4.", DefaultValueFactory = _ => "none" };
    public readonly Option<int?> Threads = new("--threads") { Description = "Worker threads (default: cores)." };

    public ModelOptions() => Quantize.AcceptOnlyFromAmong("none", "int8", "int4");

    public void AddTo(Command cmd)
    {
        foreach (var opt in new Option[] { ModelOpt, MaxNewTokens, Temperature, TopP, TopK, Seed, Quantize, Threads }) cmd.Options.Add(opt);
    }

    public string Model(ParseResult pr) => pr.GetValue(ModelOpt)!;

    public LoadOptions LoadOptions(ParseResult pr, IProgress<LoadProgress>? progress)
    {
        int? threads = pr.GetValue(Threads);
        if (threads is < 1) throw new ArgumentException($"--threads must be at least 1 (got {threads})");
        return new LoadOptions
        {
            Quantization = pr.GetValue(Quantize) switch { "int8" => Quantization.Int8, "int4" => Quantization.Int4, _ => Quantization.None },
            Threads = threads,
            Progress = progress,
        };
    }

    /// <summary>Answers are cut at this many tokens unless --max-new-tokens or the checkpoint's generation config says otherwise.</summary>
    public const int DefaultMaxNewTokens = 512;

    /// <summary>
    /// Greedy unless a sampling option is given (a temperature of 0 keeps greedy). Without --max-new-tokens, the
    /// checkpoint's <c>max_new_tokens</c>, else <see cref="DefaultMaxNewTokens"/> (transformers' max_length of 20 would
    /// leave no room after a chat prompt).
    /// </summary>
    public GenerationOptions GenerationOptions(ParseResult pr, VisionModel model)
    {
        float? temperature = pr.GetValue(Temperature);
        float? topP = pr.GetValue(TopP);
        int? topK = pr.GetValue(TopK);
        int? maxNew = pr.GetValue(MaxNewTokens);
        if (maxNew is < 0) throw new ArgumentException($"--max-new-tokens must be >= 0 (got {maxNew})");
        bool? sample = temperature is 0f ? false : (temperature ?? topP ?? (float?)topK) is not null ? true : null;
        return new GenerationOptions
        {
            MaxNewTokens = maxNew ?? model.GenerationConfig.MaxNewTokens ?? DefaultMaxNewTokens,
            DoSample = sample,
            Temperature = temperature is 0f ? null : temperature,
            TopP = topP,
            TopK = topK,
            Seed = pr.GetValue(Seed),
        };
    }
}
