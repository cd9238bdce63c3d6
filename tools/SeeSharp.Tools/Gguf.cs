using System.Text;

namespace SeeSharp.Tools;

/// <summary>GGUF v3 value types (gguf.h).</summary>
internal enum GgufType : uint { U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12 }

/// <summary>ggml tensor types used here (ggml.h).</summary>
internal enum GgmlType : uint { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, BF16 = 30 }

/// <summary>
/// Writes a GGUF v3 file: "GGUF", version 3, tensor count, KV count (all little-endian, counts u64), the KV pairs,
/// the tensor infos (name, n_dims, ne[] innermost first, type, offset from the data start), padding to
/// <see cref="Alignment"/>, then each tensor's data padded to the alignment. Tensor data is produced by callbacks
/// in info order, so a file larger than memory streams through.
/// </summary>
internal sealed class GgufWriter
{
    public const int Alignment = 32;

    private readonly List<(string Key, GgufType Type, object Value, GgufType ElemType)> _kv = new();
    private readonly List<(string Name, long[] Ne, GgmlType Type, long Bytes, Action<Stream> Write)> _tensors = new();

    public void Add(string key, string v) => _kv.Add((key, GgufType.String, v, 0));
    public void Add(string key, uint v) => _kv.Add((key, GgufType.U32, v, 0));
    public void Add(string key, int v) => _kv.Add((key, GgufType.I32, v, 0));
    public void Add(string key, float v) => _kv.Add((key, GgufType.F32, v, 0));
    public void Add(string key, bool v) => _kv.Add((key, GgufType.Bool, v, 0));
    public void AddArray(string key, string[] v) => _kv.Add((key, GgufType.Array, v, GgufType.String));
    public void AddArray(string key, float[] v) => _kv.Add((key, GgufType.Array, v, GgufType.F32));
    public void AddArray(string key, int[] v) => _kv.Add((key, GgufType.Array, v, GgufType.I32));

    /// <summary>Adds a tensor of row-major <paramref name="shape"/> (outermost first, as torch); ggml's ne is the reverse.</summary>
    public void AddTensor(string name, long[] shape, GgmlType type, Action<Stream> write)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        long bytes = type switch
        {
            GgmlType.F32 => n * 4,
            GgmlType.F16 or GgmlType.BF16 => n * 2,
            _ => throw new ArgumentException($"gguf: writing {type} directly is not supported (quantize with llama.cpp)"),
        };
        _tensors.Add((name, shape.Reverse().ToArray(), type, bytes, write));
    }

    public void Write(string path)
    {
        string tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0x46554747u);                 // "GGUF"
            w.Write(3u);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_kv.Count);
            foreach (var (key, type, value, elem) in _kv)
            {
                Str(w, key);
                w.Write((uint)type);
                switch (value)
                {
                    case string s: Str(w, s); break;
                    case uint u: w.Write(u); break;
                    case int i: w.Write(i); break;
                    case float f: w.Write(f); break;
                    case bool b: w.Write(b ? (byte)1 : (byte)0); break;
                    case string[] a: w.Write((uint)elem); w.Write((ulong)a.Length); foreach (var s in a) Str(w, s); break;
                    case float[] a: w.Write((uint)elem); w.Write((ulong)a.Length); foreach (var f in a) w.Write(f); break;
                    case int[] a: w.Write((uint)elem); w.Write((ulong)a.Length); foreach (var i in a) w.Write(i); break;
                    default: throw new InvalidOperationException($"gguf: unsupported value for {key}");
                }
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                Str(w, t.Name);
                w.Write((uint)t.Ne.Length);
                foreach (var d in t.Ne) w.Write((ulong)d);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offset += Pad(t.Bytes);
            }
            w.Flush();
            PadStream(fs);
            foreach (var t in _tensors)
            {
                long start = fs.Position;
                t.Write(fs);
                if (fs.Position - start != t.Bytes)
                    throw new InvalidOperationException($"gguf: tensor {t.Name} wrote {fs.Position - start} bytes, {t.Bytes} expected");
                PadStream(fs);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static long Pad(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void PadStream(Stream s)
    {
        long pad = Pad(s.Position) - s.Position;
        for (long i = 0; i < pad; i++) s.WriteByte(0);
    }

    private static void Str(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }
}
