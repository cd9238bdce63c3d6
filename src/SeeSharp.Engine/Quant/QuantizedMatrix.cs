using SeeSharp.Engine.Kernels;

namespace SeeSharp.Engine.Quant;

/// <summary>
/// A quantized weight matrix W[rows = out_features, cols = in_features] (as torch's <c>nn.Linear.weight</c>) in one of
/// the <see cref="QuantScheme"/>s, stored as two tensors in the <see cref="QuantLayout"/> order: <see cref="QWeight"/>
/// (I8, or U8 nibble pairs for int4) and <see cref="Scales"/> (F32). Saved as <c>&lt;name&gt;.qweight</c>,
/// <c>&lt;name&gt;.scales</c> and <c>&lt;name&gt;.qshape</c> (I64 [rows, cols]); loading wraps the (memory-mapped) tensors
/// without copying or re-quantizing. Use with <see cref="QuantOps.Linear"/>.
/// </summary>
public sealed unsafe class QuantizedMatrix
{
    /// <summary>Suffix of the weight tensor's name.</summary>
    public const string QWeightSuffix = ".qweight";
    /// <summary>Suffix of the scales tensor's name.</summary>
    public const string ScalesSuffix = ".scales";
    /// <summary>Suffix of the [rows, cols] I64 tensor.</summary>
    public const string ShapeSuffix = ".qshape";

    private QuantizedMatrix(QuantConfig config, int rows, int cols, Tensor qweight, Tensor scales)
    {
        Config = config;
        Rows = rows;
        Cols = cols;
        RowsPadded = QuantLayout.RoundUp(rows, QuantLayout.PanelRows);
        ColsPadded = QuantLayout.RoundUp(cols, QuantLayout.ColumnPad(config.Scheme));
        QWeight = qweight;
        Scales = scales;
    }

    /// <summary>Scheme and group size.</summary>
    public QuantConfig Config { get; }
    /// <summary>The scheme.</summary>
    public QuantScheme Scheme => Config.Scheme;
    /// <summary>Output features.</summary>
    public int Rows { get; }
    /// <summary>Input features.</summary>
    public int Cols { get; }
    /// <summary>Rows rounded up to whole panels.</summary>
    public int RowsPadded { get; }
    /// <summary>Columns rounded up to the scheme's column padding.</summary>
    public int ColsPadded { get; }
    /// <summary>Panels of 4 rows.</summary>
    public int Panels => RowsPadded / QuantLayout.PanelRows;
    /// <summary>Chunks per row (64 bytes each).</summary>
    public int Chunks => ColsPadded / QuantLayout.ChunkCols(Scheme);
    /// <summary>Quantized values, 1-D, in <see cref="QuantLayout"/> order.</summary>
    public Tensor QWeight { get; }
    /// <summary>fp32 scales, 1-D, in <see cref="QuantLayout"/> order.</summary>
    public Tensor Scales { get; }
    /// <summary>Bytes of weights + scales (what a GEMV streams).</summary>
    public long ByteLength => QWeight.ByteLength + Scales.ByteLength;

    internal static long QWeightBytes(QuantScheme s, int rowsPadded, int colsPadded) =>
        (long)rowsPadded * (s == QuantScheme.Int4Group ? colsPadded / 2 : colsPadded);

    internal static long ScaleCount(QuantConfig c, int rowsPadded, int colsPadded) => c.Scheme switch
    {
        QuantScheme.Int8PerRow => rowsPadded,
        QuantScheme.Int8Block32 => (long)rowsPadded * (colsPadded / 32),
        _ => (long)rowsPadded * (colsPadded / c.GroupSize),
    };

    /// <summary>Quantizes a F32/F16/BF16 weight matrix (round to nearest; int8 maps ±absmax to ±127; int4 maps the
    /// value of largest magnitude to -8, as ggml's Q4_0). Runs on <see cref="WorkerPool.Default"/>.</summary>
    public static QuantizedMatrix Quantize(WeightMatrix w, QuantConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (w.Tensor is null) throw new ArgumentException("Quantize: default(WeightMatrix) has no tensor");
        var c = QuantConfig.Create(config.Scheme, config.GroupSize);
        int rowsPadded = QuantLayout.RoundUp(w.Rows, QuantLayout.PanelRows);
        int colsPadded = QuantLayout.RoundUp(Math.Max(w.Cols, 1), QuantLayout.ColumnPad(c.Scheme));
        var qweight = Tensor.Allocate(c.Scheme == QuantScheme.Int4Group ? DType.U8 : DType.I8, QWeightBytes(c.Scheme, rowsPadded, colsPadded));
        var scales = Tensor.Allocate(DType.F32, ScaleCount(c, rowsPadded, colsPadded));
        var m = new QuantizedMatrix(c, w.Rows, w.Cols, qweight, scales);
        var src = w;
        WorkerPool.Default.For(m.Panels, p =>
        {
            var row = new float[colsPadded];
            for (int rin = 0; rin < QuantLayout.PanelRows; rin++)
            {
                int r = p * QuantLayout.PanelRows + rin;
                Array.Clear(row);
                if (r < src.Rows) ReadRow(src, r, row);
                m.QuantizeRow(r, row);
            }
        });
        GC.KeepAlive(w.Tensor);
        return m;
    }

    /// <summary>Quantizes a 2-D (or flattened N-D) F32/F16/BF16 tensor.</summary>
    public static QuantizedMatrix Quantize(Tensor t, QuantConfig config) => Quantize(new WeightMatrix(t), config);

    /// <summary>Row <paramref name="r"/> of <paramref name="w"/> as fp32 into <paramref name="dst"/>[0..cols).</summary>
    internal static void ReadRow(WeightMatrix w, int r, Span<float> dst)
    {
        long i0 = (long)r * w.Cols;
        byte* p = w.Tensor.Pointer;
        switch (w.DType)
        {
            case DType.F32:
                new ReadOnlySpan<float>((float*)p + i0, w.Cols).CopyTo(dst);
                break;
            case DType.BF16:
                for (int c = 0; c < w.Cols; c++) dst[c] = DTypes.BF16ToSingle(((ushort*)p)[i0 + c]);
                break;
            default:
                for (int c = 0; c < w.Cols; c++) dst[c] = DTypes.F16ToSingle(((ushort*)p)[i0 + c]);
                break;
        }
    }

    // Quantizes one (zero-padded, length ColsPadded) row into its place in the layout.
    private void QuantizeRow(int r, float[] row)
    {
        var s = Scheme;
        sbyte* q = (sbyte*)QWeight.Pointer;
        float* sc = (float*)Scales.Pointer;
        switch (s)
        {
            case QuantScheme.Int8PerRow:
            {
                float d = QuantMath.Int8Scale(row, 0, ColsPadded);
                sc[r] = d;
                float id = d == 0 ? 0 : 1f / d;
                for (int c = 0; c < ColsPadded; c++)
                    q[QuantLayout.WeightByteOffset(s, ColsPadded, r, c)] = QuantMath.RoundInt8(row[c] * id);
                break;
            }
            case QuantScheme.Int8Block32:
                for (int b = 0; b < ColsPadded; b += 32)
                {
                    float d = QuantMath.Int8Scale(row, b, 32);
                    sc[QuantLayout.ScaleIndex(s, 32, ColsPadded, r, b)] = d;
                    float id = d == 0 ? 0 : 1f / d;
                    for (int c = b; c < b + 32; c++)
                        q[QuantLayout.WeightByteOffset(s, ColsPadded, r, c)] = QuantMath.RoundInt8(row[c] * id);
                }
                break;
            default:
            {
                int g = Config.GroupSize;
                byte* u = (byte*)q;
                for (int b = 0; b < ColsPadded; b += g)
                {
                    float d = QuantMath.Int4Scale(row, b, g);
                    sc[QuantLayout.ScaleIndex(s, g, ColsPadded, r, b)] = d;
                    float id = d == 0 ? 0 : 1f / d;
                    for (int c = b; c < b + g; c++)
                    {
                        int v = QuantMath.RoundInt4(row[c] * id) + 8;             // [0, 15]
                        long off = QuantLayout.WeightByteOffset(s, ColsPadded, r, c);
                        u[off] = (c % 128) < 64 ? (byte)((u[off] & 0xF0) | v) : (byte)((u[off] & 0x0F) | (v << 4));
                    }
                }
                break;
            }
        }
    }

    /// <summary>The quantized integer of row r, column c (int4: in [-8, 7]).</summary>
    public int QuantAt(int r, int c)
    {
        long off = QuantLayout.WeightByteOffset(Scheme, ColsPadded, r, c);
        if (Scheme != QuantScheme.Int4Group) return ((sbyte*)QWeight.Pointer)[off];
        byte b = QWeight.Pointer[off];
        return ((c % 128) < 64 ? b & 0x0F : b >> 4) - 8;
    }

    /// <summary>The scale of row r, column c.</summary>
    public float ScaleAt(int r, int c) => ((float*)Scales.Pointer)[QuantLayout.ScaleIndex(Scheme, Config.GroupSize, ColsPadded, r, c)];

    /// <summary>The reference dequantization: W'[rows, cols] = q * scale, fp32, row-major.</summary>
    public float[] Dequantize()
    {
        var w = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Cols; c++)
                w[(long)r * Cols + c] = QuantAt(r, c) * ScaleAt(r, c);
        GC.KeepAlive(this);
        return w;
    }

    /// <summary>The tensors to save under <paramref name="name"/> (e.g. <c>model.text_model.layers.0.mlp.up_proj</c>):
    /// <c>name.qweight</c>, <c>name.scales</c>, <c>name.qshape</c>.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> ToTensors(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        yield return new(name + QWeightSuffix, QWeight);
        yield return new(name + ScalesSuffix, Scales);
        yield return new(name + ShapeSuffix, Tensor.FromArray(new long[] { Rows, Cols }, 2));
    }

    /// <summary>
    /// Wraps saved tensors (no copy, no re-quantization): <paramref name="get"/> returns the tensor of a full name
    /// (e.g. <c>SafetensorsCheckpoint.Get</c>).
    /// </summary>
    /// <exception cref="FormatException">A tensor's dtype or size does not match the config and the saved shape; the
    /// message names the tensor.</exception>
    public static QuantizedMatrix FromTensors(Func<string, Tensor> get, string name, QuantConfig config)
    {
        ArgumentNullException.ThrowIfNull(get);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var c = QuantConfig.Create(config.Scheme, config.GroupSize);
        var shape = get(name + ShapeSuffix);
        if (shape.DType != DType.I64 || shape.ElementCount != 2)
            throw new FormatException($"{name}{ShapeSuffix}: I64 [2] (rows, cols) expected, got {shape}");
        var rc = shape.ToInt64Array();
        if (rc[0] < 1 || rc[1] < 1 || rc[0] > int.MaxValue - 8 || rc[1] > int.MaxValue - 256)
            throw new FormatException($"{name}{ShapeSuffix}: rows {rc[0]}, cols {rc[1]} out of range");
        int rows = (int)rc[0], cols = (int)rc[1];
        int rowsPadded = QuantLayout.RoundUp(rows, QuantLayout.PanelRows);
        int colsPadded = QuantLayout.RoundUp(cols, QuantLayout.ColumnPad(c.Scheme));
        var qweight = get(name + QWeightSuffix);
        var wantDType = c.Scheme == QuantScheme.Int4Group ? DType.U8 : DType.I8;
        long wantBytes = QWeightBytes(c.Scheme, rowsPadded, colsPadded);
        if (qweight.DType != wantDType || qweight.ElementCount != wantBytes)
            throw new FormatException($"{name}{QWeightSuffix}: {wantDType} with {wantBytes} elements expected for {c.Layout} [{rows}, {cols}], got {qweight}");
        var scales = get(name + ScalesSuffix);
        long wantScales = ScaleCount(c, rowsPadded, colsPadded);
        if (scales.DType != DType.F32 || scales.ElementCount != wantScales)
            throw new FormatException($"{name}{ScalesSuffix}: F32 with {wantScales} elements expected for {c.Layout} [{rows}, {cols}], got {scales}");
        return new QuantizedMatrix(c, rows, cols, qweight.Reshape(wantBytes), scales.Reshape(wantScales));
    }

    /// <inheritdoc/>
    public override string ToString() => $"QuantizedMatrix {Config.Layout} [{Rows}, {Cols}]";
}
