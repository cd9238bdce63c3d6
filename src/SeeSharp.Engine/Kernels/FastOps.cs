using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SeeSharp.Engine.Kernels;

/// <summary>
/// The fast element-wise, norm, RoPE, softmax, attention and embedding kernels behind <see cref="Ops"/>:
/// <see cref="TensorPrimitives"/> (Vector512/256/128 with scalar fallback, chosen by the runtime) over blocks that
/// stay in L1, split over <see cref="WorkerPool"/> when large. Semantics and argument checks are those of
/// <see cref="Reference"/>.
/// </summary>
internal static unsafe class FastOps
{
    /// <summary>Element-wise work below this many elements stays on the calling thread.</summary>
    private const int ParallelMinElements = 1 << 15;
    /// <summary>Elements per block of multi-pass element-wise ops (fits L1 with its temporaries).</summary>
    private const int Block = 1024;

    private static int Chunks(long elements, int unit)
    {
        int threads = WorkerPool.Default.Threads;
        if (threads == 1 || elements < ParallelMinElements) return 1;
        return (int)Math.Min(threads * 4, Math.Max(1, elements / unit));
    }

    /// <summary>Runs body(start, length) over [0, n) in chunks on the pool (or inline when small).</summary>
    private static void Split(int n, Action<int, int> body)
    {
        int chunks = Chunks(n, 8192);
        if (chunks <= 1) { body(0, n); return; }
        int per = (n + chunks - 1) / chunks;
        per = (per + 15) & ~15;
        chunks = (n + per - 1) / per;
        WorkerPool.Default.For(chunks, c =>
        {
            int s = c * per;
            body(s, Math.Min(per, n - s));
        });
    }

    // ---- element-wise ----------------------------------------------------------------------------------------

    private const float GeluBeta = 0.7978845608028654f;   // sqrt(2 / pi), torch's M_SQRT2 * M_2_SQRTPI * 0.5
    private const float GeluKappa = 0.044715f;

    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Checks.Unary("GeluTanh", x.Length, y.Length);
        fixed (float* px = x) fixed (float* py = y)
        {
            float* xp = px, yp = py;
            Split(x.Length, (s, n) =>
            {
                Span<float> t = stackalloc float[Block];
                for (int b = 0; b < n; b += Block)
                {
                    int len = Math.Min(Block, n - b);
                    var xs = new ReadOnlySpan<float>(xp + s + b, len);
                    var ys = new Span<float>(yp + s + b, len);
                    var ts = t[..len];
                    // 0.5 * x * (1 + tanh(beta * (x + kappa * x³)))
                    TensorPrimitives.Multiply(xs, xs, ts);
                    TensorPrimitives.Multiply(ts, xs, ts);
                    TensorPrimitives.MultiplyAdd(ts, GeluKappa, xs, ts);
                    TensorPrimitives.Multiply(ts, GeluBeta, ts);
                    TensorPrimitives.Tanh(ts, ts);
                    TensorPrimitives.Add(ts, 1f, ts);
                    TensorPrimitives.Multiply(ts, xs, ts);
                    TensorPrimitives.Multiply(ts, 0.5f, ys);
                }
            });
        }
    }

    public static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        Checks.Unary("Silu", x.Length, y.Length);
        fixed (float* px = x) fixed (float* py = y)
        {
            float* xp = px, yp = py;
            Split(x.Length, (s, n) =>
            {
                Span<float> t = stackalloc float[Block];
                for (int b = 0; b < n; b += Block)
                {
                    int len = Math.Min(Block, n - b);
                    var xs = new ReadOnlySpan<float>(xp + s + b, len);
                    TensorPrimitives.Sigmoid(xs, t[..len]);
                    TensorPrimitives.Multiply(t[..len], xs, new Span<float>(yp + s + b, len));
                }
            });
        }
    }

    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        Checks.Binary("SiluMul", gate.Length, up.Length, y.Length);
        fixed (float* pg = gate) fixed (float* pu = up) fixed (float* py = y)
        {
            float* gp = pg, upp = pu, yp = py;
            Split(gate.Length, (s, n) =>
            {
                Span<float> t = stackalloc float[Block];
                for (int b = 0; b < n; b += Block)
                {
                    int len = Math.Min(Block, n - b);
                    var gs = new ReadOnlySpan<float>(gp + s + b, len);
                    var ts = t[..len];
                    TensorPrimitives.Sigmoid(gs, ts);
                    TensorPrimitives.Multiply(ts, gs, ts);
                    TensorPrimitives.Multiply(ts, new ReadOnlySpan<float>(upp + s + b, len), new Span<float>(yp + s + b, len));
                }
            });
        }
    }

    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Checks.Binary("Add", a.Length, b.Length, y.Length);
        TensorPrimitives.Add(a, b, y[..a.Length]);
    }

    public static void Softmax(Span<float> row)
    {
        if (row.IsEmpty) return;
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);   // fp32: float.MinValue - max stays float.MinValue (absorbed)
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum(row);
        TensorPrimitives.Divide(row, sum, row);
    }

    // ---- norms -----------------------------------------------------------------------------------------------

    private static void Rows(int rows, int dim, Action<int> row)
    {
        int chunks = Chunks((long)rows * dim, 1);
        chunks = Math.Min(chunks, rows);
        if (chunks <= 1) { for (int r = 0; r < rows; r++) row(r); return; }
        int per = (rows + chunks - 1) / chunks;
        chunks = (rows + per - 1) / per;
        WorkerPool.Default.For(chunks, c =>
        {
            int end = Math.Min(rows, (c + 1) * per);
            for (int r = c * per; r < end; r++) row(r);
        });
    }

    public static void LayerNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        int rows = Checks.Norm("LayerNorm", x.Length, y.Length, dim, gamma.Length, beta.Length);
        bool hasG = !gamma.IsEmpty, hasB = !beta.IsEmpty;
        fixed (float* px = x) fixed (float* py = y) fixed (float* pg = gamma) fixed (float* pb = beta)
        {
            float* xp = px, yp = py, gp = pg, bp = pb;
            Rows(rows, dim, r =>
            {
                var xs = new ReadOnlySpan<float>(xp + (long)r * dim, dim);
                var ys = new Span<float>(yp + (long)r * dim, dim);
                float mean = (float)((double)TensorPrimitives.Sum(xs) / dim);
                TensorPrimitives.Subtract(xs, mean, ys);
                // Second pass: remove the rounding error of the fp32 mean (it matters when |x - mean| << |mean|).
                float residual = TensorPrimitives.Sum(ys) / dim;
                TensorPrimitives.Subtract(ys, residual, ys);
                double var = (double)TensorPrimitives.SumOfSquares(ys) / dim;
                float inv = (float)(1.0 / Math.Sqrt(var + eps));
                TensorPrimitives.Multiply(ys, inv, ys);
                if (hasG) TensorPrimitives.Multiply(ys, new ReadOnlySpan<float>(gp, dim), ys);
                if (hasB) TensorPrimitives.Add(ys, new ReadOnlySpan<float>(bp, dim), ys);
            });
        }
    }

    public static void RmsNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, float eps)
    {
        int rows = Checks.Norm("RmsNorm", x.Length, y.Length, dim, gamma.Length, 0);
        bool hasG = !gamma.IsEmpty;
        fixed (float* px = x) fixed (float* py = y) fixed (float* pg = gamma)
        {
            float* xp = px, yp = py, gp = pg;
            Rows(rows, dim, r =>
            {
                var xs = new ReadOnlySpan<float>(xp + (long)r * dim, dim);
                var ys = new Span<float>(yp + (long)r * dim, dim);
                double ms = (double)TensorPrimitives.SumOfSquares(xs) / dim;
                float inv = (float)(1.0 / Math.Sqrt(ms + eps));
                TensorPrimitives.Multiply(xs, inv, ys);
                if (hasG) TensorPrimitives.Multiply(ys, new ReadOnlySpan<float>(gp, dim), ys);
            });
        }
    }

    // ---- RoPE ------------------------------------------------------------------------------------------------

    public static void Rope(Span<float> x, int tokens, int heads, int headDim, ReadOnlySpan<long> positions, float theta)
    {
        Checks.Rope(x.Length, tokens, heads, headDim, positions.Length);
        if (x.IsEmpty) return;
        int half = headDim / 2;
        var invFreq = new float[half];
        for (int i = 0; i < half; i++) invFreq[i] = Reference.RopeInvFreq(i, headDim, theta);
        fixed (float* px = x) fixed (long* pp = positions)
        {
            float* xp = px;
            long* posp = pp;
            Rows(tokens, heads * headDim * 4, t =>
            {
                float[] buf = ArrayPool<float>.Shared.Rent(5 * half);
                try
                {
                    var cos = buf.AsSpan(0, half);
                    var sin = buf.AsSpan(half, half);
                    var t1 = buf.AsSpan(2 * half, half);
                    var t2 = buf.AsSpan(3 * half, half);
                    var t3 = buf.AsSpan(4 * half, half);
                    float pos = posp[t];
                    for (int i = 0; i < half; i++)
                    {
                        float angle = pos * invFreq[i];   // fp32, as HF
                        cos[i] = MathF.Cos(angle);
                        sin[i] = MathF.Sin(angle);
                    }
                    for (int h = 0; h < heads; h++)
                    {
                        var x1 = new Span<float>(xp + ((long)t * heads + h) * headDim, half);
                        var x2 = new Span<float>(xp + ((long)t * heads + h) * headDim + half, half);
                        // x1' = x1·cos - x2·sin ; x2' = x2·cos + x1·sin (separate roundings, as the reference)
                        TensorPrimitives.Multiply(x1, cos, t1);
                        TensorPrimitives.Multiply(x2, sin, t2);
                        TensorPrimitives.Subtract(t1, t2, t1);
                        TensorPrimitives.Multiply(x2, cos, t2);
                        TensorPrimitives.Multiply(x1, sin, t3);
                        TensorPrimitives.Add(t2, t3, x2);
                        t1.CopyTo(x1);
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buf);
                }
            });
        }
    }

    // ---- attention -------------------------------------------------------------------------------------------

    private const int QueryBlock = 16;

    /// <summary>Which attention algorithm <see cref="Attention"/> uses (the benchmark times each one).</summary>
    internal enum AttentionPath
    {
        /// <summary>Blocked GEMM path for qLen ≥ 8 and kvLen ≥ 32, <see cref="DecodeAttention"/> below.</summary>
        Auto,
        /// <summary>The former small-qLen path: one TensorPrimitives.Dot per key and one MultiplyAdd per key and
        /// head, each query head reading its kv head's K and V again. Kept as the benchmark's baseline.</summary>
        PerKey,
    }

    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask,
        AttentionPath path = AttentionPath.Auto)
    {
        Checks.Attention(q.Length, k.Length, v.Length, o.Length, qLen, kvLen, nHeads, nKvHeads, headDim, mask.Length);
        if (qLen == 0) return;
        if (qLen >= BlockedMinQ && kvLen >= BlockedMinKv)
        {
            AttentionBlocked(q, k, v, o, qLen, kvLen, nHeads, nKvHeads, headDim, scale, mask);
            return;
        }
        if (path == AttentionPath.Auto)
            DecodeAttention.Run(q, k, v, o, qLen, kvLen, nHeads, nKvHeads, headDim, scale, mask);
        else
            AttentionPerKey(q, k, v, o, qLen, kvLen, nHeads, nKvHeads, headDim, scale, mask);
    }

    /// <summary>The former small-qLen path (<see cref="AttentionPath.PerKey"/>), per (head, block of 16 queries).
    /// A method of its own: its item closure captures the arguments, which would allocate on every call of
    /// <see cref="Attention"/> if it lived there.</summary>
    private static void AttentionPerKey(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask)
    {
        int group = nHeads / nKvHeads;
        int qBlocks = (qLen + QueryBlock - 1) / QueryBlock;
        int items = nHeads * qBlocks;
        bool hasMask = !mask.IsEmpty;
        fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* po = o) fixed (float* pm = mask)
        {
            float* qp = pq, kp = pk, vp = pv, op = po, mp = pm;
            void Item(int it)
            {
                int h = it / qBlocks, qb = it % qBlocks;
                int kh = h / group;
                float[] buf = ArrayPool<float>.Shared.Rent(kvLen);
                try
                {
                    var scores = buf.AsSpan(0, kvLen);
                    int i1 = Math.Min(qLen, (qb + 1) * QueryBlock);
                    for (int i = qb * QueryBlock; i < i1; i++)
                    {
                        var qi = new ReadOnlySpan<float>(qp + ((long)i * nHeads + h) * headDim, headDim);
                        for (int j = 0; j < kvLen; j++)
                            scores[j] = TensorPrimitives.Dot(qi, new ReadOnlySpan<float>(kp + ((long)j * nKvHeads + kh) * headDim, headDim));
                        TensorPrimitives.Multiply(scores, scale, scores);
                        if (hasMask) TensorPrimitives.Add(scores, new ReadOnlySpan<float>(mp + (long)i * kvLen, kvLen), scores);
                        Softmax(scores);
                        var oi = new Span<float>(op + ((long)i * nHeads + h) * headDim, headDim);
                        oi.Clear();
                        for (int j = 0; j < kvLen; j++)
                        {
                            float p = scores[j];
                            if (p == 0f) continue;   // masked keys contribute exactly nothing
                            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(vp + ((long)j * nKvHeads + kh) * headDim, headDim), p, oi, oi);
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buf);
                }
            }
            long work = (long)qLen * kvLen * headDim * nHeads;
            if (items == 1 || work < ParallelMinElements || WorkerPool.Default.Threads == 1)
                for (int it = 0; it < items; it++) Item(it);
            else
                WorkerPool.Default.For(items, Item);
        }
    }

    private const int BlockedMinQ = 8, BlockedMinKv = 32, BlockedQueries = 256;

    [ThreadStatic] private static Tensor? t_attentionScratch;

    /// <summary>
    /// Attention for many queries as two matrix products per (head, block of 256 queries), through the Linear
    /// kernels: S[nq, kvLen] = Q_h · K_hᵀ (K_h copied contiguous per kv head), scale, mask and softmax per row as
    /// in the per-row path, then O[nq, hd] = S · V_h (V_h copied transposed, [hd, kvLen]). The nested Linear calls
    /// run on the worker that owns the block.
    /// </summary>
    private static void AttentionBlocked(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask)
    {
        int group = nHeads / nKvHeads;
        var kh = new Tensor[nKvHeads];    // [kvLen, hd] per kv head
        var vt = new Tensor[nKvHeads];    // [hd, kvLen] per kv head
        bool hasMask = !mask.IsEmpty;
        fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* po = o) fixed (float* pm = mask)
        {
            float* qp = pq, kp = pk, vp = pv, op = po, mp = pm;
            // Views into one scratch tensor per calling thread, kept between calls: the vision tower calls this
            // 27 times per image, and fresh pinned buffers each time pile up faster than the GC returns them.
            long per = (long)kvLen * headDim;
            var scratch = t_attentionScratch;
            if (scratch is null || scratch.ElementCount < 2 * per * nKvHeads)
                t_attentionScratch = scratch = Tensor.Allocate(DType.F32, 2 * per * nKvHeads);
            for (int g = 0; g < nKvHeads; g++)
            {
                kh[g] = new Tensor(scratch.Storage, scratch.ByteOffset + 2 * g * per * sizeof(float), DType.F32, kvLen, headDim);
                vt[g] = new Tensor(scratch.Storage, scratch.ByteOffset + (2 * g + 1) * per * sizeof(float), DType.F32, headDim, kvLen);
            }
            WorkerPool.Default.For(nKvHeads, g =>
            {
                float* kd = (float*)kh[g].Pointer;
                float* vd = (float*)vt[g].Pointer;
                for (int j = 0; j < kvLen; j++)
                {
                    float* ks = kp + ((long)j * nKvHeads + g) * headDim;
                    float* vs = vp + ((long)j * nKvHeads + g) * headDim;
                    new ReadOnlySpan<float>(ks, headDim).CopyTo(new Span<float>(kd + (long)j * headDim, headDim));
                    for (int d = 0; d < headDim; d++) vd[(long)d * kvLen + j] = vs[d];
                }
            });
            int qBlocks = (qLen + BlockedQueries - 1) / BlockedQueries;
            WorkerPool.Default.For(nHeads * qBlocks, it =>
            {
                int h = it / qBlocks, qb = it % qBlocks;
                int g = h / group;
                int i0 = qb * BlockedQueries;
                int nq = Math.Min(BlockedQueries, qLen - i0);
                float[] qBuf = ArrayPool<float>.Shared.Rent(nq * headDim);
                float[] sBuf = ArrayPool<float>.Shared.Rent(nq * kvLen);
                float[] oBuf = ArrayPool<float>.Shared.Rent(nq * headDim);
                try
                {
                    for (int i = 0; i < nq; i++)
                        new ReadOnlySpan<float>(qp + ((long)(i0 + i) * nHeads + h) * headDim, headDim).CopyTo(qBuf.AsSpan(i * headDim, headDim));
                    var sc = sBuf.AsSpan(0, nq * kvLen);
                    Gemm.Linear(qBuf.AsSpan(0, nq * headDim), nq, new WeightMatrix(kh[g]), [], sc);      // [nq, kvLen]
                    for (int i = 0; i < nq; i++)
                    {
                        var row = sc.Slice(i * kvLen, kvLen);
                        TensorPrimitives.Multiply(row, scale, row);
                        if (hasMask) TensorPrimitives.Add(row, new ReadOnlySpan<float>(mp + (long)(i0 + i) * kvLen, kvLen), row);
                        Softmax(row);
                    }
                    var ob = oBuf.AsSpan(0, nq * headDim);
                    Gemm.Linear(sc, nq, new WeightMatrix(vt[g]), [], ob);                                 // [nq, hd]
                    for (int i = 0; i < nq; i++)
                        ob.Slice(i * headDim, headDim).CopyTo(new Span<float>(op + ((long)(i0 + i) * nHeads + h) * headDim, headDim));
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(qBuf);
                    ArrayPool<float>.Shared.Return(sBuf);
                    ArrayPool<float>.Shared.Return(oBuf);
                }
            });
        }
        GC.KeepAlive(kh);
        GC.KeepAlive(vt);
    }

    // ---- embedding -------------------------------------------------------------------------------------------

    public static void Embedding(WeightMatrix table, ReadOnlySpan<long> ids, Span<float> y)
    {
        Checks.Embedding(table, ids, y.Length);
        int cols = table.Cols;
        byte* p = table.Tensor.Pointer;
        for (int i = 0; i < ids.Length; i++)
        {
            var dst = y.Slice(i * cols, cols);
            long row = ids[i] * cols;
            switch (table.DType)
            {
                case DType.F32:
                    new ReadOnlySpan<float>((float*)p + row, cols).CopyTo(dst);
                    break;
                case DType.F16:
                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)p + row, cols), dst);
                    break;
                default:
                    var src = new ReadOnlySpan<ushort>((ushort*)p + row, cols);
                    var bits = MemoryMarshal.Cast<float, uint>(dst);
                    for (int c = 0; c < cols; c++) bits[c] = (uint)src[c] << 16;
                    break;
            }
        }
        GC.KeepAlive(table.Tensor);
    }
}
