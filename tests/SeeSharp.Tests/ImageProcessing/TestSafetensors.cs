using System.Buffers.Binary;
using System.Text.Json;

namespace SeeSharp.Testing;

/// <summary>
/// Test-only safetensors reader (8-byte little-endian header length, JSON header, raw little-endian data) for the
/// golden fixtures; dtypes F32, F64, I64, U8, BOOL. Independent of the engine's reader on purpose, so the image tests
/// do not depend on it. Also linked into SeeSharp.Imaging.Tests.
/// </summary>
internal sealed class TestSafetensors
{
    private readonly byte[] _bytes;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string DType, long[] Shape, long Begin, long End)> _tensors = new();

    private TestSafetensors(string path)
    {
        Path = path;
        _bytes = File.ReadAllBytes(path);
        if (_bytes.Length < 8) throw new InvalidDataException($"{path}: shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(_bytes);
        if (headerLength > (ulong)(_bytes.Length - 8)) throw new InvalidDataException($"{path}: header length {headerLength} past the end");
        _dataStart = 8 + (long)headerLength;
        using var doc = JsonDocument.Parse(_bytes.AsMemory(8, (int)headerLength));
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var dtype = entry.Value.GetProperty("dtype").GetString()!;
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (_dataStart + offsets[1] > _bytes.Length || offsets[0] > offsets[1])
                throw new InvalidDataException($"{path}: tensor {entry.Name} offsets {offsets[0]}..{offsets[1]} out of range");
            _tensors[entry.Name] = (dtype, shape, offsets[0], offsets[1]);
        }
    }

    public string Path { get; }

    public IEnumerable<string> Names => _tensors.Keys;

    public static TestSafetensors Open(string path) => new(path);

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public long[] Shape(string name) => Entry(name).Shape;

    public string DType(string name) => Entry(name).DType;

    public byte[] U8(string name) => Raw(name, "U8", "BOOL").ToArray();

    public float[] F32(string name)
    {
        var raw = Raw(name, "F32");
        var result = new float[raw.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
        return result;
    }

    public double[] F64(string name)
    {
        var raw = Raw(name, "F64");
        var result = new double[raw.Length / 8];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]);
        return result;
    }

    public long[] I64(string name)
    {
        var raw = Raw(name, "I64");
        var result = new long[raw.Length / 8];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]);
        return result;
    }

    /// <summary>Any integer, bool or float tensor as doubles (for masks stored as int64 or float64).</summary>
    public double[] AsDoubles(string name) => DType(name) switch
    {
        "F32" => F32(name).Select(v => (double)v).ToArray(),
        "F64" => F64(name),
        "I64" => I64(name).Select(v => (double)v).ToArray(),
        "U8" or "BOOL" => U8(name).Select(v => (double)v).ToArray(),
        var d => throw new InvalidDataException($"{Path}: tensor {name} has unsupported dtype {d}"),
    };

    private (string DType, long[] Shape, long Begin, long End) Entry(string name) =>
        _tensors.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"{Path}: no tensor named {name}");

    private ReadOnlySpan<byte> Raw(string name, params string[] dtypes)
    {
        var e = Entry(name);
        if (!dtypes.Contains(e.DType)) throw new InvalidDataException($"{Path}: tensor {name} is {e.DType}, expected {string.Join("/", dtypes)}");
        return _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
    }
}
