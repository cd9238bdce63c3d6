// Compares: the scalar Reference kernels against values computed by hand (exact math, written out below),
// within Tolerances.ReferenceHandAbsolute; torch's gelu(approximate='tanh')(1.0) = 0.8411920070648193 and
// silu(1.0) = 0.7310585786300049 are the values torch prints.
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests;

public sealed class ReferenceTests
{
    private const double Tol = Tolerances.ReferenceHandAbsolute;

    private static void Near(double[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void LinearByHand(DType dt)
    {
        float[] w = [1, 0, 0, 1, 1, 1];          // W[3, 2]
        var t = dt switch
        {
            DType.F32 => Tensor.FromArray(w, 3, 2),
            DType.BF16 => Tensor.FromArray(DType.BF16, w.Select(DTypes.SingleToBF16).ToArray(), 3, 2),
            _ => Tensor.FromArray(DType.F16, w.Select(DTypes.SingleToF16).ToArray(), 3, 2),
        };
        var y = new float[6];
        Reference.Linear([1, 2, -1, 0.5f], 2, new WeightMatrix(t), [0.5f, 0, -1], y);   // x[2, 2]
        Near([1.5, 2, 2, -0.5, 0.5, -1.5], y);
        Reference.Linear([1, 2], 1, new WeightMatrix(t), [], y.AsSpan(0, 3));
        Near([1, 2, 3], y.AsSpan(0, 3));
    }

    [Fact]
    public void SoftmaxByHand()
    {
        float[] r = [0, MathF.Log(3)];
        Reference.Softmax(r);
        Near([0.25, 0.75], r);
        float[] masked = [float.MinValue, float.MinValue, float.MinValue, float.MinValue];
        Reference.Softmax(masked);
        Near([0.25, 0.25, 0.25, 0.25], masked);
    }

    [Fact]
    public void AttentionByHandWithFullyMaskedRow()
    {
        // headDim 1, one head: q row 0 = 1 -> scores [0, ln2, ln4] -> probs [1/7, 2/7, 4/7]; v = [7, 14, 0] -> 5.
        // q row 1 is fully masked with float.MinValue: the score is absorbed, the row is uniform -> mean(v) = 7.
        float ln2 = MathF.Log(2);
        float[] q = [1, 123], k = [0, ln2, 2 * ln2], v = [7, 14, 0];
        float[] mask = [0, 0, 0, float.MinValue, float.MinValue, float.MinValue];
        var o = new float[2];
        Reference.Attention(q, k, v, o, 2, 3, 1, 1, 1, 1f, mask);
        Near([5, 7], o);
    }

    [Fact]
    public void AttentionGqaHeadMapping()
    {
        // kvLen 1: softmax over one key is 1, so head h's output is exactly v of kv head h / (nHeads / nKvHeads).
        float[] q = [1, 2, 3, 4, 5, 6, 7, 8];   // [1, 4 heads, 2]
        float[] k = [1, 1, 1, 1];               // [1, 2 kv heads, 2]
        float[] v = [10, 11, 20, 21];
        var o = new float[8];
        Reference.Attention(q, k, v, o, 1, 1, 4, 2, 2, 0.5f, []);
        Near([10, 11, 10, 11, 20, 21, 20, 21], o);
    }

    [Fact]
    public void AttentionScaleAndSharedKv()
    {
        // two keys, q·k = [2, 0] scaled by 0.5 -> [1, 0] -> probs [e/(e+1), 1/(e+1)].
        float[] q = [2, 0], k = [1, 0, 0, 1], v = [1, 0, 0, 1];
        var o = new float[2];
        Reference.Attention(q, k, v, o, 1, 2, 1, 1, 2, 0.5f, []);
        Near([Math.E / (Math.E + 1), 1 / (Math.E + 1)], o);
    }

    [Fact]
    public void RopeAngleFormula()
    {
        // headDim 4, theta 1e4: inv_freq = [1, 1e4^(-1/2) = 0.01]; position 3 -> angles [3, 0.03].
        // x = [1, 0, 0, 0]: x1' = x1 cos a0 = cos 3, x2' = x2 cos a0 + x1 sin a0 = sin 3.
        // x = [0, 2, 0, 0] (pair 1): x1'[1] = 2 cos 0.03, x2'[1] = 2 sin 0.03.
        float[] x = [1, 0, 0, 0, 0, 2, 0, 0];   // [1 token, 2 heads, 4]
        Reference.Rope(x, 1, 2, 4, [3], 10000f);
        Near([Math.Cos(3), 0, Math.Sin(3), 0, 0, 2 * Math.Cos(0.03), 0, 2 * Math.Sin(0.03)], x);
        Assert.Equal(0.01f, Reference.RopeInvFreq(1, 4, 10000f), 1e-9f);
    }

    [Fact]
    public void NormsByHand()
    {
        var y = new float[4];
        Reference.LayerNorm([1, 2, 3, 4], y, 4, [1, 1, 2, 2], [0, 0, 0, 1], 0f);   // mean 2.5, var 1.25
        double s = Math.Sqrt(1.25);
        Near([-1.5 / s, -0.5 / s, 2 * 0.5 / s, 2 * 1.5 / s + 1], y);
        Reference.RmsNorm([3, 4, 0, 0], y, 2, [1, 2], 1e-6f);  // rows [3,4] (ms 12.5) and [0,0]; eps 1e-6 is below Tol
        Near([3 / Math.Sqrt(12.5), 8 / Math.Sqrt(12.5), 0, 0], y);
    }

    [Fact]
    public void ActivationsByHand()
    {
        var y = new float[2];
        Reference.GeluTanh([1, -1], y);
        Near([0.8411920070648193, 0.8411920070648193 - 1], y);   // gelu(-x) = gelu(x) - x
        Reference.Silu([1, 0], y);
        Near([0.7310585786300049, 0], y);
        Reference.SiluMul([1, 2], [2, 0.5f], y);
        Near([2 * 0.7310585786300049, 0.5 * 2 / (1 + Math.Exp(-2))], y);
        Reference.Add([1, 2], [3, -2], y);
        Near([4, 0], y);
    }

    [Fact]
    public void EmbeddingByHandAndBounds()
    {
        var table = new WeightMatrix(Tensor.FromArray(new float[] { 0, 1, 10, 11, 20, 21 }, 3, 2));
        var y = new float[4];
        Reference.Embedding(table, [2, 0], y);
        Near([20, 21, 0, 1], y);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Reference.Embedding(table, [3], y));
        Assert.Contains("ids[0] = 3", ex.Message);
    }
}
