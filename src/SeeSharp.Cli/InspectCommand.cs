using System.CommandLine;
using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;

namespace SeeSharp.Cli;

/// <summary><c>seesharp inspect --model &lt;id|dir&gt;</c>: the architecture, and every weight with its dtype, shape and size.</summary>
internal static class InspectCommand
{
    public static Command Create(CliIo io)
    {
        var model = new Option<string>("--model") { Description = "A Hub id or a checkpoint folder.", Required = true };
        var cmd = new Command("inspect", "List a checkpoint's tensors.") { model };
        cmd.SetAction(async (pr, ct) =>
        {
            var folder = await VisionModel.ResolveAsync(pr.GetValue(model)!, null, null, ct);
            var arch = Architectures.Find(folder);
            io.Out.WriteLine($"model_type {arch.ModelType}  ({folder})");
            using var checkpoint = SafetensorsCheckpoint.Open(folder);
            long total = 0;
            foreach (var name in checkpoint.Names.Order(StringComparer.Ordinal))
            {
                var t = checkpoint.Get(name);
                long bytes = t.ElementCount * DTypes.SizeOf(t.DType);
                total += bytes;
                io.Out.WriteLine($"{name}\t{DTypes.ToSafetensors(t.DType)}\t[{string.Join(", ", t.Shape)}]\t{bytes}");
            }
            io.Out.WriteLine($"{checkpoint.Names.Count} tensors, {ProgressBar.Bytes(total)}");
            return 0;
        });
        return cmd;
    }
}
