// Compares: (a) the quantized panel layout against offsets worked out by hand (layout test); (b) quantize ->
// dequantize against the fp32 input (error bounds in steps of the scale, Tolerances.Quant.*StepsPerElement);
// (c) QuantOps.Linear (SIMD, threaded; rerun by test.sh with AVX-512 and all intrinsics disabled) against the scalar
// twin QuantReference.Linear (Tolerances.Quant.KernelVsTwinRelative); (d) the quantized product against the fp32
// product (normalized MSE, Tolerances.Quant.*LinearNmse); (e) save -> load through safetensors: bit-exact tensors
// and identical outputs; (f) quantization_config JSON round trip and malformed configs/tensors rejected; (g) the GEMM
// (tiles) against m GEMV calls and the AVX-512 activation quantizer against the scalar one: both exact (bit-identical;
// Int4Group with AVX-VNNI: Tolerances.Quant.Int4GemmVsGemvRelative, see QuantInt4VnniTests).
using System.Text.Json.Nodes;
using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Quant;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests.Quant;

public sealed class QuantTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seesharp-quant-" + Guid.NewGuid().ToString("N"));

    public QuantTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    public static readonly TheoryData<QuantScheme, int> Schemes = new()
    {
        { QuantScheme.Int8PerRow, 0 },
        { QuantScheme.Int8Block32, 32 },
        { QuantScheme.Int4Group, 32 },
        { QuantScheme.Int4Group, 64 },
        { QuantScheme.Int4Group, 128 },
    };

    private static float[] Gaussian(int n, int seed, float std = 1f)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            v[i] = std * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static QuantizedMatrix Make(QuantScheme s, int g, int rows, int cols, int seed, out float[] w)
    {
        w = Gaussian(rows * cols, seed);
        return QuantizedMatrix.Quantize(Tensor.FromArray(w, rows, cols), QuantConfig.Create(s, g));
    }

    // ---- layout -----------------------------------------------------------------------------------------------

    [Fact]
    public unsafe void LayoutInt8PerRowPutsValueAtHandComputedOffset()
    {
        // 8 x 256: row 5 = panel 1, row-in-panel 1; column 70 = chunk 1, offset 6 -> ((1*4 + 1)*4 + 1)*64 + 6
        Assert.Equal(1350, QuantLayout.WeightByteOffset(QuantScheme.Int8PerRow, 256, 5, 70));
        var w = new float[8 * 256];
        w[5 * 256 + 70] = -2f;
        var q = QuantizedMatrix.Quantize(Tensor.FromArray(w, 8, 256), QuantConfig.Create(QuantScheme.Int8PerRow));
        var raw = q.QWeight.AsSpan<sbyte>();
        for (int i = 0; i < raw.Length; i++) Assert.Equal(i == 1350 ? -127 : 0, raw[i]);
        var sc = q.Scales.AsSpan<float>();
        Assert.Equal(8, sc.Length);
        for (int r = 0; r < 8; r++) Assert.Equal(r == 5 ? 2f / 127f : 0f, sc[r]);
    }

    [Fact]
    public unsafe void LayoutInt8Block32PutsValueAndScaleAtHandComputedOffsets()
    {
        // 8 x 128 (2 chunks): (5, 70): panel 1, rin 1, chunk 1, offset 6 -> ((1*2 + 1)*4 + 1)*64 + 6 = 838;
        // its scale: block (70 % 64) / 32 = 0 of chunk 1 -> ((1*2 + 1)*4 + 1)*2 + 0 = 26
        Assert.Equal(838, QuantLayout.WeightByteOffset(QuantScheme.Int8Block32, 128, 5, 70));
        Assert.Equal(26, QuantLayout.ScaleIndex(QuantScheme.Int8Block32, 32, 128, 5, 70));
        var w = new float[8 * 128];
        w[5 * 128 + 70] = 3f;
        var q = QuantizedMatrix.Quantize(Tensor.FromArray(w, 8, 128), QuantConfig.Create(QuantScheme.Int8Block32));
        var raw = q.QWeight.AsSpan<sbyte>();
        for (int i = 0; i < raw.Length; i++) Assert.Equal(i == 838 ? 127 : 0, raw[i]);
        var sc = q.Scales.AsSpan<float>();
        Assert.Equal(8 * 4, sc.Length);
        for (int i = 0; i < sc.Length; i++) Assert.Equal(i == 26 ? 3f / 127f : 0f, sc[i]);
    }

    [Fact]
    public unsafe void LayoutInt4PacksNibblesAtHandComputedOffsets()
    {
        // 8 x 256, groups of 32: (5, 70): panel 1, rin 1, chunk 0, column 70 >= 64 -> HIGH nibble of byte 6:
        // ((1*2 + 0)*4 + 1)*64 + 6 = 582. Scale: group 70/32 = 2 -> (1*8 + 2)*4 + 1 = 41.
        Assert.Equal(582, QuantLayout.WeightByteOffset(QuantScheme.Int4Group, 256, 5, 70));
        Assert.Equal(41, QuantLayout.ScaleIndex(QuantScheme.Int4Group, 32, 256, 5, 70));
        var w = new float[8 * 256];
        w[5 * 256 + 70] = 1f;                       // max magnitude 1 -> d = 1 / -8, q = -8, stored 0
        var q = QuantizedMatrix.Quantize(Tensor.FromArray(w, 8, 256), QuantConfig.Create(QuantScheme.Int4Group, 32));
        var raw = q.QWeight.AsSpan<byte>();
        Assert.Equal(8 * 256 / 2, raw.Length);
        for (int i = 0; i < raw.Length; i++) Assert.Equal(i == 582 ? 0x08 : 0x88, raw[i]);   // zeros are stored as 8
        var sc = q.Scales.AsSpan<float>();
        for (int i = 0; i < sc.Length; i++) Assert.Equal(i == 41 ? -0.125f : 0f, sc[i]);
        Assert.Equal(-8, q.QuantAt(5, 70));
        Assert.Equal(0, q.QuantAt(5, 6));
    }

    [Fact]
    public void PaddingRoundsRowsAndColumns()
    {
        var q = Make(QuantScheme.Int8PerRow, 0, 5, 100, 1, out _);
        Assert.Equal((8, 128, 2, 2), (q.RowsPadded, q.ColsPadded, q.Panels, q.Chunks));
        var q4 = Make(QuantScheme.Int4Group, 64, 3, 200, 1, out _);
        Assert.Equal((4, 256, 2), (q4.RowsPadded, q4.ColsPadded, q4.Chunks));
        Assert.Equal(4 * 128, q4.QWeight.ElementCount);
        Assert.Equal(4 * 4, q4.Scales.ElementCount);
    }

    // ---- quantize -> dequantize ---------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Schemes))]
    public void DequantizeIsWithinBoundOfInput(QuantScheme s, int g)
    {
        foreach (var (rows, cols) in new[] { (1, 32), (3, 100), (7, 256), (67, 160) })
        {
            var q = Make(s, g, rows, cols, rows * 1000 + cols, out var w);
            var back = q.Dequantize();
            double steps = s == QuantScheme.Int4Group ? Tolerances.Quant.Int4StepsPerElement : Tolerances.Quant.Int8StepsPerElement;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    double err = Math.Abs(w[r * cols + c] - back[r * cols + c]);
                    double bound = steps * Math.Abs(q.ScaleAt(r, c)) + 1e-30;
                    Assert.True(err <= bound, $"{s} g{g} [{rows}x{cols}] ({r},{c}): |{w[r * cols + c]} - {back[r * cols + c]}| = {err} > {bound}");
                }
        }
    }

    [Fact]
    public void QuantizeAcceptsBf16AndF16LikeF32()
    {
        var w = Gaussian(4 * 64, 3);
        var bf = w.Select(DTypes.SingleToBF16).ToArray();
        var asF32 = bf.Select(DTypes.BF16ToSingle).ToArray();
        var c = QuantConfig.Create(QuantScheme.Int8Block32);
        var a = QuantizedMatrix.Quantize(Tensor.FromArray(DType.BF16, bf, 4, 64), c);
        var b = QuantizedMatrix.Quantize(Tensor.FromArray(asF32, 4, 64), c);
        Assert.Equal(b.QWeight.AsSpan<sbyte>().ToArray(), a.QWeight.AsSpan<sbyte>().ToArray());
        Assert.Equal(b.Scales.AsSpan<float>().ToArray(), a.Scales.AsSpan<float>().ToArray());
        var h = w.Select(DTypes.SingleToF16).ToArray();
        var hF32 = h.Select(DTypes.F16ToSingle).ToArray();
        var e = QuantizedMatrix.Quantize(Tensor.FromArray(DType.F16, h, 4, 64), c);
        var f = QuantizedMatrix.Quantize(Tensor.FromArray(hF32, 4, 64), c);
        Assert.Equal(f.QWeight.AsSpan<sbyte>().ToArray(), e.QWeight.AsSpan<sbyte>().ToArray());
    }

    // ---- kernels ------------------------------------------------------------------------------------------------

    [Theory]
    [Trait("Category", "Kernels")]
    [MemberData(nameof(Schemes))]
    public void LinearMatchesScalarTwin(QuantScheme s, int g)
    {
        int[] rowsList = [1, 2, 3, 4, 5, 17, 67];
        int[] colsList = s == QuantScheme.Int8PerRow ? [32, 128, 160, 384] : [32, 64, 96, 160, 384];
        int[] ms = [1, 2, 5, 7];
        int seed = 0;
        foreach (int rows in rowsList)
            foreach (int cols in colsList)
            {
                var q = Make(s, g, rows, cols, ++seed, out _);
                var bias = seed % 2 == 0 ? Gaussian(rows, seed + 7) : [];
                foreach (int m in ms)
                {
                    if (rows > 17 && m > 2 && cols > 160) continue;       // keep the scalar twin's work small
                    var x = Gaussian(m * cols, seed * 31 + m);
                    var y = new float[m * rows];
                    var yRef = new float[m * rows];
                    QuantOps.Linear(x, m, q, bias, y);
                    QuantReference.Linear(x, m, q, bias, yRef);
                    double max = yRef.Max(Math.Abs);
                    for (int i = 0; i < y.Length; i++)
                        Assert.True(Math.Abs(y[i] - yRef[i]) <= Tolerances.Quant.KernelVsTwinRelative * Math.Max(max, 1e-3),
                            $"{QuantOps.Isa} {s} g{g} rows {rows} cols {cols} m {m} [{i}]: {y[i]} vs twin {yRef[i]}");
                }
            }
    }

    [Theory]
    [Trait("Category", "Kernels")]
    [MemberData(nameof(Schemes))]
    public unsafe void VectorizedActivationQuantizationEqualsScalar(QuantScheme s, int g)
    {
        // property: the vectorized activation quantizer (AVX-512, or AVX2 when test.sh disables AVX-512; threaded over
        // rows) gives the same bytes and scales as the scalar loop (exact). Rows: Gaussian; exact .5 ties of both signs
        // (amax 127 -> d = 1); all zeros; tiny values; a NaN and an infinity (the scalar fallback); cols not a multiple
        // of the block (zero padding).
        const int cols = 1000, m = 24;
        var q = Make(s, g, 8, cols, 3, out _);
        var x = Gaussian(m * cols, 4, 3f);
        for (int c = 0; c < cols; c++)
        {
            x[cols + c] = c % 7 == 0 ? 127f : (c % 2 == 0 ? 1 : -1) * ((c % 127) + 0.5f);
            x[2 * cols + c] = 0;
            x[3 * cols + c] = 1e-40f * (c % 5 - 2);
        }
        x[4 * cols + 5] = float.NaN;
        x[5 * cols + 300] = float.PositiveInfinity;
        using var vec = new QuantizedActivations(x, m, cols, q);
        using var sca = new QuantizedActivations(x, m, cols, q, vectorized: false);
        int blocks = q.ColsPadded / vec.Block, groups = s == QuantScheme.Int4Group ? q.ColsPadded / g : 0;
        for (int i = 0; i < m; i++)
        {
            ActRow a = vec.Row(i), b = sca.Row(i);
            for (int c = 0; c < q.ColsPadded; c++)
            {
                Assert.True(a.Q[c] == b.Q[c] && a.Abs[c] == b.Abs[c] && a.Sign[c] == b.Sign[c],
                    $"{QuantOps.Isa} {s} row {i} col {c}: q {a.Q[c]}/{a.Abs[c]}/{a.Sign[c]} vs scalar {b.Q[c]}/{b.Abs[c]}/{b.Sign[c]}");
            }
            for (int j = 0; j < blocks; j++)
                Assert.Equal(BitConverter.SingleToInt32Bits(b.D[j]), BitConverter.SingleToInt32Bits(a.D[j]));
            for (int j = 0; j < groups; j++)
                Assert.Equal(BitConverter.SingleToInt32Bits(b.GroupOffset[j]), BitConverter.SingleToInt32Bits(a.GroupOffset[j]));
        }
    }

    [Theory]
    [Trait("Category", "Kernels")]
    [MemberData(nameof(Schemes))]
    public void GemmRowsEqualGemvExactly(QuantScheme s, int g)
    {
        // the GEMM path (m > 1: L2 blocks; 4-row x 4-row register tiles where the ISA has them, the rest row by row)
        // does the same per-element arithmetic: bit-identical to m == 1 calls (tiles + 3 leftover rows, partial panel)
        const int rows = 67, cols = 384;
        var q = Make(s, g, rows, cols, 11, out _);
        foreach (int m in new[] { 4, 7, 13 })
        {
            var x = Gaussian(m * cols, 12 + m);
            var bias = Gaussian(rows, 5);
            var y = new float[m * rows];
            QuantOps.Linear(x, m, q, bias, y);
            var one = new float[rows];
            for (int i = 0; i < m; i++)
            {
                QuantOps.Linear(x.AsSpan(i * cols, cols), 1, q, bias, one);
                if (s == QuantScheme.Int4Group)   // AVX-VNNI repacked GEMM: another fp32 order (QuantInt4VnniTests)
                    QuantInt4VnniTests.AssertGemmRowMatchesGemv(one, y.AsSpan(i * rows, rows), $"{QuantOps.Isa} g{g} m {m} row {i}");
                else
                    Assert.Equal(one, y.AsSpan(i * rows, rows).ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void QuantizedLinearIsCloseToFp32(QuantScheme s, int g)
    {
        const int rows = 64, cols = 512, m = 2;
        var q = Make(s, g, rows, cols, 21, out var w);
        var x = Gaussian(m * cols, 22);
        var y = new float[m * rows];
        QuantOps.Linear(x, m, q, [], y);
        var yF = new float[m * rows];
        Reference.Linear(x, m, new WeightMatrix(Tensor.FromArray(w, rows, cols)), [], yF);
        double num = 0, den = 0;
        for (int i = 0; i < y.Length; i++) { num += (y[i] - yF[i]) * (double)(y[i] - yF[i]); den += yF[i] * (double)yF[i]; }
        double bound = s switch
        {
            QuantScheme.Int8PerRow => Tolerances.Quant.Int8PerRowLinearNmse,
            QuantScheme.Int8Block32 => Tolerances.Quant.Int8Block32LinearNmse,
            _ => Tolerances.Quant.Int4LinearNmse,
        };
        Assert.True(num / den <= bound, $"{s} g{g}: NMSE {num / den:E3} > {bound:E1}");
    }

    [Fact]
    public void LinearRejectsBadSizes()
    {
        var q = Make(QuantScheme.Int8PerRow, 0, 4, 64, 1, out _);
        var ex = Assert.Throws<ArgumentException>(() => QuantOps.Linear(new float[63], 1, q, [], new float[4]));
        Assert.Contains("63", ex.Message);
        Assert.Throws<ArgumentException>(() => QuantOps.Linear(new float[64], 1, q, new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => QuantOps.Linear(new float[64], 1, q, [], new float[3]));
    }

    // ---- persistence ----------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Schemes))]
    public void SaveLoadRoundTripIsBitExact(QuantScheme s, int g)
    {
        var q = Make(s, g, 13, 200, 5, out _);
        string path = Path.Combine(_dir, $"q{(int)s}_{g}.safetensors");
        SafetensorsWriter.Write(path, q.ToTensors("model.layers.0.mlp.up_proj"));
        using var f = SafetensorsFile.Open(path);
        var cfg = QuantConfig.FromJson(JsonNode.Parse(q.Config.ToJson().ToJsonString()));
        var back = QuantizedMatrix.FromTensors(f.Get, "model.layers.0.mlp.up_proj", cfg);
        Assert.Equal((q.Rows, q.Cols, q.Config), (back.Rows, back.Cols, back.Config));
        Assert.Equal(q.QWeight.AsBytes().ToArray(), back.QWeight.AsBytes().ToArray());
        Assert.Equal(q.Scales.AsBytes().ToArray(), back.Scales.AsBytes().ToArray());
        var x = Gaussian(3 * 200, 6);
        var y1 = new float[3 * 13];
        var y2 = new float[3 * 13];
        QuantOps.Linear(x, 3, q, [], y1);
        QuantOps.Linear(x, 3, back, [], y2);
        Assert.Equal(y1, y2);
    }

    [Fact]
    public void FromTensorsRejectsWrongSizesNamingTheTensor()
    {
        var q = Make(QuantScheme.Int4Group, 64, 8, 128, 5, out _);
        var t = q.ToTensors("w").ToDictionary(kv => kv.Key, kv => kv.Value);
        t["w.scales"] = Tensor.Allocate(DType.F32, 3);
        var ex = Assert.Throws<FormatException>(() => QuantizedMatrix.FromTensors(n => t[n], "w", q.Config));
        Assert.Contains("w.scales", ex.Message);
        t = q.ToTensors("w").ToDictionary(kv => kv.Key, kv => kv.Value);
        t["w.qweight"] = Tensor.Allocate(DType.I8, q.QWeight.ElementCount);
        ex = Assert.Throws<FormatException>(() => QuantizedMatrix.FromTensors(n => t[n], "w", q.Config));
        Assert.Contains("w.qweight", ex.Message);
        // the same bytes read as another layout do not fit either
        t = q.ToTensors("w").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Throws<FormatException>(() => QuantizedMatrix.FromTensors(n => t[n], "w", QuantConfig.Create(QuantScheme.Int4Group, 32)));
    }

    [Fact]
    public void ConfigJsonRoundTripsAndRejectsMismatches()
    {
        foreach (var c in new[] { QuantConfig.Create(QuantScheme.Int8PerRow), QuantConfig.Create(QuantScheme.Int8Block32), QuantConfig.Create(QuantScheme.Int4Group, 128) })
        {
            var j = c.ToJson();
            Assert.Equal("seesharp", (string?)j["quant_method"]);
            Assert.Equal(c, QuantConfig.FromJson(JsonNode.Parse(j.ToJsonString())));
        }
        Assert.Contains("bits", Assert.Throws<FormatException>(() => QuantConfig.FromJson(JsonNode.Parse("""{"quant_method":"seesharp","bits":4,"group_size":0,"layout":"int8_row_p4"}"""))).Message);
        Assert.Contains("gptq", Assert.Throws<FormatException>(() => QuantConfig.FromJson(JsonNode.Parse("""{"quant_method":"gptq","bits":4,"group_size":128,"layout":"int4_g128_p4"}"""))).Message);
        Assert.Contains("int3", Assert.Throws<FormatException>(() => QuantConfig.FromJson(JsonNode.Parse("""{"quant_method":"seesharp","bits":3,"group_size":32,"layout":"int3"}"""))).Message);
        Assert.Throws<ArgumentException>(() => QuantConfig.Create(QuantScheme.Int4Group, 48));
    }
}
