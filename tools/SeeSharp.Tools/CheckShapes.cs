using System.Text.Json.Nodes;
using SeeSharp.Engine.Safetensors;

namespace SeeSharp.Tools;

/// <summary>
/// <c>checkshapes --model DIR</c>: compares the tensor names and shapes that <c>synth</c> would write for DIR's
/// config.json with the tensors DIR actually holds (e.g. the transformers-made tests/fixtures/idefics2-tiny/model):
/// every name on one side must be on the other with the same shape. Exit code 1 on any difference.
/// </summary>
internal static class CheckShapes
{
    public static int Run(Args a)
    {
        string model = a.Get("model");
        a.CheckAllUsed();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!.AsObject();
        var dims = Idefics2Dims.FromConfig(config);
        using var ckpt = SafetensorsCheckpoint.Open(model);
        var expected = dims.Tensors().ToDictionary(t => t.Name, t => t.Shape);
        int bad = 0;
        foreach (var (name, shape) in expected)
        {
            if (!ckpt.Contains(name)) { Console.WriteLine($"missing in checkpoint: {name}"); bad++; continue; }
            var got = ckpt.Get(name).Shape;
            if (!got.SequenceEqual(shape)) { Console.WriteLine($"shape differs: {name} synth [{string.Join(", ", shape)}] vs checkpoint [{string.Join(", ", got)}]"); bad++; }
        }
        foreach (var name in ckpt.Names)
            if (!expected.ContainsKey(name)) { Console.WriteLine($"not written by synth: {name}"); bad++; }
        Console.WriteLine(bad == 0 ? $"ok: {expected.Count} tensors, names and shapes identical" : $"{bad} differences");
        return bad == 0 ? 0 : 1;
    }
}
