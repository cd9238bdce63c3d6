using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Kernels;

/// <summary>
/// Attention for few queries over a long KV cache (decode: qLen 1, speculative or chunked steps: qLen &lt; 8), the
/// path of <see cref="FastOps.Attention"/> below the blocked GEMM path. Same semantics as
/// <see cref="Reference.Attention"/>: s = (q·k)·scale + mask, softmax per row by <see cref="FastOps.Softmax"/>
/// (max-subtracted), o = Σ p·v over the keys whose probability is not exactly 0.
/// <para>
/// A work item owns a block of up to <see cref="QueriesPerItem"/> queries, a block of kv heads and a range of keys;
/// its rows are the group = nHeads / nKvHeads query heads of each of its kv heads for each of its queries. Keys are
/// the outer loop and all of the item's kv heads the next, so K and V are read once per call and in memory order
/// (a whole [nKvHeads, headDim] row per key), with a software prefetch <see cref="PrefetchKeys"/> keys ahead.
/// Scores: 4 query rows (of one kv head) x 4 keys at a time in 16 vector accumulators (Vector512; Vector256 two
/// rows at a time), one 4-way horizontal reduction per row, stored as 4 consecutive scores. Output: p·V for 4 rows
/// x 4 keys at a time, each V vector loaded once, the output rows (the accumulators) staying in L1. Leftover rows
/// and keys, and 4 x 4 blocks with a zero probability, go through the 1-row x 4-key and 1 x 1 pieces.
/// </para>
/// <para>
/// Threads: a call with at least 2 x <see cref="MinKeysPerChunk"/> keys is split by keys over the pool, as in
/// flash-decoding but with exact softmax: (1) scores of every key chunk, (2) softmax of every row over all its keys,
/// (3) p·V of every key chunk into a partial output per chunk, (4) the partials summed in chunk order. Shorter
/// caches are split by blocks of kv heads, each item doing scores, softmax and p·V of its heads at once.
/// </para>
/// </summary>
internal static unsafe class DecodeAttention
{
    /// <summary>Queries of one work item (the call's whole qLen below the blocked path's threshold of 8).</summary>
    internal const int QueriesPerItem = 8;
    /// <summary>Fewest keys per chunk when the keys are split over threads.</summary>
    internal const int MinKeysPerChunk = 64;
    /// <summary>Key chunks per pool thread when a call is split by keys. Measured on the 2-core dev box (kernels
    /// bench, 32/8 heads, kvLen 640 and 2048): 1 beat 2 and 4 (each chunk costs a cold start of the prefetch and
    /// its share of the three pool dispatches).</summary>
    internal const int ChunksPerThread = 1;
    /// <summary>How many keys ahead the K and V rows are prefetched.</summary>
    private const int PrefetchKeys = 8;
    /// <summary>Below this many multiply-adds (qLen·kvLen·nHeads·headDim) a call runs on the calling thread only.</summary>
    private const long ParallelMinMacs = 1 << 15;

    /// <summary>o[qLen, nHeads, headDim] = softmax(q·kᵀ·scale + mask)·v; arguments already checked by the caller.
    /// <paramref name="keyChunks"/> 0 picks the split itself; tests force a number of chunks to cover the merge.</summary>
    public static void Run(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask, int keyChunks = 0)
    {
        if (qLen == 0) return;
        int group = nHeads / nKvHeads;
        int qBlocks = (qLen + QueriesPerItem - 1) / QueriesPerItem;
        int threads = WorkerPool.Default.Threads;
        bool parallel = threads > 1 && (long)qLen * kvLen * nHeads * headDim >= ParallelMinMacs;
        // Items read K and V in key order over all kv heads (whole 4 KiB rows for 8 heads of 128, sequential in
        // memory, which the hardware prefetchers follow); a call is split over threads by keys. Caches too short
        // to split are split by kv head instead.
        int headsPerItem = nKvHeads;
        if (keyChunks <= 0)
        {
            keyChunks = 1;
            if (parallel && kvLen >= 2 * MinKeysPerChunk) keyChunks = Math.Min(threads * ChunksPerThread, kvLen / MinKeysPerChunk);
            else if (parallel) headsPerItem = Math.Max(1, nKvHeads / (threads * ChunksPerThread));
        }
        keyChunks = Math.Clamp(keyChunks, 1, kvLen);
        int keysPerChunk = (kvLen + keyChunks - 1) / keyChunks;
        keyChunks = (kvLen + keysPerChunk - 1) / keysPerChunk;
        int headItems = (nKvHeads + headsPerItem - 1) / headsPerItem;
        int wholeItems = headItems * qBlocks;

        long rows = (long)qLen * nHeads;
        long outLen = rows * headDim;
        // scores [qLen, nHeads, kvLen]; with split keys, then one partial output [qLen, nHeads, headDim] per chunk
        long scratchLen = rows * kvLen + (keyChunks > 1 ? keyChunks * outLen : 0);
        if (scratchLen > Array.MaxLength)
            throw new ArgumentException($"Attention: scores for qLen {qLen} x nHeads {nHeads} x kvLen {kvLen} exceed one array");
        float[] scratch = ArrayPool<float>.Shared.Rent((int)scratchLen);
        try
        {
            fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* po = o) fixed (float* pm = mask) fixed (float* ps = scratch)
            {
                // One Args (and its delegates) per calling thread, reused: no allocation per call besides the pool's.
                var a = t_args ??= new Args();
                a.Q = pq; a.K = pk; a.V = pv; a.O = po; a.Mask = mask.IsEmpty ? null : pm; a.S = ps; a.Partial = ps + rows * kvLen;
                a.QLen = qLen; a.KvLen = kvLen; a.NHeads = nHeads; a.NKvHeads = nKvHeads; a.HeadDim = headDim; a.Group = group;
                a.Scale = scale; a.QBlocks = qBlocks; a.KeysPerChunk = keysPerChunk; a.KeyChunks = keyChunks;
                a.HeadsPerItem = headsPerItem;
                if (keyChunks == 1)
                {
                    if (!parallel || wholeItems == 1) for (int it = 0; it < wholeItems; it++) Whole(a, it);
                    else WorkerPool.Default.For(wholeItems, a.WholeBody);
                }
                else
                {
                    int items = qBlocks * keyChunks;
                    WorkerPool.Default.For(items, a.ScoresBody);
                    a.RowBlocks = (int)Math.Min(rows, threads * 4L);
                    WorkerPool.Default.For(a.RowBlocks, a.SoftmaxBody);
                    WorkerPool.Default.For(items, a.ValuesBody);
                    // o = Σ_chunks partial_c, in chunk order
                    var dst = new Span<float>(po, (int)outLen);
                    new ReadOnlySpan<float>(a.Partial, (int)outLen).CopyTo(dst);
                    for (int c = 1; c < keyChunks; c++)
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<float>(a.Partial + c * outLen, (int)outLen), dst);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    [ThreadStatic] private static Args? t_args;

    /// <summary>Pointers and sizes of the current call of one thread, and the item bodies bound to them.</summary>
    private sealed class Args
    {
        public float* Q, K, V, O, Mask, S, Partial;
        public int QLen, KvLen, NHeads, NKvHeads, HeadDim, Group, QBlocks, KeysPerChunk, KeyChunks, RowBlocks, HeadsPerItem;
        public float Scale;
        public readonly Action<int> WholeBody, ScoresBody, SoftmaxBody, ValuesBody;

        public Args()
        {
            WholeBody = it => Whole(this, it);
            ScoresBody = it => Scores(this, it);
            SoftmaxBody = b => SoftmaxRows(this, b);
            ValuesBody = it => Values(this, it);
        }
    }

    /// <summary>Softmax of row block b of the scores [qLen·nHeads, kvLen].</summary>
    private static void SoftmaxRows(Args a, int b)
    {
        long rows = (long)a.QLen * a.NHeads;
        long per = (rows + a.RowBlocks - 1) / a.RowBlocks;
        for (long r = b * per; r < Math.Min(rows, (b + 1) * per); r++)
            FastOps.Softmax(new Span<float>(a.S + r * a.KvLen, a.KvLen));
    }

    /// <summary>Item (block of kv heads, query block) over all keys: scores, softmax, p·V straight into o.</summary>
    private static void Whole(Args a, int it)
    {
        int gb = it / a.QBlocks, qb = it % a.QBlocks;
        int g0 = gb * a.HeadsPerItem, g1 = Math.Min(a.NKvHeads, g0 + a.HeadsPerItem);
        int i0 = qb * QueriesPerItem, i1 = Math.Min(a.QLen, i0 + QueriesPerItem);
        ScoreRange(a, g0, g1, i0, i1, 0, a.KvLen);
        for (int i = i0; i < i1; i++)
            for (int h = g0 * a.Group; h < g1 * a.Group; h++)
                FastOps.Softmax(new Span<float>(a.S + ((long)i * a.NHeads + h) * a.KvLen, a.KvLen));
        ValueRange(a, g0, g1, i0, i1, 0, a.KvLen, a.O);
    }

    /// <summary>Split item (query block, key chunk) over all kv heads: its scores.</summary>
    private static void Scores(Args a, int it)
    {
        int c = it % a.KeyChunks, qb = it / a.KeyChunks;
        int i0 = qb * QueriesPerItem, i1 = Math.Min(a.QLen, i0 + QueriesPerItem);
        int j0 = c * a.KeysPerChunk, j1 = Math.Min(a.KvLen, j0 + a.KeysPerChunk);
        ScoreRange(a, 0, a.NKvHeads, i0, i1, j0, j1);
    }

    /// <summary>Split item (query block, key chunk) over all kv heads: its p·V into the chunk's partial output.</summary>
    private static void Values(Args a, int it)
    {
        int c = it % a.KeyChunks, qb = it / a.KeyChunks;
        int i0 = qb * QueriesPerItem, i1 = Math.Min(a.QLen, i0 + QueriesPerItem);
        int j0 = c * a.KeysPerChunk, j1 = Math.Min(a.KvLen, j0 + a.KeysPerChunk);
        ValueRange(a, 0, a.NKvHeads, i0, i1, j0, j1, a.Partial + (long)c * a.QLen * a.NHeads * a.HeadDim);
    }

    /// <summary>S[i, h, j] = (q[i, h]·k[j, g])·scale + mask[i, j] for the heads h of kv heads [g0, g1), queries
    /// [i0, i1), keys [j0, j1); keys outer, so K is read in memory order.</summary>
    private static void ScoreRange(Args a, int g0, int g1, int i0, int i1, int j0, int j1)
    {
        int hd = a.HeadDim, kvLen = a.KvLen;
        long kStride = (long)a.NKvHeads * hd;          // floats from k[j, g] to k[j + 1, g]
        float scale = a.Scale;
        int j = j0;
        for (; j + 4 <= j1; j += 4)
        for (int g = g0; g < g1; g++)
        {
            float* k0 = a.K + j * kStride + (long)g * hd;
            if (j + 4 + PrefetchKeys <= j1) Prefetch4(k0 + PrefetchKeys * kStride, kStride, hd);
            for (int i = i0; i < i1; i++)
            {
                float* m = a.Mask is null ? null : a.Mask + (long)i * kvLen + j;
                long row = (long)i * a.NHeads + g * a.Group;
                int hh = 0;
                for (; hh + 4 <= a.Group; hh += 4)
                {
                    float* s = a.S + (row + hh) * kvLen + j;
                    Dot4x4(a.Q + (row + hh) * hd, k0, kStride, hd, s, kvLen);
                    for (int t = 0; t < 4; t++, s += kvLen)
                    {
                        s[0] *= scale; s[1] *= scale; s[2] *= scale; s[3] *= scale;
                        if (m is not null) { s[0] += m[0]; s[1] += m[1]; s[2] += m[2]; s[3] += m[3]; }
                    }
                }
                for (; hh < a.Group; hh++)
                {
                    float* s = a.S + (row + hh) * kvLen + j;
                    Dot1x4(a.Q + (row + hh) * hd, k0, kStride, hd, s);
                    // fp32 as Reference: (float)dot * scale, then + mask
                    s[0] *= scale; s[1] *= scale; s[2] *= scale; s[3] *= scale;
                    if (m is not null) { s[0] += m[0]; s[1] += m[1]; s[2] += m[2]; s[3] += m[3]; }
                }
            }
        }
        for (; j < j1; j++)
        for (int g = g0; g < g1; g++)
        {
            float* kj = a.K + j * kStride + (long)g * hd;
            for (int i = i0; i < i1; i++)
            {
                long row = (long)i * a.NHeads + g * a.Group;
                for (int hh = 0; hh < a.Group; hh++)
                {
                    float sc = Dot1(a.Q + (row + hh) * hd, kj, hd) * scale;
                    if (a.Mask is not null) sc += a.Mask[(long)i * kvLen + j];
                    a.S[(row + hh) * kvLen + j] = sc;
                }
            }
        }
    }

    /// <summary>dst[i, h, :] = Σ_{j in [j0, j1), p ≠ 0} p[i, h, j]·v[j, g, :] for the heads h of kv heads [g0, g1),
    /// queries [i0, i1); keys outer, so V is read in memory order.</summary>
    private static void ValueRange(Args a, int g0, int g1, int i0, int i1, int j0, int j1, float* dst)
    {
        int hd = a.HeadDim, kvLen = a.KvLen;
        long vStride = (long)a.NKvHeads * hd;
        for (int i = i0; i < i1; i++)
        {
            long row = (long)i * a.NHeads + g0 * a.Group;
            new Span<float>(dst + row * hd, (g1 - g0) * a.Group * hd).Clear();
        }
        int j = j0;
        for (; j + 4 <= j1; j += 4)
        for (int g = g0; g < g1; g++)
        {
            float* v0 = a.V + j * vStride + (long)g * hd;
            if (j + 4 + PrefetchKeys <= j1) Prefetch4(v0 + PrefetchKeys * vStride, vStride, hd);
            for (int i = i0; i < i1; i++)
            {
                long row = (long)i * a.NHeads + g * a.Group;
                int hh = 0;
                for (; hh + 4 <= a.Group; hh += 4)
                {
                    float* p = a.S + (row + hh) * kvLen + j;
                    if (AllNonZero(p, kvLen)) Axpy4x4(dst + (row + hh) * hd, v0, vStride, p, kvLen, hd);
                    else break;
                }
                for (; hh < a.Group; hh++)
                {
                    float* p = a.S + (row + hh) * kvLen + j;
                    float* o = dst + (row + hh) * hd;
                    if (p[0] != 0f && p[1] != 0f && p[2] != 0f && p[3] != 0f)
                        Axpy4(o, v0, vStride, p, hd);
                    else
                        for (int t = 0; t < 4; t++)
                            if (p[t] != 0f) Axpy1(o, v0 + t * vStride, p[t], hd);   // masked keys contribute exactly nothing
                }
            }
        }
        for (; j < j1; j++)
        for (int g = g0; g < g1; g++)
        {
            float* vj = a.V + j * vStride + (long)g * hd;
            for (int i = i0; i < i1; i++)
            {
                long row = (long)i * a.NHeads + g * a.Group;
                for (int hh = 0; hh < a.Group; hh++)
                {
                    float p = a.S[(row + hh) * kvLen + j];
                    if (p != 0f) Axpy1(dst + (row + hh) * hd, vj, p, hd);
                }
            }
        }
    }

    // ---- SIMD pieces (Vector512 / Vector256 / Vector128 by IsHardwareAccelerated, then a scalar tail) -----------

    /// <summary>s[t] = q · k_t for the 4 keys k_t = k0 + t·stride, each of length n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot1x4(float* q, float* k0, long stride, int n, float* s)
    {
        float* k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
        int d = 0;
        Vector128<float> acc = default;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
            {
                var qv = Vector512.Load(q + d);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(k0 + d), qv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(k1 + d), qv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(k2 + d), qv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(k3 + d), qv, a3);
            }
            acc = Reduce4(Fold(a0), Fold(a1), Fold(a2), Fold(a3));
        }
        if (Vector256.IsHardwareAccelerated && n - d >= Vector256<float>.Count)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; d <= n - Vector256<float>.Count; d += Vector256<float>.Count)
            {
                var qv = Vector256.Load(q + d);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + d), qv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + d), qv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + d), qv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + d), qv, a3);
            }
            acc += Reduce4(Fold(a0), Fold(a1), Fold(a2), Fold(a3));
        }
        if (Vector128.IsHardwareAccelerated && n - d >= Vector128<float>.Count)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; d <= n - Vector128<float>.Count; d += Vector128<float>.Count)
            {
                var qv = Vector128.Load(q + d);
                a0 = Vector128.FusedMultiplyAdd(Vector128.Load(k0 + d), qv, a0);
                a1 = Vector128.FusedMultiplyAdd(Vector128.Load(k1 + d), qv, a1);
                a2 = Vector128.FusedMultiplyAdd(Vector128.Load(k2 + d), qv, a2);
                a3 = Vector128.FusedMultiplyAdd(Vector128.Load(k3 + d), qv, a3);
            }
            acc += Reduce4(a0, a1, a2, a3);
        }
        float s0 = acc.GetElement(0), s1 = acc.GetElement(1), s2 = acc.GetElement(2), s3 = acc.GetElement(3);
        for (; d < n; d++)
        {
            float qd = q[d];
            s0 += qd * k0[d]; s1 += qd * k1[d]; s2 += qd * k2[d]; s3 += qd * k3[d];
        }
        s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
    }

    /// <summary>s[r·sStride + t] = q_r · k_t for 4 query rows q_r = q + r·n and 4 keys k_t = k0 + t·kStride, each of
    /// length n: 16 Vector512 accumulators (each K and Q vector loaded once), or Vector256 two rows at a time; the
    /// tail (and no SIMD at all) via Dot1x4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4x4(float* q, float* k0, long kStride, int n, float* s, int sStride)
    {
        int d = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            float* k1 = k0 + kStride, k2 = k1 + kStride, k3 = k2 + kStride;
            float* q1 = q + n, q2 = q1 + n, q3 = q2 + n;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
            {
                var c0 = Vector512.Load(k0 + d); var c1 = Vector512.Load(k1 + d);
                var c2 = Vector512.Load(k2 + d); var c3 = Vector512.Load(k3 + d);
                var x = Vector512.Load(q + d);
                a00 = Vector512.FusedMultiplyAdd(c0, x, a00); a01 = Vector512.FusedMultiplyAdd(c1, x, a01);
                a02 = Vector512.FusedMultiplyAdd(c2, x, a02); a03 = Vector512.FusedMultiplyAdd(c3, x, a03);
                x = Vector512.Load(q1 + d);
                a10 = Vector512.FusedMultiplyAdd(c0, x, a10); a11 = Vector512.FusedMultiplyAdd(c1, x, a11);
                a12 = Vector512.FusedMultiplyAdd(c2, x, a12); a13 = Vector512.FusedMultiplyAdd(c3, x, a13);
                x = Vector512.Load(q2 + d);
                a20 = Vector512.FusedMultiplyAdd(c0, x, a20); a21 = Vector512.FusedMultiplyAdd(c1, x, a21);
                a22 = Vector512.FusedMultiplyAdd(c2, x, a22); a23 = Vector512.FusedMultiplyAdd(c3, x, a23);
                x = Vector512.Load(q3 + d);
                a30 = Vector512.FusedMultiplyAdd(c0, x, a30); a31 = Vector512.FusedMultiplyAdd(c1, x, a31);
                a32 = Vector512.FusedMultiplyAdd(c2, x, a32); a33 = Vector512.FusedMultiplyAdd(c3, x, a33);
            }
            Reduce4(Fold(a00), Fold(a01), Fold(a02), Fold(a03)).Store(s);
            Reduce4(Fold(a10), Fold(a11), Fold(a12), Fold(a13)).Store(s + sStride);
            Reduce4(Fold(a20), Fold(a21), Fold(a22), Fold(a23)).Store(s + 2 * sStride);
            Reduce4(Fold(a30), Fold(a31), Fold(a32), Fold(a33)).Store(s + 3 * sStride);
            if (d == n) return;
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            // 16 ymm registers: two query rows at a time (8 accumulators, 4 K vectors, 1 Q vector)
            int d0 = 0;
            for (int r = 0; r < 4; r += 2)
            {
                float* qa = q + r * n, qb = qa + n;
                float* k1 = k0 + kStride, k2 = k1 + kStride, k3 = k2 + kStride;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                for (d0 = 0; d0 <= n - Vector256<float>.Count; d0 += Vector256<float>.Count)
                {
                    var c0 = Vector256.Load(k0 + d0); var c1 = Vector256.Load(k1 + d0);
                    var c2 = Vector256.Load(k2 + d0); var c3 = Vector256.Load(k3 + d0);
                    var x = Vector256.Load(qa + d0);
                    a0 = Vector256.FusedMultiplyAdd(c0, x, a0); a1 = Vector256.FusedMultiplyAdd(c1, x, a1);
                    a2 = Vector256.FusedMultiplyAdd(c2, x, a2); a3 = Vector256.FusedMultiplyAdd(c3, x, a3);
                    x = Vector256.Load(qb + d0);
                    b0 = Vector256.FusedMultiplyAdd(c0, x, b0); b1 = Vector256.FusedMultiplyAdd(c1, x, b1);
                    b2 = Vector256.FusedMultiplyAdd(c2, x, b2); b3 = Vector256.FusedMultiplyAdd(c3, x, b3);
                }
                Reduce4(a0, a1, a2, a3).Store(s + r * sStride);
                Reduce4(b0, b1, b2, b3).Store(s + (r + 1) * sStride);
            }
            d = d0;
            if (d == n) return;
        }
        float* tail = stackalloc float[4];
        for (int r = 0; r < 4; r++)
        {
            float* sr = s + r * sStride;
            Dot1x4(q + r * n + d, k0 + d, kStride, n - d, tail);
            if (d == 0) { sr[0] = tail[0]; sr[1] = tail[1]; sr[2] = tail[2]; sr[3] = tail[3]; }
            else { sr[0] += tail[0]; sr[1] += tail[1]; sr[2] += tail[2]; sr[3] += tail[3]; }
        }
    }

    /// <summary>True when the 4 x 4 probabilities p[r·stride + t] are all non-zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNonZero(float* p, int stride)
    {
        for (int r = 0; r < 4; r++, p += stride)
            if (p[0] == 0f || p[1] == 0f || p[2] == 0f || p[3] == 0f) return false;
        return true;
    }

    /// <summary>o_r += Σ_t p[r·pStride + t]·v_t for 4 output rows o_r = o + r·n and the 4 value rows v_t = v0 +
    /// t·vStride (all 16 p non-zero): each V vector loaded once for the 4 rows (Vector512) or 2 rows (Vector256); the
    /// tail (and no SIMD at all) via Axpy4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Axpy4x4(float* o, float* v0, long vStride, float* p, int pStride, int n)
    {
        int d = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            float* v1 = v0 + vStride, v2 = v1 + vStride, v3 = v2 + vStride;
            float* o1 = o + n, o2 = o1 + n, o3 = o2 + n;
            float* p1 = p + pStride, p2 = p1 + pStride, p3 = p2 + pStride;
            Vector512<float> b00 = Vector512.Create(p[0]), b01 = Vector512.Create(p[1]), b02 = Vector512.Create(p[2]), b03 = Vector512.Create(p[3]);
            Vector512<float> b10 = Vector512.Create(p1[0]), b11 = Vector512.Create(p1[1]), b12 = Vector512.Create(p1[2]), b13 = Vector512.Create(p1[3]);
            Vector512<float> b20 = Vector512.Create(p2[0]), b21 = Vector512.Create(p2[1]), b22 = Vector512.Create(p2[2]), b23 = Vector512.Create(p2[3]);
            Vector512<float> b30 = Vector512.Create(p3[0]), b31 = Vector512.Create(p3[1]), b32 = Vector512.Create(p3[2]), b33 = Vector512.Create(p3[3]);
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
            {
                var c0 = Vector512.Load(v0 + d); var c1 = Vector512.Load(v1 + d);
                var c2 = Vector512.Load(v2 + d); var c3 = Vector512.Load(v3 + d);
                var acc = Vector512.Load(o + d);
                acc = Vector512.FusedMultiplyAdd(c0, b00, acc); acc = Vector512.FusedMultiplyAdd(c1, b01, acc);
                acc = Vector512.FusedMultiplyAdd(c2, b02, acc); acc = Vector512.FusedMultiplyAdd(c3, b03, acc);
                acc.Store(o + d);
                acc = Vector512.Load(o1 + d);
                acc = Vector512.FusedMultiplyAdd(c0, b10, acc); acc = Vector512.FusedMultiplyAdd(c1, b11, acc);
                acc = Vector512.FusedMultiplyAdd(c2, b12, acc); acc = Vector512.FusedMultiplyAdd(c3, b13, acc);
                acc.Store(o1 + d);
                acc = Vector512.Load(o2 + d);
                acc = Vector512.FusedMultiplyAdd(c0, b20, acc); acc = Vector512.FusedMultiplyAdd(c1, b21, acc);
                acc = Vector512.FusedMultiplyAdd(c2, b22, acc); acc = Vector512.FusedMultiplyAdd(c3, b23, acc);
                acc.Store(o2 + d);
                acc = Vector512.Load(o3 + d);
                acc = Vector512.FusedMultiplyAdd(c0, b30, acc); acc = Vector512.FusedMultiplyAdd(c1, b31, acc);
                acc = Vector512.FusedMultiplyAdd(c2, b32, acc); acc = Vector512.FusedMultiplyAdd(c3, b33, acc);
                acc.Store(o3 + d);
            }
            if (d == n) return;
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            // 16 ymm registers: two output rows at a time (8 broadcast probabilities, 4 V vectors, 1 accumulator)
            float* v1 = v0 + vStride, v2 = v1 + vStride, v3 = v2 + vStride;
            int d0 = 0;
            for (int r = 0; r < 4; r += 2)
            {
                float* oa = o + r * n, ob = oa + n;
                float* pa = p + r * pStride, pb = pa + pStride;
                Vector256<float> a0 = Vector256.Create(pa[0]), a1 = Vector256.Create(pa[1]), a2 = Vector256.Create(pa[2]), a3 = Vector256.Create(pa[3]);
                Vector256<float> b0 = Vector256.Create(pb[0]), b1 = Vector256.Create(pb[1]), b2 = Vector256.Create(pb[2]), b3 = Vector256.Create(pb[3]);
                for (d0 = 0; d0 <= n - Vector256<float>.Count; d0 += Vector256<float>.Count)
                {
                    var c0 = Vector256.Load(v0 + d0); var c1 = Vector256.Load(v1 + d0);
                    var c2 = Vector256.Load(v2 + d0); var c3 = Vector256.Load(v3 + d0);
                    var acc = Vector256.Load(oa + d0);
                    acc = Vector256.FusedMultiplyAdd(c0, a0, acc); acc = Vector256.FusedMultiplyAdd(c1, a1, acc);
                    acc = Vector256.FusedMultiplyAdd(c2, a2, acc); acc = Vector256.FusedMultiplyAdd(c3, a3, acc);
                    acc.Store(oa + d0);
                    acc = Vector256.Load(ob + d0);
                    acc = Vector256.FusedMultiplyAdd(c0, b0, acc); acc = Vector256.FusedMultiplyAdd(c1, b1, acc);
                    acc = Vector256.FusedMultiplyAdd(c2, b2, acc); acc = Vector256.FusedMultiplyAdd(c3, b3, acc);
                    acc.Store(ob + d0);
                }
            }
            d = d0;
            if (d == n) return;
        }
        for (int r = 0; r < 4; r++)
            Axpy4(o + r * n + d, v0 + d, vStride, p + r * pStride, n - d);
    }

    /// <summary>q · k over n elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot1(float* q, float* k, int n)
    {
        int d = 0;
        float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> a = default;
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
                a = Vector512.FusedMultiplyAdd(Vector512.Load(k + d), Vector512.Load(q + d), a);
            s += Vector512.Sum(a);
        }
        if (Vector256.IsHardwareAccelerated && n - d >= Vector256<float>.Count)
        {
            Vector256<float> a = default;
            for (; d <= n - Vector256<float>.Count; d += Vector256<float>.Count)
                a = Vector256.FusedMultiplyAdd(Vector256.Load(k + d), Vector256.Load(q + d), a);
            s += Vector256.Sum(a);
        }
        if (Vector128.IsHardwareAccelerated && n - d >= Vector128<float>.Count)
        {
            Vector128<float> a = default;
            for (; d <= n - Vector128<float>.Count; d += Vector128<float>.Count)
                a = Vector128.FusedMultiplyAdd(Vector128.Load(k + d), Vector128.Load(q + d), a);
            s += Vector128.Sum(a);
        }
        for (; d < n; d++) s += q[d] * k[d];
        return s;
    }

    /// <summary>o += Σ_t p[t]·v_t for the 4 value rows v_t = v0 + t·stride (one load and store of o per 4 keys).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Axpy4(float* o, float* v0, long stride, float* p, int n)
    {
        float* v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
        float p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
        int d = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> b0 = Vector512.Create(p0), b1 = Vector512.Create(p1), b2 = Vector512.Create(p2), b3 = Vector512.Create(p3);
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
            {
                var acc = Vector512.Load(o + d);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(v0 + d), b0, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(v1 + d), b1, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(v2 + d), b2, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(v3 + d), b3, acc);
                acc.Store(o + d);
            }
        }
        if (Vector256.IsHardwareAccelerated && n - d >= Vector256<float>.Count)
        {
            Vector256<float> b0 = Vector256.Create(p0), b1 = Vector256.Create(p1), b2 = Vector256.Create(p2), b3 = Vector256.Create(p3);
            for (; d <= n - Vector256<float>.Count; d += Vector256<float>.Count)
            {
                var acc = Vector256.Load(o + d);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(v0 + d), b0, acc);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(v1 + d), b1, acc);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(v2 + d), b2, acc);
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(v3 + d), b3, acc);
                acc.Store(o + d);
            }
        }
        if (Vector128.IsHardwareAccelerated && n - d >= Vector128<float>.Count)
        {
            Vector128<float> b0 = Vector128.Create(p0), b1 = Vector128.Create(p1), b2 = Vector128.Create(p2), b3 = Vector128.Create(p3);
            for (; d <= n - Vector128<float>.Count; d += Vector128<float>.Count)
            {
                var acc = Vector128.Load(o + d);
                acc = Vector128.FusedMultiplyAdd(Vector128.Load(v0 + d), b0, acc);
                acc = Vector128.FusedMultiplyAdd(Vector128.Load(v1 + d), b1, acc);
                acc = Vector128.FusedMultiplyAdd(Vector128.Load(v2 + d), b2, acc);
                acc = Vector128.FusedMultiplyAdd(Vector128.Load(v3 + d), b3, acc);
                acc.Store(o + d);
            }
        }
        for (; d < n; d++) o[d] = o[d] + p0 * v0[d] + p1 * v1[d] + p2 * v2[d] + p3 * v3[d];
    }

    /// <summary>o += p·v over n elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Axpy1(float* o, float* v, float p, int n)
    {
        int d = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var b = Vector512.Create(p);
            for (; d <= n - Vector512<float>.Count; d += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(Vector512.Load(v + d), b, Vector512.Load(o + d)).Store(o + d);
        }
        if (Vector256.IsHardwareAccelerated && n - d >= Vector256<float>.Count)
        {
            var b = Vector256.Create(p);
            for (; d <= n - Vector256<float>.Count; d += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(Vector256.Load(v + d), b, Vector256.Load(o + d)).Store(o + d);
        }
        if (Vector128.IsHardwareAccelerated && n - d >= Vector128<float>.Count)
        {
            var b = Vector128.Create(p);
            for (; d <= n - Vector128<float>.Count; d += Vector128<float>.Count)
                Vector128.FusedMultiplyAdd(Vector128.Load(v + d), b, Vector128.Load(o + d)).Store(o + d);
        }
        for (; d < n; d++) o[d] += p * v[d];
    }

    /// <summary>Prefetches 4 rows of n floats, stride apart, into L1 (x86; elsewhere the hardware prefetchers alone).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch4(float* p0, long stride, int n)
    {
        if (!Sse.IsSupported) return;
        for (int t = 0; t < 4; t++, p0 += stride)
            for (int d = 0; d < n; d += 16) Sse.Prefetch0(p0 + d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector512<float> a) => a.GetLower() + a.GetUpper();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fold(Vector256<float> a) => a.GetLower() + a.GetUpper();

    /// <summary>[Σa0, Σa1, Σa2, Σa3] for four 8-lane vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3)
        => Reduce4(Fold(a0), Fold(a1), Fold(a2), Fold(a3));

    /// <summary>[Σa0, Σa1, Σa2, Σa3] for four 4-lane vectors: a 4x4 transpose-add (haddps where SSE3 has it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector128<float> a0, Vector128<float> a1, Vector128<float> a2, Vector128<float> a3)
    {
        if (Sse3.IsSupported)
            return Sse3.HorizontalAdd(Sse3.HorizontalAdd(a0, a1), Sse3.HorizontalAdd(a2, a3));
        return Vector128.Create(Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3));
    }
}
