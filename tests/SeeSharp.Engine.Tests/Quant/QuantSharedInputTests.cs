// Compares QuantOps.LinearShared (several GEMVs over one quantized input row, one loop over the workers) against one
// QuantOps.Linear call per matrix: exact (bit-identical: the same panel kernels on the same quantized activations).
// Also: the config checks reject what cannot share an input.
using SeeSharp.Engine.Quant;

namespace SeeSharp.Engine.Tests.Quant;

[Trait("Category", "Kernels")]
public sealed class QuantSharedInputTests
{
    public static readonly TheoryData<QuantScheme, int> Schemes = new()
    {
        { QuantScheme.Int8PerRow, 0 },
        { QuantScheme.Int8Block32, 32 },
        { QuantScheme.Int4Group, 32 },
        { QuantScheme.Int4Group, 128 },
    };

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static QuantizedMatrix Make(QuantScheme s, int g, int rows, int cols, int seed) =>
        QuantizedMatrix.Quantize(Tensor.FromArray(Random(rows * cols, seed), rows, cols), QuantConfig.Create(s, g));

    [Theory]
    [MemberData(nameof(Schemes))]
    public void SharedInputEqualsSeparateCallsExactly(QuantScheme s, int g)
    {
        // q/k/v-like shapes (rows not multiples of 4 or of the item size), cols not a multiple of the padding
        foreach (var (cols, rows) in new[] { (200, new[] { 64, 16, 16 }), (384, new[] { 258, 7, 130 }), (96, new[] { 3 }) })
        {
            var ws = rows.Select((r, j) => Make(s, g, r, cols, 10 * j + cols)).ToArray();
            var biases = rows.Select((r, j) => j == 1 ? null : Random(r, 99 + j)).ToArray();
            var x = Random(cols, 7);
            var y = new float[rows.Sum()];
            QuantOps.LinearShared(x, ws, biases, y);
            int offset = 0;
            for (int j = 0; j < ws.Length; j++)
            {
                var e = new float[rows[j]];
                QuantOps.Linear(x, 1, ws[j], biases[j] ?? [], e);
                for (int i = 0; i < e.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(e[i]) == BitConverter.SingleToInt32Bits(y[offset + i]),
                        $"{s} g{g} cols {cols} matrix {j} row {i}: shared {y[offset + i]} vs separate {e[i]}");
                offset += rows[j];
            }
        }
    }

    [Fact]
    public void MatricesThatCannotShareAnInputAreRejected()
    {
        var a = Make(QuantScheme.Int8PerRow, 0, 8, 128, 1);
        var b = Make(QuantScheme.Int8PerRow, 0, 8, 256, 2);          // other cols
        var c = Make(QuantScheme.Int4Group, 32, 8, 128, 3);          // other scheme
        Assert.False(QuantOps.CanShareInput([a, b]));
        Assert.False(QuantOps.CanShareInput([a, c]));
        Assert.True(QuantOps.CanShareInput([a, Make(QuantScheme.Int8PerRow, 0, 4, 128, 4)]));
        var x = new float[128];
        Assert.Throws<ArgumentException>(() => QuantOps.LinearShared(x, [a, b], [null, null], new float[16]));
        Assert.Throws<ArgumentException>(() => QuantOps.LinearShared(x, [a], [null], new float[9]));       // y size
        Assert.Throws<ArgumentException>(() => QuantOps.LinearShared(x, [a], [new float[7]], new float[8])); // bias size
        Assert.Throws<ArgumentException>(() => QuantOps.LinearShared(x, [a], [], new float[8]));            // bias count
        Assert.Throws<ArgumentException>(() => QuantOps.LinearShared(new float[100], [a], [null], new float[8]));
    }
}
