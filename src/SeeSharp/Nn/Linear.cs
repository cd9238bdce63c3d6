using SeeSharp.Engine;
using SeeSharp.Engine.Kernels;
using SeeSharp.Engine.Quant;

namespace SeeSharp.Nn;

/// <summary>
/// A linear layer y = x·Wᵀ (+ b), W[out_features, in_features] as in <c>torch.nn.Linear</c>: dense weights
/// (<see cref="DenseLinear"/>) or int8 / int4 blocks (<see cref="QuantizedLinear"/>) behind the same <see cref="Forward"/>.
/// </summary>
public abstract class Linear
{
    /// <summary>Creates a layer of the given sizes (both &gt; 0).</summary>
    protected Linear(int inFeatures, int outFeatures, string name, float[]? bias = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        if (bias is not null && bias.Length != outFeatures)
            throw new ArgumentException($"{name}: bias has {bias.Length} elements, the layer has {outFeatures} outputs");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Name = name;
        _bias = bias;
    }

    private readonly float[]? _bias;

    /// <summary>The fp32 bias [OutFeatures], or empty when the layer has none.</summary>
    protected ReadOnlySpan<float> Bias => _bias;

    /// <summary>The bias array itself (null when none), for kernels that take several layers' biases at once.</summary>
    internal float[]? BiasArray => _bias;

    /// <summary>Columns of x.</summary>
    public int InFeatures { get; }
    /// <summary>Columns of y.</summary>
    public int OutFeatures { get; }
    /// <summary>The checkpoint name of the module (for error messages), e.g. <c>model.text_model.layers.0.mlp.up_proj</c>.</summary>
    public string Name { get; }

    /// <summary>y[m, OutFeatures] = x[m, InFeatures] · Wᵀ (+ bias).</summary>
    public void Forward(ReadOnlySpan<float> x, int m, Span<float> y)
    {
        if (m < 0 || x.Length < (long)m * InFeatures || y.Length < (long)m * OutFeatures)
            throw new ArgumentException(
                $"{Name}: Linear({InFeatures} -> {OutFeatures}) got m={m}, x of {x.Length} and y of {y.Length} elements");
        if (m == 0) return;
        ForwardCore(x[..(m * InFeatures)], m, y[..(m * OutFeatures)]);
    }

    /// <summary>The computation, with sizes already checked: x is exactly [m, InFeatures], y exactly [m, OutFeatures].</summary>
    protected abstract void ForwardCore(ReadOnlySpan<float> x, int m, Span<float> y);

    /// <summary>
    /// Loads <c>{ws}.weight</c> [outFeatures, inFeatures] (and <c>{ws}.bias</c> [outFeatures] when <paramref name="bias"/>)
    /// as a dense layer that keeps the weight in its stored dtype (memory-mapped, no copy).
    /// </summary>
    public static Linear Load(WeightSource ws, int inFeatures, int outFeatures, bool bias)
    {
        var b = bias ? ws.GetFloats("bias", outFeatures) : null;
        var q = ws.Quantization;
        if (q?.Stored is QuantConfig stored && ws.Contains("qweight"))
        {
            // A quantized checkpoint (`seesharp quantize`): wrap the memory-mapped blocks, no re-quantization. Whichever
            // modules it quantized are used as stored.
            var matrix = QuantizedMatrix.FromTensors(n => ws.GetRaw(n[(ws.Prefix.Length + 1)..]), ws.Prefix, stored);
            if (matrix.Rows != outFeatures || matrix.Cols != inFeatures)
                throw new InvalidDataException($"{ws.Prefix}: quantized weight is [{matrix.Rows}, {matrix.Cols}], expected [{outFeatures}, {inFeatures}]");
            return new QuantizedLinear(matrix, b, ws.Prefix);
        }
        if (q?.AtLoad is QuantConfig atLoad && q.Applies(ws.Prefix))
            return new QuantizedLinear(QuantizedMatrix.Quantize(ws.Get("weight", outFeatures, inFeatures), atLoad), b, ws.Prefix);
        var weight = ws.Get("weight", outFeatures, inFeatures);
        return new DenseLinear(new WeightMatrix(weight), b, ws.Prefix);
    }
}

/// <summary>A <see cref="Linear"/> over a dense F32 / F16 / BF16 weight matrix, computed by <see cref="Ops.Linear"/>.</summary>
public sealed class DenseLinear : Linear
{
    /// <summary>Wraps <paramref name="weight"/> [out, in] and an optional fp32 bias [out].</summary>
    public DenseLinear(WeightMatrix weight, float[]? bias, string name = "linear")
        : base(weight.Cols, weight.Rows, name, bias) => Weight = weight;

    /// <summary>The weight in its stored dtype.</summary>
    public WeightMatrix Weight { get; }

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<float> x, int m, Span<float> y) =>
        Ops.Linear(x, m, Weight, Bias, y);
}

/// <summary>
/// A <see cref="Linear"/> over an int8 / int4 <see cref="QuantizedMatrix"/>, computed by <see cref="QuantOps.Linear"/>
/// (activations quantized on the fly per block, integer dot products).
/// </summary>
public sealed class QuantizedLinear : Linear
{
    /// <summary>Wraps <paramref name="weight"/> [out, in] and an optional fp32 bias [out].</summary>
    public QuantizedLinear(QuantizedMatrix weight, float[]? bias, string name = "linear")
        : base(weight.Cols, weight.Rows, name, bias) => Weight = weight;

    /// <summary>The quantized weight.</summary>
    public QuantizedMatrix Weight { get; }

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<float> x, int m, Span<float> y) =>
        QuantOps.Linear(x, m, Weight, Bias, y);
}

/// <summary>
/// Several <see cref="QuantizedLinear"/> layers over one input (a layer's q, k and v, or gate and up), run for one input
/// row as one <see cref="QuantOps.LinearShared"/> call: the row is quantized once and the workers get one hand-off. y is
/// the concatenation of the layers' outputs, bit-identical to one <see cref="Linear.Forward"/> per layer. Made once per
/// model layer by <see cref="TryCreate"/>, which declines (null) unless the layers can share their input.
/// </summary>
internal sealed class SharedInputLinear
{
    private readonly QuantizedMatrix[] _weights;
    private readonly float[]?[] _biases;
    private readonly string _name;

    private SharedInputLinear(QuantizedMatrix[] weights, float[]?[] biases, int inFeatures, int outFeatures, string name)
    {
        _weights = weights;
        _biases = biases;
        _name = name;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Columns of x.</summary>
    public int InFeatures { get; }
    /// <summary>Σ of the layers' output features: the length of y.</summary>
    public int OutFeatures { get; }

    /// <summary>false makes the models run the layers one by one: for the test that proves both give the same logits.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>The group, or null unless every layer is a <see cref="QuantizedLinear"/> and their weights share columns and
    /// quantization config (<see cref="QuantOps.CanShareInput"/>).</summary>
    public static SharedInputLinear? TryCreate(params Linear[] layers)
    {
        var weights = new QuantizedMatrix[layers.Length];
        var biases = new float[]?[layers.Length];
        int outFeatures = 0;
        for (int j = 0; j < layers.Length; j++)
        {
            if (layers[j] is not QuantizedLinear q) return null;
            weights[j] = q.Weight;
            biases[j] = q.BiasArray;
            outFeatures += q.OutFeatures;
        }
        return layers.Length > 0 && QuantOps.CanShareInput(weights)
            ? new SharedInputLinear(weights, biases, layers[0].InFeatures, outFeatures, string.Join(" + ", layers.Select(l => l.Name))) : null;
    }

    /// <summary>y[OutFeatures] = the layers' outputs for the one row x[InFeatures], concatenated.</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != InFeatures || y.Length != OutFeatures)
            throw new ArgumentException($"{_name}: shared forward got x of {x.Length} and y of {y.Length} elements, expected {InFeatures} and {OutFeatures}");
        QuantOps.LinearShared(x, _weights, _biases, y);
    }
}