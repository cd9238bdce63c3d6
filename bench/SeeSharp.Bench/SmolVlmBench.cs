using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Generation;
using SeeSharp.Models.Idefics3;

using static SeeSharp.Bench.BenchUtil;

namespace SeeSharp.Bench;

/// <summary>
/// <c>smolvlm --size 256m|2.2b [--threads N] [--tokens 64] [--no-split] [--peer] [--json] [--models DIR]</c>: the synthetic
/// real-shape SmolVLM checkpoint (tools/SeeSharp.Tools <c>synth --config smolvlm-256m|smolvlm-2.2b --dtype bf16</c>,
/// made under models/ when missing), driven through the PUBLIC API only: <see cref="VisionModel.FromPretrainedAsync"/>,
/// <see cref="Processor.Apply(Chat, bool)"/> on a chat holding one 512x512 image and a short question, then
/// <see cref="VisionModel.GenerateStreamingAsync"/> greedily for --tokens new tokens (MinNewTokens = MaxNewTokens so
/// every run decodes the same count). Reports: preprocessing time, time to the first streamed token (split into image
/// encode and prefill by the result's <see cref="GenerationTimings"/>), decode tokens/s (from the timings and from the
/// stream's own clock), peak RSS (VmHWM), weight bytes. One warm-up generation first (a 64x64 image, no split, 2
/// tokens) so JIT compilation and first page-in of the weights are not in the numbers; load time is reported apart.
/// With --peer, llama.cpp (bench/SeeSharp.Bench.Peer, LLamaSharp 0.30.0) runs the same text decoder exported to a BF16
/// GGUF (tools <c>gguf</c>) with the same threads, prefilling as many (random) token ids as our prompt had and decoding
/// --tokens greedily: a text-only peer (no vision tower: llama.cpp's libmtmd would need an mmproj GGUF, not written).
/// With --json the last line is one JSON object.
/// </summary>
internal static class SmolVlmBench
{
    private const string Question = "What is shown in this image? Answer in one sentence.";

    public static int Run(string[] args)
    {
        string size = Arg(args, "--size") ?? "256m";
        if (size is not ("256m" or "2.2b")) { Console.Error.WriteLine("smolvlm: --size must be 256m or 2.2b"); return 2; }
        int threads = int.Parse(Arg(args, "--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int tokens = int.Parse(Arg(args, "--tokens") ?? "64", CultureInfo.InvariantCulture);
        if (tokens < 2) { Console.Error.WriteLine("smolvlm: --tokens must be at least 2"); return 2; }
        bool json = args.Contains("--json"), split = !args.Contains("--no-split");
        string root = RepoRoot();
        string models = Arg(args, "--models") ?? Environment.GetEnvironmentVariable("SEESHARP_BENCH_MODELS") ?? Path.Combine(root, "models");
        Directory.CreateDirectory(models);
        string dir = Path.Combine(models, $"synth-smolvlm-{size}-bf16");
        if (!File.Exists(Path.Combine(dir, "model.safetensors")) && !File.Exists(Path.Combine(dir, "model.safetensors.index.json")))
            Exec("dotnet", $"run -c Release --project {Path.Combine(root, "tools", "SeeSharp.Tools")} -- synth --config smolvlm-{size} --dtype bf16 --out {dir}");
        var o = RunAsync(dir, size, threads, tokens, split).GetAwaiter().GetResult();
        if (args.Contains("--peer"))
        {
            string gguf = Path.Combine(models, $"synth-smolvlm-{size}-text-bf16.gguf");
            if (!File.Exists(gguf))
                Exec("dotnet", $"run -c Release --project {Path.Combine(root, "tools", "SeeSharp.Tools")} -- gguf --model {dir} --out {gguf} --type bf16");
            string peerProject = Path.Combine(root, "bench", "SeeSharp.Bench.Peer");
            var line = Exec("dotnet", $"run -c Release --project {peerProject} -- bench --model {gguf} --threads {threads} --prefill {o["prompt_tokens"]} --decode {tokens} --json", capture: true);
            var raw = JsonNode.Parse(line.Trim().Split('\n')[^1])!.AsObject();
            o["llamacpp_bf16"] = new JsonObject
            {
                ["weight_bytes"] = new FileInfo(gguf).Length,
                ["prefill_tokens"] = raw["prefill_tokens"]!.DeepClone(),
                ["prefill_tps"] = Math.Round(raw["prefill_tok_s"]!.GetValue<double>(), 2),
                ["decode_tps"] = Math.Round(raw["decode_tok_s"]!.GetValue<double>(), 2),
                ["decode_tps_median_step"] = Math.Round(raw["decode_tok_s_median"]!.GetValue<double>(), 2),
                ["peak_rss_bytes"] = (long)(raw["peak_rss_gb"]!.GetValue<double>() * 1e9),
            };
            Console.WriteLine($"  llama.cpp (text decoder only, BF16 GGUF, {threads} threads): prefill {o["llamacpp_bf16"]!["prefill_tps"]} tok/s over {o["prompt_tokens"]} tokens, " +
                $"decode {o["llamacpp_bf16"]!["decode_tps"]} tok/s (median step {o["llamacpp_bf16"]!["decode_tps_median_step"]} tok/s)");
        }
        if (json) Console.WriteLine(o.ToJsonString());
        return 0;
    }

    private static async Task<JsonObject> RunAsync(string dir, string size, int threads, int tokens, bool split)
    {
        var load = Stopwatch.StartNew();
        using var model = await VisionModel.FromPretrainedAsync(dir, new LoadOptions { Threads = threads });
        var processor = await Processor.FromPretrainedAsync(dir);
        double loadS = load.Elapsed.TotalSeconds;
        var idefics3 = processor as Idefics3Processor
            ?? throw new InvalidOperationException($"{dir}: expected an Idefics3 processor, got {processor.GetType().Name}");

        // Warm-up: JIT and first touch of every weight page, on a small unsplit image.
        idefics3.DoImageSplitting = false;
        var warm = processor.Apply(new Chat().User(Image.FromBytes(Bmp(64, 64, seed: 2), "warm-up.bmp"), Question));
        await model.GenerateAsync(warm, new GenerationOptions { MaxNewTokens = 2, MinNewTokens = 2 });
        idefics3.DoImageSplitting = split;
        Log($"loaded in {loadS:F2} s, warmed up; measuring ({threads} threads, split {split})");

        var image = Image.FromBytes(Bmp(512, 512, seed: 1), "bench-512x512.bmp");
        var pre = Stopwatch.StartNew();
        var inputs = processor.Apply(new Chat().User(image, Question));
        double preprocessS = pre.Elapsed.TotalSeconds;
        int imageTokens = inputs.InputIds.Count(id => id == ((Idefics3VisionModel)model).Model.Config.ImageTokenId);

        var options = new GenerationOptions { MaxNewTokens = tokens, MinNewTokens = tokens, DoSample = false };
        var clock = Stopwatch.StartNew();
        double firstS = double.NaN, lastS = double.NaN;
        int streamed = 0;
        GenerationResult? result = null;
        await foreach (var chunk in model.GenerateStreamingAsync(inputs, options))
        {
            if (chunk.TokenId >= 0)
            {
                if (streamed == 0) firstS = clock.Elapsed.TotalSeconds;
                lastS = clock.Elapsed.TotalSeconds;
                streamed++;
            }
            result ??= chunk.Result;
        }
        if (result is null) throw new InvalidOperationException("generation ended without a result");
        var t = result.Timings;

        long weightBytes = 0, decoderBytes = 0;
        using (var ck = SafetensorsCheckpoint.Open(dir))
            foreach (var n in ck.Names)
            {
                long b = ck.Get(n).ByteLength;
                weightBytes += b;
                if (n.StartsWith("model.text_model.layers.", StringComparison.Ordinal) || n == "lm_head.weight" || n == "model.text_model.norm.weight") decoderBytes += b;
            }
        double decodeTps = t.DecodeTokensPerSecond;
        var o = new JsonObject
        {
            ["model"] = $"smolvlm-{size}",
            ["threads"] = threads,
            ["split"] = split,
            ["weight_bytes"] = weightBytes,
            ["decoder_bytes"] = decoderBytes,
            ["load_s"] = Math.Round(loadS, 3),
            ["image_tiles"] = inputs.Pixels?.ImagesPerSample ?? 0,
            ["prompt_tokens"] = result.PromptTokens,
            ["image_tokens"] = imageTokens,
            ["preprocess_s"] = Math.Round(preprocessS, 4),
            ["ttft_s"] = Math.Round(firstS, 4),
            ["ttft_with_preprocess_s"] = Math.Round(firstS + preprocessS, 4),
            ["image_encode_s"] = Math.Round(t.ImageEncodeSeconds, 4),
            ["prefill_s"] = Math.Round(t.PrefillSeconds, 4),
            ["prefill_tokens"] = t.PrefillTokens,
            ["prefill_tps"] = Math.Round(t.PrefillTokensPerSecond, 2),
            ["decode_tokens"] = t.DecodeTokens,
            ["decode_s"] = Math.Round(t.DecodeSeconds, 4),
            ["decode_tps"] = Math.Round(decodeTps, 2),
            ["decode_tps_stream"] = streamed > 1 ? Math.Round((streamed - 1) / (lastS - firstS), 2) : null,
            ["decode_weight_gbps"] = Math.Round(decoderBytes * decodeTps / 1e9, 2),
            ["generated_tokens"] = result.Tokens.Count,
            ["peak_rss_bytes"] = PeakRss(),
        };
        Console.WriteLine($"\nSmolVLM-{size}-shaped synthetic checkpoint (BF16, {weightBytes / 1e9:F2} GB), {threads} threads, one 512x512 image");
        Console.WriteLine($"  image: {o["image_tiles"]} tile(s), {imageTokens} image tokens of {result.PromptTokens} prompt tokens; preprocess {preprocessS:F3} s");
        Console.WriteLine($"  time to first token {firstS:F3} s = image encode {t.ImageEncodeSeconds:F3} s + prefill {t.PrefillSeconds:F3} s ({t.PrefillTokensPerSecond:F1} tok/s) + rest");
        Console.WriteLine($"  decode {t.DecodeTokens} tokens: {decodeTps:F2} tok/s (stream clock {o["decode_tps_stream"]}), {decoderBytes * decodeTps / 1e9:F2} GB/s of decoder weights");
        Console.WriteLine($"  load {loadS:F2} s, peak RSS {PeakRss() / 1e9:F2} GB");
        return o;
    }

    /// <summary>A 24-bit bottom-up BMP of a smooth gradient with noise (photo-like, deterministic).</summary>
    private static byte[] Bmp(int width, int height, int seed)
    {
        int stride = (width * 3 + 3) & ~3;
        var bytes = new byte[54 + stride * height];
        void U32(int at, int v) => BitConverter.TryWriteBytes(bytes.AsSpan(at, 4), v);
        bytes[0] = (byte)'B'; bytes[1] = (byte)'M';
        U32(2, bytes.Length); U32(10, 54); U32(14, 40); U32(18, width); U32(22, height);
        BitConverter.TryWriteBytes(bytes.AsSpan(26, 2), (short)1);
        BitConverter.TryWriteBytes(bytes.AsSpan(28, 2), (short)24);
        U32(34, stride * height);
        var rng = new Random(seed);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int at = 54 + y * stride + x * 3;
                bytes[at] = (byte)(x * 160 / width + rng.Next(48));
                bytes[at + 1] = (byte)(y * 160 / height + rng.Next(48));
                bytes[at + 2] = (byte)((x + y) * 80 / (width + height) + 64 + rng.Next(48));
            }
        return bytes;
    }




}
