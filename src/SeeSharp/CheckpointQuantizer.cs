using System.Text.Json;
using System.Text.Json.Nodes;
using SeeSharp.Engine;
using SeeSharp.Engine.Quant;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Nn;

namespace SeeSharp;

/// <summary>
/// Writes a quantized copy of a checkpoint folder (<c>seesharp quantize</c>): every linear weight that
/// <see cref="QuantizationPolicy.DecoderAndConnector"/> selects becomes <c>&lt;module&gt;.qweight / .scales / .qshape</c>,
/// everything else is copied as stored, shard by shard; config.json gains <c>quantization_config</c>. The result loads
/// memory-mapped with no re-quantization. The output folder appears only when complete.
/// </summary>
public static class CheckpointQuantizer
{
    /// <summary>Quantizes <paramref name="folder"/> into <paramref name="output"/> (which must not exist yet).</summary>
    public static void Quantize(string folder, string output, Quantization requested, IProgress<LoadProgress>? progress = null) =>
        Quantize(folder, output, QuantizationPolicy.For(requested) ?? throw new ArgumentException("quantize: choose int8 or int4"),
            QuantizationPolicy.DecoderAndConnector, keep: null, progress);

    /// <summary>
    /// Quantizes with any scheme: <paramref name="applies"/>(module name, i.e. the tensor name without <c>.weight</c>)
    /// picks the linear layers; <paramref name="keep"/>(tensor name), when given, drops every other tensor (a partial
    /// checkpoint for kernel benchmarks).
    /// </summary>
    public static void Quantize(string folder, string output, QuantConfig config, Func<string, bool> applies, Func<string, bool>? keep,
        IProgress<LoadProgress>? progress = null)
    {
        if (QuantizationPolicy.ReadStored(folder) is not null) throw new InvalidDataException($"{folder}: the checkpoint is already quantized");
        output = Path.GetFullPath(output);
        if (Directory.Exists(output) || File.Exists(output)) throw new IOException($"{output} already exists: choose a new output folder");
        var temp = output + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        try
        {
            using var checkpoint = SafetensorsCheckpoint.Open(folder);
            var weightMap = new JsonObject();
            long total = 0;
            int done = 0, count = checkpoint.Names.Count;
            for (int s = 0; s < checkpoint.Files.Count; s++)
            {
                var file = checkpoint.Files[s];
                string name = checkpoint.Files.Count == 1 ? "model.safetensors" : $"model-{s + 1:D5}-of-{checkpoint.Files.Count:D5}.safetensors";
                var tensors = new List<KeyValuePair<string, Tensor>>();
                foreach (var tensorName in file.Names.Order(StringComparer.Ordinal))
                {
                    if (keep is not null && !keep(tensorName)) continue;
                    var t = file.Get(tensorName);
                    if (IsLinearWeight(tensorName, t) && applies(tensorName[..^".weight".Length]))
                        tensors.AddRange(QuantizedMatrix.Quantize(t, config).ToTensors(tensorName[..^".weight".Length]));
                    else
                        tensors.Add(new(tensorName, t));
                    progress?.Report(new LoadProgress("quantize", tensorName, ++done, count));
                }
                SafetensorsWriter.Write(Path.Combine(temp, name), tensors, new Dictionary<string, string> { ["format"] = "pt", ["quantized_by"] = "seesharp" });
                foreach (var (n, t) in tensors) { weightMap[n] = name; total += t.ByteLength; }
            }
            if (checkpoint.Files.Count > 1)
            {
                var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
                File.WriteAllText(Path.Combine(temp, SafetensorsCheckpoint.IndexFileName), index.ToJsonString(Indented) + "\n");
            }
            foreach (var f in Directory.GetFiles(folder))
            {
                var n = Path.GetFileName(f);
                if (n.EndsWith(".safetensors", StringComparison.Ordinal) || n == SafetensorsCheckpoint.IndexFileName) continue;
                if (n == "config.json")
                {
                    var c = JsonNode.Parse(File.ReadAllText(f))?.AsObject() ?? throw new InvalidDataException($"{f}: expected a JSON object");
                    c["quantization_config"] = config.ToJson();
                    File.WriteAllText(Path.Combine(temp, n), c.ToJsonString(Indented) + "\n");
                }
                else File.Copy(f, Path.Combine(temp, n));
            }
            Directory.Move(temp, output);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>The weight of an nn.Linear: 2-D floating point <c>*.weight</c> that is not an embedding table or the conv patch embedding.</summary>
    public static bool IsLinearWeight(string name, Tensor t) =>
        t.Shape.Length == 2 && t.DType is DType.F32 or DType.F16 or DType.BF16 && name.EndsWith(".weight", StringComparison.Ordinal)
        && !name.Contains("embed_tokens", StringComparison.Ordinal) && !name.Contains("position_embedding", StringComparison.Ordinal)
        && !name.Contains("patch_embedding", StringComparison.Ordinal);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
