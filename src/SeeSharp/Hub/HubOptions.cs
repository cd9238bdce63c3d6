namespace SeeSharp.Hub;

/// <summary>
/// Settings of the Hub client. A new instance takes its defaults from the environment exactly as
/// huggingface_hub's <c>constants.py</c> does (see <see cref="FromEnvironment"/>); set properties with
/// <c>with</c>/<c>init</c> to override them.
/// </summary>
public sealed record HubOptions
{
    /// <summary>Default Hub address (huggingface_hub's <c>ENDPOINT</c> when HF_ENDPOINT is unset).</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Creates options with defaults read from the process environment.</summary>
    public HubOptions() : this(Environment.GetEnvironmentVariable) { }

    private HubOptions(Func<string, string?> env)
    {
        string home = NonEmpty(env("HOME")) ?? NonEmpty(env("USERPROFILE"))
            ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Expand(string p) => p == "~" ? home
            : p.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, p[2..]) : p;

        // HF_HOME = $HF_HOME or $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface
        string hfHome = Expand(NonEmpty(env("HF_HOME"))
            ?? Path.Combine(NonEmpty(env("XDG_CACHE_HOME")) ?? Path.Combine(home, ".cache"), "huggingface"));
        // HF_HUB_CACHE, then the legacy HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub
        CacheDir = Expand(NonEmpty(env("HF_HUB_CACHE")) ?? NonEmpty(env("HUGGINGFACE_HUB_CACHE"))
            ?? Path.Combine(hfHome, "hub"));
        Endpoint = (NonEmpty(env("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/');
        Offline = IsTrue(NonEmpty(env("HF_HUB_OFFLINE")) ?? env("TRANSFORMERS_OFFLINE"));   // Python: a or b
        // Token: HF_TOKEN, then the legacy HUGGING_FACE_HUB_TOKEN, then the token file (HF_TOKEN_PATH or $HF_HOME/token).
        Token = CleanToken(env("HF_TOKEN")) ?? CleanToken(env("HUGGING_FACE_HUB_TOKEN"))
            ?? ReadTokenFile(Expand(NonEmpty(env("HF_TOKEN_PATH")) ?? Path.Combine(hfHome, "token")));
    }

    /// <summary>
    /// Options whose defaults come from <paramref name="getVariable"/> instead of the process environment
    /// (tests inject a dictionary). Variables, as huggingface_hub reads them: HF_ENDPOINT; HF_HUB_CACHE,
    /// HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HOME; HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE
    /// (1/ON/YES/TRUE); HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH.
    /// </summary>
    public static HubOptions FromEnvironment(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        return new HubOptions(getVariable);
    }

    /// <summary>Hub address without trailing slash; files come from <c>{Endpoint}/{repo}/resolve/{revision}/{path}</c>.</summary>
    public string Endpoint { get; init; }

    /// <summary>Access token sent as <c>Authorization: Bearer</c>, only to the <see cref="Endpoint"/> origin. Null: none.</summary>
    public string? Token { get; init; }

    /// <summary>Root of the huggingface_hub cache (folders <c>models--org--name</c>).</summary>
    public string CacheDir { get; init; }

    /// <summary>Never touch the network; resolve everything from the cache (HF_HUB_OFFLINE=1).</summary>
    public bool Offline { get; init; }

    /// <summary>Revision used when a repo id carries no <c>@revision</c> and none is passed.</summary>
    public string Revision { get; init; } = RepoId.DefaultRevision;

    /// <summary>HTTP handler for all requests (tests inject one). It should not follow redirects by itself:
    /// the client follows them so that the token never leaves the endpoint's origin. Null: a
    /// <see cref="System.Net.Http.SocketsHttpHandler"/> without automatic redirects.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Retries after a 429/5xx answer or a dropped/stalled connection, per request (a download that
    /// makes progress gets its count back, as huggingface_hub's <c>http_get</c> does).</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Wait before the first retry; doubled each time up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two retries.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>Time allowed for response headers, and between two reads of a body, before the connection is
    /// treated as dropped (huggingface_hub's HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT, 10 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for another process's or task's lock on the same blob.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    internal static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string? CleanToken(string? token)
    {
        if (token is null) return null;
        token = token.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Trim();
        return token.Length == 0 ? null : token;
    }

    private static string? ReadTokenFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > 64 * 1024) return null;  // a token is ~40 bytes; anything huge is not one
            return CleanToken(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Progress of one file download, for progress bars.</summary>
/// <param name="File">Repo-relative file name.</param>
/// <param name="BytesDone">Bytes on disk so far, including a resumed prefix.</param>
/// <param name="TotalBytes">Expected size, when the Hub announced it.</param>
/// <param name="BytesPerSecond">Average transfer rate of this download session.</param>
public readonly record struct DownloadProgress(string File, long BytesDone, long? TotalBytes, double BytesPerSecond);
