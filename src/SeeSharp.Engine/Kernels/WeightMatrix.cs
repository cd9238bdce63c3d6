namespace SeeSharp.Engine.Kernels;

/// <summary>
/// A weight matrix W[rows = out_features, cols = in_features], row-major, in its stored dtype (F32, F16 or BF16),
/// as torch's <c>nn.Linear.weight</c>. An N-D tensor is flattened to [shape[0], product(rest)].
/// </summary>
public readonly struct WeightMatrix
{
    /// <summary>Wraps <paramref name="t"/> (no copy).</summary>
    /// <exception cref="ArgumentException">Rank 0, a dtype other than F32/F16/BF16, or a dimension over int.MaxValue.</exception>
    public WeightMatrix(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DType is not (DType.F32 or DType.F16 or DType.BF16))
            throw new ArgumentException($"WeightMatrix: {t} has dtype {t.DType}; F32, F16 or BF16 expected", nameof(t));
        if (t.Rank < 1)
            throw new ArgumentException($"WeightMatrix: {t} is a scalar; a matrix [rows, cols] expected", nameof(t));
        long rows = t.Shape[0];
        long cols = 1;
        for (int i = 1; i < t.Rank; i++) cols *= t.Shape[i];   // cannot overflow: the tensor's element count did not
        if (rows > int.MaxValue || cols > int.MaxValue)
            throw new ArgumentException($"WeightMatrix: {t} has a dimension over int.MaxValue", nameof(t));
        Tensor = t;
        DType = t.DType;
        Rows = (int)rows;
        Cols = (int)cols;
    }

    /// <summary>Stored element type (F32, F16 or BF16).</summary>
    public DType DType { get; }
    /// <summary>Output features.</summary>
    public int Rows { get; }
    /// <summary>Input features.</summary>
    public int Cols { get; }
    /// <summary>The wrapped tensor.</summary>
    public Tensor Tensor { get; }

    /// <summary>Element (r, c) as fp32 (slow; for references and tests).</summary>
    public unsafe float At(int r, int c)
    {
        long i = (long)r * Cols + c;
        byte* p = Tensor.Pointer;
        return DType switch
        {
            DType.F32 => ((float*)p)[i],
            DType.BF16 => DTypes.BF16ToSingle(((ushort*)p)[i]),
            _ => DTypes.F16ToSingle(((ushort*)p)[i]),
        };
    }
}
