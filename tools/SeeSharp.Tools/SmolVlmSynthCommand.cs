using System.Globalization;
using SeeSharp.Engine;

namespace SeeSharp.Tools;

/// <summary>The <c>synth --config smolvlm-256m|smolvlm-2.2b</c> command line (the writer is <see cref="SmolVlmSynth"/>,
/// kept free of command-line types so that the tests compile it on its own).</summary>
internal static class SmolVlmSynthCommand
{
    /// <summary>True when <c>--config</c> names a SmolVLM preset (the <c>synth</c> command then comes here).</summary>
    public static bool Handles(Args a) => a.Opt("config") is string c && c.StartsWith("smolvlm", StringComparison.Ordinal);

    public static int Run(Args a)
    {
        string which = a.Get("config");
        var spec = SmolVlmSpec.ByName(which) ?? throw new ArgumentException($"--config {which}: smolvlm-256m or smolvlm-2.2b");
        string dtypeName = a.Opt("dtype", "bf16");
        string outDir = a.Get("out");
        ulong seed = (ulong)a.Int("seed", 1234);
        double shardGb = double.Parse(a.Opt("shard-gb", "4.9"), CultureInfo.InvariantCulture);
        // --longest-edge: overrides preprocessor_config.json size.longest_edge (default: the published value; SmolVLM-256M's
        // 2048 needs the resize bound of transformers >= 4.47, 4096, which SeeSharp uses).
        // transformers >= 4.47 accepts (MAX_IMAGE_SIZE 4096) but 4.46's Idefics3ImageProcessor, and so SeeSharp,
        int longestEdge = a.Int("longest-edge", spec.LongestEdge);
        a.CheckAllUsed();
        var dtype = dtypeName switch
        {
            "bf16" => DType.BF16,
            "f16" => DType.F16,
            "f32" => DType.F32,
            _ => throw new ArgumentException($"--dtype {dtypeName}: bf16, f16 or f32"),
        };
        if (longestEdge < spec.MaxImageSize) throw new ArgumentException($"--longest-edge {longestEdge}: must be at least max_image_size {spec.MaxImageSize}");
        spec = spec with { LongestEdge = longestEdge };
        string tokenizerDir = Path.Combine(RepoRoot(), "tests", "fixtures", "idefics3-tiny", "model");
        SmolVlmSynth.Write(spec, outDir, dtype, seed, shardGb, tokenizerDir, Console.WriteLine);
        return 0;
    }

    // The folder holding SeeSharp.slnx above the working directory.
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SeeSharp.slnx"))) return d.FullName;
        throw new IOException("cannot find the repository root (SeeSharp.slnx) above the working directory");
    }
}
