using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SeeSharp.Tests.Hub;

/// <summary>One request as the fake server saw it.</summary>
internal sealed record FakeRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>An answer of the fake server; <see cref="DropAfter"/> cuts the connection after that many body bytes.</summary>
internal sealed class FakeResponse
{
    public int Status { get; set; } = 200;
    public List<(string Name, string Value)> Headers { get; } = [];
    public byte[] Body { get; set; } = [];
    /// <summary>Content-Length to announce; default: the body length.</summary>
    public long? ContentLength { get; set; }
    public int? DropAfter { get; set; }
    /// <summary>Pause between 64 KiB body chunks (to make downloads overlap in the concurrency tests).</summary>
    public TimeSpan ChunkDelay { get; set; }
    /// <summary>After this many body bytes, send nothing more for a long time (a stalled connection).</summary>
    public int? StallAfter { get; set; }

    public FakeResponse With(string name, string value) { Headers.Add((name, value)); return this; }
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (one request per connection, <c>Connection: close</c>), written over raw
/// sockets so that tests control every header byte and can drop a connection in the middle of a body.
/// </summary>
internal sealed class FakeHttpServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<FakeRequest, FakeResponse> _handler;
    private readonly CancellationTokenSource _stop = new();

    public FakeHttpServer(Func<FakeRequest, FakeResponse> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _ = Task.Run(AcceptLoopAsync);
    }

    public Uri BaseUri { get; }
    public ConcurrentQueue<FakeRequest> Log { get; } = new();

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream);
                if (request is null) return;
                Log.Enqueue(request);
                FakeResponse response;
                try { response = _handler(request); }
                catch (Exception e) { response = new FakeResponse { Status = 599, Body = Encoding.UTF8.GetBytes(e.ToString()) }; }
                await WriteResponseAsync(stream, request, response);
            }
            catch (IOException) { }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
            catch (OperationCanceledException) { }
        }
    }

    private static async Task<FakeRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            head.Add(one[0]);
            int n = head.Count;
            if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n') break;
        }
        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return new FakeRequest(parts[0], parts[1], headers);
    }

    private async Task WriteResponseAsync(NetworkStream stream, FakeRequest request, FakeResponse response)
    {
        var sb = new StringBuilder();
        sb.Append($"HTTP/1.1 {response.Status} {ReasonPhrase(response.Status)}\r\n");
        foreach (var (name, value) in response.Headers) sb.Append($"{name}: {value}\r\n");
        sb.Append($"Content-Length: {response.ContentLength ?? response.Body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
        if (request.Method == "HEAD") return;
        int limit = Math.Min(response.Body.Length, response.DropAfter ?? response.StallAfter ?? int.MaxValue);
        for (int at = 0; at < limit; at += 64 * 1024)
        {
            await stream.WriteAsync(response.Body.AsMemory(at, Math.Min(64 * 1024, limit - at)));
            if (response.ChunkDelay > TimeSpan.Zero) await Task.Delay(response.ChunkDelay);
        }
        await stream.FlushAsync();
        if (response.StallAfter is not null) await Task.Delay(TimeSpan.FromSeconds(30), _stop.Token);
        // DropAfter: the connection now closes short of Content-Length (a graceful close, so the bytes already sent
        // are all delivered and the resume offset is exact; an RST could discard unread data).
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK", 206 => "Partial Content", 302 => "Found", 307 => "Temporary Redirect", 401 => "Unauthorized",
        403 => "Forbidden", 404 => "Not Found", 416 => "Range Not Satisfiable", 500 => "Internal Server Error",
        _ => "Status",
    };
}

/// <summary>One repo of the fake Hub: files by repo path; <c>*.safetensors</c> are served as LFS files (via the CDN).</summary>
internal sealed class FakeRepo(string id, string commit, Dictionary<string, byte[]> files)
{
    public string Id { get; } = id;
    public string Commit { get; } = commit;
    public Dictionary<string, byte[]> Files { get; } = files;
    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal);
}

/// <summary>
/// A Hub-like server: <c>/{repo}/resolve/{rev}/{path}</c> and <c>/api/models/{repo}/revision/{rev}</c> with the real
/// header conventions (X-Repo-Commit, git-sha1 ETag for small files; 302 to a second "CDN" listener with
/// X-Linked-Etag = sha256 and X-Linked-Size for LFS files; X-Error-Code on errors), plus faults on demand.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public const string RepoName = "test-org/tiny-idefics2";
    public const string RenamedRepoName = "test-org/old-name";
    public static readonly string Commit = Sha1Hex("commit of tiny-idefics2");

    private readonly Dictionary<string, FakeRepo> _repos = new(StringComparer.Ordinal);

    public FakeHub()
    {
        Cdn = new FakeHttpServer(HandleCdn);
        Server = new FakeHttpServer(HandleHub);
        var files = Directory.GetFiles(SeeSharp.Testing.Fixtures.Path("idefics2-tiny", "model"))
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        AddRepo(new FakeRepo(RepoName, Commit, files));
    }

    public FakeHttpServer Server { get; }
    public FakeHttpServer Cdn { get; }
    public Uri Endpoint => Server.BaseUri;

    /// <summary>When set, requests for any repo must carry <c>Bearer {RequiredToken}</c> (a gated repo).</summary>
    public string? RequiredToken { get; set; }
    /// <summary>Sees (and may replace) every Hub answer.</summary>
    public Func<FakeRequest, FakeResponse, FakeResponse>? HubFault { get; set; }
    /// <summary>Sees (and may replace) every CDN answer.</summary>
    public Func<FakeRequest, FakeResponse, FakeResponse>? CdnFault { get; set; }

    public FakeRepo Repo(string id) => _repos[id];

    public void AddRepo(FakeRepo repo) => _repos[repo.Id] = repo;

    public void Dispose()
    {
        Server.Dispose();
        Cdn.Dispose();
    }

    public IEnumerable<FakeRequest> HubRequests => Server.Log;
    public IEnumerable<FakeRequest> CdnRequests => Cdn.Log;

    // ------------------------------------------------------------ conventions of the real Hub

    public static string Sha1Hex(string s) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(s)));
    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>git's blob id: sha1("blob {size}\0" + content) — the ETag of a non-LFS file on the Hub.</summary>
    public static string GitBlobSha1(byte[] data)
    {
        var header = Encoding.ASCII.GetBytes($"blob {data.Length}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. data]));
    }

    /// <summary>The blob name huggingface_hub gives a file: sha256 for LFS files, the git blob sha1 otherwise.</summary>
    public static string ExpectedEtag(string path, byte[] data) => FakeRepo.IsLfs(path) ? Sha256Hex(data) : GitBlobSha1(data);

    private static string LfsPointer(byte[] data) =>
        $"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256Hex(data)}\nsize {data.Length}\n";

    private FakeResponse HandleHub(FakeRequest request)
    {
        var response = HubAnswer(request);
        return HubFault is { } fault ? fault(request, response) : response;
    }

    private FakeResponse HubAnswer(FakeRequest request)
    {
        string path = request.Path.Split('?')[0];
        const string resolveCache = "/api/resolve-cache/models/";
        if (path.StartsWith(resolveCache, StringComparison.Ordinal))
        {
            // {org}/{name}/{commit}/{file...}: where the Hub sends small files with a relative 307.
            var p = path[resolveCache.Length..].Split('/');
            var r = _repos[p[0] + "/" + p[1]];
            string f = string.Join('/', p.Skip(3).Select(Uri.UnescapeDataString));
            return SmallFile(r, r.Files[f]);
        }
        bool api = path.StartsWith("/api/models/", StringComparison.Ordinal);
        string rest = api ? path["/api/models/".Length..] : path.TrimStart('/');
        // {org}/{name}/resolve/{rev}/{file...}   or   {org}/{name}/revision/{rev}
        var parts = rest.Split('/');
        if (parts.Length < 4) return new FakeResponse { Status = 404 };
        string repoId = parts[0] + "/" + parts[1];
        string kind = parts[2];
        string revision = Uri.UnescapeDataString(parts[3]);
        string file = string.Join('/', parts.Skip(4).Select(Uri.UnescapeDataString));

        if (repoId == RenamedRepoName)   // a renamed repo: relative redirect to the new name
            return new FakeResponse { Status = 307 }.With("Location", "/" + RepoName + path[("/" + RenamedRepoName).Length..]);

        if (RequiredToken is not null)
        {
            string? auth = request.Header("Authorization");
            if (auth is null)
                return new FakeResponse { Status = 401 }.With("X-Error-Code", "GatedRepo")
                    .With("X-Error-Message", "Access to model " + repoId + " is restricted.");
            if (auth != "Bearer " + RequiredToken)
                return new FakeResponse { Status = 403 }.With("X-Error-Code", "GatedRepo")
                    .With("X-Error-Message", "Access to model " + repoId + " is restricted and you are not in the authorized list.");
        }
        if (!_repos.TryGetValue(repoId, out var repo))
            return new FakeResponse { Status = 404 }.With("X-Error-Code", "RepoNotFound")
                .With("X-Error-Message", "Repository not found");
        if (revision != "main" && revision != repo.Commit)
            return new FakeResponse { Status = 404 }.With("X-Error-Code", "RevisionNotFound")
                .With("X-Error-Message", "Invalid rev id: " + revision);

        if (api && kind == "revision")
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(new
            {
                id = repoId, sha = repo.Commit,
                siblings = repo.Files.Keys.Order(StringComparer.Ordinal).Select(f => new { rfilename = f }).ToArray(),
            });
            return new FakeResponse { Body = json }.With("Content-Type", "application/json");
        }
        if (api || kind != "resolve") return new FakeResponse { Status = 404 };

        if (!repo.Files.TryGetValue(file, out var data))
            return new FakeResponse { Status = 404 }.With("X-Error-Code", "EntryNotFound")
                .With("X-Error-Message", "Entry not found").With("X-Repo-Commit", repo.Commit);

        if (FakeRepo.IsLfs(file))
        {
            string sha = Sha256Hex(data);
            return new FakeResponse { Status = 302, Body = Encoding.ASCII.GetBytes("Found. Redirecting") }
                .With("Location", $"{Cdn.BaseUri.AbsoluteUri}blobs/{sha}?sig=signed")
                .With("X-Repo-Commit", repo.Commit)
                .With("ETag", $"\"{GitBlobSha1(Encoding.ASCII.GetBytes(LfsPointer(data)))}\"")
                .With("X-Linked-Etag", $"\"{sha}\"")
                .With("X-Linked-Size", data.Length.ToString());
        }
        if (UseResolveCache)
            return new FakeResponse { Status = 307 }
                .With("Location", $"/api/resolve-cache/models/{repo.Id}/{repo.Commit}/{string.Join('/', parts.Skip(4))}?etag=x");
        return SmallFile(repo, data);
    }

    /// <summary>Answer small (non-LFS) files with a relative 307 to /api/resolve-cache/..., as the Hub now does.</summary>
    public bool UseResolveCache { get; set; }

    private static FakeResponse SmallFile(FakeRepo repo, byte[] data) =>
        new FakeResponse { Body = data }
            .With("X-Repo-Commit", repo.Commit)
            .With("ETag", $"W/\"{GitBlobSha1(data)}\"");

    private FakeResponse HandleCdn(FakeRequest request)
    {
        var response = CdnAnswer(request);
        return CdnFault is { } fault ? fault(request, response) : response;
    }

    private FakeResponse CdnAnswer(FakeRequest request)
    {
        string path = request.Path.Split('?')[0];
        if (!path.StartsWith("/blobs/", StringComparison.Ordinal)) return new FakeResponse { Status = 404 };
        string sha = path["/blobs/".Length..];
        byte[]? data = _repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(d => Sha256Hex(d) == sha);
        if (data is null) return new FakeResponse { Status = 404 };
        if (request.Header("Range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            long from = long.Parse(range["bytes=".Length..^1]);
            if (from >= data.Length)
                return new FakeResponse { Status = 416 }.With("Content-Range", $"bytes */{data.Length}");
            return new FakeResponse { Status = 206, Body = data[(int)from..] }
                .With("Content-Range", $"bytes {from}-{data.Length - 1}/{data.Length}");
        }
        return new FakeResponse { Body = data }.With("ETag", $"\"{sha}\"");
    }
}
