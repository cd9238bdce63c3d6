namespace SeeSharp.Hub;

/// <summary>Turns what a user names a model by (Hub id or folder) into a local folder of model files.</summary>
public static class ModelLocator
{
    /// <summary>
    /// Returns a folder with the model files: <paramref name="idOrFolder"/> itself when it is an existing folder,
    /// else the snapshot of the Hub repo <c>org/name[@revision]</c> in the huggingface_hub cache, downloaded as needed
    /// (config.json, weights and every shard, tokenizer/processor/template files that exist).
    /// </summary>
    /// <param name="idOrFolder">A local folder, or a Hub repo id with an optional <c>@revision</c>.</param>
    /// <param name="options">Hub settings; null: from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HUB_OFFLINE...).</param>
    /// <param name="progress">Receives per-file download progress.</param>
    /// <param name="cancellationToken">Stops the downloads; partial files are kept and resumed next time.</param>
    public static async Task<string> ResolveAsync(string idOrFolder, HubOptions? options = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idOrFolder);
        if (Directory.Exists(idOrFolder)) return Path.GetFullPath(idOrFolder);
        using var client = new HubClient(options);
        return await client.SnapshotAsync(idOrFolder, include: null, progress, cancellationToken).ConfigureAwait(false);
    }
}
