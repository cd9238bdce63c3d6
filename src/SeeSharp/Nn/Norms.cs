using SeeSharp.Engine.Kernels;

namespace SeeSharp.Nn;

/// <summary><c>torch.nn.LayerNorm</c> over the last dimension: (x - mean) / sqrt(var + eps) * weight + bias.</summary>
public sealed class LayerNorm
{
    private readonly float[] _weight, _bias;
    private readonly float _eps;

    /// <summary>weight, bias: [dim]; eps as in the config (rounded to fp32, as torch adds it to fp32 tensors).</summary>
    public LayerNorm(float[] weight, float[] bias, double eps)
    {
        if (weight.Length != bias.Length) throw new ArgumentException($"LayerNorm weight [{weight.Length}] and bias [{bias.Length}] differ");
        _weight = weight;
        _bias = bias;
        _eps = (float)eps;
        Dim = weight.Length;
    }

    /// <summary>Loads <c>{ws}.weight</c> and <c>{ws}.bias</c>, both [dim].</summary>
    public static LayerNorm Load(WeightSource ws, int dim, double eps) =>
        new(ws.GetFloats("weight", dim), ws.GetFloats("bias", dim), eps);

    /// <summary>Normalized size (last dimension).</summary>
    public int Dim { get; }

    /// <summary>y[rows, Dim] = LayerNorm(x[rows, Dim]) (y must not overlap x).</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y) => Ops.LayerNorm(x, y, Dim, _weight, _bias, _eps);
}

/// <summary>
/// Llama/Mistral/Idefics2 RMSNorm: weight * (x * rsqrt(mean(x²) + eps)), computed in fp32.
/// </summary>
public sealed class RmsNorm
{
    private readonly float[] _weight;
    private readonly float _eps;

    /// <summary>weight: [dim].</summary>
    public RmsNorm(float[] weight, double eps)
    {
        _weight = weight;
        _eps = (float)eps;
        Dim = weight.Length;
    }

    /// <summary>Loads <c>{ws}.weight</c> [dim].</summary>
    public static RmsNorm Load(WeightSource ws, int dim, double eps) => new(ws.GetFloats("weight", dim), eps);

    /// <summary>Normalized size (last dimension).</summary>
    public int Dim { get; }

    /// <summary>y[rows, Dim] = RmsNorm(x[rows, Dim]) (y must not overlap x).</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y) => Ops.RmsNorm(x, y, Dim, _weight, _eps);
}
