using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Nn;

namespace SeeSharp.Tests.Models;

// Properties of the Nn building blocks on their own (the golden tests cover them inside the model):
// the causal/padding/sliding-window mask against its definition (exact), our torch-fp32 rotary against the engine's
// Ops.Rope (same formula, angles rounded differently: 1e-5 on unit-scale values), Linear's size checks.
public sealed class NnLayerTests
{
    private const double RotaryVsOpsRopeMaxAbs = 1e-5; // positions < 300: angle rounding differs by < 2e-5 rad · |x| <= 1

    [Fact]
    public void CausalPaddingMaskFollowsItsDefinition()
    {
        // query i at cache position p = past + i sees key j iff j <= p, j > p - window, and mask[j] == 1
        const int past = 5, q = 4, window = 3;
        long[] attention = [0, 0, 1, 1, 1, 1, 1, 1, 1];
        var mask = new float[q * (past + q)];
        AttentionMasks.CausalPadding(mask, q, past, attention, window);
        for (var i = 0; i < q; i++)
            for (var j = 0; j < past + q; j++)
            {
                var p = past + i;
                var visible = j <= p && j > p - window && attention[j] == 1;
                Assert.Equal(visible ? 0f : float.MinValue, mask[i * (past + q) + j]);
            }
        AttentionMasks.CausalPadding(mask, q, past, attention, slidingWindow: null);
        Assert.Equal(0f, mask[3 * (past + q) + 2]); // no window: the oldest real key stays visible
        Assert.Throws<ArgumentException>(() => AttentionMasks.CausalPadding(mask, q, past, attention.AsSpan(1), null));
    }

    [Fact]
    public void RotaryMatchesTheEngineRope()
    {
        const int tokens = 7, heads = 3, headDim = 16;
        var rng = new Random(5);
        var x = Enumerable.Range(0, tokens * heads * headDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        long[] positions = [0, 1, 2, 37, 100, 101, 299];
        var ours = x.ToArray();
        var theirs = x.ToArray();
        new RotaryEmbedding(headDim, 10000.0).Apply(ours, tokens, heads, positions);
        Ops.Rope(theirs, tokens, heads, headDim, positions, 10000f);
        var worst = 0.0;
        for (var i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]));
        Assert.True(worst <= RotaryVsOpsRopeMaxAbs, $"rotary vs Ops.Rope: {worst:G3}");
        Assert.Equal(x.AsSpan(0, heads * headDim).ToArray(), ours.AsSpan(0, heads * headDim).ToArray()); // position 0 is the identity
    }

    [Fact]
    public void LinearChecksSizesAndNamesItself()
    {
        var w = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3); // [out 2, in 3]
        var linear = new DenseLinear(new WeightMatrix(w), [10f, 20f], "toy.proj");
        var y = new float[4];
        linear.Forward([1, 0, 0, 0, 1, 1], 2, y);
        Assert.Equal([11f, 24f, 15f, 31f], y);
        var e = Assert.Throws<ArgumentException>(() => linear.Forward(new float[5], 2, y));
        Assert.Contains("toy.proj", e.Message);
        Assert.Throws<ArgumentException>(() => new DenseLinear(new WeightMatrix(w), [1f], "toy.proj"));
    }
}
