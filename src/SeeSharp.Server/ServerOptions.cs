namespace SeeSharp.Server;

/// <summary>
/// How <see cref="SeeSharpServer"/> listens and what it accepts. Every limit is checked before the work it guards
/// (body size before parsing, image header before decoding, queue length before waiting) and answered with an
/// OpenAI-shaped error.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind: an IP address or <c>localhost</c> (default loopback only, <c>127.0.0.1</c>).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port (default 8080; 0 picks a free one, see <see cref="SeeSharpServer.Address"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every <c>/v1</c> request needs <c>Authorization: Bearer &lt;key&gt;</c> (401 otherwise).</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Let image parts name <c>http(s)://</c> and <c>file://</c> URLs, which the server then fetches or reads
    /// (default off: a server that fetches URLs for its clients is an SSRF and local-file-read hazard). <c>data:</c>
    /// URLs are always accepted.
    /// </summary>
    public bool AllowRemoteImages { get; init; }

    /// <summary>Largest request body in bytes (default 20 MiB; 413 above).</summary>
    public long MaxRequestBodyBytes { get; init; } = 20L << 20;

    /// <summary>Most images in one request, all turns together (default 8; 400 above).</summary>
    public int MaxImagesPerRequest { get; init; } = 8;

    /// <summary>Largest width * height of one image, read from its header before decoding (default 36 megapixels; 400 above).</summary>
    public long MaxImagePixels { get; init; } = 36_000_000;

    /// <summary>Largest <c>max_tokens</c> a request may ask for (default 4096; 400 above).</summary>
    public int MaxTokensLimit { get; init; } = 4096;

    /// <summary>
    /// Token budget when a request gives no <c>max_tokens</c> (default 512), cut to what the context has left after
    /// the prompt.
    /// </summary>
    public int DefaultMaxTokens { get; init; } = 512;

    /// <summary>Generations run one at a time; this many more requests may wait (default 16; 429 with Retry-After above).</summary>
    public int MaxQueueLength { get; init; } = 16;

    /// <summary>Largest number of messages in one request (default 256; 400 above).</summary>
    public int MaxMessages { get; init; } = 256;

    /// <summary>On shutdown, in-flight generations get this long to finish before they are cancelled (default 10 s).</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one remote image download when <see cref="AllowRemoteImages"/> is on (default 30 s).</summary>
    public TimeSpan RemoteImageTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Rejects impossible settings, naming the option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("host must not be empty");
        if (Port is < 0 or > 65535) throw new ArgumentException($"port must be in 0..65535 (got {Port})");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("api key must not be empty (leave it unset to disable authentication)");
        if (MaxRequestBodyBytes is < 1024 or > 1L << 30)
            throw new ArgumentException($"max request body must be in 1 KiB..1 GiB (got {MaxRequestBodyBytes} bytes)");
        if (MaxImagesPerRequest < 0) throw new ArgumentException($"max images per request must be >= 0 (got {MaxImagesPerRequest})");
        if (MaxImagePixels < 1) throw new ArgumentException($"max image pixels must be >= 1 (got {MaxImagePixels})");
        if (MaxTokensLimit < 1) throw new ArgumentException($"max tokens limit must be >= 1 (got {MaxTokensLimit})");
        if (DefaultMaxTokens < 1 || DefaultMaxTokens > MaxTokensLimit)
            throw new ArgumentException($"default max tokens must be in 1..{MaxTokensLimit} (got {DefaultMaxTokens})");
        if (MaxQueueLength < 0) throw new ArgumentException($"max queue length must be >= 0 (got {MaxQueueLength})");
        if (MaxMessages < 1) throw new ArgumentException($"max messages must be >= 1 (got {MaxMessages})");
    }
}
