using System.Buffers.Binary;

namespace SeeSharp.Server;

/// <summary>
/// Reads an image's format and size from its first bytes, without decoding: the server refuses huge images before
/// any pixel buffer exists (a 50-byte PNG can claim 30000x30000 pixels).
/// </summary>
internal static class ImageHeader
{
    /// <summary>The format and size of an encoded image, or null with a reason when it is not a PNG, JPEG, WebP or GIF.</summary>
    public static (string Format, int Width, int Height)? Probe(ReadOnlySpan<byte> d, out string? reason)
    {
        reason = null;
        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4, big-endian), height (4).
            if (d.Length < 24 || !d[12..16].SequenceEqual("IHDR"u8)) return Fail("PNG data ends before its IHDR header", out reason);
            return Sized("PNG", BinaryPrimitives.ReadUInt32BigEndian(d[16..]), BinaryPrimitives.ReadUInt32BigEndian(d[20..]), out reason);
        }
        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return Jpeg(d, out reason);
        if (d.StartsWith("GIF87a"u8) || d.StartsWith("GIF89a"u8))
        {
            if (d.Length < 10) return Fail("GIF data ends before its screen descriptor", out reason);
            return Sized("GIF", BinaryPrimitives.ReadUInt16LittleEndian(d[6..]), BinaryPrimitives.ReadUInt16LittleEndian(d[8..]), out reason);
        }
        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d[8..12].SequenceEqual("WEBP"u8)) return WebP(d, out reason);
        return Fail($"not a PNG, JPEG, WebP or GIF image (first bytes {Convert.ToHexString(d[..Math.Min(8, d.Length)])})", out reason);
    }

    private static (string, int, int)? Jpeg(ReadOnlySpan<byte> d, out string? reason)
    {
        int i = 2;
        while (i + 4 <= d.Length)
        {
            if (d[i] != 0xFF) return Fail($"JPEG marker expected at byte {i}", out reason);
            byte marker = d[i + 1];
            if (marker == 0xFF) { i++; continue; }                          // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { i += 2; continue; } // standalone markers
            if (marker is 0xD9 or 0xDA) break;                                // end of image / start of scan before any frame header
            int length = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 2)..]);
            if (length < 2) return Fail($"JPEG segment at byte {i} has length {length}", out reason);
            bool frame = marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (frame)
            {
                // Segment: length (2), precision (1), height (2), width (2).
                if (i + 9 > d.Length) break;
                return Sized("JPEG", BinaryPrimitives.ReadUInt16BigEndian(d[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..]), out reason);
            }
            i += 2 + length;
        }
        return Fail("JPEG data has no frame header (SOF) giving its size", out reason);
    }

    private static (string, int, int)? WebP(ReadOnlySpan<byte> d, out string? reason)
    {
        if (d.Length < 30) return Fail("WebP data ends before its image header", out reason);
        var chunk = d[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            // Flags (4) at 20, canvas width - 1 (24-bit LE) at 24, height - 1 at 27.
            uint w = (uint)(d[24] | d[25] << 8 | d[26] << 16) + 1, h = (uint)(d[27] | d[28] << 8 | d[29] << 16) + 1;
            return Sized("WebP", w, h, out reason);
        }
        if (chunk.SequenceEqual("VP8L"u8))
        {
            // Signature 0x2F at 20, then 14 bits width - 1 and 14 bits height - 1, little-endian bit order.
            if (d[20] != 0x2F) return Fail("WebP lossless signature missing", out reason);
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(d[21..]);
            return Sized("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, out reason);
        }
        if (chunk.SequenceEqual("VP8 "u8))
        {
            // Frame tag (3) at 20, start code 9D 01 2A at 23, width (14 bits LE) at 26, height at 28.
            if (d[23] != 0x9D || d[24] != 0x01 || d[25] != 0x2A) return Fail("WebP lossy start code missing", out reason);
            return Sized("WebP", BinaryPrimitives.ReadUInt16LittleEndian(d[26..]) & 0x3FFFu, BinaryPrimitives.ReadUInt16LittleEndian(d[28..]) & 0x3FFFu, out reason);
        }
        return Fail($"WebP chunk '{System.Text.Encoding.ASCII.GetString(chunk)}' is not VP8, VP8L or VP8X", out reason);
    }

    private static (string, int, int)? Sized(string format, uint width, uint height, out string? reason)
    {
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            return Fail($"{format} header gives an invalid size {width}x{height}", out reason);
        reason = null;
        return (format, (int)width, (int)height);
    }

    private static (string, int, int)? Fail(string why, out string? reason)
    {
        reason = why;
        return null;
    }
}
