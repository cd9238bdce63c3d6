using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;

namespace SeeSharp.Nn;

/// <summary>
/// Prefix-scoped access to a checkpoint's tensors by their Hugging Face names (STYLE.md 2, like candle's VarBuilder):
/// <c>ws.Sub("model.vision_model").Sub("encoder.layers.0").Get("self_attn.q_proj.weight", 1152, 1152)</c>.
/// Every <see cref="Get"/> checks the shape and records the use; <see cref="EnsureAllUsed"/> then throws listing every
/// checkpoint tensor nobody asked for and every requested tensor the checkpoint lacks. Tensors are returned as the
/// checkpoint's zero-copy (memory-mapped) views in their stored dtype.
/// </summary>
public sealed class WeightSource
{
    private readonly Shared _shared;
    private readonly string _prefix;

    private sealed class Shared(SafetensorsCheckpoint checkpoint, string description, QuantizationPolicy? quantization)
    {
        public readonly SafetensorsCheckpoint Checkpoint = checkpoint;
        public readonly string Description = description;
        public readonly QuantizationPolicy? Quantization = quantization;
        public readonly HashSet<string> Used = new(StringComparer.Ordinal);
        public readonly List<string> Missing = [];
        public readonly object Gate = new();
    }

    /// <summary>A root source over <paramref name="checkpoint"/>; <paramref name="description"/> (e.g. the folder) names it in errors.</summary>
    public WeightSource(SafetensorsCheckpoint checkpoint, string description, QuantizationPolicy? quantization = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        _shared = new Shared(checkpoint, description, quantization);
        _prefix = "";
    }

    /// <summary>How linear layers are quantized (at load, or as stored), or null for dense weights as stored.</summary>
    public QuantizationPolicy? Quantization => _shared.Quantization;

    private WeightSource(Shared shared, string prefix)
    {
        _shared = shared;
        _prefix = prefix;
    }

    /// <summary>The full-name prefix of this scope ("" at the root, else ending without a dot).</summary>
    public string Prefix => _prefix;

    /// <summary>A child scope: names below it are <c>Prefix + "." + name</c>.</summary>
    public WeightSource Sub(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new WeightSource(_shared, Qualify(name));
    }

    /// <summary>A child scope for an indexed module list entry (<c>layers.3</c>).</summary>
    public WeightSource Sub(string name, int index) => Sub($"{name}.{index}");

    /// <summary>The full checkpoint name of <paramref name="name"/> in this scope.</summary>
    public string Qualify(string name) => _prefix.Length == 0 ? name : $"{_prefix}.{name}";

    /// <summary>True if the checkpoint holds <paramref name="name"/> (in this scope). Does not mark it used.</summary>
    public bool Contains(string name) => _shared.Checkpoint.Contains(Qualify(name));

    /// <summary>
    /// The tensor <paramref name="name"/> in this scope, checked to have exactly <paramref name="expectedShape"/> and a
    /// floating-point dtype (F32/F16/BF16). A tensor the checkpoint lacks is recorded as missing and replaced by a zeroed
    /// F32 placeholder of the expected shape, so that construction can go on and <see cref="EnsureAllUsed"/> can list
    /// every missing name at once.
    /// </summary>
    /// <exception cref="InvalidDataException">The stored shape or dtype differs; the message names the tensor and both shapes.</exception>
    public Tensor Get(string name, params long[] expectedShape)
    {
        var full = Qualify(name);
        if (!_shared.Checkpoint.Contains(full))
        {
            lock (_shared.Gate) _shared.Missing.Add(full);
            return Tensor.Allocate(DType.F32, expectedShape);
        }
        var tensor = _shared.Checkpoint.Get(full);
        if (!tensor.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new InvalidDataException(
                $"{_shared.Description}: tensor '{full}' has shape {FormatShape(tensor.Shape)}, expected {FormatShape(expectedShape)}");
        if (tensor.DType is not (DType.F32 or DType.F16 or DType.BF16))
            throw new InvalidDataException(
                $"{_shared.Description}: tensor '{full}' has dtype {tensor.DType}, expected F32, F16 or BF16");
        lock (_shared.Gate) _shared.Used.Add(full);
        return tensor;
    }

    /// <summary>
    /// The tensor <paramref name="name"/> in this scope with any dtype and shape (quantized blocks, their scales and
    /// shapes, which their own loader validates). Records the use; a missing tensor is an error naming it.
    /// </summary>
    public Tensor GetRaw(string name)
    {
        var full = Qualify(name);
        if (!_shared.Checkpoint.Contains(full))
            throw new InvalidDataException($"{_shared.Description}: tensor '{full}' is missing");
        lock (_shared.Gate) _shared.Used.Add(full);
        return _shared.Checkpoint.Get(full);
    }

    /// <summary><see cref="Get"/> converted to a fresh fp32 array (for small vectors: norm weights, biases, latents).</summary>
    public float[] GetFloats(string name, params long[] expectedShape) => Get(name, expectedShape).ToFloatArray();

    /// <summary>Marks a checkpoint tensor as deliberately unused (e.g. a buffer the reference does not load).</summary>
    public void Ignore(string name)
    {
        var full = Qualify(name);
        if (_shared.Checkpoint.Contains(full)) lock (_shared.Gate) _shared.Used.Add(full);
    }

    /// <summary>Names requested through <see cref="Get"/> that the checkpoint does not hold, in request order.</summary>
    public IReadOnlyList<string> MissingNames
    {
        get { lock (_shared.Gate) return [.. _shared.Missing]; }
    }

    /// <summary>Checkpoint names never requested, sorted ordinally.</summary>
    public IReadOnlyList<string> UnusedNames
    {
        get
        {
            lock (_shared.Gate)
                return [.. _shared.Checkpoint.Names.Where(n => !_shared.Used.Contains(n)).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> listing every missing and every unused tensor name (nanoGPT's key-count
    /// assert, made specific). Call it once after the whole model has been built from this source.
    /// </summary>
    public void EnsureAllUsed()
    {
        var missing = MissingNames;
        var unused = UnusedNames;
        if (missing.Count == 0 && unused.Count == 0) return;
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{missing.Count} missing tensor(s): {string.Join(", ", missing)}");
        if (unused.Count > 0) parts.Add($"{unused.Count} unused tensor(s): {string.Join(", ", unused)}");
        throw new InvalidDataException($"{_shared.Description}: checkpoint does not match the model: {string.Join("; ", parts)}");
    }

    internal static string FormatShape(ReadOnlySpan<long> shape) => $"[{string.Join(", ", shape.ToArray())}]";
}
