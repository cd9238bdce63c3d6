using SeeSharp.Engine.Safetensors;
using SeeSharp.Nn;

namespace SeeSharp.Models.Shared;

/// <summary>The load sequence every architecture shares: config.json, the (sharded) safetensors, the weight check.</summary>
internal static class CheckpointLoading
{
    /// <summary>
    /// Reads <c>{folder}/config.json</c> with <paramref name="readConfig"/>, opens the weights, and builds the model with
    /// <paramref name="build"/>(config, checkpoint), which then owns the checkpoint; on failure the checkpoint is closed.
    /// </summary>
    public static TModel FromFolder<TConfig, TModel>(string folder, string architecture, Func<string, TConfig> readConfig,
        Func<TConfig, SafetensorsCheckpoint, TModel> build)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{architecture}: no config.json in {folder}", configPath);
        var config = readConfig(configPath);
        var checkpoint = SafetensorsCheckpoint.Open(folder);
        try
        {
            return build(config, checkpoint);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a model from the HF-named tensors of <paramref name="checkpoint"/> and proves every tensor was used
    /// (<see cref="WeightSource.EnsureAllUsed"/>): the message lists missing and unused names.
    /// </summary>
    public static TModel Build<TModel>(SafetensorsCheckpoint checkpoint, string description, QuantizationPolicy? quantization,
        Func<WeightSource, TModel> construct)
    {
        var ws = new WeightSource(checkpoint, description, quantization);
        var model = construct(ws);
        ws.EnsureAllUsed();
        return model;
    }
}
