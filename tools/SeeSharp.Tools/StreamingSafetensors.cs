using System.Text.Json;
using SeeSharp.Engine;

namespace SeeSharp.Tools;

/// <summary>Writes a .safetensors file whose tensor data is produced piece by piece by a callback (checkpoints
/// larger than memory). Same header rules as SafetensorsWriter: offsets in the given order, header padded with
/// spaces to a multiple of 8, <c>__metadata__ = {"format": "pt"}</c>; temp file + rename.</summary>
internal static class StreamingSafetensors
{
    public delegate void FillChunk(string name, Span<byte> chunk, long elementOffset);

    public static void Write(string path, IReadOnlyList<(string Name, DType DType, long[] Shape)> tensors, FillChunk fill)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            w.WriteEndObject();
            long off = 0;
            foreach (var (name, dt, shape) in tensors)
            {
                long bytes = shape.Aggregate(1L, (x, y) => x * y) * DTypes.SizeOf(dt);
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypes.ToSafetensors(dt));
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(off);
                w.WriteNumberValue(off + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                off += bytes;
            }
            w.WriteEndObject();
        }
        int raw = (int)ms.Length, padded = (raw + 7) / 8 * 8;
        string tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            fs.Write(BitConverter.GetBytes((ulong)padded));
            fs.Write(ms.GetBuffer(), 0, raw);
            for (int i = raw; i < padded; i++) fs.WriteByte((byte)' ');
            var buf = new byte[16 << 20];
            foreach (var (name, dt, shape) in tensors)
            {
                int size = DTypes.SizeOf(dt);
                long count = shape.Aggregate(1L, (x, y) => x * y);
                for (long e = 0; e < count;)
                {
                    int n = (int)Math.Min(count - e, buf.Length / size);
                    fill(name, buf.AsSpan(0, n * size), e);
                    fs.Write(buf, 0, n * size);
                    e += n;
                }
            }
        }
        File.Move(tmp, path, overwrite: true);
    }
}
