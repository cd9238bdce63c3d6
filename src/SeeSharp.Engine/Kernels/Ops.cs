namespace SeeSharp.Engine.Kernels;

/// <summary>
/// The CPU kernels the models call. Every op has a scalar twin in <see cref="Reference"/> with the same
/// signature and semantics; tests compare the two over awkward sizes and with SIMD paths disabled.
/// </summary>
public static partial class Ops
{
    /// <summary>y[m, rows] = x[m, cols] · Wᵀ (+ bias[rows]); GEMV when m == 1, GEMM otherwise. An empty bias means none.</summary>
    public static void Linear(ReadOnlySpan<float> x, int m, WeightMatrix w, ReadOnlySpan<float> bias, Span<float> y)
        => Gemm.Linear(x, m, w, bias, y);

    /// <summary>y[rows, dim] = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as torch).
    /// An empty gamma means 1, an empty beta means 0.</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
        => FastOps.LayerNorm(x, y, dim, gamma, beta, eps);

    /// <summary>y = gamma * (x * rsqrt(mean(x²) + eps)) per row of length dim.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, Span<float> y, int dim, ReadOnlySpan<float> gamma, float eps)
        => FastOps.RmsNorm(x, y, dim, gamma, eps);

    /// <summary>gelu_pytorch_tanh: 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))).</summary>
    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y) => FastOps.GeluTanh(x, y);

    /// <summary>silu(x) = x·sigmoid(x).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y) => FastOps.Silu(x, y);

    /// <summary>y = silu(gate) * up.</summary>
    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y) => FastOps.SiluMul(gate, up, y);

    /// <summary>y = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => FastOps.Add(a, b, y);

    /// <summary>In place, max-subtracted, fp32.</summary>
    public static void Softmax(Span<float> row) => FastOps.Softmax(row);

    /// <summary>Rotary embedding (rotate_half convention, as HF Llama/Mistral) in place on x[tokens, heads, headDim]:
    /// angle(t, i) = positions[t] · theta^(-2i/headDim), i &lt; headDim/2.</summary>
    public static void Rope(Span<float> x, int tokens, int heads, int headDim, ReadOnlySpan<long> positions, float theta)
        => FastOps.Rope(x, tokens, heads, headDim, positions, theta);

    /// <summary>
    /// Scaled dot-product attention, eager-HF semantics: q[qLen, nHeads, headDim], k/v[kvLen, nKvHeads, headDim]
    /// (GQA: head h uses kv head h / (nHeads/nKvHeads)); scores = q·kᵀ·scale + mask[qi, kj] (additive, fp32; an
    /// empty mask means none; float.MinValue absorbs the score, so a fully masked row becomes uniform);
    /// softmax in fp32; o[qLen, nHeads, headDim] = probs · v.
    /// </summary>
    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, float scale, ReadOnlySpan<float> mask)
        => FastOps.Attention(q, k, v, o, qLen, kvLen, nHeads, nKvHeads, headDim, scale, mask);

    /// <summary>y[i, :] = table[ids[i], :] converted to fp32.</summary>
    public static void Embedding(WeightMatrix table, ReadOnlySpan<long> ids, Span<float> y) => FastOps.Embedding(table, ids, y);
}
