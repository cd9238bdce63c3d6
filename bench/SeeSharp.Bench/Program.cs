// SeeSharp benchmarks. `dotnet run -c Release --project bench/SeeSharp.Bench -- kernels`
// Prints kernel speeds as ratios of limits that the same run measures side by side (memory read bandwidth,
// interleaved trial by trial with the kernel; fp32 FMA peak), because the host's bandwidth drifts.
using SeeSharp.Bench;

string mode = args.Length > 0 ? args[0] : "kernels";
switch (mode)
{
    case "kernels":
        KernelBench.Run(args.Skip(1).ToArray());
        return 0;
    case "e2e":
        return E2eBench.Run(args.Skip(1).ToArray());
    case "e2e-run":
        return E2eBench.RunOne(args.Skip(1).ToArray());
    case "smolvlm": return SmolVlmBench.Run(args.Skip(1).ToArray());
    case "conversation":
        return ConversationBench.Run(args.Skip(1).ToArray());
    default:
        Console.Error.WriteLine($"unknown benchmark \"{mode}\"; available: kernels [--threads N] [--trials N] [--decode-attention], e2e [--model-size 8b|1b] [--threads N] [--json] [--modes bf16,int8,int4] [--no-peer], conversation [--model DIR] [--image A --image B] [--max-new-tokens N] [--trials N]");
        return 2;
}
