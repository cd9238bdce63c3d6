using System.Runtime.InteropServices;
using SeeSharp.Engine.Kernels;

namespace SeeSharp.Engine.Quant;

/// <summary>Linear layers over <see cref="QuantizedMatrix"/> weights (SIMD, multi-threaded on
/// <see cref="WorkerPool.Default"/>); <see cref="QuantReference"/> holds the scalar twin.</summary>
public static unsafe class QuantOps
{
    /// <summary>Bytes of weights that a GEMM work item keeps hot in L2 while it runs every row of x over them.</summary>
    private const long GemmBlockBytes = 256 * 1024;

    /// <summary>Work items per pool thread for a GEMV: contiguous panel ranges, enough to even out the threads.</summary>
    private const int ItemsPerThread = 4;

    /// <summary>Rows of x per GEMM tile (the register-blocked kernels compute 4 rows of x × the 4 rows of a panel).</summary>
    private const int TileRows = 4;

    /// <summary>false runs m &gt; 1 as row-by-row panel kernels (the pre-tile GEMM) in place of the register-blocked
    /// tiles; for side-by-side benchmarks only (results are bit-identical either way).</summary>
    internal static bool UseTiles { get; set; } = true;

    /// <summary>Int8PerRow panels (the GEMV, and GEMM leftover rows) through AVX-VNNI where the CPU has it
    /// (bit-identical to the AVX-512BW kernel); false runs the vpmaddubsw kernel, for side-by-side benchmarks.</summary>
    internal static bool UseVnniGemv { get; set; } = true;

    /// <summary>
    /// y[m, rows] = x[m, cols] · Wᵀ (+ bias[rows]): each row of x is quantized once to int8 per block
    /// (<see cref="QuantLayout.ActivationBlock"/>), then integer dot products run panel by panel. m == 1 (GEMV)
    /// splits the panels over the workers in contiguous ranges (one sequential stream each); m &gt; 1 (GEMM) also
    /// walks the panels in L2-sized blocks and runs every row of x over a block before moving on, as register tiles of
    /// 4 rows of x × 4 weight rows where the ISA and scheme have one (AVX-512: Int8PerRow, Int4Group). Each row of y is
    /// bit-identical to an m = 1 call, except Int4Group with AVX-VNNI and m ≥ 12 (repacked GEMM,
    /// <see cref="AvxVnniInt4Kernels"/>: same exact integer sums, another fp32 order).
    /// </summary>
    public static void Linear(ReadOnlySpan<float> x, int m, QuantizedMatrix w, ReadOnlySpan<float> bias, Span<float> y)
    {
        QuantReference.Check(x.Length, m, w, bias.Length, y.Length);
        if (m == 0) return;
        using var act = new QuantizedActivations(x, m, w.Cols, w);
        int panels = w.Panels;
        long panelBytes = w.ByteLength / panels;
        int threads = WorkerPool.Default.Threads;
        int blockPanels = m == 1 ? panels : (int)Math.Clamp(GemmBlockBytes / Math.Max(panelBytes, 1), 1, panels);
        // work items: contiguous panel ranges, at least 4 per thread when there is enough work
        int items = Math.Min(panels, threads == 1 ? 1 : threads * ItemsPerThread);
        if (m > 1) items = Math.Max(items, Math.Min(panels, (panels + blockPanels - 1) / blockPanels));
        int per = (panels + items - 1) / items;
        if (RepackedInt4Gemm(w, m)) per += per & 1;                 // whole octets (2 panels) per work item
        items = (panels + per - 1) / per;
        var ctx = new Context(w, act, m, blockPanels, per);
        fixed (float* py = y)
        fixed (float* pb = bias)
        {
            ctx.Y = py;
            ctx.Bias = bias.IsEmpty ? null : pb;
            if (items == 1) ctx.Run(0);
            else WorkerPool.Default.For(items, ctx.Run);
        }
        GC.KeepAlive(w);
    }

    /// <summary>
    /// Several GEMVs over one input row (e.g. a layer's q, k and v projections, or gate and up): x[cols] is quantized
    /// once and the panels of all matrices are split over the workers in one loop (one hand-off instead of one per
    /// matrix). y is the concatenation of the outputs: y[offset_j .. offset_j + rows_j] = x · W_jᵀ (+ biases[j]),
    /// bit-identical to separate <see cref="Linear"/> calls. The matrices must share cols and quantization config
    /// (<see cref="CanShareInput"/>).
    /// </summary>
    public static void LinearShared(ReadOnlySpan<float> x, ReadOnlySpan<QuantizedMatrix> ws, ReadOnlySpan<float[]?> biases, Span<float> y)
    {
        if (ws.IsEmpty) throw new ArgumentException("LinearShared: no matrices");
        if (biases.Length != ws.Length) throw new ArgumentException($"LinearShared: {biases.Length} biases for {ws.Length} matrices");
        if (!CanShareInput(ws)) throw new ArgumentException("LinearShared: the matrices differ in columns or quantization config");
        long total = 0;
        for (int j = 0; j < ws.Length; j++)
        {
            if (biases[j] is { } b && b.Length != ws[j].Rows)
                throw new ArgumentException($"LinearShared: bias {j} has {b.Length} elements, matrix {j} has {ws[j].Rows} rows");
            total += ws[j].Rows;
        }
        QuantReference.Check(x.Length, 1, ws[0], 0, ws[0].Rows);
        if (y.Length != total) throw new ArgumentException($"LinearShared: y has {y.Length} elements, the matrices {total} rows");
        using var act = new QuantizedActivations(x, 1, ws[0].Cols, ws[0]);
        int threads = WorkerPool.Default.Threads;
        long panels = 0;
        foreach (var w in ws) panels += w.Panels;
        int per = (int)Math.Max(1, (panels + threads * ItemsPerThread - 1) / (threads * ItemsPerThread));
        // work items: contiguous panel ranges of one matrix each, about `per` panels long
        var items = new List<(Context Ctx, int P0, int P1)>();
        var contexts = new Context[ws.Length];
        fixed (float* py = y)
        {
            long offset = 0;
            for (int j = 0; j < ws.Length; j++)
            {
                var w = ws[j];
                var ctx = contexts[j] = new Context(w, act, 1, w.Panels, per) { Y = py + offset };
                offset += w.Rows;
                for (int p0 = 0; p0 < w.Panels; p0 += per) items.Add((ctx, p0, Math.Min(w.Panels, p0 + per)));
            }
            var pins = new GCHandle[ws.Length];
            try
            {
                for (int j = 0; j < ws.Length; j++)
                    if (biases[j] is { } b)
                    {
                        pins[j] = GCHandle.Alloc(b, GCHandleType.Pinned);
                        contexts[j].Bias = (float*)pins[j].AddrOfPinnedObject();
                    }
                if (items.Count == 1 || threads == 1) foreach (var (c, p0, p1) in items) c.RunRange(p0, p1);
                else WorkerPool.Default.For(items.Count, i => items[i].Ctx.RunRange(items[i].P0, items[i].P1));
            }
            finally
            {
                foreach (var h in pins) if (h.IsAllocated) h.Free();
            }
        }
        foreach (var w in ws) GC.KeepAlive(w);
    }

    /// <summary>Whether <paramref name="ws"/> can share one quantized input row (<see cref="LinearShared"/>): same
    /// columns, scheme and group size.</summary>
    public static bool CanShareInput(ReadOnlySpan<QuantizedMatrix> ws)
    {
        for (int j = 1; j < ws.Length; j++)
            if (ws[j].Cols != ws[0].Cols || ws[j].Scheme != ws[0].Scheme || ws[j].Config.GroupSize != ws[0].Config.GroupSize) return false;
        return true;
    }

    /// <summary>Whether x[m, cols] · Wᵀ runs as <see cref="AvxVnniInt4Kernels.Gemm"/> (repacked octets of weight rows).</summary>
    private static bool RepackedInt4Gemm(QuantizedMatrix w, int m) =>
        w.Scheme == QuantScheme.Int4Group && AvxVnniInt4Kernels.IsSupported && UseTiles && m >= AvxVnniInt4Kernels.RepackMinRows;

    /// <summary>Whether Int8PerRow activations are quantized with <see cref="ActRow.NegCorr"/>, and so their panels (the
    /// GEMV, GEMM leftover rows) run <see cref="AvxVnniInt8Kernels"/>.</summary>
    internal static bool VnniInt8Gemv => UseVnniGemv && AvxVnniInt8Kernels.IsSupported;

    /// <summary>Which kernel family runs here: "avx512", "avx2" or "scalar".</summary>
    public static string Isa => Avx512QuantKernels.IsSupported ? "avx512" : Avx2QuantKernels.IsSupported ? "avx2" : "scalar";

    private sealed class Context(QuantizedMatrix w, QuantizedActivations act, int m, int blockPanels, int perItem)
    {
        public float* Y;
        public float* Bias;

        public void Run(int item) => RunRange(item * perItem, Math.Min(w.Panels, item * perItem + perItem));

        public void RunRange(int p0, int p1)
        {
            if (RepackedInt4Gemm(w, m))
            {
                AvxVnniInt4Kernels.Gemm(w, act, m, p0, p1, Y, Bias);   // repacked 8-row octets x 4-row tiles
                return;
            }
            for (int b0 = p0; b0 < p1; b0 += blockPanels)
            {
                int b1 = Math.Min(p1, b0 + blockPanels);
                int i = 0;
                if (m >= TileRows && UseTiles && HasTile)
                    for (; i + TileRows <= m; i += TileRows)
                        for (int p = b0; p < b1; p++) Tile(p, i);
                for (; i < m; i++)
                {
                    var a = act.Row(i);
                    for (int p = b0; p < b1; p++) Panel(p, a, Y + (long)i * w.Rows);
                }
            }
        }

        private bool HasTile => w.Scheme != QuantScheme.Int8Block32 && Avx512QuantKernels.IsSupported;

        // rows i .. i + 3 of x × panel p: the same per-element results as 4 Panel calls
        private void Tile(int p, int i)
        {
            float* o = stackalloc float[16];
            var a = act.Row(i);
            long panelWeightBytes = (long)w.Chunks * 4 * QuantLayout.ChunkBytes;
            float* scales = (float*)w.Scales.Pointer;
            if (w.Scheme == QuantScheme.Int8PerRow)
            {
                sbyte* pw = (sbyte*)w.QWeight.Pointer + p * panelWeightBytes;
                Avx512QuantKernels.I8RowTile4(pw, a.Abs, a.Sign, a.D, act.RowStride, w.Chunks, o);
                for (int k = 0; k < 16; k++) o[k] *= scales[p * 4 + (k & 3)];
            }
            else
            {
                int g = w.Config.GroupSize;
                float* sc = scales + (long)p * (w.ColsPadded / g) * 4;
                Avx512QuantKernels.I4Tile4(w.QWeight.Pointer + p * panelWeightBytes, sc, a, act.RowStride, w.Chunks, g, o);
            }
            int rows = Math.Min(4, w.Rows - p * 4);
            for (int j = 0; j < TileRows; j++)
            {
                float* yRow = Y + (long)(i + j) * w.Rows;
                for (int r = 0; r < rows; r++)
                {
                    int row = p * 4 + r;
                    float v = o[4 * j + r];
                    yRow[row] = Bias is null ? v : v + Bias[row];
                }
            }
        }

        private void Panel(int p, in ActRow a, float* yRow)
        {
            float* o = stackalloc float[4];
            int chunks = w.Chunks;
            long panelWeightBytes = (long)chunks * 4 * QuantLayout.ChunkBytes;
            float* scales = (float*)w.Scales.Pointer;
            switch (w.Scheme)
            {
                case QuantScheme.Int8PerRow:
                {
                    sbyte* pw = (sbyte*)w.QWeight.Pointer + p * panelWeightBytes;
                    if (a.NegCorr != null) AvxVnniInt8Kernels.I8Row(pw, a, chunks, o);   // quantized for it: VnniInt8Gemv
                    else if (Avx512QuantKernels.IsSupported) Avx512QuantKernels.I8Row(pw, a, chunks, o);
                    else if (Avx2QuantKernels.IsSupported) Avx2QuantKernels.I8Row(pw, a, chunks, o);
                    else ScalarQuantKernels.I8Row(pw, a, chunks, o);
                    for (int r = 0; r < 4; r++) o[r] *= scales[p * 4 + r];
                    break;
                }
                case QuantScheme.Int8Block32:
                {
                    sbyte* pw = (sbyte*)w.QWeight.Pointer + p * panelWeightBytes;
                    float* sc = scales + (long)p * chunks * 8;
                    if (Avx512QuantKernels.IsSupported) Avx512QuantKernels.I8B32(pw, sc, a, chunks, o);
                    else if (Avx2QuantKernels.IsSupported) Avx2QuantKernels.I8B32(pw, sc, a, chunks, o);
                    else ScalarQuantKernels.I8B32(pw, sc, a, chunks, o);
                    break;
                }
                default:
                {
                    byte* pw = w.QWeight.Pointer + p * panelWeightBytes;
                    int g = w.Config.GroupSize;
                    float* sc = scales + (long)p * (w.ColsPadded / g) * 4;
                    if (Avx512QuantKernels.IsSupported) Avx512QuantKernels.I4(pw, sc, a, chunks, g, o);
                    else if (AvxVnniInt4Kernels.IsSupported) AvxVnniInt4Kernels.I4(pw, sc, a, chunks, g, o);   // AVX2 + AVX-VNNI
                    else if (Avx2QuantKernels.IsSupported) Avx2QuantKernels.I4(pw, sc, a, chunks, g, o);
                    else ScalarQuantKernels.I4(pw, sc, a, chunks, g, o);
                    break;
                }
            }
            int rows = Math.Min(4, w.Rows - p * 4);
            for (int r = 0; r < rows; r++)
            {
                int row = p * 4 + r;
                yRow[row] = Bias is null ? o[r] : o[r] + Bias[row];
            }
        }
    }
}
