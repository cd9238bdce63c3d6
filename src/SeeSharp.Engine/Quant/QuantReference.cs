namespace SeeSharp.Engine.Quant;

/// <summary>
/// Scalar twin of <see cref="QuantOps"/>: the same activation quantization, then plain loops over
/// <see cref="QuantizedMatrix.QuantAt"/> / <see cref="QuantizedMatrix.ScaleAt"/> (independent of the panel layout,
/// so a layout bug in the kernels shows up as a mismatch).
/// </summary>
public static class QuantReference
{
    /// <summary>y[m, rows] = x[m, cols] · Wqᵀ (+ bias), as <see cref="QuantOps.Linear"/>.</summary>
    public static unsafe void Linear(ReadOnlySpan<float> x, int m, QuantizedMatrix w, ReadOnlySpan<float> bias, Span<float> y)
    {
        Check(x.Length, m, w, bias.Length, y.Length);
        if (m == 0) return;
        using var act = new QuantizedActivations(x, m, w.Cols, w);
        int bs = act.Block;
        for (int i = 0; i < m; i++)
        {
            var a = act.Row(i);
            for (int r = 0; r < w.Rows; r++)
            {
                float acc = 0;
                for (int b = 0; b < w.ColsPadded / bs; b++)
                {
                    int c0 = b * bs;
                    if (w.Scheme == QuantScheme.Int8PerRow)
                    {
                        int s = 0;
                        for (int c = c0; c < c0 + bs; c++) s += a.Q[c] * (c < w.Cols ? w.QuantAt(r, c) : 0);
                        acc += a.D[b] * s;
                    }
                    else
                    {
                        // blocks of 32: one weight scale per activation block (group sizes are multiples of 32)
                        int s = 0;
                        for (int c = c0; c < c0 + bs; c++) s += a.Q[c] * (c < w.Cols ? w.QuantAt(r, c) : 0);
                        acc += w.ScaleAt(r, c0) * a.D[b] * s;
                    }
                }
                if (w.Scheme == QuantScheme.Int8PerRow) acc *= w.ScaleAt(r, 0);
                y[i * w.Rows + r] = bias.IsEmpty ? acc : acc + bias[r];
            }
        }
        GC.KeepAlive(w);
    }

    internal static void Check(int xLen, int m, QuantizedMatrix w, int biasLen, int yLen)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "QuantLinear: m must be >= 0");
        if ((long)m * w.Cols != xLen)
            throw new ArgumentException($"QuantLinear: x has {xLen} elements, expected m {m} x cols {w.Cols} = {(long)m * w.Cols}");
        if ((long)m * w.Rows > yLen)
            throw new ArgumentException($"QuantLinear: y has {yLen} elements, expected m {m} x rows {w.Rows} = {(long)m * w.Rows}");
        if (biasLen != 0 && biasLen != w.Rows)
            throw new ArgumentException($"QuantLinear: bias has {biasLen} elements, expected 0 or rows {w.Rows}");
    }
}
