using System.Text.Json;

namespace SeeSharp.Engine.Safetensors;

/// <summary>
/// The weights of a model: one <c>.safetensors</c> file, a folder with <c>model.safetensors</c> (preferred, as
/// transformers does), or a folder with the sharded <c>model.safetensors.index.json</c> (<c>{"weight_map": {tensor: shard file}}</c>). Every shard is
/// mapped and validated at open, and every tensor the index names must exist in its shard.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>The single-file name HF uses.</summary>
    public const string SingleFileName = "model.safetensors";
    /// <summary>The index name HF uses for sharded checkpoints.</summary>
    public const string IndexFileName = "model.safetensors.index.json";
    private const long MaxIndexBytes = 100_000_000;

    private readonly SafetensorsFile[] _files;
    private readonly Dictionary<string, SafetensorsFile> _byName;
    private readonly string[] _names;

    private SafetensorsCheckpoint(string source, SafetensorsFile[] files, Dictionary<string, SafetensorsFile> byName, string[] names)
    {
        Source = source;
        _files = files;
        _byName = byName;
        _names = names;
    }

    /// <summary>The file or folder this was opened from.</summary>
    public string Source { get; }

    /// <summary>The shard files (one for an unsharded checkpoint).</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>All tensor names.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <summary>True if the checkpoint holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>A zero-copy view of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the checkpoint and the tensor.</exception>
    public Tensor Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_byName.TryGetValue(name, out var file))
            throw new KeyNotFoundException($"{Source}: no tensor named \"{name}\" ({_names.Length} tensors in the checkpoint)");
        return file.Get(name);
    }

    /// <summary>Unmaps every shard.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }

    /// <summary>Opens a file or a model folder.</summary>
    /// <exception cref="SafetensorsException">A file or the index is malformed; the message names it and the fault.</exception>
    /// <exception cref="FileNotFoundException">Nothing to open at <paramref name="folderOrFile"/>.</exception>
    public static SafetensorsCheckpoint Open(string folderOrFile)
    {
        ArgumentNullException.ThrowIfNull(folderOrFile);
        if (File.Exists(folderOrFile))
        {
            return folderOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? OpenSharded(folderOrFile)
                : OpenSingle(folderOrFile);
        }
        if (!Directory.Exists(folderOrFile))
            throw new FileNotFoundException($"no safetensors file or folder at {folderOrFile}", folderOrFile);
        // transformers' from_pretrained looks for the single file first, then the index.
        string single = Path.Combine(folderOrFile, SingleFileName);
        if (File.Exists(single)) return OpenSingle(single);
        string index = Path.Combine(folderOrFile, IndexFileName);
        if (File.Exists(index)) return OpenSharded(index);
        throw new FileNotFoundException($"{folderOrFile}: neither {IndexFileName} nor {SingleFileName} found", folderOrFile);
    }

    private static SafetensorsCheckpoint OpenSingle(string path)
    {
        var file = SafetensorsFile.Open(path);
        var byName = file.Names.ToDictionary(n => n, _ => file, StringComparer.Ordinal);
        return new SafetensorsCheckpoint(path, [file], byName, file.Names.ToArray());
    }

    private static SafetensorsCheckpoint OpenSharded(string indexPath)
    {
        var map = ReadWeightMap(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in map.Select(kv => kv.Value).Distinct(StringComparer.Ordinal))
            {
                string shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new SafetensorsException(indexPath, $"shard \"{shard}\" named in weight_map does not exist ({shardPath})");
                shards.Add(shard, SafetensorsFile.Open(shardPath));
            }
            var byName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, shard) in map)
            {
                var file = shards[shard];
                if (!file.Contains(tensor))
                    throw new SafetensorsException(indexPath, $"tensor \"{tensor}\" is mapped to shard \"{shard}\", which does not contain it");
                byName.Add(tensor, file);
            }
            return new SafetensorsCheckpoint(indexPath, shards.Values.ToArray(), byName, map.Select(kv => kv.Key).ToArray());
        }
        catch
        {
            foreach (var f in shards.Values) f.Dispose();
            throw;
        }
    }

    /// <summary>Reads and checks <c>weight_map</c>: string values, no duplicate tensor, plain shard file names.</summary>
    private static List<KeyValuePair<string, string>> ReadWeightMap(string indexPath)
    {
        long length = new FileInfo(indexPath).Length;
        if (length > MaxIndexBytes)
            throw new SafetensorsException(indexPath, $"index is {length} bytes, over the {MaxIndexBytes}-byte limit");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException ex)
        {
            throw new SafetensorsException(indexPath, $"index is not valid JSON: {ex.Message}", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(indexPath, $"index is a JSON {doc.RootElement.ValueKind}, not an object");
            if (!doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(indexPath, "index has no \"weight_map\" object");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<KeyValuePair<string, string>>();
            foreach (var p in wm.EnumerateObject())
            {
                if (!seen.Add(p.Name))
                    throw new SafetensorsException(indexPath, $"weight_map names tensor \"{p.Name}\" twice");
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new SafetensorsException(indexPath, $"weight_map[\"{p.Name}\"] is a JSON {p.Value.ValueKind}, not a file name");
                string shard = p.Value.GetString()!;
                if (!IsPlainFileName(shard))
                    throw new SafetensorsException(indexPath, $"weight_map[\"{p.Name}\"] = \"{shard}\" is not a plain file name in the checkpoint folder (absolute paths, '..' and directories are refused)");
                result.Add(new(p.Name, shard));
            }
            return result;
        }
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !Path.IsPathRooted(name)
        && name.IndexOfAny(['/', '\\', '\0', ':']) < 0;
}
