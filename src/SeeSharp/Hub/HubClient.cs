using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SeeSharp.Hub;

/// <summary>
/// Downloads model repos from the Hugging Face Hub into the cache shared with Python's huggingface_hub
/// (same layout, same ETag/commit conventions), resuming partial downloads, verifying sizes and SHA-256,
/// and working from the cache alone when offline. Mirrors huggingface_hub's <c>hf_hub_download</c> and
/// <c>snapshot_download</c> (file_download.py, _snapshot_download.py).
/// </summary>
public sealed partial class HubClient : IDisposable
{
    /// <summary>Files a vision-language model may need besides config.json and the weights; each may be absent.</summary>
    public static IReadOnlyList<string> OptionalModelFiles { get; } =
    [
        "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "preprocessor_config.json", "processor_config.json", "chat_template.json",
        "chat_template.jinja",
    ];

    private const string ConfigFile = "config.json";
    private const string WeightsFile = "model.safetensors";
    private const string WeightsIndexFile = "model.safetensors.index.json";
    private const long MaxJsonBytes = 64L << 20;   // index / listing JSON: real ones are ~100 KB
    private const int MaxRedirects = 10;
    private const int CopyBufferBytes = 1 << 20;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    /// <summary>Creates a client; <paramref name="options"/> defaults to <c>new HubOptions()</c> (environment).</summary>
    public HubClient(HubOptions? options = null)
    {
        Options = options ?? new HubOptions();
        if (!Uri.TryCreate(Options.Endpoint.TrimEnd('/'), UriKind.Absolute, out var endpoint)
            || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"HubOptions.Endpoint '{Options.Endpoint}' is not an absolute http(s) URL.", nameof(options));
        _endpoint = endpoint;
        var handler = Options.HttpHandler ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = Options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler, disposeHandler: Options.HttpHandler is null) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("SeeSharp/0.1");
    }

    /// <summary>The options this client uses.</summary>
    public HubOptions Options { get; }

    /// <summary>False: store snapshot files as copies, as on a file system without symlinks (for tests).</summary>
    internal bool UseSymlinks { get; init; } = true;

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Returns a local folder holding the repo's files. An existing local folder is returned as is (full path).
    /// Otherwise <paramref name="repoIdOrFolder"/> is <c>org/name[@revision]</c> and the files are fetched into the
    /// cache: with <paramref name="include"/> null, the model file set (config.json, model.safetensors or its index
    /// and every shard, and the <see cref="OptionalModelFiles"/> that exist); with globs (fnmatch, as
    /// huggingface_hub's <c>allow_patterns</c>), every file of the repo listing that matches one.
    /// Files already in the snapshot are not requested again; online, one request resolves the revision.
    /// </summary>
    /// <returns>The snapshot folder <c>{cache}/models--org--name/snapshots/{commit}</c>.</returns>
    public async Task<string> SnapshotAsync(string repoIdOrFolder, IEnumerable<string>? include = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repoIdOrFolder);
        if (Directory.Exists(repoIdOrFolder)) return Path.GetFullPath(repoIdOrFolder);
        (string repoId, string? rev) = ParseIdOrThrow(repoIdOrFolder);
        string revision = rev ?? Options.Revision;
        RepoId.ValidateRevision(revision);
        var cache = new HubCache(Options.CacheDir, repoId, UseSymlinks);
        if (include is null) return await SnapshotModelAsync(cache, revision, progress, cancellationToken).ConfigureAwait(false);
        string[] globs = include.ToArray();
        return await SnapshotGlobsAsync(cache, revision, globs, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads one file (huggingface_hub's <c>hf_hub_download</c>) and returns its path in the snapshot folder.
    /// A file already cached for a commit-hash revision costs no request; offline, the cache alone is used.
    /// </summary>
    public async Task<string> DownloadFileAsync(string repoId, string path, string? revision = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        RepoId.Validate(repoId);
        RepoId.ValidateFilePath(path, "the requested file name");
        revision ??= Options.Revision;
        RepoId.ValidateRevision(revision);
        var cache = new HubCache(Options.CacheDir, repoId, UseSymlinks);
        if (RepoId.IsCommitHash(revision) && cache.HasFile(revision, path)) return cache.PointerPath(revision, path);
        if (Options.Offline) return FileFromCache(cache, revision, path, null);

        FileMetadata meta;
        try
        {
            meta = await GetMetadataAsync(cache, revision, path, cancellationToken).ConfigureAwait(false);
        }
        catch (HubTransportException e)
        {
            return FileFromCache(cache, revision, path, e);
        }
        cache.WriteRef(revision, meta.Commit);
        return await EnsureFileAsync(cache, meta.Commit, path, meta, progress, cancellationToken).ConfigureAwait(false);
    }

    private static (string RepoId, string? Revision) ParseIdOrThrow(string idOrFolder)
    {
        try
        {
            return RepoId.Parse(idOrFolder);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"'{idOrFolder}' is neither an existing folder nor a valid Hub repo id: {e.Message}",
                nameof(idOrFolder), e);
        }
    }

    // ---------------------------------------------------------------- snapshots

    private async Task<string> SnapshotModelAsync(HubCache cache, string revision, IProgress<DownloadProgress>? progress,
        CancellationToken ct)
    {
        if (Options.Offline) return ModelFromCache(cache, revision, null);
        // A commit hash whose snapshot is complete needs no request at all (hf_hub_download's early return).
        if (RepoId.IsCommitHash(revision) && MissingModelFile(cache, revision) is null
            && OptionalModelFiles.All(f => cache.HasFile(revision, f) || cache.IsKnownMissing(revision, f)))
            return cache.SnapshotDir(revision);

        FileMetadata configMeta;
        try
        {
            configMeta = await GetMetadataAsync(cache, revision, ConfigFile, ct).ConfigureAwait(false);
        }
        catch (HubTransportException e)
        {
            return ModelFromCache(cache, revision, e);   // as snapshot_download: the Hub is unreachable, use the cache
        }
        catch (EntryNotFoundException e)
        {
            throw new EntryNotFoundException($"Repo '{cache.RepoId}' has no {ConfigFile} at revision '{revision}': " +
                $"it is not a transformers model repo. ({e.Message})") { StatusCode = e.StatusCode };
        }
        string commit = configMeta.Commit;
        cache.WriteRef(revision, commit);
        await EnsureFileAsync(cache, commit, ConfigFile, configMeta, progress, ct).ConfigureAwait(false);

        // Weights: model.safetensors first, then the sharded index (transformers' order).
        bool single = cache.HasFile(commit, WeightsFile);
        if (!single && !cache.HasFile(commit, WeightsIndexFile) && !cache.IsKnownMissing(commit, WeightsFile))
        {
            try
            {
                await EnsureFileAsync(cache, commit, WeightsFile, null, progress, ct).ConfigureAwait(false);
                single = true;
            }
            catch (EntryNotFoundException) { }
        }
        if (!single)
        {
            try
            {
                string index = await EnsureFileAsync(cache, commit, WeightsIndexFile, null, progress, ct).ConfigureAwait(false);
                foreach (string shard in ReadIndexShards(index, cache.RepoId))
                    await EnsureFileAsync(cache, commit, shard, null, progress, ct).ConfigureAwait(false);
            }
            catch (EntryNotFoundException e) when (!cache.HasFile(commit, WeightsIndexFile))
            {
                throw new EntryNotFoundException($"Repo '{cache.RepoId}' at revision '{revision}' (commit {commit}) has " +
                    $"neither {WeightsFile} nor {WeightsIndexFile}; only safetensors weights are supported. ({e.Message})")
                { StatusCode = e.StatusCode };
            }
        }

        foreach (string file in OptionalModelFiles)
        {
            if (cache.HasFile(commit, file) || cache.IsKnownMissing(commit, file)) continue;
            try
            {
                await EnsureFileAsync(cache, commit, file, null, progress, ct).ConfigureAwait(false);
            }
            catch (EntryNotFoundException) { }   // optional: remembered in .no_exist, skipped
        }
        return cache.SnapshotDir(commit);
    }

    private async Task<string> SnapshotGlobsAsync(HubCache cache, string revision, string[] globs,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        if (Options.Offline) return FolderFromCache(cache, revision, null);
        RepoListing listing;
        try
        {
            listing = await GetListingAsync(cache, revision, ct).ConfigureAwait(false);
        }
        catch (HubTransportException e)
        {
            return FolderFromCache(cache, revision, e);
        }
        cache.WriteRef(revision, listing.Commit);
        var matchers = globs.Select(Glob.ToRegex).ToArray();
        foreach (string file in listing.Files)
        {
            if (!matchers.Any(m => m.IsMatch(file))) continue;
            await EnsureFileAsync(cache, listing.Commit, file, null, progress, ct).ConfigureAwait(false);
        }
        string dir = cache.SnapshotDir(listing.Commit);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private string ModelFromCache(HubCache cache, string revision, HubTransportException? cause)
    {
        string commit = CommitFromCache(cache, revision, ConfigFile, cause);
        string? missing = MissingModelFile(cache, commit);
        if (missing is not null)
            throw new LocalEntryNotFoundException(
                $"{Reason(cause)}: '{missing}' of repo '{cache.RepoId}' (revision '{revision}', commit {commit}) is not " +
                $"in the cache at {cache.SnapshotDir(commit)}. Download the model once online{Hint(cause)}.", cause);
        return cache.SnapshotDir(commit);
    }

    private string FolderFromCache(HubCache cache, string revision, HubTransportException? cause)
    {
        string commit = CommitFromCache(cache, revision, "the repo snapshot", cause);
        string dir = cache.SnapshotDir(commit);
        if (!Directory.Exists(dir))
            throw new LocalEntryNotFoundException($"{Reason(cause)}: no snapshot of repo '{cache.RepoId}' at commit {commit} " +
                $"in the cache ({dir}). Download it once online{Hint(cause)}.", cause);
        return dir;
    }

    private string FileFromCache(HubCache cache, string revision, string file, HubTransportException? cause)
    {
        string commit = CommitFromCache(cache, revision, file, cause);
        if (cache.HasFile(commit, file)) return cache.PointerPath(commit, file);
        if (cache.IsKnownMissing(commit, file))
            throw new EntryNotFoundException($"File '{file}' does not exist in repo '{cache.RepoId}' at commit {commit} " +
                "(remembered in the cache's .no_exist).");
        throw new LocalEntryNotFoundException($"{Reason(cause)}: '{file}' of repo '{cache.RepoId}' (revision '{revision}', " +
            $"commit {commit}) is not in the cache at {cache.PointerPath(commit, file)}{Hint(cause)}.", cause);
    }

    private string CommitFromCache(HubCache cache, string revision, string wanted, HubTransportException? cause)
    {
        return cache.ResolveCommit(revision) ?? throw new LocalEntryNotFoundException(
            $"{Reason(cause)}: '{wanted}' of repo '{cache.RepoId}' cannot be found: revision '{revision}' is not in the " +
            $"cache ({cache.RefPath(revision)} is missing). Download the model once online{Hint(cause)}.", cause);
    }

    private string Reason(HubTransportException? cause) => cause is null
        ? "Offline mode (HF_HUB_OFFLINE=1 or HubOptions.Offline)"
        : $"The Hub at {Options.Endpoint} could not be reached ({cause.Message})";

    private static string Hint(HubTransportException? cause) => cause is null ? " (unset HF_HUB_OFFLINE)" : "";

    /// <summary>First required model file missing from the snapshot, or null when config and weights are all there.</summary>
    private static string? MissingModelFile(HubCache cache, string commit)
    {
        if (!cache.HasFile(commit, ConfigFile)) return ConfigFile;
        if (cache.HasFile(commit, WeightsFile)) return null;
        if (!cache.HasFile(commit, WeightsIndexFile)) return $"{WeightsFile} (or {WeightsIndexFile})";
        foreach (string shard in ReadIndexShards(cache.PointerPath(commit, WeightsIndexFile), cache.RepoId))
            if (!cache.HasFile(commit, shard)) return shard;
        return null;
    }

    /// <summary>Distinct shard names of a safetensors index's <c>weight_map</c>, each validated as a safe path.</summary>
    internal static IReadOnlyList<string> ReadIndexShards(string indexPath, string repoId)
    {
        var info = new FileInfo(indexPath);
        if (info.Length > MaxJsonBytes)
            throw new HubException($"{WeightsIndexFile} of '{repoId}' is {info.Length} bytes, over the {MaxJsonBytes} limit.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException e)
        {
            throw new HubException($"{WeightsIndexFile} of '{repoId}' ({indexPath}) is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HubException($"{WeightsIndexFile} of '{repoId}' ({indexPath}) has no 'weight_map' object.");
            var shards = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new HubException($"{WeightsIndexFile} of '{repoId}': weight_map['{entry.Name}'] is not a string.");
                string shard = entry.Value.GetString()!;
                RepoId.ValidateFilePath(shard, $"{WeightsIndexFile} of '{repoId}' (weight_map['{entry.Name}'])");
                if (seen.Add(shard)) shards.Add(shard);
            }
            if (shards.Count == 0) throw new HubException($"{WeightsIndexFile} of '{repoId}' names no shard.");
            return shards;
        }
    }

    // ---------------------------------------------------------------- one file

    /// <summary>Makes snapshots/{commit}/{file} exist, downloading its blob if needed; returns its path.</summary>
    private async Task<string> EnsureFileAsync(HubCache cache, string commit, string file, FileMetadata? meta,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string pointer = cache.PointerPath(commit, file);
        if (File.Exists(pointer)) return pointer;
        meta ??= await GetMetadataAsync(cache, commit, file, ct).ConfigureAwait(false);
        string blob = cache.BlobPath(meta.Etag);
        bool newBlob = false;
        if (!File.Exists(blob))
        {
            using var fileLock = await AcquireLockAsync(cache.LockPath(meta.Etag), ct).ConfigureAwait(false);
            if (!File.Exists(blob))   // another process or task may have finished it while we waited
            {
                string incomplete = blob + ".incomplete";
                Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
                await DownloadToFileAsync(cache, file, meta, incomplete, progress, ct).ConfigureAwait(false);
                File.Move(incomplete, blob, overwrite: true);
                newBlob = true;
            }
        }
        cache.LinkPointer(blob, pointer, newBlob);
        return pointer;
    }

    private async Task<FileStream> AcquireLockAsync(string lockPath, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var waited = Stopwatch.StartNew();
        int delayMs = 10;
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock on Unix), the same kind of lock Python's
                // filelock takes on the same path: Python and .NET downloads of one blob exclude each other.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < Options.LockTimeout)
            {
                await Task.Delay(delayMs, ct).ConfigureAwait(false);
                delayMs = Math.Min(delayMs * 2, 250);
            }
            catch (IOException e)
            {
                throw new HubException($"Waited {Options.LockTimeout} for the lock {lockPath}, held by another download of " +
                    "the same file. If no download is running, delete the lock file.", e);
            }
        }
    }

    /// <summary>
    /// Downloads <paramref name="meta"/>'s content into <paramref name="incomplete"/>, resuming what is already there
    /// with <c>Range: bytes=N-</c> and after dropped connections; then checks the size and (for an LFS sha256 ETag)
    /// the SHA-256. A file that fails the check is deleted.
    /// </summary>
    private async Task DownloadToFileAsync(HubCache cache, string file, FileMetadata meta, string incomplete,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        bool checkSha = Sha256Regex().IsMatch(meta.Etag);
        using var sha = checkSha ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buffer = new byte[CopyBufferBytes];
        await using (var fs = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None,
                         bufferSize: 0, FileOptions.Asynchronous))
        {
            long have = fs.Length;
            if (have > meta.Size) { fs.SetLength(0); have = 0; }
            EnsureDiskSpace(incomplete, meta.Size - have, file, cache.RepoId);
            if (sha is not null && have > 0) await HashPrefixAsync(fs, have, sha, buffer, ct).ConfigureAwait(false);
            fs.Position = have;

            var clock = Stopwatch.StartNew();
            long sessionStart = have;
            TimeSpan lastReport = TimeSpan.MinValue;
            void Report(bool force)
            {
                if (progress is null || (!force && clock.Elapsed - lastReport < ProgressInterval)) return;
                lastReport = clock.Elapsed;
                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
                progress.Report(new DownloadProgress(file, have, meta.Size, (have - sessionStart) / seconds));
            }
            Report(force: true);

            int failures = 0;
            while (have < meta.Size)
            {
                long attemptStart = have;
                try
                {
                    using var response = await SendFollowingRedirectsAsync(meta.Location, have, ct).ConfigureAwait(false);
                    var status = (int)response.StatusCode;
                    if (status == 416)
                    {
                        // The server has nothing past our prefix although we are short of the size: start over.
                        Restart(fs, sha, ref have);
                        throw new IOException($"HTTP 416 for a range starting at {attemptStart} of {meta.Size} bytes");
                    }
                    if (!response.IsSuccessStatusCode)
                        throw ErrorFor(response, cache, file, meta.Commit, meta.Location);
                    if (have > 0 && status != 206)
                    {
                        Restart(fs, sha, ref have);   // Range ignored: the body is the whole file
                    }
                    else if (status == 206)
                    {
                        long? from = response.Content.Headers.ContentRange?.From;
                        if (from != have)
                            throw new HubException($"The server answered a download of '{file}' from byte {have} with " +
                                $"Content-Range starting at {from?.ToString() ?? "(none)"} ({meta.Location}).");
                    }
                    await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    using var readCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    while (true)
                    {
                        readCts.CancelAfter(Options.Timeout);
                        int n;
                        try
                        {
                            n = await body.ReadAsync(buffer, readCts.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                            throw new IOException($"no data for {Options.Timeout.TotalSeconds:0.###} s");
                        }
                        if (n == 0) break;
                        if (have + n > meta.Size)
                            throw Corrupt(incomplete, fs, $"the server sent more than the {meta.Size} bytes announced");
                        await fs.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        sha?.AppendData(buffer, 0, n);
                        have += n;
                        Report(force: false);
                    }
                    if (have < meta.Size)
                        throw Corrupt(incomplete, fs, $"the download ended at {have} of the {meta.Size} bytes announced " +
                            "although the server reported it complete");
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
                {
                    if (have > attemptStart) failures = 0;   // progress was made: like http_get, the count starts again
                    if (++failures > Options.MaxRetries)
                        throw new HubTransportException($"Download of '{file}' from {meta.Location} failed after " +
                            $"{failures} attempts at {have} of {meta.Size} bytes: {e.Message} (the partial file " +
                            $"{incomplete} is kept and will be resumed).", e);
                    await Task.Delay(Backoff(failures), ct).ConfigureAwait(false);
                }
            }
            Report(force: true);
            await fs.FlushAsync(ct).ConfigureAwait(false);
            if (fs.Length != meta.Size)
                throw Corrupt(incomplete, fs, $"the file has {fs.Length} bytes instead of the {meta.Size} announced");
            if (sha is not null)
            {
                string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
                if (actual != meta.Etag)
                    throw Corrupt(incomplete, fs, $"its SHA-256 is {actual} instead of {meta.Etag}");
            }
        }

        HubIntegrityException Corrupt(string path, FileStream fs, string what)
        {
            fs.Dispose();
            File.Delete(path);
            return new HubIntegrityException($"Download of '{file}' from repo '{cache.RepoId}' (commit {meta.Commit}) " +
                $"is corrupt: {what}. The partial file was deleted; try again.");
        }
    }

    /// <summary>Fails before downloading when the cache's file system has less room than the rest of the file needs
    /// (huggingface_hub only warns; a hostile or wrong size must not fill the disk).</summary>
    private static void EnsureDiskSpace(string path, long needed, string file, string repoId)
    {
        long free;
        try
        {
            string full = Path.GetFullPath(path);
            string where = OperatingSystem.IsWindows() ? Path.GetPathRoot(full)! : Path.GetDirectoryName(full)!;
            free = new DriveInfo(where).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return;   // unknown: let the write fail if it must
        }
        if (free < needed)
            throw new HubException($"Not enough disk space for '{file}' of repo '{repoId}': {needed} more bytes are " +
                $"needed and {free} are free where the cache is ({Path.GetDirectoryName(path)}).");
    }

    private static void Restart(FileStream fs, IncrementalHash? sha, ref long have)
    {
        fs.SetLength(0);
        fs.Position = 0;
        have = 0;
        sha?.GetHashAndReset();
    }

    private static async Task HashPrefixAsync(FileStream fs, long length, IncrementalHash sha, byte[] buffer, CancellationToken ct)
    {
        fs.Position = 0;
        long left = length;
        while (left > 0)
        {
            int n = await fs.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
            if (n == 0) throw new IOException($"{fs.Name} shrank while being read");
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Regex();

    // ---------------------------------------------------------------- HTTP

    internal sealed record FileMetadata(string Commit, string Etag, long Size, Uri Location);

    private sealed record RepoListing(string Commit, IReadOnlyList<string> Files);

    private Uri ResolveUrl(string repoId, string revision, string file) =>
        new($"{_endpoint.AbsoluteUri.TrimEnd('/')}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/" +
            string.Join('/', file.Split('/').Select(Uri.EscapeDataString)));

    /// <summary>
    /// HEAD of the resolve URL (huggingface_hub's <c>get_hf_file_metadata</c>): relative redirects (renamed repos)
    /// are followed, a redirect to another host (the CDN) is not: its Location is where the content is fetched.
    /// An EntryNotFound answer that names a commit leaves a <c>.no_exist</c> marker.
    /// </summary>
    private async Task<FileMetadata> GetMetadataAsync(HubCache cache, string revision, string file, CancellationToken ct)
    {
        Uri url = ResolveUrl(cache.RepoId, revision, file);
        for (int hop = 0; ; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, url, 0, ct).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            Uri? location = response.Headers.Location;
            if (status is >= 300 and <= 399 && location is not null && !location.IsAbsoluteUri)
            {
                if (hop >= MaxRedirects) throw new HubException($"Too many redirects from {ResolveUrl(cache.RepoId, revision, file)}.");
                url = Redirect(url, location);   // same host: a renamed repo or the Hub's resolve cache
                continue;
            }
            string? commit = Header(response, "X-Repo-Commit");
            if (status is < 200 or > 399)
            {
                var error = ErrorFor(response, cache, file, revision, url);
                if (error is EntryNotFoundException && commit is not null && SafeCommit(commit))
                {
                    cache.MarkMissing(commit, file);
                    cache.WriteRef(revision, commit);
                }
                throw error;
            }
            string? etag = Header(response, "X-Linked-Etag") ?? Header(response, "ETag");
            string? sizeText = Header(response, "X-Linked-Size") ?? response.Content.Headers.ContentLength?.ToString();
            if (commit is null)
                throw new HubException($"{url} did not send X-Repo-Commit: the server does not look like a Hugging Face " +
                    $"Hub (check HF_ENDPOINT, now {Options.Endpoint}, and any proxy).");
            if (etag is null)
                throw new HubException($"{url} did not send an ETag: the file cannot be cached reliably.");
            etag = NormalizeEtag(etag);
            HubCache.ValidateServerName(commit, "X-Repo-Commit", url.ToString());
            HubCache.ValidateServerName(etag, "ETag", url.ToString());
            if (sizeText is null || !long.TryParse(sizeText, out long size) || size < 0)
                throw new HubException($"{url} sent no usable size (X-Linked-Size / Content-Length: '{sizeText}').");
            Uri contentUrl = status is >= 300 and <= 399 && location is not null ? Redirect(url, location) : url;
            return new FileMetadata(commit, etag, size, contentUrl);
        }
    }

    private static bool SafeCommit(string commit)
    {
        try { HubCache.ValidateServerName(commit, "X-Repo-Commit", ""); return true; }
        catch (HubException) { return false; }
    }

    /// <summary>ETag without weak marker and quotes (huggingface_hub's <c>_normalize_etag</c>).</summary>
    internal static string NormalizeEtag(string etag)
    {
        etag = etag.Trim();
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        return etag.Trim('"');
    }

    /// <summary>GET <c>/api/models/{repo}/revision/{revision}</c> (huggingface_hub's <c>repo_info</c>): commit and file list.</summary>
    private async Task<RepoListing> GetListingAsync(HubCache cache, string revision, CancellationToken ct)
    {
        var url = new Uri($"{_endpoint.AbsoluteUri.TrimEnd('/')}/api/models/{cache.RepoId}/revision/{Uri.EscapeDataString(revision)}");
        using var response = await SendFollowingRedirectsAsync(url, 0, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw ErrorFor(response, cache, null, revision, url);
        if (response.Content.Headers.ContentLength > MaxJsonBytes)
            throw new HubException($"The listing {url} is {response.Content.Headers.ContentLength} bytes, over the {MaxJsonBytes} limit.");
        byte[] bytes;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var ms = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                if (ms.Length + n > MaxJsonBytes) throw new HubException($"The listing {url} is over the {MaxJsonBytes} byte limit.");
                ms.Write(buffer, 0, n);
            }
            bytes = ms.ToArray();
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new HubTransportException($"Reading {url} failed: {e.Message}", e);
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sha", out var shaEl)
                || shaEl.ValueKind != JsonValueKind.String)
                throw new HubException($"The listing {url} has no 'sha' string.");
            string commit = shaEl.GetString()!;
            HubCache.ValidateServerName(commit, "commit 'sha'", url.ToString());
            var files = new List<string>();
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
                foreach (var s in siblings.EnumerateArray())
                    if (s.ValueKind == JsonValueKind.Object && s.TryGetProperty("rfilename", out var name)
                        && name.ValueKind == JsonValueKind.String)
                    {
                        string file = name.GetString()!;
                        RepoId.ValidateFilePath(file, $"the file listing of '{cache.RepoId}' ({url})");
                        files.Add(file);
                    }
            return new RepoListing(commit, files);
        }
        catch (JsonException e)
        {
            throw new HubException($"The listing {url} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Target of a redirect, relative ones resolved against <paramref name="from"/>; only http(s).</summary>
    private static Uri Redirect(Uri from, Uri location)
    {
        var target = location.IsAbsoluteUri ? location : new Uri(from, location);
        if (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps)
            throw new HubException($"{from} redirected to '{location}', which is not an http(s) URL.");
        return target;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    private bool IsEndpointOrigin(Uri url) =>
        string.Equals(url.Scheme, _endpoint.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.IdnHost, _endpoint.IdnHost, StringComparison.OrdinalIgnoreCase)
        && url.Port == _endpoint.Port;

    /// <summary>GET following every redirect (the token is re-decided for each hop: endpoint origin only).</summary>
    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(Uri url, long rangeFrom, CancellationToken ct)
    {
        for (int hop = 0; ; hop++)
        {
            var response = await SendAsync(HttpMethod.Get, url, rangeFrom, ct).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 300 and <= 399 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (hop >= MaxRedirects) throw new HubException($"Too many redirects from {url}.");
                url = Redirect(url, location);
                continue;
            }
            return response;
        }
    }

    /// <summary>
    /// Sends one request (headers only), retrying with exponential backoff on 429/5xx answers, refused or dropped
    /// connections and header timeouts; after <see cref="HubOptions.MaxRetries"/> retries the last answer is returned
    /// or a <see cref="HubTransportException"/> thrown.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long rangeFrom, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (rangeFrom > 0) request.Headers.Range = new RangeHeaderValue(rangeFrom, null);
            if (Options.Token is { } token && IsEndpointOrigin(url))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

            HttpResponseMessage? response = null;
            Exception? error = null;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                cts.CancelAfter(Options.Timeout);
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
                }
                catch (HttpRequestException e) { error = e; }
                catch (IOException e) { error = e; }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    error = new TimeoutException($"no answer within {Options.Timeout.TotalSeconds:0.###} s", e);
                }
            }
            int status = response is null ? 0 : (int)response.StatusCode;
            bool retryable = response is null || status == 429 || status >= 500;
            if (!retryable) return response!;
            if (attempt >= Options.MaxRetries)
            {
                if (response is not null) return response;   // the caller turns the 5xx into an error
                throw new HubTransportException($"{method} {url} failed after {attempt + 1} attempts: {error!.Message}", error);
            }
            response?.Dispose();
            await Task.Delay(Backoff(attempt + 1), ct).ConfigureAwait(false);
        }
    }

    private TimeSpan Backoff(int retry)
    {
        double ms = Options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(ms, Options.RetryMaxDelay.TotalMilliseconds));
    }

    /// <summary>
    /// The exception for an error answer (huggingface_hub's <c>hf_raise_for_status</c>): <c>X-Error-Code</c>
    /// tells repo, revision and file apart; 401/403 mean gated or private.
    /// </summary>
    private HubException ErrorFor(HttpResponseMessage response, HubCache cache, string? file, string revision, Uri url)
    {
        int status = (int)response.StatusCode;
        string? code = Header(response, "X-Error-Code");
        string? serverMessage = Header(response, "X-Error-Message");
        string detail = $"HTTP {status}{(code is null ? "" : ", " + code)}{(serverMessage is null ? "" : ": " + serverMessage)}; {url}";
        string page = $"{Options.Endpoint}/{cache.RepoId}";
        string tokenState = Options.Token is null ? "no token was sent" : "the token sent was refused";
        string what = file is null ? "the repo listing" : $"'{file}'";
        HubException error = code switch
        {
            "RevisionNotFound" => new RevisionNotFoundException(
                $"Revision '{revision}' not found in repo '{cache.RepoId}' ({detail})."),
            "EntryNotFound" => new EntryNotFoundException(
                $"File {what} not found in repo '{cache.RepoId}' at revision '{revision}' ({detail})."),
            "GatedRepo" => Gated(),
            "RepoNotFound" => new RepositoryNotFoundException(
                $"Repository '{cache.RepoId}' not found at {Options.Endpoint} ({detail}). Check the id; if the repo is " +
                $"private or gated, set HF_TOKEN (or HubOptions.Token) to a token that can read it ({tokenState})."),
            _ when status is 401 or 403 => Gated(),
            _ when status == 404 => new EntryNotFoundException(
                $"{what} of repo '{cache.RepoId}' at revision '{revision}' was not found: the repo, the revision or the " +
                $"file does not exist ({detail})."),
            _ when status == 429 || status >= 500 => new HubTransportException(
                $"The Hub failed to serve {what} of repo '{cache.RepoId}' after {Options.MaxRetries} retries ({detail})."),
            _ => new HubException($"Unexpected answer for {what} of repo '{cache.RepoId}' ({detail})."),
        };
        error.StatusCode = status;
        return error;

        HubException Gated() => new GatedRepoException(
            $"Access to repo '{cache.RepoId}' was refused ({detail}): it is gated or private and {tokenState}. " +
            $"Set HF_TOKEN (or HubOptions.Token) to a token with read access and accept the licence on {page}.");
    }
}

/// <summary>The Hub could not be reached or kept failing (connection refused/dropped, timeouts, 429/5xx after retries).
/// Resolution falls back to the cache on this error, as huggingface_hub does.</summary>
internal sealed class HubTransportException(string message, Exception? inner = null) : HubException(message, inner);
