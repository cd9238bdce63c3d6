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
        // The first attempt may have written all 300000 bytes it got, or fewer if the reset overtook them.
        string range = gets[1].Header("Range")!;
        Assert.StartsWith("bytes=", range);
        long from = long.Parse(range["bytes=".Length..^1]);
        Assert.InRange(from, 1, 300_000);
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
}
