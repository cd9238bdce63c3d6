using System.Runtime.InteropServices;

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

    public ActRow(sbyte* q, byte* abs, sbyte* sign, float* d, float* groupOffset)
    {
        Q = q; Abs = abs; Sign = sign; D = d; GroupOffset = groupOffset;
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
    private readonly int _colsPadded, _blocks, _groups;

    public QuantizedActivations(ReadOnlySpan<float> x, int m, int cols, QuantizedMatrix w)
    {
        M = m;
        _colsPadded = w.ColsPadded;
        Block = QuantLayout.ActivationBlock(w.Scheme);
        _blocks = _colsPadded / Block;
        _groups = w.Scheme == QuantScheme.Int4Group ? _colsPadded / w.Config.GroupSize : 0;
        _rowStride = 3L * _colsPadded + 4L * (_blocks + _groups);
        _rowStride = (_rowStride + 63) / 64 * 64;
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(64, _rowStride * m), 64);
        var tmp = new float[_colsPadded];
        for (int i = 0; i < m; i++)
        {
            x.Slice(i * cols, cols).CopyTo(tmp);
            tmp.AsSpan(cols).Clear();
            QuantizeRow(tmp, Row(i), w.Scheme == QuantScheme.Int4Group ? w.Config.GroupSize : 0);
        }
    }

    public int M { get; }
    public int Block { get; }

    public ActRow Row(int i)
    {
        byte* p = _buffer + i * _rowStride;
        float* d = (float*)(p + 3L * _colsPadded);
        return new ActRow((sbyte*)p, p + _colsPadded, (sbyte*)(p + 2L * _colsPadded), d, d + _blocks);
    }

    private void QuantizeRow(float[] x, ActRow a, int groupSize)
    {
        int bs = Block;
        for (int b = 0; b < _blocks; b++)
        {
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
        }
    }

    public void Dispose()
    {
        if (_buffer is null) return;
        NativeMemory.AlignedFree(_buffer);
        _buffer = null;
    }
}
