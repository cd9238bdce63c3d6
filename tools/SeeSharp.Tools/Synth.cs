using System.Text.Json;
using System.Text.Json.Nodes;
using SeeSharp.Engine;

namespace SeeSharp.Tools;

/// <summary>
/// <c>synth</c>: writes a synthetic Idefics2 checkpoint of real size: the configs of the real model (idefics2-8b) or
/// of a ~1B variant with the same structure, the Mistral tokenizer (+ the 3 Idefics2 tokens), and safetensors shards
/// with the exact names and shapes of Idefics2ForConditionalGeneration, filled with random values STREAMING (one
/// 16 MiB buffer; nothing is held in memory). Values: matrices uniform with std 1/sqrt(fan_in), norm weights 1 ± 0.05,
/// biases std 0.02, embeddings std 0.02, latents std 1.
/// </summary>
internal static class Synth
{
    public static int Run(Args a)
    {
        string which = a.Get("config");
        string dtypeName = a.Opt("dtype", "bf16");
        string outDir = a.Get("out");
        ulong seed = (ulong)a.Int("seed", 1234);
        double shardGb = double.Parse(a.Opt("shard-gb", "4.9"), System.Globalization.CultureInfo.InvariantCulture);
        a.CheckAllUsed();
        var dtype = dtypeName switch
        {
            "bf16" => DType.BF16,
            "f16" => DType.F16,
            "f32" => DType.F32,
            _ => throw new ArgumentException($"--dtype {dtypeName}: bf16, f16 or f32"),
        };
        string root = Repo.Root();
        string refDir = Path.Combine(root, "tests/fixtures/idefics2-8b-reference-config");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(refDir, "idefics2-8b.config.json")))!.AsObject();
        switch (which)
        {
            case "idefics2-8b":
                break;
            case "1b":
            case "idefics2-1b":
            {
                var t = config["text_config"]!.AsObject();
                t["hidden_size"] = 2048;
                t["intermediate_size"] = 5632;
                t["num_hidden_layers"] = 16;
                t["num_attention_heads"] = 16;
                t["num_key_value_heads"] = 8;
                break;
            }
            default:
                throw new ArgumentException($"--config {which}: idefics2-8b or 1b");
        }
        config["torch_dtype"] = dtype switch { DType.BF16 => "bfloat16", DType.F16 => "float16", _ => "float32" };
        var dims = Idefics2Dims.FromConfig(config);
        Directory.CreateDirectory(outDir);
        var opts = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJsonString(opts) + "\n");
        foreach (var f in new[] { "generation_config.json", "preprocessor_config.json", "processor_config.json", "added_tokens.json" })
            File.Copy(Path.Combine(refDir, "idefics2-8b." + f), Path.Combine(outDir, f), overwrite: true);
        WriteTokenizer(root, outDir, opts);

        var tensors = dims.Tensors().OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        long total = tensors.Sum(t => Count(t.Shape)) * DTypes.SizeOf(dtype);
        Console.WriteLine($"{which}: {tensors.Count} tensors, {tensors.Sum(t => Count(t.Shape)) / 1e9:F3} B parameters, {total / 1e9:F2} GB as {dtype}");
        // shards of at most shardGb
        var shards = new List<List<(string Name, long[] Shape, Idefics2Dims.Init Init)>> { new() };
        long cur = 0, limit = (long)(shardGb * 1e9);
        foreach (var t in tensors)
        {
            long bytes = Count(t.Shape) * DTypes.SizeOf(dtype);
            if (cur > 0 && cur + bytes > limit) { shards.Add(new()); cur = 0; }
            shards[^1].Add(t);
            cur += bytes;
        }
        var weightMap = new JsonObject();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int s = 0; s < shards.Count; s++)
        {
            string file = shards.Count == 1 ? "model.safetensors" : $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
            StreamingSafetensors.Write(Path.Combine(outDir, file), shards[s].Select(t => (t.Name, dtype, t.Shape)).ToList(),
                (name, span, offset) => Fill(name, span, offset, dtype, shards[s].First(x => x.Name == name), seed));
            foreach (var t in shards[s]) weightMap[t.Name] = file;
            Console.WriteLine($"  {file}: {shards[s].Count} tensors ({sw.Elapsed.TotalSeconds:F0} s)");
        }
        if (shards.Count > 1)
        {
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            File.WriteAllText(Path.Combine(outDir, "model.safetensors.index.json"), index.ToJsonString(opts) + "\n");
        }
        Console.WriteLine($"done in {sw.Elapsed.TotalSeconds:F0} s: {outDir}");
        return 0;
    }

    private static long Count(long[] shape) => shape.Aggregate(1L, (x, y) => x * y);

    // Fills the elements [offset, offset + span.Length / size) of one tensor; deterministic per (seed, name, index).
    private static void Fill(string name, Span<byte> span, long offset, DType dtype,
                             (string Name, long[] Shape, Idefics2Dims.Init Init) t, ulong seed)
    {
        double std = t.Init switch
        {
            Idefics2Dims.Init.Matrix => 1.0 / Math.Sqrt(Count(t.Shape) / t.Shape[0]),
            Idefics2Dims.Init.Norm => 0.05,
            Idefics2Dims.Init.Bias or Idefics2Dims.Init.Small => 0.02,
            _ => 1.0,
        };
        float center = t.Init == Idefics2Dims.Init.Norm ? 1f : 0f;
        float amp = (float)(std * Math.Sqrt(3.0));       // uniform [-amp, amp) has this std
        ulong state = seed ^ Hash(name) ^ ((ulong)offset * 0x9E3779B97F4A7C15UL);
        if (state == 0) state = 1;
        int size = DTypes.SizeOf(dtype);
        int n = span.Length / size;
        for (int i = 0; i < n; i++)
        {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;           // xorshift64
            float u = (state >> 40) * (1f / (1 << 24)) * 2f - 1f;                         // [-1, 1)
            float v = center + amp * u;
            switch (dtype)
            {
                case DType.BF16: BitConverter.TryWriteBytes(span.Slice(2 * i, 2), DTypes.SingleToBF16(v)); break;
                case DType.F16: BitConverter.TryWriteBytes(span.Slice(2 * i, 2), DTypes.SingleToF16(v)); break;
                default: BitConverter.TryWriteBytes(span.Slice(4 * i, 4), v); break;
            }
        }
    }

    private static ulong Hash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    // The real Mistral-7B-v0.1 tokenizer (tests/fixtures/tokenizers/mistral_v01) plus Idefics2's three added tokens.
    private static void WriteTokenizer(string root, string outDir, JsonSerializerOptions opts)
    {
        string dir = Path.Combine(root, "tests/fixtures/tokenizers/mistral_v01");
        string[] added = ["<fake_token_around_image>", "<image>", "<end_of_utterance>"];
        var tok = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!.AsObject();
        var list = tok["added_tokens"]!.AsArray();
        for (int i = 0; i < added.Length; i++)
            list.Add(new JsonObject
            {
                ["id"] = 32000 + i, ["content"] = added[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        File.WriteAllText(Path.Combine(outDir, "tokenizer.json"), tok.ToJsonString(opts));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!.AsObject();
        var dec = cfg["added_tokens_decoder"]!.AsObject();
        var extra = new JsonArray();
        for (int i = 0; i < added.Length; i++)
        {
            dec[(32000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = added[i], ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false,
                ["single_word"] = false, ["special"] = true,
            };
            extra.Add(added[i]);
        }
        cfg["additional_special_tokens"] = extra;
        File.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"), cfg.ToJsonString(opts) + "\n");
    }
}

/// <summary>Finds the repository root (the folder holding SeeSharp.slnx) from the working directory or the binary.</summary>
internal static class Repo
{
    public static string Root()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "SeeSharp.slnx"))) return d.FullName;
        }
        throw new IOException("cannot find the repository root (SeeSharp.slnx) above the working directory");
    }
}
