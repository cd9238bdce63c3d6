using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// Bounded load on the tiny Idefics2 server: 16 concurrent clients send 48 requests (three chats, streamed or not).
/// Every request must complete with exactly its single-run answer (from <c>GenerateAsync</c>) or get a 429; then six
/// clients open long streams and drop them after the first chunk, and the server's cancelled-generations counter
/// must count all six. The managed heap after a full GC must come back to within
/// <see cref="Tolerances.ServerHeapGrowthBytes"/> of its level after an identical warm-up round (the warm-up fills
/// what is allocated once and reused: JIT, Kestrel's pinned block pool, ArrayPool buckets).
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class LoadTinyModelTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    private const int Clients = 16, Requests = 48, Dropped = 6;

    private static string ImageRequest(string image, string question, int maxTokens, bool stream) =>
        $"{{\"max_tokens\": {maxTokens}, \"stream\": {(stream ? "true" : "false")}, \"messages\": [{{\"role\": \"user\", \"content\": [" +
        $"{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{Api.DataUrl(TinyModelHost.Png(image))}\"}}}}, {{\"type\": \"text\", \"text\": \"{question}\"}}]}}]}}";

    private static string TextRequest(string question, int maxTokens, bool stream) =>
        $"{{\"max_tokens\": {maxTokens}, \"stream\": {(stream ? "true" : "false")}, \"messages\": [{{\"role\": \"user\", \"content\": \"{question}\"}}]}}";

    private HttpClient NewClient()
    {
        var http = new HttpClient(TestHost.NoDrainHandler()) { BaseAddress = tiny.Host.Address, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TinyModelHost.ApiKey);
        return http;
    }

    private static Task<HttpResponseMessage> Post(HttpClient http, string json, CancellationToken ct = default)
        => http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead, ct);

    [Fact]
    public async Task SixteenClientsFortyEightRequestsExactAnswersOr429AndDroppedStreamsCancel()
    {
        var astronaut = (await tiny.ExpectedAsync(new Chat().User(Image.FromBytes(TinyModelHost.Png("astronaut.png")), "Describe the picture."), 12)).Text;
        var textOnly = (await tiny.ExpectedAsync(new Chat().User("What is in the picture? Answer briefly."), 16)).Text;
        var seed = (await tiny.ExpectedAsync(TinyModelHost.SeedChat())).Text;
        var host = tiny.Host;

        // Warm-up of the same shape, then the measured run.
        await RoundAsync();
        await DropStreamsAsync();
        long baseline = QueueTests.HeapAfterFullCollect();
        var (ok, busy, failures) = await RoundAsync();
        Assert.Empty(failures);
        Assert.Equal(Requests, ok + busy);
        Assert.True(ok > 0);
        await DropStreamsAsync();

        long growth = QueueTests.HeapAfterFullCollect() - baseline;
        Assert.True(growth < Tolerances.ServerHeapGrowthBytes, $"managed heap grew by {growth} bytes over the load test");

        // Still serving, still exact.
        using var after = await host.PostJsonAsync(TinyModelHost.SeedRequest());
        Assert.Equal(seed, TinyModelHost.Parse(await after.Content.ReadAsStringAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        // Clients that read the start of a 3000-token answer (seconds of work) and leave: every one must be counted
        // as a cancelled generation, and the model must be idle again.
        async Task DropStreamsAsync()
        {
            long cancelledBefore = host.Server.Metrics.Cancelled;
            using (var http = NewClient())
            {
                await Task.WhenAll(Enumerable.Range(0, Dropped).Select(async _ =>
                {
                    using var cts = new CancellationTokenSource();
                    using var r = await Post(http, ImageRequest("chelsea.png", "What do we see in this image?", 3000, stream: true), cts.Token);
                    Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                    await using var body = await r.Content.ReadAsStreamAsync();
                    await body.ReadAtLeastAsync(new byte[64], 64);
                    cts.Cancel();
                }));
            }
            var health = await QueueTests.WaitForHealthAsync(host,
                h => h.GetProperty("generations").GetProperty("cancelled").GetInt64() == cancelledBefore + Dropped
                    && h.GetProperty("queue").GetProperty("running").GetInt32() == 0,
                $"{Dropped} more cancelled generations and an idle queue");
            Assert.Equal(0, health.GetProperty("queue").GetProperty("waiting").GetInt32());
        }

        async Task<(int Ok, int Busy, List<string> Failures)> RoundAsync()
        {
            using var http = NewClient();
            int next = -1, ok = 0, busy = 0;
            var failures = new ConcurrentBag<string>();
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Requests)
                {
                    bool stream = i % 2 == 0;
                    var (request, expected) = (i % 3) switch
                    {
                        0 => (ImageRequest("astronaut.png", "Describe the picture.", 12, stream), astronaut),
                        1 => (TextRequest("What is in the picture? Answer briefly.", 16, stream), textOnly),
                        _ => (TinyModelHost.SeedRequest($"\"stream\": {(stream ? "true" : "false")}"), seed),
                    };
                    using var response = await Post(http, request);
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.TooManyRequests) { Interlocked.Increment(ref busy); continue; }
                    string answer = response.StatusCode != HttpStatusCode.OK ? text
                        : stream ? Api.StreamedText(Api.Events(text))
                        : TinyModelHost.Parse(text).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
                    if (answer != expected) failures.Add($"#{i} ({(int)response.StatusCode}): expected '{expected}', got '{answer}'");
                    else Interlocked.Increment(ref ok);
                }
            }))).ConfigureAwait(false);
            return (ok, busy, failures.ToList());
        }
    }
}
