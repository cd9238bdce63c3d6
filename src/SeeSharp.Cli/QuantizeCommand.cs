using System.CommandLine;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp quantize --model &lt;id|dir&gt; --out DIR --quantize int8|int4</c>: writes a quantized checkpoint (decoder and
/// connector linear layers as int8 / int4 blocks, a <c>quantization_config</c> in config.json) that loads memory-mapped
/// with no re-quantization.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create(CliIo io)
    {
        var model = new Option<string>("--model") { Description = "A Hub id or a checkpoint folder.", Required = true };
        var output = new Option<string>("--out") { Description = "The new folder to write (must not exist).", Required = true };
        var quantize = new Option<string>("--quantize") { Description = "int8 or int4.", Required = true };
        quantize.AcceptOnlyFromAmong("int8", "int4");
        var cmd = new Command("quantize", "Write an int8 / int4 copy of a checkpoint.") { model, output, quantize };
        cmd.SetAction(async (pr, ct) =>
        {
            var folder = await VisionModel.ResolveAsync(pr.GetValue(model)!, null, null, ct);
            Architectures.Find(folder); // a clear error for an unsupported model before any work
            var q = pr.GetValue(quantize) == "int4" ? Quantization.Int4 : Quantization.Int8;
            CheckpointQuantizer.Quantize(folder, pr.GetValue(output)!, q, ProgressBar.ForLoad(io));
            io.Out.WriteLine(Path.GetFullPath(pr.GetValue(output)!));
            return 0;
        });
        return cmd;
    }
}
