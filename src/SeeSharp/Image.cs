namespace SeeSharp;

/// <summary>
/// An encoded image (PNG, JPEG, WebP, GIF, BMP) given to a chat. Its bytes are read when the image is made;
/// decoding happens in the processor, which applies the model's size limits.
/// </summary>
public sealed class Image
{
    /// <summary>Images larger than this many encoded bytes are refused before reading (256 MiB).</summary>
    public const long MaxEncodedBytes = 256L << 20;

    private Image(byte[] bytes, string source) { Bytes = bytes; Source = source; }

    /// <summary>The encoded file bytes.</summary>
    public byte[] Bytes { get; }

    /// <summary>Where the image came from (a path, "bytes", "stream" or a URL), for error messages.</summary>
    public string Source { get; }

    /// <summary>Reads an image file.</summary>
    public static Image Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"image file not found: {path}", path);
        if (info.Length > MaxEncodedBytes) throw new InvalidDataException($"{path}: {info.Length} bytes is larger than the {MaxEncodedBytes}-byte limit for an image file");
        return new Image(File.ReadAllBytes(path), path);
    }

    /// <summary>An image from encoded bytes held in memory.</summary>
    public static Image FromBytes(byte[] bytes, string source = "bytes")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.LongLength > MaxEncodedBytes) throw new InvalidDataException($"{source}: {bytes.LongLength} bytes is larger than the {MaxEncodedBytes}-byte limit for an image");
        return new Image(bytes, source);
    }

    /// <summary>Reads an image from a stream (up to <see cref="MaxEncodedBytes"/>).</summary>
    public static async Task<Image> FromStreamAsync(Stream stream, string source = "stream", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxEncodedBytes) throw new InvalidDataException($"{source}: more than the {MaxEncodedBytes}-byte limit for an image");
            buffer.Write(chunk, 0, n);
        }
        return new Image(buffer.ToArray(), source);
    }

    /// <summary>Reads an image from a stream (up to <see cref="MaxEncodedBytes"/>).</summary>
    public static Image FromStream(Stream stream, string source = "stream") => FromStreamAsync(stream, source).GetAwaiter().GetResult();

    /// <summary>
    /// Downloads an image. Only called when the caller asks for it: nothing in SeeSharp fetches URLs on its own.
    /// </summary>
    public static async Task<Image> FromUrlAsync(Uri url, HttpClient? http = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"only http and https image URLs can be downloaded, not {url.Scheme}: {url}", nameof(url));
        var client = http ?? s_http.Value;
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        if (response.Content.Headers.ContentLength > MaxEncodedBytes) throw new InvalidDataException($"{url}: larger than the {MaxEncodedBytes}-byte limit for an image");
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return await FromStreamAsync(stream, url.ToString(), ct).ConfigureAwait(false);
    }

    private static readonly Lazy<HttpClient> s_http = new(() => new HttpClient { Timeout = TimeSpan.FromSeconds(60) });

    /// <inheritdoc />
    public override string ToString() => $"Image({Source}, {Bytes.Length} bytes)";
}
