using System.Text.Json;

namespace SeeSharp.Engine.Safetensors;

/// <summary>Writes <c>.safetensors</c> files the way the Rust crate does.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/>: to a temporary file in the same folder that is
    /// renamed over <paramref name="path"/> when complete, so a reader never sees a half-written file. As the Rust
    /// crate, tensors are laid out by descending dtype size then name (each stays aligned to its element size),
    /// and the header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    public static unsafe void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
                                    IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<KeyValuePair<string, Tensor>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in tensors)
        {
            ArgumentNullException.ThrowIfNull(kv.Key, "tensor name");
            ArgumentNullException.ThrowIfNull(kv.Value, $"tensor \"{kv.Key}\"");
            if (kv.Key == "__metadata__")
                throw new ArgumentException($"{path}: \"__metadata__\" is reserved and cannot name a tensor");
            if (!seen.Add(kv.Key))
                throw new ArgumentException($"{path}: tensor name \"{kv.Key}\" given twice");
            list.Add(kv);
        }
        list.Sort((a, b) =>
        {
            int c = DTypes.SizeOf(b.Value.DType).CompareTo(DTypes.SizeOf(a.Value.DType));
            return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
        });

        byte[] header = BuildHeader(list, metadata);
        string fullPath = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                stream.Write(len);
                stream.Write(header);
                foreach (var (_, t) in list)
                {
                    byte* p = t.Pointer;
                    long remaining = t.ByteLength;
                    while (remaining > 0)
                    {
                        int chunk = (int)Math.Min(remaining, 1 << 30);
                        stream.Write(new ReadOnlySpan<byte>(p, chunk));
                        p += chunk;
                        remaining -= chunk;
                    }
                    GC.KeepAlive(t);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> list, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is not null && metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypes.ToSafetensors(t.DType));
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.ByteLength;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int raw = (int)ms.Length;
        int padded = (raw + 7) / 8 * 8;
        var header = new byte[padded];
        ms.GetBuffer().AsSpan(0, raw).CopyTo(header);
        header.AsSpan(raw).Fill((byte)' ');
        return header;
    }
}
