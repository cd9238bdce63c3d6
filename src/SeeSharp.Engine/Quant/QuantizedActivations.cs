using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeeSharp.Engine.Kernels;

namespace SeeSharp.Engine.Quant;

/// <summary>One quantized activation row (pointers into a <see cref="QuantizedActivations"/> buffer).</summary>
internal unsafe readonly struct ActRow
{
    /// <summary>q[colsPadded], int8, symmetric per block.</summary>
    public readonly sbyte* Q;
    /// <summary>|q| as unsigned bytes (the unsigned operand of vpmaddubsw).</summary>
    public readonly byte* Abs;
    /// <summary>0xFF where q &lt; 0, else 0 (flips the weight's sign: (w ^ s) - s).</summary>
    public readonly sbyte* Sign;
    /// <summary>Scale per activation block.</summary>
    public readonly float* D;
    /// <summary>Int4 only: per weight group g, 8 * Σ_{blocks j in g} D[j] * Σ q over block j (the +8 offset of the nibbles).</summary>
    public readonly float* GroupOffset;
    /// <summary>Int4 only, 64-byte aligned: per 128-column chunk, 32 floats = D of its 4 blocks, each repeated 8 times
    /// (lanes 0-15 pair with the low nibbles, 16-31 with the high nibbles; the GEMM tile reads them as operands).</summary>
    public readonly float* DWide;
    /// <summary>Int8PerRow with <see cref="QuantOps.VnniInt8Gemv"/> only (else null), 64-byte aligned: per 128-column block, 16 int32 = −128 · Σ q over the 8 columns
    /// that feed int32 lane L of a 4-products-per-lane dot (columns 4L .. 4L + 3 of the block's two 64-column chunks): the
    /// start value that cancels the +128 of the weights <see cref="AvxVnniInt8Kernels"/> feeds as unsigned bytes.</summary>
    public readonly int* NegCorr;

    public ActRow(sbyte* q, byte* abs, sbyte* sign, float* d, float* groupOffset, float* dWide, int* negCorr = null)
    {
        Q = q; Abs = abs; Sign = sign; D = d; GroupOffset = groupOffset; DWide = dWide; NegCorr = negCorr;
    }
}

/// <summary>
/// Activations x[m, cols] quantized per block to int8 (ggml's vec_dot_type idea): block 128 for
/// <see cref="QuantScheme.Int8PerRow"/>, 32 otherwise; zero-padded to the weight's padded column count.
/// Owns aligned native memory; dispose after use.
/// </summary>
internal sealed unsafe class QuantizedActivations : IDisposable
{
    private byte* _buffer;
    private readonly long _rowStride;
    private readonly int _colsPadded, _blocks, _groups, _dWideBytes, _corrBytes;

    /// <summary>Quantizes x[m, cols] for <paramref name="w"/>. <paramref name="vectorized"/> false forces the scalar
    /// quantizer (the tests compare both; the AVX-512 and AVX2 ones are bit-identical). Rows are split over
    /// <see cref="WorkerPool.Default"/> when there are several.</summary>
    public QuantizedActivations(ReadOnlySpan<float> x, int m, int cols, QuantizedMatrix w, bool vectorized = true)
    {
        M = m;
        _colsPadded = w.ColsPadded;
        Block = QuantLayout.ActivationBlock(w.Scheme);
        _blocks = _colsPadded / Block;
        _groups = w.Scheme == QuantScheme.Int4Group ? _colsPadded / w.Config.GroupSize : 0;
        _dWideBytes = _groups > 0 ? _colsPadded : 0;             // 32 floats per 128 columns
        // NegCorr, 16 int32 per 128-block: only for the kernel that reads it
        _corrBytes = w.Scheme == QuantScheme.Int8PerRow && QuantOps.VnniInt8Gemv ? _blocks * 64 : 0;
        _rowStride = 3L * _colsPadded + _dWideBytes + _corrBytes + 4L * (_blocks + _groups);
        _rowStride = (_rowStride + 63) / 64 * 64;
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(64, _rowStride * m), 64);
        int groupSize = w.Scheme == QuantScheme.Int4Group ? w.Config.GroupSize : 0;
        int vec = !vectorized ? 0 : Avx512F.IsSupported && Avx512BW.IsSupported ? 512 : Avx2.IsSupported ? 256 : 0;
        int threads = WorkerPool.Default.Threads;
        // rows in contiguous ranges; one item per thread (a few µs per row: more items only add overhead)
        int items = m < 2 || threads == 1 || (long)m * cols < 16384 ? 1 : Math.Min(m, threads);
        int per = (m + items - 1) / items;
        fixed (float* px = x)
        {
            float* xp = px;
            if (items == 1) QuantizeRows(xp, cols, 0, m, groupSize, vec);
            else WorkerPool.Default.For(items, it => QuantizeRows(xp, cols, it * per, Math.Min(m, (it + 1) * per), groupSize, vec));
        }
    }

    private void QuantizeRows(float* x, int cols, int i0, int i1, int groupSize, int vec)
    {
        var tmp = new float[_colsPadded];
        for (int i = i0; i < i1; i++)
        {
            new ReadOnlySpan<float>(x + (long)i * cols, cols).CopyTo(tmp);
            tmp.AsSpan(cols).Clear();
            QuantizeRow(tmp, Row(i), groupSize, vec);
        }
    }

    public int M { get; }
    public int Block { get; }
    /// <summary>Bytes from one row's buffers (Q, Abs, Sign, D, GroupOffset) to the next row's.</summary>
    public long RowStride => _rowStride;

    public ActRow Row(int i)
    {
        byte* p = _buffer + i * _rowStride;
        float* wide = (float*)(p + 3L * _colsPadded);
        int* corr = (int*)(p + 3L * _colsPadded + _dWideBytes);
        float* d = (float*)(p + 3L * _colsPadded + _dWideBytes + _corrBytes);
        return new ActRow((sbyte*)p, p + _colsPadded, (sbyte*)(p + 2L * _colsPadded), d, d + _blocks, wide, _corrBytes > 0 ? corr : null);
    }

    private void QuantizeRow(float[] x, ActRow a, int groupSize, int vec)
    {
        int bs = Block;
        for (int b = 0; b < _blocks; b++)
        {
            if (vec == 512 && QuantizeBlockAvx512(x, b * bs, bs, a, b)) continue;
            if (vec == 256 && QuantizeBlockAvx2(x, b * bs, bs, a, b)) continue;
            float d = QuantMath.Int8Scale(x, b * bs, bs);
            a.D[b] = d;
            float id = d == 0 ? 0 : 1f / d;
            for (int c = b * bs; c < (b + 1) * bs; c++)
            {
                sbyte q = QuantMath.RoundInt8(x[c] * id);
                a.Q[c] = q;
                a.Abs[c] = (byte)Math.Abs(q);
                a.Sign[c] = q < 0 ? (sbyte)-1 : (sbyte)0;
            }
        }
        if (_corrBytes > 0)
        {
            for (int b = 0; b < _blocks; b++)
            {
                sbyte* qb = a.Q + b * bs;
                for (int lane = 0; lane < 16; lane++)
                {
                    int sum = 0;
                    for (int j = 0; j < 4; j++) sum += qb[4 * lane + j] + qb[64 + 4 * lane + j];
                    a.NegCorr[b * 16 + lane] = -128 * sum;
                }
            }
        }
        if (groupSize > 0)
        {
            int per = groupSize / bs;
            for (int g = 0; g < _groups; g++)
            {
                float off = 0;
                for (int j = g * per; j < (g + 1) * per; j++)
                {
                    int s = 0;
                    for (int c = j * bs; c < (j + 1) * bs; c++) s += a.Q[c];
                    off += a.D[j] * s;
                }
                a.GroupOffset[g] = 8f * off;
            }
            for (int ch = 0; ch < _colsPadded / 128; ch++)
            {
                for (int l = 0; l < 32; l++) a.DWide[ch * 32 + l] = a.D[ch * 4 + l / 8];
            }
        }
    }

    /// <summary>
    /// The scalar block quantization above with AVX-512, bit for bit: amax is order-free, x · (1 / d) is the same fp32
    /// product, and round half away from zero is truncate + (|fraction| ≥ 0.5 ? ±1 : 0) (the fraction v − trunc(v) is
    /// exact). Returns false (the caller runs the scalar loop) when the block holds a NaN / ∞ or 1 / d is not finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool QuantizeBlockAvx512(float[] x, int start, int len, ActRow a, int b)
    {
        fixed (float* px = &x[start])
        {
            var amaxV = Vector512<float>.Zero;
            var nan = Vector512<float>.Zero;
            for (int c = 0; c < len; c += 16)
            {
                var v = Vector512.Load(px + c);
                nan |= Vector512.IsNaN(v).AsSingle();
                amaxV = Vector512.Max(amaxV, Vector512.Abs(v));
            }
            if (nan != Vector512<float>.Zero) return false;
            float amax = 0;
            for (int l = 0; l < 16; l++) amax = MathF.Max(amax, amaxV[l]);
            if (!float.IsFinite(amax)) return false;
            float d = amax / 127f;
            float id = d == 0 ? 0 : 1f / d;
            if (!float.IsFinite(id)) return false;
            a.D[b] = d;
            var idv = Vector512.Create(id);
            var half = Vector512.Create(0.5f);
            var one = Vector512.Create(1f);
            var lim = Vector512.Create(127f);
            for (int c = 0; c < len; c += 16)
            {
                var v = Vector512.Load(px + c) * idv;
                var t = Vector512.Truncate(v);
                var frac = v - t;
                // away from zero: +1 where frac >= 0.5, -1 where frac <= -0.5
                var r = t + (Vector512.GreaterThanOrEqual(frac, half).AsSingle() & one)
                          - (Vector512.LessThanOrEqual(frac, -half).AsSingle() & one);
                r = Vector512.Min(Vector512.Max(r, -lim), lim);
                var q = Avx512F.ConvertToVector128SByte(Vector512.ConvertToInt32(r));
                int o = start + c;
                q.Store(a.Q + o);
                Vector128.Abs(q).AsByte().Store(a.Abs + o);
                Vector128.LessThan(q, Vector128<sbyte>.Zero).Store(a.Sign + o);
            }
        }
        return true;
    }

    /// <summary>The same as <see cref="QuantizeBlockAvx512"/> with 256-bit vectors (AVX2), 32 values per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool QuantizeBlockAvx2(float[] x, int start, int len, ActRow a, int b)
    {
        fixed (float* px = &x[start])
        {
            var amaxV = Vector256<float>.Zero;
            var nan = Vector256<float>.Zero;
            for (int c = 0; c < len; c += 8)
            {
                var v = Vector256.Load(px + c);
                nan |= Vector256.IsNaN(v).AsSingle();
                amaxV = Vector256.Max(amaxV, Vector256.Abs(v));
            }
            if (nan != Vector256<float>.Zero) return false;
            float amax = 0;
            for (int l = 0; l < 8; l++) amax = MathF.Max(amax, amaxV[l]);
            if (!float.IsFinite(amax)) return false;
            float d = amax / 127f;
            float id = d == 0 ? 0 : 1f / d;
            if (!float.IsFinite(id)) return false;
            a.D[b] = d;
            var idv = Vector256.Create(id);
            for (int c = 0; c < len; c += 32)
            {
                var i0 = Round(Vector256.Load(px + c) * idv);
                var i1 = Round(Vector256.Load(px + c + 8) * idv);
                var i2 = Round(Vector256.Load(px + c + 16) * idv);
                var i3 = Round(Vector256.Load(px + c + 24) * idv);
                // values are in [-127, 127]: the truncating narrows are exact
                var q = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
                int o = start + c;
                q.Store(a.Q + o);
                Vector256.Abs(q).AsByte().Store(a.Abs + o);
                Vector256.LessThan(q, Vector256<sbyte>.Zero).Store(a.Sign + o);
            }
        }
        return true;

        static Vector256<int> Round(Vector256<float> v)
        {
            var half = Vector256.Create(0.5f);
            var one = Vector256.Create(1f);
            var lim = Vector256.Create(127f);
            var t = Vector256.Truncate(v);
            var frac = v - t;
            var r = t + (Vector256.GreaterThanOrEqual(frac, half) & one) - (Vector256.LessThanOrEqual(frac, -half) & one);
            return Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(r, -lim), lim));
        }
    }

    public void Dispose()
    {
        if (_buffer is null) return;
        NativeMemory.AlignedFree(_buffer);
        _buffer = null;
    }
}
