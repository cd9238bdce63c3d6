using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

// Compares against: the fixture bytes (exact) after faults injected by the fake Hub/CDN — dropped connections,
// corrupt or wrongly sized content, concurrent downloads, 5xx answers — and huggingface_hub's behaviour for each
// (http_get resumes with Range: bytes=N-; a size mismatch is an error; one lock per blob). No timing assertions.
public sealed class HubFaultTests
{
    private static readonly byte[] Weights = HubTestContext.Fixture("model.safetensors");
    private static string WeightsSha => FakeHub.Sha256Hex(Weights);

    private static FakeRequest[] CdnGets(HubTestContext ctx) =>
        ctx.Hub.CdnRequests.Where(r => r.Method == "GET" && r.Path.StartsWith("/blobs/" + WeightsSha, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task Dropped_connection_resumes_with_range_and_is_byte_identical()
    {
        using var ctx = new HubTestContext();
        int drops = 0;
        ctx.Hub.CdnFault = (req, resp) =>
        {
            if (resp.Status == 200 && Interlocked.Increment(ref drops) == 1) resp.DropAfter = 300_000;
            return resp;
        };
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        var gets = CdnGets(ctx);
        Assert.Equal(2, gets.Length);
        Assert.Null(gets[0].Header("Range"));
        Assert.Equal("bytes=300000-", gets[1].Header("Range"));
        Assert.False(File.Exists(Path.Combine(ctx.RepoDir, "blobs", WeightsSha + ".incomplete")));
    }

    [Fact]
    public async Task Partial_file_left_by_an_earlier_run_is_resumed()
    {
        using var ctx = new HubTestContext();
        string blobs = Path.Combine(ctx.RepoDir, "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, WeightsSha + ".incomplete"), Weights[..123_456]);
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        var get = Assert.Single(CdnGets(ctx));
        Assert.Equal("bytes=123456-", get.Header("Range"));
    }

    [Fact]
    public async Task Server_ignoring_range_restarts_from_zero()
    {
        using var ctx = new HubTestContext();
        string blobs = Path.Combine(ctx.RepoDir, "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, WeightsSha + ".incomplete"), new byte[1000]);   // garbage prefix
        ctx.Hub.CdnFault = (req, resp) => resp.Status == 206
            ? new FakeResponse { Body = Weights }   // a server without range support: 200 with everything
            : resp;
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
    }

    [Theory]
    [InlineData("flipped byte")]
    [InlineData("announced size too large")]
    [InlineData("extra bytes")]
    public async Task Corrupt_download_is_deleted_and_never_linked(string fault)
    {
        using var ctx = new HubTestContext();
        if (fault == "flipped byte")
            ctx.Hub.CdnFault = (req, resp) =>
            {
                if (resp.Status == 200) { var body = (byte[])resp.Body.Clone(); body[777_777] ^= 0x5A; resp.Body = body; }
                return resp;
            };
        else if (fault == "announced size too large")
            ctx.Hub.HubFault = (req, resp) =>
            {
                int i = resp.Headers.FindIndex(h => h.Name == "X-Linked-Size");
                if (i >= 0) resp.Headers[i] = ("X-Linked-Size", (Weights.Length + 10).ToString());
                return resp;
            };
        else
            ctx.Hub.CdnFault = (req, resp) =>
            {
                if (resp.Status == 200) resp.Body = [.. resp.Body, 1, 2, 3];
                return resp;
            };

        var e = await Assert.ThrowsAsync<HubIntegrityException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Contains("model.safetensors", e.Message);
        string blobs = Path.Combine(ctx.RepoDir, "blobs");
        Assert.DoesNotContain(Directory.GetFiles(blobs), f => Path.GetFileName(f).StartsWith(WeightsSha, StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(ctx.SnapshotDir, "model.safetensors")));
        Assert.False(new FileInfo(Path.Combine(ctx.SnapshotDir, "model.safetensors")).Exists);

        // Once the fault is gone the same cache completes cleanly.
        ctx.Hub.CdnFault = null;
        ctx.Hub.HubFault = null;
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
    }

    [Fact]
    public async Task Concurrent_downloads_of_one_file_produce_one_good_blob()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.CdnFault = (req, resp) => { resp.ChunkDelay = TimeSpan.FromMilliseconds(3); return resp; };
        // Separate clients stand for separate processes: they share only the cache folder (and its lock files).
        var clients = Enumerable.Range(0, 4).Select(_ => new HubClient(ctx.Options())).ToArray();
        try
        {
            var results = await Task.WhenAll(clients.Select(c => Task.Run(() => c.SnapshotAsync(FakeHub.RepoName))));
            Assert.All(results, r => Assert.Equal(ctx.SnapshotDir, r));
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
        Assert.Single(CdnGets(ctx));   // the others waited on the lock and found the blob
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(ctx.RepoDir, "blobs", WeightsSha)));
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(ctx.SnapshotDir, "model.safetensors")));
        Assert.Empty(Directory.GetFiles(Path.Combine(ctx.RepoDir, "blobs"), "*.incomplete"));
    }

    [Fact]
    public async Task Server_errors_are_retried_then_succeed()
    {
        using var ctx = new HubTestContext();
        int configHeads = 0;
        ctx.Hub.HubFault = (req, resp) =>
            req.Method == "HEAD" && req.Path.EndsWith("/config.json", StringComparison.Ordinal)
            && Interlocked.Increment(ref configHeads) <= 2
                ? new FakeResponse { Status = 500 }
                : resp;
        int cdn = 0;
        ctx.Hub.CdnFault = (req, resp) => Interlocked.Increment(ref cdn) == 1 ? new FakeResponse { Status = 503 } : resp;

        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Equal(3, configHeads);
        Assert.Equal(2, CdnGets(ctx).Length);
    }

    [Fact]
    public async Task Persistent_server_error_gives_up_after_the_retry_budget()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) => new FakeResponse { Status = 500 };
        var options = ctx.Options() with { MaxRetries = 2 };
        // Nothing cached: like huggingface_hub, the unreachable Hub is reported with the cache miss.
        var e = await Assert.ThrowsAsync<LocalEntryNotFoundException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, options));
        Assert.Contains("HTTP 500", e.Message);
        Assert.Equal(3, ctx.Hub.HubRequests.Count());   // 1 + 2 retries

        // A download that keeps failing reports the file and keeps nothing linked.
        ctx.Hub.HubFault = null;
        ctx.Hub.CdnFault = (req, resp) => new FakeResponse { Status = 500 };
        var d = await Assert.ThrowsAnyAsync<HubException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, options));
        Assert.Contains("model.safetensors", d.Message);
        Assert.Equal(500, d.StatusCode);
        Assert.False(File.Exists(Path.Combine(ctx.SnapshotDir, "model.safetensors")));
    }

    [Fact]
    public async Task Stalled_connection_times_out_and_resumes()
    {
        using var ctx = new HubTestContext();
        int stalls = 0;
        ctx.Hub.CdnFault = (req, resp) =>
        {
            if (resp.Status == 200 && Interlocked.Increment(ref stalls) == 1) resp.StallAfter = 200_000;
            return resp;
        };
        var options = ctx.Options() with { Timeout = TimeSpan.FromSeconds(1) };
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, options);
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        var gets = CdnGets(ctx);
        Assert.Equal(2, gets.Length);
        Assert.Equal("bytes=200000-", gets[1].Header("Range"));
    }

    [Fact]
    public async Task Cancelled_download_keeps_its_partial_file_and_resumes_next_time()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.CdnFault = (req, resp) => { if (resp.Status == 200) resp.StallAfter = 200_000; return resp; };
        using var cts = new CancellationTokenSource();
        var download = ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options(), null, cts.Token);
        string incomplete = Path.Combine(ctx.RepoDir, "blobs", WeightsSha + ".incomplete");
        // The server stalls after 200000 bytes: cancel once they are on disk (the client is then blocked reading).
        while (!File.Exists(incomplete) || new FileInfo(incomplete).Length < 200_000)
        {
            Assert.False(download.IsCompleted, "the download ended before it was cancelled");
            await Task.Delay(10);
        }
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);
        Assert.Equal(200_000, new FileInfo(incomplete).Length);
        Assert.False(File.Exists(Path.Combine(ctx.SnapshotDir, "model.safetensors")));

        ctx.Hub.CdnFault = null;
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Equal("bytes=200000-", CdnGets(ctx)[^1].Header("Range"));
    }

    [Fact]
    public async Task Lock_held_by_another_process_is_waited_for_and_its_blob_used()
    {
        using var ctx = new HubTestContext();
        string lockPath = Path.Combine(ctx.CacheDir, ".locks", "models--test-org--tiny-idefics2", WeightsSha + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        // Another downloader (here: this test, as Python's filelock or a second seesharp would) holds the lock.
        var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var download = ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        // Wait until the client has asked for the weights' metadata: it is now at (or past) the lock.
        while (!ctx.Hub.HubRequests.Any(r => r.Path.EndsWith("/model.safetensors", StringComparison.Ordinal)))
        {
            Assert.False(download.IsCompleted, "the download finished while the lock was held");
            await Task.Delay(10);
        }
        // The other downloader finishes: blob in place, lock released.
        string blobs = Path.Combine(ctx.RepoDir, "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, WeightsSha), Weights);
        held.Dispose();

        string folder = await download;
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Empty(CdnGets(ctx));
    }

    [Fact]
    public async Task Hub_resolve_cache_redirect_for_small_files_is_followed()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.UseResolveCache = true;
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(HubTestContext.Fixture("tokenizer.json"), File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
        Assert.Equal(Path.Combine("..", "..", "blobs", FakeHub.GitBlobSha1(HubTestContext.Fixture("config.json"))),
            new FileInfo(Path.Combine(folder, "config.json")).LinkTarget);
        Assert.Contains(ctx.Hub.HubRequests, r => r.Path.StartsWith("/api/resolve-cache/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Announced_size_larger_than_the_free_disk_fails_before_downloading()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) =>
        {
            int i = resp.Headers.FindIndex(h => h.Name == "X-Linked-Size");
            if (i >= 0) resp.Headers[i] = ("X-Linked-Size", (long.MaxValue / 2).ToString());
            return resp;
        };
        var e = await Assert.ThrowsAsync<HubException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Contains("Not enough disk space for 'model.safetensors'", e.Message);
        Assert.Empty(CdnGets(ctx));
    }
}
