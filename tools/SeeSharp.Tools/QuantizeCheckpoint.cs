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
        var sw = System.Diagnostics.Stopwatch.StartNew();
        // Every linear layer (vision included, unlike `seesharp quantize`), through the same writer.
        CheckpointQuantizer.Quantize(model, output, config, module => !(skipLmHead && module == "lm_head"),
            only is null ? null : name => only.Any(p => name.StartsWith(p, StringComparison.Ordinal)));
        Console.WriteLine($"done in {sw.Elapsed.TotalSeconds:F0} s: {output} ({config.Layout})");
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
}
