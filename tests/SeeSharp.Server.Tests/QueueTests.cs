using System.Net;
using System.Text.Json;
using SeeSharp.Server;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// Queueing, cancellation, shutdown and load over a fake backend. Waits are on events (gates, the backend's
/// first-token signal, /health counters polled until they change), never on timings. Compared against: exact
/// counts (429s, cancellations) and exact answers (<see cref="FakeBackend.Answer"/>); memory against
/// <see cref="Tolerances.ServerHeapGrowthBytes"/>.
/// </summary>
public sealed class QueueTests
{
    /// <summary>Polls /health until <paramref name="done"/> holds (fails after a generous minute: a hang, not a timing).</summary>
    internal static async Task<JsonElement> WaitForHealthAsync(TestHost host, Func<JsonElement, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var health = await host.HealthAsync();
            if (done(health)) return health;
            if (DateTime.UtcNow > deadline) Assert.Fail($"/health never showed {what}: {health}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task FullQueueAnswers429WithRetryAfterAndQueuedRequestsStillComplete()
    {
        var backend = new FakeBackend { Gate = new SemaphoreSlim(0) };
        await using var host = await TestHost.StartAsync(backend, new ServerOptions { MaxQueueLength = 2 });
        var running = host.PostJsonAsync(Api.Simple("first"));
        await backend.FirstToken.WaitAsync();
        var queued = new[] { host.PostJsonAsync(Api.Simple("second")), host.PostJsonAsync(Api.Simple("third")) };
        await WaitForHealthAsync(host, h => h.GetProperty("queue").GetProperty("waiting").GetInt32() == 2, "two waiting requests");

        using (var refused = await host.PostJsonAsync(Api.Simple("fourth")))
        {
            var error = await Api.AssertErrorAsync(refused, 429, "rate_limit_exceeded");
            Assert.True(refused.Headers.RetryAfter?.Delta?.TotalSeconds >= 1, $"Retry-After: {refused.Headers.RetryAfter}");
        }
        backend.Gate.Release(10);
        foreach (var (task, word) in new[] { (running, "first"), (queued[0], "second"), (queued[1], "third") })
        {
            using var response = await task;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal($"{word} (1 msgs)", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }
        var health = await host.HealthAsync();
        Assert.Equal(1, health.GetProperty("requests").GetProperty("queue_full").GetInt32());
        Assert.Equal(3, health.GetProperty("generations").GetProperty("completed").GetInt32());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientDisconnectCancelsTheGeneration(bool stream)
    {
        var backend = new FakeBackend { Endless = true };
        await using var host = await TestHost.StartAsync(backend);
        using (var client = new CancellationTokenSource())
        {
            var pending = host.PostJsonAsync(Api.Simple("forever", $"\"stream\":{(stream ? "true" : "false")}"), ct: client.Token);
            await backend.FirstToken.WaitAsync();
            if (stream)
            {
                using var response = await pending;
                await using var body = await response.Content.ReadAsStreamAsync();
                var first = new byte[16];
                await body.ReadAtLeastAsync(first, 6); // "data: " of the role chunk
                client.Cancel();
                await Assert.ThrowsAnyAsync<Exception>(async () => { while (await body.ReadAsync(first, client.Token) > 0) { } });
            }
            else
            {
                client.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
            }
        }
        var health = await WaitForHealthAsync(host, h => h.GetProperty("generations").GetProperty("cancelled").GetInt32() == 1, "the cancelled generation");
        Assert.Equal(0, health.GetProperty("queue").GetProperty("running").GetInt32());
        Assert.Equal(1, backend.Cancelled);
        // The model is free again.
        using var next = await host.PostJsonAsync(Api.Simple("x", "\"max_tokens\":3"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task ShutdownRefusesQueuedRequestsAndCancelsRunningOnesAfterTheGracePeriod()
    {
        var backend = new FakeBackend { Endless = true };
        await using var host = await TestHost.StartAsync(backend, new ServerOptions { ShutdownGracePeriod = TimeSpan.FromMilliseconds(200) });
        var running = host.PostJsonAsync(Api.Simple("forever", "\"stream\":true"));
        await backend.FirstToken.WaitAsync();
        var queued = host.PostJsonAsync(Api.Simple("waiting"));
        await WaitForHealthAsync(host, h => h.GetProperty("queue").GetProperty("waiting").GetInt32() == 1, "a waiting request");

        var stop = host.Server.StopAsync();
        await Api.AssertErrorAsync(await queued, 503, "server_shutting_down");
        await stop;
        // The running stream was cut: its body ends (or fails) without [DONE].
        string body = "";
        try { using var r = await running; body = await r.Content.ReadAsStringAsync(); } catch (HttpRequestException) { } catch (IOException) { }
        Assert.DoesNotContain("[DONE]", body);
        Assert.Equal(1, backend.Cancelled);
        Assert.Equal(1, host.Server.Metrics.Cancelled);
    }

    internal static long HeapAfterFullCollect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>
/// Tests that measure the process's managed heap run alone (no other test allocating meanwhile).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
    public const string Name = "Memory measurements";
}

/// <summary>
/// Load over the fake backend: 16 clients, 48 requests; every request gets exactly its own answer
/// (<see cref="FakeBackend.Answer"/>) or a 429, the counters agree, and the heap returns to within
/// <see cref="Tolerances.ServerHeapGrowthBytes"/> of its baseline.
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class FakeLoadTests
{
    [Fact]
    public async Task SixteenClientsFortyEightRequestsNoneLostOrMixedUp()
    {
        var backend = new FakeBackend();
        await using var host = await TestHost.StartAsync(backend, new ServerOptions { MaxQueueLength = 6 });
        // Warm up (JIT, Kestrel pools), then take the baseline.
        using (var warm = await host.PostJsonAsync(Api.Simple("warm up", "\"stream\":true"))) await warm.Content.ReadAsStringAsync();
        long baseline = QueueTests.HeapAfterFullCollect();

        const int Clients = 16, Requests = 48;
        int next = -1, ok = 0, busy = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var workers = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests)
            {
                bool stream = i % 2 == 0;
                string prompt = $"request {i} of {Requests} from the load test";
                string expected = $"test load the from {Requests} of {i} request (1 msgs)";
                using var response = await host.PostJsonAsync(Api.Simple(prompt, $"\"stream\":{(stream ? "true" : "false")}"));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.TooManyRequests) { Interlocked.Increment(ref busy); continue; }
                string text = stream ? Api.StreamedText(Api.Events(body))
                    : JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
                if (response.StatusCode != HttpStatusCode.OK || text != expected) failures.Add($"#{i}: {(int)response.StatusCode} '{text}'");
                else Interlocked.Increment(ref ok);
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.Empty(failures);
        Assert.Equal(Requests, ok + busy);
        var health = await host.HealthAsync();
        Assert.Equal(ok + 1, health.GetProperty("generations").GetProperty("completed").GetInt32());
        Assert.Equal(busy, health.GetProperty("requests").GetProperty("queue_full").GetInt32());
        Assert.Equal(0, health.GetProperty("generations").GetProperty("cancelled").GetInt32());
        long growth = QueueTests.HeapAfterFullCollect() - baseline;
        Assert.True(growth < Tolerances.ServerHeapGrowthBytes, $"managed heap grew by {growth} bytes over the load test");
    }

}

/// <summary>Unit tests of the stop-string filter and the header probe. Compared against: hand-worked expected strings and sizes.</summary>
public sealed class PartsTests
{
    [Fact]
    public void StopFilterHoldsBackPossiblePrefixesAndCutsBeforeTheStop()
    {
        var f = new StopSequenceFilter(["END", "xy"]);
        Assert.Equal("hello ", f.Push("hello E"));
        Assert.Equal("", f.Push("N"));
        Assert.Equal("ENo ", f.Push("o x"));   // "ENo" cannot start "END"; " x" might start "xy"... only "x" is held
        Assert.Equal("", f.Push("y and more"));
        Assert.True(f.Stopped);
        Assert.Equal("", f.Flush());

        var g = new StopSequenceFilter(["END"]);
        Assert.Equal("ab", g.Push("abEN"));
        Assert.Equal("EN", g.Flush());
        Assert.Equal("plain", new StopSequenceFilter([]).Push("plain"));
    }

    [Fact]
    public void HeaderProbeReadsSizesWithoutDecoding()
    {
        Assert.Equal(("PNG", 30000, 30000), ImageHeader.Probe(ErrorTests.PngHeader(30000, 30000), out _));
        var chelsea = File.ReadAllBytes(Fixtures.Path("images", "chelsea.png"));
        Assert.Equal(("PNG", 451, 300), ImageHeader.Probe(chelsea, out _));
        // JPEG: SOI, an APP0 segment, then SOF0 with height 480 and width 640.
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03, 0x01, 0x11, 0x00];
        Assert.Equal(("JPEG", 640, 480), ImageHeader.Probe(jpeg, out _));
        // WebP VP8X canvas 1000x2000 (stored minus one, 24-bit little-endian).
        var webp = new byte[30];
        "RIFF"u8.CopyTo(webp); "WEBPVP8X"u8.CopyTo(webp.AsSpan(8));
        webp[24] = 0xE7; webp[25] = 0x03; webp[27] = 0xCF; webp[28] = 0x07;
        Assert.Equal(("WebP", 1000, 2000), ImageHeader.Probe(webp, out _));
        Assert.Null(ImageHeader.Probe("GIF8"u8, out var reason));
        Assert.Contains("not a PNG", reason);
        Assert.Null(ImageHeader.Probe(ErrorTests.PngHeader(0, 10), out reason));
        Assert.Contains("invalid size", reason);
    }
}
