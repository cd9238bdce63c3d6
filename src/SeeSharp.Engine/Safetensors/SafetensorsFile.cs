using System.Text.Json;

namespace SeeSharp.Engine.Safetensors;

/// <summary>
/// One <c>.safetensors</c> file, memory-mapped and validated when opened. Layout: an 8-byte little-endian header
/// length N, N bytes of UTF-8 JSON <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}</c>,
/// then the data; offsets count from the first byte after the header. <see cref="Get"/> returns zero-copy views.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the Rust crate's limit is 100 MB as well).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MappedStorage _storage;
    private readonly Dictionary<string, Entry> _entries;
    private readonly string[] _names;

    /// <summary>Where one tensor lives.</summary>
    private readonly record struct Entry(DType DType, long[] Shape, long Begin, long End);

    private SafetensorsFile(string path, MappedStorage storage, Dictionary<string, Entry> entries, string[] names,
        Dictionary<string, string> metadata, long dataStart)
    {
        Path = path;
        _storage = storage;
        _entries = entries;
        _names = names;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>The file this was opened from.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> string map (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <summary>Byte offset of the data section in the file (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>True if the file holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The dtype and shape of <paramref name="name"/> without creating a view.</summary>
    public (DType DType, long[] Shape) Describe(string name)
    {
        var e = Find(name);
        return (e.DType, (long[])e.Shape.Clone());
    }

    /// <summary>A zero-copy view of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the file and the tensor.</exception>
    public Tensor Get(string name)
    {
        var e = Find(name);
        return new Tensor(_storage, DataStart + e.Begin, e.DType, e.Shape);
    }

    private Entry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(_storage.IsDisposed, this);
        if (!_entries.TryGetValue(name, out var e))
            throw new KeyNotFoundException($"{Path}: no tensor named \"{name}\" ({_entries.Count} tensors in the file)");
        return e;
    }

    /// <summary>Unmaps the file; tensors obtained from it become invalid.</summary>
    public void Dispose() => _storage.Dispose();

    /// <summary>Maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsException">The file is malformed; the message names the file and the fault.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        var storage = new MappedStorage(path);
        try
        {
            return Parse(path, storage);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static unsafe SafetensorsFile Parse(string path, MappedStorage storage)
    {
        long fileLength = storage.Length;
        if (fileLength < 8)
            throw new SafetensorsException(path, $"truncated: {fileLength} bytes, shorter than the 8-byte header length");
        ulong n = BitConverter.IsLittleEndian ? *(ulong*)storage.Pointer : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(*(ulong*)storage.Pointer);
        if (n > MaxHeaderBytes)
            throw new SafetensorsException(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit (corrupt or not a safetensors file)");
        if ((long)n > fileLength - 8)
            throw new SafetensorsException(path, $"truncated: header length {n} but only {fileLength - 8} bytes follow the length field");
        if (n < 2)
            throw new SafetensorsException(path, $"header length {n} is too small to hold a JSON object");
        long headerLength = (long)n;
        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;
        var header = new ReadOnlySpan<byte>(storage.Pointer + 8, (int)headerLength);
        if (header[0] != (byte)'{')
            throw new SafetensorsException(path, $"header does not start with '{{' (first byte 0x{header[0]:X2}): not a JSON object");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new SafetensorsException(path, $"header is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(path, $"header is a JSON {root.ValueKind}, not an object");
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            var names = new List<string>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var prop in root.EnumerateObject())
            {
                string name = prop.Name;
                if (name == "__metadata__")
                {
                    if (sawMetadata) throw new SafetensorsException(path, "duplicate \"__metadata__\" entry in header");
                    sawMetadata = true;
                    ReadMetadata(path, prop.Value, metadata);
                    continue;
                }
                if (entries.ContainsKey(name))
                    throw new SafetensorsException(path, $"duplicate tensor name \"{name}\" in header");
                var entry = ReadEntry(path, name, prop.Value, dataLength);
                entries.Add(name, entry);
                names.Add(name);
            }
            CheckOverlaps(path, entries);
            return new SafetensorsFile(path, storage, entries, names.ToArray(), metadata, dataStart);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(path, $"\"__metadata__\" is a JSON {value.ValueKind}, not an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsException(path, $"\"__metadata__\".\"{m.Name}\" is a JSON {m.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw new SafetensorsException(path, $"duplicate \"__metadata__\" key \"{m.Name}\"");
        }
    }

    private static Entry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(path, $"tensor \"{name}\": entry is a JSON {value.ValueKind}, not an object");
        JsonElement? dtypeEl = null, shapeEl = null, offsetsEl = null;
        foreach (var f in value.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype": dtypeEl = dtypeEl is null ? f.Value : throw Dup(path, name, f.Name); break;
                case "shape": shapeEl = shapeEl is null ? f.Value : throw Dup(path, name, f.Name); break;
                case "data_offsets": offsetsEl = offsetsEl is null ? f.Value : throw Dup(path, name, f.Name); break;
                default: break;   // unknown fields are ignored, as the Rust crate's serde does
            }
        }
        if (dtypeEl is not { ValueKind: JsonValueKind.String } d)
            throw new SafetensorsException(path, $"tensor \"{name}\": missing or non-string \"dtype\"");
        string dtypeName = d.GetString()!;
        if (!DTypes.TryFromSafetensors(dtypeName, out var dtype))
            throw new SafetensorsException(path, $"tensor \"{name}\": unknown or unsupported dtype \"{dtypeName}\"");

        if (shapeEl is not { ValueKind: JsonValueKind.Array } s)
            throw new SafetensorsException(path, $"tensor \"{name}\": missing or non-array \"shape\"");
        var shape = new long[s.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var dim in s.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long v) || v < 0)
                throw new SafetensorsException(path, $"tensor \"{name}\": shape[{i}] = {dim.GetRawText()} is not a non-negative integer");
            shape[i++] = v;
            if (v != 0 && count > long.MaxValue / v)
                throw new SafetensorsException(path, $"tensor \"{name}\": shape [{string.Join(", ", s.EnumerateArray().Select(x => x.GetRawText()))}] overflows the element count");
            count *= v;
        }

        if (offsetsEl is not { ValueKind: JsonValueKind.Array } o || o.GetArrayLength() != 2)
            throw new SafetensorsException(path, $"tensor \"{name}\": \"data_offsets\" must be an array [begin, end]");
        if (!o[0].TryGetInt64Checked(out long begin) || !o[1].TryGetInt64Checked(out long end) || begin < 0 || end < 0)
            throw new SafetensorsException(path, $"tensor \"{name}\": data_offsets {o.GetRawText()} are not non-negative integers");
        if (end < begin)
            throw new SafetensorsException(path, $"tensor \"{name}\": data_offsets end {end} < begin {begin}");
        if (end > dataLength)
            throw new SafetensorsException(path, $"tensor \"{name}\": data_offsets [{begin}, {end}] out of bounds: the data section has {dataLength} bytes (file truncated?)");
        int size = DTypes.SizeOf(dtype);
        if (count > long.MaxValue / size || end - begin != count * size)
            throw new SafetensorsException(path, $"tensor \"{name}\": {end - begin} bytes at data_offsets [{begin}, {end}] but {dtypeName}[{string.Join(", ", shape)}] needs {(count > long.MaxValue / size ? "more than 2^63" : (count * size).ToString())} bytes");
        return new Entry(dtype, shape, begin, end);
    }

    private static SafetensorsException Dup(string path, string name, string field) =>
        new(path, $"tensor \"{name}\": duplicate field \"{field}\"");

    private static void CheckOverlaps(string path, Dictionary<string, Entry> entries)
    {
        var sorted = entries.Where(e => e.Value.End > e.Value.Begin)
            .OrderBy(e => e.Value.Begin).ThenBy(e => e.Value.End).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            var prev = sorted[i - 1];
            var cur = sorted[i];
            if (cur.Value.Begin < prev.Value.End)
                throw new SafetensorsException(path,
                    $"tensors \"{prev.Key}\" [{prev.Value.Begin}, {prev.Value.End}) and \"{cur.Key}\" [{cur.Value.Begin}, {cur.Value.End}) overlap");
        }
    }
}

internal static class JsonElementExtensions
{
    public static bool TryGetInt64Checked(this JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value);
    }
}
