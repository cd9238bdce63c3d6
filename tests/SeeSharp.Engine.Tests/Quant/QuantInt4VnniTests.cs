// Compares: the Int4Group kernels (AVX-VNNI GEMV and repacked GEMM where the CPU has AVX-VNNI; the AVX-512 / AVX2 /
// scalar ones when test.sh reruns this category with DOTNET_EnableAVXVNNI=0, DOTNET_EnableAVX512=0,
// DOTNET_EnableHWIntrinsic=0) (a) against the scalar twin QuantReference.Linear (Tolerances.Quant.KernelVsTwinRelative)
// and (b) each GEMM row against an m = 1 call of the same row (bit-identical without AVX-VNNI; with it the repacked
// GEMM sums in another fp32 order: Tolerances.Quant.Int4GemmVsGemvRelative): every tile shape (m = 2..17:
// 4-row tiles + 0..3 leftover rows), groups 32 / 64 / 128, columns not a multiple of 128, rows not a multiple of 8
// (a partial panel and an octet with one panel), one and several repack blocks.
using SeeSharp.Engine.Quant;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests.Quant;

public sealed class QuantInt4VnniTests
{
    private static float[] Gaussian(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            v[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return v;
    }

    [Theory]
    [Trait("Category", "Kernels")]
    [InlineData(32, 13, 200, 0)]
    [InlineData(64, 67, 416, 0)]
    [InlineData(128, 21, 320, 0)]
    [InlineData(32, 67, 416, 1)]     // repack blocks of one octet: many blocks, the last one a single panel
    [InlineData(128, 45, 200, 2)]    // blocks of two octets (the two-octet tile)
    [InlineData(64, 107, 160, 2)]    // 27 panels: a block of 3 panels (two-octet tile whose second octet is one partial panel)
    public void Int4GemmMatchesTwinAndGemvForEveryTileShape(int group, int rows, int cols, int blockOctets)
    {
        var w = Gaussian(rows * cols, group + rows);
        var q = QuantizedMatrix.Quantize(Tensor.FromArray(w, rows, cols), QuantConfig.Create(QuantScheme.Int4Group, group));
        var bias = Gaussian(rows, 3);
        int minRows = AvxVnniInt4Kernels.RepackMinRows;
        long blockBytes = AvxVnniInt4Kernels.RepackBlockBytes;
        try
        {
            AvxVnniInt4Kernels.RepackMinRows = 2;         // the repacked GEMM from m = 2 on (default: from m = 8)
            if (blockOctets > 0) AvxVnniInt4Kernels.RepackBlockBytes = blockOctets * 8L * q.ColsPadded;
            var one = new float[rows];
            for (int m = 1; m <= 17; m++)
            {
                var x = Gaussian(m * cols, 100 * m + rows);
                var y = new float[m * rows];
                var yRef = new float[m * rows];
                QuantOps.Linear(x, m, q, bias, y);
                QuantReference.Linear(x, m, q, bias, yRef);
                double max = yRef.Max(Math.Abs);
                for (int k = 0; k < y.Length; k++)
                    Assert.True(Math.Abs(y[k] - yRef[k]) <= Tolerances.Quant.KernelVsTwinRelative * Math.Max(max, 1e-3),
                        $"{QuantOps.Isa} vnni {AvxVnniInt4Kernels.IsSupported} g{group} rows {rows} cols {cols} m {m} [{k}]: {y[k]} vs twin {yRef[k]}");
                for (int i = 0; i < m; i++)
                {
                    QuantOps.Linear(x.AsSpan(i * cols, cols), 1, q, bias, one);
                    AssertGemmRowMatchesGemv(one, y.AsSpan(i * rows, rows), $"{QuantOps.Isa} g{group} rows {rows} cols {cols} m {m} row {i}");
                }
            }
        }
        finally
        {
            AvxVnniInt4Kernels.RepackMinRows = minRows;
            AvxVnniInt4Kernels.RepackBlockBytes = blockBytes;
        }
    }

    /// <summary>Without AVX-VNNI the GEMM tiles do the GEMV's arithmetic in its order: exact. With it, the repacked
    /// GEMM accumulates the same exact block sums in another fp32 order: Tolerances.Quant.Int4GemmVsGemvRelative.</summary>
    internal static void AssertGemmRowMatchesGemv(ReadOnlySpan<float> gemv, ReadOnlySpan<float> gemm, string what)
    {
        if (!AvxVnniInt4Kernels.IsSupported)
        {
            Assert.True(gemv.SequenceEqual(gemm), $"{what}: GEMM row differs from the m = 1 call (expected bit-identical)");
            return;
        }
        float max = 1e-3f;
        foreach (float v in gemv) max = Math.Max(max, Math.Abs(v));
        for (int r = 0; r < gemv.Length; r++)
            Assert.True(Math.Abs(gemm[r] - gemv[r]) <= Tolerances.Quant.Int4GemmVsGemvRelative * max,
                $"{what} [{r}]: GEMM {gemm[r]} vs m = 1 call {gemv[r]} (AVX-VNNI)");
    }
}
