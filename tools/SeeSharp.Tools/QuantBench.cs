using System.Diagnostics;
using System.Runtime.Intrinsics;
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Quant;

namespace SeeSharp.Tools;

/// <summary>
/// <c>quantbench</c>: GEMV (m = 1) over a quantized [rows, cols] matrix in each scheme, against a plain streaming read of
/// the same bytes (weights + scales) on the same threads, interleaved trial by trial (the DRAM bandwidth of the host
/// moves; only the ratio means something). Prints GB/s and the ratio per trial and the median ratio. Optional m &gt; 1
/// (--m) times the GEMM path as effective GB/s and GFLOP/s.
/// </summary>
internal static class QuantBench
{
    public static int Run(Args a)
    {
        int rows = a.Int("rows", 4096), cols = a.Int("cols", 14336), trials = a.Int("trials", 5), threads = a.Int("threads", Environment.ProcessorCount);
        int m = a.Int("m", 1);
        string only = a.Opt("schemes", "int8row,int8b32,int4g32,int4g128");
        string? model = a.Opt("model");
        int tokens = a.Int("tokens", 16);
        bool mapped = a.Flag("mapped");
        var prefetch = a.Opt("prefetch", "")!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        a.CheckAllUsed();
        WorkerPool.Configure(threads);
        if (model is not null) return m > 1 ? PrefillSimulation(model, m, trials) : DecodeSimulation(model, tokens, trials, mapped, prefetch);
        Console.WriteLine($"quantbench: W [{rows}, {cols}], m {m}, {threads} threads, ISA {QuantOps.Isa}");
        var w = new float[(long)rows * cols];
        var rng = new Random(1);
        for (long i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * 0.02f;
        var wt = Tensor.FromArray(w, rows, cols);
        w = null;
        var x = new float[(long)m * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[(long)m * rows];
        var configs = new List<(string Name, QuantConfig Config)>();
        foreach (var s in only.Split(','))
            configs.Add(s switch
            {
                "int8row" => (s, QuantConfig.Create(QuantScheme.Int8PerRow)),
                "int8b32" => (s, QuantConfig.Create(QuantScheme.Int8Block32)),
                "int4g32" => (s, QuantConfig.Create(QuantScheme.Int4Group, 32)),
                "int4g64" => (s, QuantConfig.Create(QuantScheme.Int4Group, 64)),
                "int4g128" => (s, QuantConfig.Create(QuantScheme.Int4Group, 128)),
                _ => throw new ArgumentException($"--schemes: unknown {s}"),
            });
        foreach (var (name, config) in configs)
        {
            var q = QuantizedMatrix.Quantize(wt, config);
            long bytes = q.ByteLength;
            int reps = Math.Max(3, (int)(2e9 / bytes / Math.Max(1, m / 4)));   // ~2 GB of traffic per timing
            reps = Math.Min(reps, 40);
            var ratios = new List<double>();
            QuantOps.Linear(x, m, q, [], y);
            StreamRead(q);
            for (int t = 0; t < trials; t++)
            {
                double tr = Time(() => StreamRead(q), reps);
                double tk = Time(() => QuantOps.Linear(x, m, q, [], y), reps);
                double gbRead = bytes / tr / 1e9, gbKernel = bytes / tk / 1e9;
                ratios.Add(gbKernel / gbRead);
                string flops = "";
                if (m > 1)
                {
                    // the pre-tile GEMM (row by row over L2 blocks of panels) in the same trial
                    QuantOps.UseTiles = false;
                    double tu = Time(() => QuantOps.Linear(x, m, q, [], y), reps);
                    QuantOps.UseTiles = true;
                    flops = $"  {2.0 * m * rows * cols / tk / 1e9:F1} GFLOP/s (untiled {2.0 * m * rows * cols / tu / 1e9:F1}, speedup {tu / tk:F2})";
                }
                Console.WriteLine($"  {name,-9} {bytes / 1e6,7:F1} MB  trial {t}: read {gbRead,5:F1} GB/s  gemv {gbKernel,5:F1} GB/s  ratio {gbKernel / gbRead:F2}{flops}");
            }
            ratios.Sort();
            Console.WriteLine($"  {name,-9} median ratio {ratios[ratios.Count / 2]:F2} (min {ratios[0]:F2}, max {ratios[^1]:F2})");
        }
        return 0;
    }

    /// <summary>
    /// Weights-only decode of a quantized checkpoint (tools quantize): per token, one GEMV per quantized matrix of
    /// the text decoder (q, k, v, o, gate, up, down of every layer, and lm_head), interleaved with a streaming read of
    /// the same bytes. Upper bound of a decode step's speed (no attention, norms or KV cache).
    /// </summary>
    private static int DecodeSimulation(string model, int tokens, int trials, bool mapped, int[] prefetch)
    {
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        var qc = QuantConfig.FromJson(cfg["quantization_config"]);
        using var ckpt = SeeSharp.Engine.Safetensors.SafetensorsCheckpoint.Open(model);
        var mats = ckpt.Names.Where(n => n.EndsWith(QuantizedMatrix.QWeightSuffix, StringComparison.Ordinal)
                                         && (n.StartsWith("model.text_model.", StringComparison.Ordinal) || n.StartsWith("lm_head", StringComparison.Ordinal)))
            .Select(n => QuantizedMatrix.FromTensors(mapped ? ckpt.Get : InMemory, n[..^QuantizedMatrix.QWeightSuffix.Length], qc)).ToList();
        // unless --mapped, copied out of the mapping: a benchmark of the kernels, not of the page cache (other jobs evict it)
        Tensor InMemory(string name)
        {
            var t = ckpt.Get(name);
            var c = Tensor.Allocate(t.DType, t.Shape);
            t.AsBytes().CopyTo(c.AsBytes());
            return c;
        }
        long bytes = mats.Sum(q => q.ByteLength);
        int maxCols = mats.Max(q => q.Cols), maxRows = mats.Max(q => q.Rows);
        var x = new float[maxCols];
        var y = new float[maxRows];
        var rng = new Random(3);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        Console.WriteLine($"decode simulation: {model} ({qc.Layout}), {mats.Count} matrices, {bytes / 1e9:F3} GB per token, ISA {QuantOps.Isa}, {WorkerPool.Default.Threads} threads");
        void Step() { foreach (var q in mats) QuantOps.Linear(x.AsSpan(0, q.Cols), 1, q, [], y); }
        void Read() { foreach (var q in mats) StreamRead(q); }
        Step(); Read();
        var ratios = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            double tr = Time(Read, tokens, out double trMed), tk = Time(Step, tokens, out double tkMed);
            foreach (int pf in prefetch)
            {
                int old8 = Avx512QuantKernels.PrefetchDistance, old4 = Avx512QuantKernels.PrefetchDistanceInt4;
                Avx512QuantKernels.PrefetchDistance = Avx512QuantKernels.PrefetchDistanceInt4 = pf;
                double tp = Time(Step, tokens, out double tpMed);
                Avx512QuantKernels.PrefetchDistance = old8;
                Avx512QuantKernels.PrefetchDistanceInt4 = old4;
                Console.WriteLine($"    prefetch {pf}: ratio {tr / tp:F2} (median {trMed / tpMed:F2})");
            }
            if (qc.Scheme == QuantScheme.Int8PerRow)
            {
                QuantOps.UseVnniGemv = false;
                double tp = Time(Step, tokens, out double tpMed);
                QuantOps.UseVnniGemv = true;
                Console.WriteLine($"    int8 GEMV without AVX-VNNI: ratio {tr / tp:F2} (median {trMed / tpMed:F2})");
            }
            ratios.Add(tr / tk);
            Console.WriteLine($"  trial {t}: best of {tokens}: read {bytes / tr / 1e9:F1} GB/s  gemv-only decode {1 / tk:F2} tok/s ({bytes / tk / 1e9:F1} GB/s)  ratio {tr / tk:F2}" +
                              $"  | median: read {bytes / trMed / 1e9:F1} GB/s, decode {1 / tkMed:F2} tok/s");
        }
        ratios.Sort();
        Console.WriteLine($"  median ratio {ratios[ratios.Count / 2]:F2}");
        return 0;
    }

    /// <summary>Weights-only prefill of m tokens: one GEMM [m, cols] x Wᵀ per quantized matrix of the text decoder.</summary>
    private static int PrefillSimulation(string model, int m, int trials)
    {
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        var qc = QuantConfig.FromJson(cfg["quantization_config"]);
        using var ckpt = SeeSharp.Engine.Safetensors.SafetensorsCheckpoint.Open(model);
        var mats = ckpt.Names.Where(n => n.EndsWith(QuantizedMatrix.QWeightSuffix, StringComparison.Ordinal) && n.StartsWith("model.text_model.", StringComparison.Ordinal))
            .Select(n => QuantizedMatrix.FromTensors(ckpt.Get, n[..^QuantizedMatrix.QWeightSuffix.Length], qc)).ToList();
        int maxCols = mats.Max(q => q.Cols), maxRows = mats.Max(q => q.Rows);
        var x = new float[(long)m * maxCols];
        var y = new float[(long)m * maxRows];
        var rng = new Random(3);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        double ops = 2.0 * m * mats.Sum(q => (double)q.Rows * q.Cols);
        Console.WriteLine($"prefill simulation: {model} ({qc.Layout}), {mats.Count} matrices (lm_head excluded), m {m}, ISA {QuantOps.Isa}, {WorkerPool.Default.Threads} threads");
        for (int t = 0; t < trials; t++)
        {
            long t0 = Stopwatch.GetTimestamp();
            foreach (var q in mats) QuantOps.Linear(x.AsSpan(0, m * q.Cols), m, q, [], y);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            Console.WriteLine($"  trial {t}: {m / s:F1} tok/s, {ops / s / 1e9:F1} GOP/s (int8 multiply-adds x2)");
        }
        return 0;
    }

    // best time per call over reps calls
    private static double Time(Action f, int reps) => Time(f, reps, out _);

    private static double Time(Action f, int reps, out double median)
    {
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            f();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        median = times[reps / 2];
        return times[0];
    }

    private static long s_sink;

    // Reads the weight and scale bytes with 64-byte loads, split over the pool like the GEMV (contiguous ranges).
    private static unsafe void StreamRead(QuantizedMatrix q)
    {
        long sink = 0;
        foreach (var t in new[] { q.QWeight, q.Scales })
        {
            byte* p = t.Pointer;
            long n = t.ByteLength / 64;
            int items = Math.Min((int)Math.Max(1, n / 64), WorkerPool.Default.Threads * 4);
            long per = (n + items - 1) / items;
            var partial = new long[items];
            WorkerPool.Default.For(items, i =>
            {
                long b0 = i * per, b1 = Math.Min(n, b0 + per);
                var acc = Vector512<byte>.Zero;
                var acc2 = Vector512<byte>.Zero;
                long b = b0;
                for (; b + 1 < b1; b += 2)
                {
                    acc ^= Vector512.Load(p + b * 64);
                    acc2 ^= Vector512.Load(p + b * 64 + 64);
                }
                for (; b < b1; b++) acc ^= Vector512.Load(p + b * 64);
                partial[i] = (long)(acc ^ acc2).AsUInt64().ToScalar();
            });
            foreach (var v in partial) sink ^= v;
        }
        s_sink ^= sink;
    }
}
