using SeeSharp.Hub;

namespace SeeSharp;

/// <summary>Weight formats a model can be quantized to at load.</summary>
public enum Quantization
{
    /// <summary>Weights stay in their stored dtype (memory-mapped).</summary>
    None,
    /// <summary>Symmetric int8 weights.</summary>
    Int8,
    /// <summary>Int4 weights in groups with scales.</summary>
    Int4,
}

/// <summary>How <see cref="VisionModel.FromPretrainedAsync"/> loads a checkpoint.</summary>
public sealed record LoadOptions
{
    /// <summary>Quantize the decoder's linear layers at load (default: keep the stored dtype).</summary>
    public Quantization Quantization { get; init; } = Quantization.None;
    /// <summary>Worker threads for the kernels (default: one per core).</summary>
    public int? Threads { get; init; }
    /// <summary>Hub settings (endpoint, token, cache, offline) used when the model is given by id.</summary>
    public HubOptions? Hub { get; init; }
    /// <summary>Receives download and load progress.</summary>
    public IProgress<LoadProgress>? Progress { get; init; }
}

/// <summary>Progress of a model load: a download of one file, or the loading of weights.</summary>
/// <param name="Stage">"download" or "load".</param>
/// <param name="Item">The file or tensor group being worked on.</param>
/// <param name="Done">Units done (bytes or tensors).</param>
/// <param name="Total">Units in all, when known.</param>
public sealed record LoadProgress(string Stage, string Item, long Done, long? Total);
