using SkiaSharp;

namespace SeeSharp.Imaging.Tests;

/// <summary>
/// Decoding of the other formats and of alpha, on images made here: lossless round trips (PNG with straight alpha,
/// lossless WebP, BMP written by hand) must return the exact pixels written; a JPEG carrying an EXIF orientation
/// tag must come back transposed exactly like <c>PIL.ImageOps.exif_transpose</c> (compared with the same JPEG
/// without the tag, transposed by <see cref="ImageOps.ExifTranspose"/>). Tolerance: exact.
/// </summary>
public sealed class FormatTests
{
    private static byte[] Encode(int w, int h, byte[] rgba, SKEncodedImageFormat format, int quality = 100)
    {
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    [Fact]
    public void Png_with_partial_alpha_decodes_unpremultiplied()
    {
        byte[] rgba = [200, 100, 50, 128, 255, 255, 255, 0, 10, 20, 30, 255, 7, 250, 9, 1];
        var decoded = ImageDecoder.Decode(Encode(2, 2, rgba, SKEncodedImageFormat.Png), "alpha.png");
        Assert.Equal(ImageMode.Rgba, decoded.Mode);
        Assert.Equal(rgba, decoded.Pixels);
    }

    [Fact]
    public void Lossless_webp_round_trips_exactly()
    {
        var src = PillowResizeTests.Noise(31, 17, ImageMode.Rgba, seed: 5);
        for (int i = 3; i < src.Pixels.Length; i += 4) src.Pixels[i] = 255; // opaque -> RGB
        // WebP quality 100 with Skia = lossless.
        var bytes = Encode(31, 17, src.Pixels, SKEncodedImageFormat.Webp, 100);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        var decoded = ImageDecoder.Decode(bytes, "noise.webp");
        Assert.Equal((31, 17), (decoded.Width, decoded.Height));
        Assert.Equal(ImageOps.ToRgbDropAlpha(src).Pixels, decoded.Pixels);
    }

    [Fact]
    public void Bmp_24_bit_decodes_bottom_up_rows_in_order()
    {
        // 2x2 BMP, 24-bit BGR, rows bottom-up padded to 4 bytes.
        byte[] pixelRows =
        [
            0, 0, 255, 0, 255, 0, 0, 0,      // bottom row: red, green
            255, 0, 0, 255, 255, 255, 0, 0,  // top row: blue, white
        ];
        var bmp = new List<byte>();
        void U16(int v) { bmp.Add((byte)v); bmp.Add((byte)(v >> 8)); }
        void U32(int v) { U16(v & 0xFFFF); U16(v >> 16); }
        bmp.AddRange("BM"u8.ToArray()); U32(54 + pixelRows.Length); U32(0); U32(54);
        U32(40); U32(2); U32(2); U16(1); U16(24); U32(0); U32(pixelRows.Length); U32(2835); U32(2835); U32(0); U32(0);
        bmp.AddRange(pixelRows);
        var decoded = ImageDecoder.Decode(bmp.ToArray(), "tiny.bmp");
        Assert.Equal(ImageMode.Rgb, decoded.Mode);
        Assert.Equal(new byte[] { 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0 }, decoded.Pixels);
    }

    [Fact]
    public void Gif_first_frame_decodes_palette_colors()
    {
        // 2x1 GIF87a, global palette {red, blue}, LZW min code size 2, indices [0, 1].
        byte[] gif =
        [
            .. "GIF87a"u8.ToArray(), 2, 0, 1, 0, 0x80, 0, 0,   // screen 2x1, global table of 2 entries
            255, 0, 0, 0, 0, 255,                              // palette
            0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0,                   // image descriptor
            2, 2, 0x44, 0x0A, 0,                               // LZW (3-bit codes, LSB first): clear 4, 0, 1, end 5
            0x3B,
        ];
        var decoded = ImageDecoder.Decode(gif, "tiny.gif");
        Assert.Equal((2, 1), (decoded.Width, decoded.Height));
        var rgb = ImageOps.ToRgbDropAlpha(decoded);
        Assert.Equal(new byte[] { 255, 0, 0, 0, 0, 255 }, rgb.Pixels);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Jpeg_exif_orientation_is_applied(int orientation)
    {
        var src = PillowResizeTests.Noise(16, 8, ImageMode.Rgba, seed: 9);
        for (int i = 3; i < src.Pixels.Length; i += 4) src.Pixels[i] = 255;
        var jpeg = Encode(16, 8, src.Pixels, SKEncodedImageFormat.Jpeg, 90);
        var plain = ImageDecoder.Decode(jpeg, "plain.jpg");
        var tagged = ImageDecoder.Decode(WithExifOrientation(jpeg, orientation), "tagged.jpg");
        var expected = ImageOps.ExifTranspose(plain, orientation);
        Assert.Equal((expected.Width, expected.Height), (tagged.Width, tagged.Height));
        Assert.Equal(expected.Pixels, tagged.Pixels);
        var untouched = ImageDecoder.Decode(WithExifOrientation(jpeg, orientation), "tagged.jpg", new DecodeOptions { ApplyExifOrientation = false });
        Assert.Equal(plain.Pixels, untouched.Pixels);
    }

    /// <summary>Inserts an APP1 Exif segment (big-endian TIFF, one IFD0 entry: Orientation) right after SOI.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8,       // header, IFD0 at 8
            0, 1,                                          // 1 entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, // Orientation, SHORT, 1, value
            0, 0, 0, 0,                                    // no next IFD
        ];
        var exif = new List<byte>("Exif\0\0"u8.ToArray());
        exif.AddRange(tiff);
        int len = exif.Count + 2;
        var result = new List<byte> { jpeg[0], jpeg[1], 0xFF, 0xE1, (byte)(len >> 8), (byte)len };
        result.AddRange(exif);
        result.AddRange(jpeg.Skip(2));
        return result.ToArray();
    }
}
