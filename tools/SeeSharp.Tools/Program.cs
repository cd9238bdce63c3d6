using SeeSharp.Tools;

// dotnet run -c Release --project tools/SeeSharp.Tools -- <command> [options]
//   synth      --config idefics2-8b|1b --dtype bf16|f16|f32 --out DIR [--seed N] [--shard-gb 5]
//   gguf       --model DIR --out FILE.gguf [--type f16|bf16|f32]       (the Mistral decoder as a llama GGUF)
//   quantize   --model DIR --out DIR --scheme int8row|int8b32|int4g32|int4g64|int4g128 [--skip-lm-head] [--only PREFIX,...]
//   checkshapes --model DIR   (synth's names/shapes for DIR/config.json vs the tensors in DIR)
//   quantbench [--rows 4096] [--cols 14336] [--trials 5] [--threads N]  (int8/int4 GEMV GB/s vs a streaming read)
try
{
    if (args.Length == 0) throw new ArgumentException("usage: synth | gguf | quantbench  [options]");
    var a = new Args(args.Skip(1));
    int rc = args[0] switch
    {
        "synth" => SmolVlmSynthCommand.Handles(a) ? SmolVlmSynthCommand.Run(a) : Synth.Run(a),
        "gguf" => GgufExport.Run(a),
        "quantbench" => QuantBench.Run(a),
        "checkshapes" => CheckShapes.Run(a),
        "quantize" => QuantizeCheckpoint.Run(a),
        _ => throw new ArgumentException($"unknown command \"{args[0]}\" (synth, gguf, quantbench)"),
    };
    return rc;
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or KeyNotFoundException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
