using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;

namespace SeeSharp.Bench;

/// <summary>GEMV (F32, BF16) and decode attention against a streaming read of a buffer larger than L3, and GEMM
/// against the FMA peak.</summary>
internal static unsafe class KernelBench
{
    private const long ReadBufferBytes = 512L << 20;
    private const int N = 4096;

    public static void Run(string[] args)
    {
        int threads = Environment.ProcessorCount;
        int trials = 7;
        for (int i = 0; i + 1 < args.Length; i++)   // flags (--sweep-m, --decode-attention) may stand anywhere
        {
            if (args[i] == "--threads") threads = int.Parse(args[++i]);
            else if (args[i] == "--trials") trials = int.Parse(args[++i]);
        }
        WorkerPool.Configure(threads);
        if (args.Contains("--sweep-m")) { SweepM(); return; }
        if (args.Contains("--pack")) { PackTiming(); return; }
        Console.WriteLine($"SeeSharp kernel benchmark: {threads} threads, {trials} trials, Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, {Environment.ProcessorCount} CPUs");
        if (args.Contains("--decode-attention"))
        {
            var buf = Tensor.Allocate(DType.F32, ReadBufferBytes / 4);
            Fill(buf.AsSpan<float>(), 1);
            DecodeAttentionBench(buf, trials);
            return;
        }

        // A read buffer larger than L3, and enough weight copies that each GEMV trial streams from DRAM.
        var readBuf = Tensor.Allocate(DType.F32, ReadBufferBytes / 4);
        Fill(readBuf.AsSpan<float>(), 1);
        var x = Random(N, 2);
        var y = new float[N];
        Gemv("F32", DType.F32, copies: 3, x, y, readBuf, trials);
        Gemv("BF16", DType.BF16, copies: 5, x, y, readBuf, trials);
        GemmBench(trials);
        AttentionBench();
        DecodeAttentionBench(readBuf, trials);
        GC.KeepAlive(readBuf);
    }

    private static void Gemv(string name, DType dt, int copies, float[] x, float[] y, Tensor readBuf, int trials)
    {
        var ws = new WeightMatrix[copies];
        for (int c = 0; c < copies; c++)
        {
            var src = Random(N * N, 10 + c);
            var t = dt == DType.F32
                ? Tensor.FromArray(src, N, N)
                : Tensor.FromArray(DType.BF16, src.Select(DTypes.SingleToBF16).ToArray(), N, N);
            ws[c] = new WeightMatrix(t);
            _ = Tensor.Allocate(DType.U8, 4096 + 64 * c);   // stagger the next allocation's start address
        }
        long bytes = (long)N * N * DTypes.SizeOf(dt);
        // Warm-up (JIT, page faults).
        for (int c = 0; c < copies; c++) Ops.Linear(x, 1, ws[c], [], y);
        ReadBandwidth(readBuf);

        var ratios = new List<double>();
        var gbs = new List<double>();
        var bws = new List<double>();
        int next = 0;
        for (int t = 0; t < trials; t++)
        {
            double bw = ReadBandwidth(readBuf);
            const int calls = 12;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) Ops.Linear(x, 1, ws[next++ % copies], [], y);
            double g = bytes * calls / sw.Elapsed.TotalSeconds / 1e9;
            bws.Add(bw); gbs.Add(g); ratios.Add(g / bw);
        }
        double gm = Median(gbs);
        Console.WriteLine($"GEMV {name,-4} {N}x{N}: {gm,6:F1} GB/s ({bytes / gm / 1e6:F2} ms/call) | read bandwidth {Median(bws),5:F1} GB/s | ratio median {Median(ratios):F2} (min {ratios.Min():F2}, max {ratios.Max():F2})");
    }

    /// <summary>GB/s of a SIMD streaming read of the whole buffer, split over the pool.</summary>
    internal static double ReadBandwidth(Tensor buf)
    {
        float* p = (float*)buf.Pointer;
        long n = buf.ElementCount;
        var pool = WorkerPool.Default;
        int chunks = pool.Threads * 8;
        long per = n / chunks / 64 * 64;
        var sums = new float[chunks];
        var sw = Stopwatch.StartNew();
        pool.For(chunks, c => sums[c] = SumRange(p + c * per, per));
        double s = sw.Elapsed.TotalSeconds;
        if (float.IsNaN(sums.Sum())) Console.WriteLine("!");
        return per * chunks * 4 / s / 1e9;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SumRange(float* p, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (long i = 0; i + 64 <= n; i += 64)
            {
                a0 += Vector512.Load(p + i); a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32); a3 += Vector512.Load(p + i + 48);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        Vector256<float> b0 = default, b1 = default;
        for (long i = 0; i + 16 <= n; i += 16) { b0 += Vector256.Load(p + i); b1 += Vector256.Load(p + i + 8); }
        return Vector256.Sum(b0 + b1);
    }

    private static void GemmBench(int trials)
    {
        const int M = 512;
        var w = new WeightMatrix(Tensor.FromArray(Random(N * N, 3), N, N));
        var x = Random(M * N, 4);
        var y = new float[M * N];
        Ops.Linear(x, M, w, [], y);   // warm-up
        double flops = 2.0 * M * N * N;
        var gf = new List<double>();
        var peaks = new List<double>();
        for (int t = 0; t < Math.Max(3, trials / 2); t++)
        {
            peaks.Add(FmaPeak());
            var sw = Stopwatch.StartNew();
            Ops.Linear(x, M, w, [], y);
            gf.Add(flops / sw.Elapsed.TotalSeconds / 1e9);
        }
        Console.WriteLine($"GEMM F32 {M}x{N}x{N}: {Median(gf),6:F1} GFLOP/s | measured FMA peak {Median(peaks),6:F1} GFLOP/s | ratio {Median(gf) / Median(peaks):F2} (best {gf.Max():F1} GFLOP/s)");
    }

    /// <summary>Vision-encoder-like self-attention: 1024 tokens, 16 heads of 72.</summary>
    private static void AttentionBench()
    {
        const int T = 1024, H = 16, D = 72;
        var q = Random(T * H * D, 5);
        var k = Random(T * H * D, 6);
        var v = Random(T * H * D, 7);
        var o = new float[T * H * D];
        Ops.Attention(q, k, v, o, T, T, H, H, D, 1f / MathF.Sqrt(D), []);
        var ms = new List<double>();
        for (int t = 0; t < 3; t++)
        {
            var sw = Stopwatch.StartNew();
            Ops.Attention(q, k, v, o, T, T, H, H, D, 1f / MathF.Sqrt(D), []);
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        double flops = 4.0 * T * T * D * H;
        Console.WriteLine($"Attention {T} tokens x {H} heads x {D}: {Median(ms),7:F1} ms ({flops / Median(ms) / 1e6:F1} GFLOP/s)");
    }

    /// <summary>
    /// Decode attention of an 8B (Mistral-shaped) decoder: 1 query, 32 query heads over 8 kv heads of 128, for a KV
    /// cache of 640 and 2048 positions. One K/V copy per layer (up to 32) so that the caches together exceed L3 and
    /// each call reads its K and V from DRAM, as a decode step does; K+V bytes/s as a ratio of the read bandwidth
    /// measured just before each trial, for the former per-key path and the DecodeAttention kernel side by side.
    /// </summary>
    private static void DecodeAttentionBench(Tensor readBuf, int trials)
    {
        const int H = 32, KvH = 8, D = 128;
        var q = Random(H * D, 30);
        var o = new float[H * D];
        float scale = 1f / MathF.Sqrt(D);
        foreach (int kvLen in new[] { 640, 2048 })
        {
            long bytes = 2L * kvLen * KvH * D * sizeof(float);          // K and V of one layer
            int layers = (int)Math.Clamp((256L << 20) / bytes, 4, 32);
            var ks = new float[layers][];
            var vs = new float[layers][];
            for (int l = 0; l < layers; l++) { ks[l] = Random(kvLen * KvH * D, 40 + l); vs[l] = Random(kvLen * KvH * D, 80 + l); }
            var line = $"Decode attention {H}/{KvH} heads x {D}, kvLen {kvLen,4}, qLen 1:";
            var medians = new List<double>();
            foreach (var path in new[] { FastOps.AttentionPath.PerKey, FastOps.AttentionPath.Auto })
            {
                for (int l = 0; l < layers; l++) FastOps.Attention(q, ks[l], vs[l], o, 1, kvLen, H, KvH, D, scale, [], path);   // warm-up
                var us = new List<double>();
                var ratios = new List<double>();
                var bws = new List<double>();
                int next = 0;
                for (int t = 0; t < trials; t++)
                {
                    double bw = ReadBandwidth(readBuf);
                    int calls = Math.Max(layers, 32);
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < calls; i++, next++) FastOps.Attention(q, ks[next % layers], vs[next % layers], o, 1, kvLen, H, KvH, D, scale, [], path);
                    double perCall = sw.Elapsed.TotalSeconds / calls;
                    us.Add(perCall * 1e6); bws.Add(bw); ratios.Add(bytes / perCall / 1e9 / bw);
                }
                double m = Median(us);
                medians.Add(m);
                line += $" | {(path == FastOps.AttentionPath.PerKey ? "per-key" : "decode kernel")} {m,7:F1} us/call (min {us.Min():F1}), {bytes / (m * 1e-6) / 1e9,5:F1} GB/s, ratio {Median(ratios):F2}";
            }
            Console.WriteLine($"{line} | read bandwidth {ReadBandwidth(readBuf),5:F1} GB/s | speedup {medians[0] / medians[1]:F2}x");
        }
    }

    /// <summary>fp32 GFLOP/s of independent register FMA chains on every pool thread.</summary>
    private static double FmaPeak()
    {
        var pool = WorkerPool.Default;
        const long iters = 4_000_000;
        var sink = new float[pool.Threads];
        var sw = Stopwatch.StartNew();
        pool.For(pool.Threads, t => sink[t] = FmaLoop(iters));
        double s = sw.Elapsed.TotalSeconds;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        return iters * 12.0 * lanes * 2 * pool.Threads / s / 1e9;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop(long iters)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
            Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iters; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a); c2 = Vector512.FusedMultiplyAdd(c2, m, a);
                c3 = Vector512.FusedMultiplyAdd(c3, m, a); c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
                c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a); c8 = Vector512.FusedMultiplyAdd(c8, m, a);
                c9 = Vector512.FusedMultiplyAdd(c9, m, a); c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        var m2 = Vector256.Create(0.999999f); var a2 = Vector256.Create(1e-7f);
        Vector256<float> d0 = Vector256.Create(1f), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0, d8 = d0, d9 = d0, d10 = d0, d11 = d0;
        for (long i = 0; i < iters; i++)
        {
            d0 = Vector256.FusedMultiplyAdd(d0, m2, a2); d1 = Vector256.FusedMultiplyAdd(d1, m2, a2); d2 = Vector256.FusedMultiplyAdd(d2, m2, a2);
            d3 = Vector256.FusedMultiplyAdd(d3, m2, a2); d4 = Vector256.FusedMultiplyAdd(d4, m2, a2); d5 = Vector256.FusedMultiplyAdd(d5, m2, a2);
            d6 = Vector256.FusedMultiplyAdd(d6, m2, a2); d7 = Vector256.FusedMultiplyAdd(d7, m2, a2); d8 = Vector256.FusedMultiplyAdd(d8, m2, a2);
            d9 = Vector256.FusedMultiplyAdd(d9, m2, a2); d10 = Vector256.FusedMultiplyAdd(d10, m2, a2); d11 = Vector256.FusedMultiplyAdd(d11, m2, a2);
        }
        return Vector256.Sum(d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8 + d9 + d10 + d11);
    }

    /// <summary>Linear over a 4096x4096 weight for small m on both paths (GEMV-style and packed GEMM).</summary>
    private static void SweepM()
    {
        foreach (var dt in new[] { DType.F32, DType.BF16 })
        {
            var src = Random(N * N, 21);
            var w = new WeightMatrix(dt == DType.F32 ? Tensor.FromArray(src, N, N) : Tensor.FromArray(DType.BF16, src.Select(DTypes.SingleToBF16).ToArray(), N, N));
            foreach (int m in new[] { 1, 2, 4, 6, 8, 12, 16, 24, 32 })
            {
                var x = Random(m * N, m);
                var y = new float[m * N];
                string line = $"{dt,-4} m {m,2}:";
                foreach (var path in new[] { Gemm.Path.Gemv, Gemm.Path.Gemm })
                {
                    if (path == Gemm.Path.Gemm && m == 1) continue;
                    Gemm.Linear(x, m, w, [], y, path);
                    var times = new List<double>();
                    for (int t = 0; t < 5; t++)
                    {
                        var sw = Stopwatch.StartNew();
                        Gemm.Linear(x, m, w, [], y, path);
                        times.Add(sw.Elapsed.TotalMilliseconds);
                    }
                    line += $"  {path.ToString().ToLowerInvariant()} {Median(times),7:F2} ms";
                }
                Console.WriteLine(line);
            }
        }
    }

    private static void PackTiming()
    {
        var src = Random(N * N, 21);
        var t = Tensor.FromArray(src, N, N);
        var bp = GC.AllocateArray<float>(4096 * 64 + 64, pinned: true);
        var ap = GC.AllocateArray<float>(256 * 6 + 64, pinned: true);
        var c = GC.AllocateArray<float>(6 * 64 + 64, pinned: true);
        fixed (float* b = bp) fixed (float* a = ap) fixed (float* cc = c)
        {
            foreach (int kc in new[] { 256, 512, 1024, 4096, 256, 512, 1024, 4096 })
            {
                var sw = Stopwatch.StartNew();
                for (int n0 = 0; n0 < N; n0 += 64)
                    for (int k0 = 0; k0 < N; k0 += kc)
                        Gemm.PackB(t.Pointer, DType.F32, N, n0, 64, k0, kc, b);
                double pack = sw.Elapsed.TotalMilliseconds;
                Console.Write($"kc {kc}: ");
                var small = Tensor.FromArray(Random(512 * 512, 3), 512, 512);
                var sw2 = Stopwatch.StartNew();
                for (int rep2 = 0; rep2 < 64; rep2++)
                    for (int n0 = 0; n0 < 512; n0 += 64)
                        for (int k0 = 0; k0 < 512; k0 += 256)
                            Gemm.PackB(small.Pointer, DType.F32, 512, n0, 64, k0, 256, b);
                Console.Write($"(cached 16M elements: {sw2.Elapsed.TotalMilliseconds:F2} ms) ");
                sw.Restart();
                for (int n0 = 0; n0 < N; n0 += 64)
                    for (int k0 = 0; k0 < N; k0 += 256)
                        Gemm.Tile(a, b, 256, cc, 64, true);
                Console.WriteLine($"PackB over 4096x4096 F32: {pack:F2} ms; 1024 micro-kernel calls kc 256: {sw.Elapsed.TotalMilliseconds:F2} ms");
            }
        }
    }

    private static void Fill(Span<float> s, float v) => s.Fill(v);

    private static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
