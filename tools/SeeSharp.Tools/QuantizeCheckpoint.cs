using System.Text.Json;
using System.Text.Json.Nodes;
using SeeSharp.Engine;
using SeeSharp.Engine.Quant;
using SeeSharp.Engine.Safetensors;

namespace SeeSharp.Tools;

/// <summary>
/// <c>quantize --model DIR --out DIR --scheme int8row|int8b32|int4g32|int4g64|int4g128 [--skip-lm-head] [--only PREFIX,...]</c>:
/// writes a quantized copy of a checkpoint: every nn.Linear weight (2-D <c>*.weight</c> of a Linear module, i.e. not
/// embeddings, the conv patch embedding or the latents) becomes <c>&lt;module&gt;.qweight / .scales / .qshape</c>
/// (<see cref="QuantizedMatrix.ToTensors"/>), everything else is copied as is, one output shard per input shard; the
/// config.json gains <c>quantization_config</c> (<see cref="QuantConfig.ToJson"/>) and the other files are copied.
/// </summary>
internal static class QuantizeCheckpoint
{
    public static int Run(Args a)
    {
        string model = a.Get("model"), output = a.Get("out");
        var config = Parse(a.Get("scheme"));
        bool skipLmHead = a.Flag("skip-lm-head");
        // --only p1,p2: keep only tensors whose names start with one of the prefixes (a partial checkpoint for benchmarks)
        string[]? only = a.Opt("only")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        a.CheckAllUsed();
        Directory.CreateDirectory(output);
        using var ckpt = SafetensorsCheckpoint.Open(model);
        var weightMap = new JsonObject();
        long total = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int s = 0; s < ckpt.Files.Count; s++)
        {
            var file = ckpt.Files[s];
            string outName = ckpt.Files.Count == 1 ? "model.safetensors" : $"model-{s + 1:D5}-of-{ckpt.Files.Count:D5}.safetensors";
            var tensors = new List<KeyValuePair<string, Tensor>>();
            foreach (var name in file.Names.OrderBy(n => n, StringComparer.Ordinal))
            {
                if (only is not null && !only.Any(p => name.StartsWith(p, StringComparison.Ordinal))) continue;
                var t = file.Get(name);
                if (IsLinearWeight(name, t) && !(skipLmHead && name == "lm_head.weight"))
                    tensors.AddRange(QuantizedMatrix.Quantize(t, config).ToTensors(name[..^".weight".Length]));
                else
                    tensors.Add(new(name, t));
            }
            if (tensors.Count == 0) continue;
            SafetensorsWriter.Write(Path.Combine(output, outName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var (n, t) in tensors) { weightMap[n] = outName; total += t.ByteLength; }
            Console.WriteLine($"  {outName}: {tensors.Count} tensors ({sw.Elapsed.TotalSeconds:F0} s)");
        }
        if (ckpt.Files.Count > 1)
        {
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            File.WriteAllText(Path.Combine(output, SafetensorsCheckpoint.IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
        foreach (var f in Directory.GetFiles(model))
        {
            string n = Path.GetFileName(f);
            if (n.EndsWith(".safetensors", StringComparison.Ordinal) || n == SafetensorsCheckpoint.IndexFileName) continue;
            if (n == "config.json")
            {
                var c = JsonNode.Parse(File.ReadAllText(f))!.AsObject();
                c["quantization_config"] = config.ToJson();
                File.WriteAllText(Path.Combine(output, n), c.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            else File.Copy(f, Path.Combine(output, n), overwrite: true);
        }
        Console.WriteLine($"done in {sw.Elapsed.TotalSeconds:F0} s: {output} ({total / 1e9:F2} GB of tensors, {config.Layout})");
        return 0;
    }

    internal static QuantConfig Parse(string scheme) => scheme switch
    {
        "int8row" => QuantConfig.Create(QuantScheme.Int8PerRow),
        "int8b32" => QuantConfig.Create(QuantScheme.Int8Block32),
        "int4g32" => QuantConfig.Create(QuantScheme.Int4Group, 32),
        "int4g64" => QuantConfig.Create(QuantScheme.Int4Group, 64),
        "int4g128" => QuantConfig.Create(QuantScheme.Int4Group, 128),
        _ => throw new ArgumentException($"--scheme {scheme}: int8row, int8b32, int4g32, int4g64 or int4g128"),
    };

    /// <summary>The weight of an nn.Linear: 2-D, floating point, named *.weight, and not an embedding table.</summary>
    internal static bool IsLinearWeight(string name, Tensor t) =>
        t.Rank == 2 && DTypes.IsFloat(t.DType) && t.DType != DType.F64 && name.EndsWith(".weight", StringComparison.Ordinal)
        && !name.Contains("embed_tokens", StringComparison.Ordinal) && !name.Contains("position_embedding", StringComparison.Ordinal)
        && !name.Contains("patch_embedding", StringComparison.Ordinal);
}
