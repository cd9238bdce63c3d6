using System.Collections.Concurrent;
using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

/// <summary>A fake Hub plus a fresh temporary cache per test.</summary>
internal sealed class HubTestContext : IDisposable
{
    public HubTestContext()
    {
        Hub = new FakeHub();
        CacheDir = Path.Combine(Path.GetTempPath(), "seesharp-hub-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(CacheDir);
    }

    public FakeHub Hub { get; }
    public string CacheDir { get; }
    public string RepoDir => Path.Combine(CacheDir, "models--test-org--tiny-idefics2");
    public string SnapshotDir => Path.Combine(RepoDir, "snapshots", FakeHub.Commit);

    /// <summary>Options pointing at the fake Hub, with nothing taken from this machine's environment that matters
    /// (token, cache, offline) and retry delays small enough for fast tests.</summary>
    public HubOptions Options(string? token = null) => new()
    {
        Endpoint = Hub.Endpoint.AbsoluteUri.TrimEnd('/'),
        CacheDir = CacheDir,
        Token = token,
        Offline = false,
        Revision = "main",
        MaxRetries = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        Timeout = TimeSpan.FromSeconds(20),
    };

    public static byte[] Fixture(string file) => File.ReadAllBytes(SeeSharp.Testing.Fixtures.Path("idefics2-tiny", "model", file));

    public void Dispose()
    {
        Hub.Dispose();
        try { Directory.Delete(CacheDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them later).</summary>
internal sealed class ProgressLog : IProgress<DownloadProgress>
{
    public ConcurrentQueue<DownloadProgress> Reports { get; } = new();
    public void Report(DownloadProgress value) => Reports.Enqueue(value);
}
