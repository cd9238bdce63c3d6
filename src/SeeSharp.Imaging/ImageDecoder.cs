using SkiaSharp;

namespace SeeSharp.Imaging;

/// <summary>Limits and choices for <see cref="ImageDecoder"/>.</summary>
public sealed record DecodeOptions
{
    /// <summary>Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (1024 * 1024 * 1024 // 4 // 3), our default pixel limit.</summary>
    public const long PillowMaxImagePixels = 89_478_485;

    /// <summary>Largest width * height accepted; checked from the file header before any pixel is decoded.</summary>
    public long MaxPixels { get; init; } = PillowMaxImagePixels;

    /// <summary>Largest file read by <see cref="ImageDecoder.Load(string, DecodeOptions?)"/> (default 256 MiB).</summary>
    public long MaxFileBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Apply the EXIF orientation like <c>PIL.ImageOps.exif_transpose</c> (default true).</summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>The defaults.</summary>
    public static DecodeOptions Default { get; } = new();
}

/// <summary>
/// Decodes PNG, JPEG, WebP, GIF (first frame) and BMP files into <see cref="RasterImage"/>s with Pillow's modes:
/// 8-bit gray stays <see cref="ImageMode.L"/>, opaque color is <see cref="ImageMode.Rgb"/>, color with alpha (incl.
/// palette images with transparency and gray+alpha) is <see cref="ImageMode.Rgba"/> with straight, unpremultiplied alpha.
/// No color management is applied (as Pillow). File decoding is SkiaSharp's; everything after it is ours.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Reads and decodes an image file.</summary>
    /// <exception cref="ImageDecodeException">Missing/oversized file, unknown format, corrupt or truncated data, too many pixels.</exception>
    public static RasterImage Load(string path, DecodeOptions? options = null)
    {
        options ??= DecodeOptions.Default;
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > options.MaxFileBytes)
                throw new ImageDecodeException(path, $"file has {stream.Length} bytes, over the limit of {options.MaxFileBytes} (DecodeOptions.MaxFileBytes)");
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (IOException e)
        {
            throw new ImageDecodeException(path, e.Message, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ImageDecodeException(path, e.Message, e);
        }
        return Decode(bytes, path, options);
    }

    /// <summary>Reads an encoded image from <paramref name="stream"/> (at most <see cref="DecodeOptions.MaxFileBytes"/>) and decodes it.</summary>
    /// <exception cref="ImageDecodeException">Too much data, unknown format, corrupt or truncated data, too many pixels.</exception>
    public static RasterImage Decode(Stream stream, string sourceName = "<stream>", DecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= DecodeOptions.Default;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        try
        {
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + read > options.MaxFileBytes)
                    throw new ImageDecodeException(sourceName, $"more than {options.MaxFileBytes} bytes of data (DecodeOptions.MaxFileBytes)");
                buffer.Write(chunk, 0, read);
            }
        }
        catch (IOException e)
        {
            throw new ImageDecodeException(sourceName, e.Message, e);
        }
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), sourceName, options);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="ImageDecodeException">Unknown format, corrupt or truncated data, too many pixels.</exception>
    public static RasterImage Decode(ReadOnlySpan<byte> encoded, string sourceName = "<memory>", DecodeOptions? options = null)
    {
        options ??= DecodeOptions.Default;
        if (encoded.IsEmpty) throw new ImageDecodeException(sourceName, "the data is empty");
        string? sniffed = Sniff(encoded);
        if (sniffed is null)
            throw new ImageDecodeException(sourceName,
                $"unknown image format (first bytes {Convert.ToHexString(encoded[..Math.Min(8, encoded.Length)])}; PNG, JPEG, WebP, GIF and BMP are supported)");

        // The managed stream must outlive the codec (declared first, disposed last).
        using var stream = new MemoryStream(encoded.ToArray(), writable: false);
        using var codec = SKCodec.Create(stream, out var createResult);
        if (codec is null)
        {
            throw new ImageDecodeException(sourceName, createResult switch
            {
                SKCodecResult.IncompleteInput => $"{sniffed} data ends before its header is complete ({encoded.Length} bytes)",
                _ => $"{sniffed} header is corrupt or unsupported ({createResult})",
            });
        }

        var format = codec.EncodedFormat;
        if (format is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp
            or SKEncodedImageFormat.Gif or SKEncodedImageFormat.Bmp))
            throw new ImageDecodeException(sourceName, $"image format {format} is not supported (PNG, JPEG, WebP, GIF, BMP are)");

        // Header-only size check: nothing is allocated for pixels before it.
        var info = codec.Info;
        long pixelCount = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0)
            throw new ImageDecodeException(sourceName, $"{format} header gives an invalid size {info.Width}x{info.Height}");
        if (pixelCount > options.MaxPixels)
            throw new ImageDecodeException(sourceName,
                $"{format} image is {info.Width}x{info.Height} = {pixelCount} pixels, over the limit of {options.MaxPixels} (DecodeOptions.MaxPixels)");
        if (pixelCount * 4 > Array.MaxLength)
            throw new ImageDecodeException(sourceName, $"{format} image {info.Width}x{info.Height} is too large to hold in memory");

        bool gray = info.ColorType == SKColorType.Gray8;
        bool opaque = info.AlphaType == SKAlphaType.Opaque;
        var target = gray
            ? new SKImageInfo(info.Width, info.Height, SKColorType.Gray8, SKAlphaType.Opaque)
            : new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        // ColorSpace stays null: no color conversion, like Pillow (which ignores gAMA / ICC profiles when decoding).
        int channels = gray ? 1 : 4;
        var raw = new byte[pixelCount * channels];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = raw)
                result = codec.GetPixels(target, (IntPtr)p, info.Width * channels, new SKCodecOptions(0));
        }
        if (result != SKCodecResult.Success)
        {
            throw new ImageDecodeException(sourceName, result switch
            {
                SKCodecResult.IncompleteInput => $"{format} data is truncated (the file ends before all {info.Width}x{info.Height} pixels are decoded)",
                SKCodecResult.ErrorInInput => $"{format} data is corrupt",
                _ => $"{format} decoding failed ({result})",
            });
        }

        RasterImage image;
        if (gray)
            image = new RasterImage(info.Width, info.Height, ImageMode.L, raw) { SourceName = sourceName };
        else if (opaque)
            image = new RasterImage(info.Width, info.Height, ImageMode.Rgb, DropFourthByte(raw, pixelCount)) { SourceName = sourceName };
        else
            image = new RasterImage(info.Width, info.Height, ImageMode.Rgba, raw) { SourceName = sourceName };

        if (options.ApplyExifOrientation && codec.EncodedOrigin != SKEncodedOrigin.TopLeft)
            image = ImageOps.ExifTranspose(image, (int)codec.EncodedOrigin);
        return image;
    }

    /// <summary>The format named by the file's magic bytes, or null when it is none of the supported ones.</summary>
    private static string? Sniff(ReadOnlySpan<byte> d)
    {
        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return "PNG";
        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "JPEG";
        if (d.StartsWith("GIF87a"u8) || d.StartsWith("GIF89a"u8)) return "GIF";
        if (d.StartsWith("BM"u8)) return "BMP";
        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d[8..12].SequenceEqual("WEBP"u8)) return "WebP";
        return null;
    }

    /// <summary>RGBX [N, 4] -> RGB [N, 3].</summary>
    private static byte[] DropFourthByte(byte[] rgbx, long pixelCount)
    {
        var rgb = new byte[pixelCount * 3];
        for (int i = 0, s = 0, d = 0; i < pixelCount; i++, s += 4, d += 3)
        {
            rgb[d] = rgbx[s];
            rgb[d + 1] = rgbx[s + 1];
            rgb[d + 2] = rgbx[s + 2];
        }
        return rgb;
    }
}
