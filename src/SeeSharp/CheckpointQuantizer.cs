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
    public static void Quantize(string folder, string output, Quantization requested, IProgress<LoadProgress>? progress = null)
    {
        var config = QuantizationPolicy.For(requested) ?? throw new ArgumentException("quantize: choose int8 or int4");
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
                    var t = file.Get(tensorName);
                    if (IsQuantizedLinear(tensorName, t))
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

    /// <summary>A 2-D <c>.weight</c> of a module the policy quantizes (norms are 1-D; embeddings, vision and lm_head are excluded by name).</summary>
    internal static bool IsQuantizedLinear(string name, Tensor t) =>
        name.EndsWith(".weight", StringComparison.Ordinal) && t.Shape.Length == 2
        && t.DType is DType.F32 or DType.F16 or DType.BF16
        && QuantizationPolicy.DecoderAndConnector(name[..^".weight".Length]);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
