namespace SeeSharp.Engine.Kernels;

/// <summary>
/// The slow twins of <see cref="Ops"/>: plain scalar loops, one element at a time, written to be obviously right.
/// Sums accumulate in double (so the reference is the more accurate side of a comparison); steps whose fp32
/// rounding is part of the semantics (the additive mask absorbing a score, RoPE's fp32 angles) stay in fp32.
/// </summary>
public static class Reference
{
    /// <summary>y[m, rows] = x[m, cols] · Wᵀ (+ bias[rows]).</summary>
    public static void Linear(ReadOnlySpan<float> x, int m, WeightMatrix w, ReadOnlySpan<float> bias, Span<float> y)
    {
        Checks.Linear(x.Length, m, w, bias.Length, y.Length);
        int rows = w.Rows, cols = w.Cols;
        for (int i = 0; i < m; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                double acc = 0;
                for (int c = 0; c < cols; c++) acc += (double)x[i * cols + c] * w.At(r, c);
                if (!bias.IsEmpty) acc += bias[r];
                y[i * rows + r] = (float)acc;
            }
        }
    }

    /// <summary>y = (x - mean) / sqrt(var + eps) * gamma + beta per row of length dim (biased variance).
    /// An empty gamma means 1, an empty beta means 0.</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        int rows = Checks.Norm("LayerNorm", x.Length, y.Length, dim, gamma.Length, beta.Length);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * dim, dim);
            double mean = 0;
            for (int i = 0; i < dim; i++) mean += row[i];
            mean /= dim;
            double var = 0;
            for (int i = 0; i < dim; i++) var += (row[i] - mean) * (row[i] - mean);
            var /= dim;
            double inv = 1.0 / Math.Sqrt(var + eps);
            for (int i = 0; i < dim; i++)
            {
                double v = (row[i] - mean) * inv;
                if (!gamma.IsEmpty) v *= gamma[i];
                if (!beta.IsEmpty) v += beta[i];
                y[r * dim + i] = (float)v;
            }
        }
    }

    /// <summary>y = gamma * (x * rsqrt(mean(x²) + eps)) per row of length dim. An empty gamma means 1.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, float eps)
    {
        int rows = Checks.Norm("RmsNorm", x.Length, y.Length, dim, gamma.Length, 0);
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * dim, dim);
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += (double)row[i] * row[i];
            double inv = 1.0 / Math.Sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++)
                y[r * dim + i] = (float)(row[i] * inv * (gamma.IsEmpty ? 1.0 : gamma[i]));
        }
    }

    /// <summary>torch gelu(approximate='tanh'): 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))).</summary>
    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Checks.Unary("GeluTanh", x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = (float)GeluTanh((double)x[i]);
    }

    /// <summary>The scalar GeLU-tanh formula.</summary>
    public static double GeluTanh(double v) => 0.5 * v * (1.0 + Math.Tanh(Math.Sqrt(2.0 / Math.PI) * (v + 0.044715 * v * v * v)));

    /// <summary>silu(x) = x / (1 + exp(-x)).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        Checks.Unary("Silu", x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = (float)Silu((double)x[i]);
    }

    private static double Silu(double v) => v / (1.0 + Math.Exp(-v));

    /// <summary>y = silu(gate) * up.</summary>
    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        Checks.Binary("SiluMul", gate.Length, up.Length, y.Length);
        for (int i = 0; i < gate.Length; i++) y[i] = (float)(Silu(gate[i]) * up[i]);
    }

    /// <summary>y = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Checks.Binary("Add", a.Length, b.Length, y.Length);
        for (int i = 0; i < a.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>In-place softmax, max-subtracted in fp32 (so float.MinValue entries are absorbed as in torch).</summary>
    public static void Softmax(Span<float> row)
    {
        if (row.IsEmpty) return;
        float max = float.NegativeInfinity;
        for (int i = 0; i < row.Length; i++) max = Math.Max(max, row[i]);
        double sum = 0;
        var e = new double[row.Length];
        for (int i = 0; i < row.Length; i++) { e[i] = Math.Exp(row[i] - max); sum += e[i]; }
        for (int i = 0; i < row.Length; i++) row[i] = (float)(e[i] / sum);
    }

    /// <summary>The RoPE inverse frequency of pair i, in fp32 as HF computes it: 1 / theta^(2i/headDim).</summary>
    public static float RopeInvFreq(int i, int headDim, float theta) => 1f / MathF.Pow(theta, (float)(2 * i) / headDim);

    /// <summary>Rotary embedding, rotate_half convention, in place on x[tokens, heads, headDim]:
    /// angle(t, i) = positions[t] · theta^(-2i/headDim) in fp32; x1' = x1·cos - x2·sin, x2' = x2·cos + x1·sin.</summary>
    public static void Rope(Span<float> x, int tokens, int heads, int headDim, ReadOnlySpan<long> positions, float theta)
    {
        Checks.Rope(x.Length, tokens, heads, headDim, positions.Length);
        int half = headDim / 2;
        for (int t = 0; t < tokens; t++)
        {
            for (int i = 0; i < half; i++)
            {
                float angle = (float)positions[t] * RopeInvFreq(i, headDim, theta);
                float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
                for (int h = 0; h < heads; h++)
                {
                    int b = (t * heads + h) * headDim;
                    float x1 = x[b + i], x2 = x[b + i + half];
                    x[b + i] = x1 * cos - x2 * sin;
                    x[b + i + half] = x2 * cos + x1 * sin;
                }
            }
        }
    }

    /// <summary>Eager scaled dot-product attention; see <see cref="Ops.Attention"/>.</summary>
    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask)
    {
        Checks.Attention(q.Length, k.Length, v.Length, o.Length, qLen, kvLen, nHeads, nKvHeads, headDim, mask.Length);
        int group = nHeads / nKvHeads;
        var scores = new float[kvLen];
        for (int h = 0; h < nHeads; h++)
        {
            int kh = h / group;
            for (int i = 0; i < qLen; i++)
            {
                for (int j = 0; j < kvLen; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++)
                        dot += (double)q[(i * nHeads + h) * headDim + d] * k[(j * nKvHeads + kh) * headDim + d];
                    float s = (float)dot * scale;
                    if (!mask.IsEmpty) s += mask[i * kvLen + j];   // fp32 add: float.MinValue absorbs the score
                    scores[j] = s;
                }
                Softmax(scores);
                for (int d = 0; d < headDim; d++)
                {
                    double acc = 0;
                    for (int j = 0; j < kvLen; j++) acc += (double)scores[j] * v[(j * nKvHeads + kh) * headDim + d];
                    o[(i * nHeads + h) * headDim + d] = (float)acc;
                }
            }
        }
    }

    /// <summary>y[i, :] = table[ids[i], :] as fp32.</summary>
    public static void Embedding(WeightMatrix table, ReadOnlySpan<long> ids, Span<float> y)
    {
        Checks.Embedding(table, ids, y.Length);
        int cols = table.Cols;
        for (int i = 0; i < ids.Length; i++)
            for (int c = 0; c < cols; c++) y[i * cols + c] = table.At((int)ids[i], c);
    }
}
