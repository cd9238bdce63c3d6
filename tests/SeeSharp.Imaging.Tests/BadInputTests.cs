using System.Buffers.Binary;

namespace SeeSharp.Imaging.Tests;

/// <summary>
/// Hostile and broken input: each must fail fast with an <see cref="ImageDecodeException"/> that names the source
/// and the problem (property: message content; no golden data).
/// </summary>
public sealed class BadInputTests
{
    private static byte[] Chelsea() => File.ReadAllBytes(ImagingFixtures.ImagePath("chelsea.png"));

    [Fact]
    public void Truncated_png_names_the_source_and_truncation()
    {
        var bytes = Chelsea();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes.AsSpan(0, bytes.Length / 2), "half.png"));
        Assert.Equal("half.png", e.SourceName);
        Assert.Contains("half.png", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Png_cut_inside_the_header_fails()
    {
        var bytes = Chelsea();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes.AsSpan(0, 20), "stub.png"));
        Assert.Contains("stub.png", e.Message);
    }

    [Fact]
    public void Corrupt_pixel_data_fails()
    {
        var bytes = Chelsea();
        // Overwrite the middle of the compressed data with garbage (the IDAT CRC no longer matches either).
        new Random(1).NextBytes(bytes.AsSpan(bytes.Length / 3, 4096));
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes, "garbled.png"));
        Assert.Contains("garbled.png", e.Message);
    }

    [Fact]
    public void Unknown_format_is_reported_with_its_first_bytes()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode("hello, this is not an image"u8, "note.txt"));
        Assert.Contains("note.txt", e.Message);
        Assert.Contains("unknown", e.Message);
        Assert.Contains("68656C6C", e.Message); // "hell"
    }

    [Fact]
    public void Empty_data_fails()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty, "empty.png"));
        Assert.Contains("empty", e.Reason);
    }

    [Fact]
    public void Missing_file_names_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "seesharp-no-such-image.png");
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Load(path));
        Assert.Equal(path, e.SourceName);
    }

    [Fact]
    public void Png_header_claiming_30000x30000_fails_fast_before_decoding()
    {
        var png = TinyPngClaiming(30000, 30000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "bomb.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("30000x30000", e.Message);
        Assert.Contains("900000000", e.Message);
        Assert.Contains("89478485", e.Message);
        // 30000 * 30000 * 4 bytes would be 3.6 GB: nothing close to it may have been allocated.
        Assert.True(allocated < 16 * 1024 * 1024, $"allocated {allocated} bytes before failing");
    }

    [Fact]
    public void Stream_input_is_bounded_and_decodes()
    {
        var bytes = Chelsea();
        Assert.Equal(451, ImageDecoder.Decode(new MemoryStream(bytes), "upload").Width);
        var e = Assert.Throws<ImageDecodeException>(() =>
            ImageDecoder.Decode(new MemoryStream(bytes), "upload", new DecodeOptions { MaxFileBytes = 1000 }));
        Assert.Contains("1000", e.Message);
    }

    [Fact]
    public void Pixel_limit_is_configurable()
    {
        var bytes = Chelsea(); // 451 x 300 = 135300 pixels
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes, "chelsea.png", new DecodeOptions { MaxPixels = 135299 }));
        Assert.Contains("135299", e.Message);
        Assert.Equal(451, ImageDecoder.Decode(bytes, "chelsea.png", new DecodeOptions { MaxPixels = 135300 }).Width);
    }

    /// <summary>A valid PNG stream (signature, IHDR, one small IDAT, IEND, correct CRCs) whose IHDR claims w x h RGB.</summary>
    internal static byte[] TinyPngClaiming(int width, int height)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]); // zlib of a single 0 byte
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(u32, data.Length);
        s.Write(u32);
        var typeAndData = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typeAndData));
        s.Write(u32);
    }

    /// <summary>PNG's CRC-32 (polynomial 0xEDB88320), bitwise.</summary>
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
