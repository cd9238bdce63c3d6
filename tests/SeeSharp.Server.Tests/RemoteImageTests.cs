using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SeeSharp.Server;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// With <see cref="ServerOptions.AllowRemoteImages"/> on, http:// and file:// image URLs are fetched and reach the
/// backend byte for byte (the fake backend's answer names each image's length); fetch failures are 400s. Also: a
/// generation that is running when the server stops gets to finish within the grace period.
/// Compared against: the fixture file's length, exact answers.
/// </summary>
public sealed class RemoteImageTests
{
    [Fact]
    public async Task HttpAndFileUrlsAreFetchedWhenAllowed()
    {
        var png = await File.ReadAllBytesAsync(Fixtures.Path("images", "camera.png"));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = ServeOnceAsync(listener, png);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        await using var host = await TestHost.StartAsync(new FakeBackend(), new ServerOptions { AllowRemoteImages = true });
        var fileUrl = new Uri(Fixtures.Path("images", "camera.png")).AbsoluteUri;
        var body = $"{{\"messages\": [{{\"role\": \"user\", \"content\": [{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"http://127.0.0.1:{port}/camera.png\"}}}}, " +
            $"{{\"type\": \"image_url\", \"image_url\": \"{fileUrl}\"}}, {{\"type\": \"text\", \"text\": \"two\"}}]}}]}}";
        using var response = await host.PostJsonAsync(body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal($"two [img {png.Length}] [img {png.Length}] (1 msgs)",
            doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        await serving;

        // A missing file and a refused connection are the client's problem: 400.
        var missing = new Uri(Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.png")).AbsoluteUri;
        await Api.AssertErrorAsync(await host.PostJsonAsync(Single(missing)), 400, "invalid_image_url");
        await Api.AssertErrorAsync(await host.PostJsonAsync(Single($"http://127.0.0.1:{port}/gone.png")), 400, "invalid_image_url");
    }

    private static string Single(string url)
        => $"{{\"messages\": [{{\"role\": \"user\", \"content\": [{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{url}\"}}}}]}}]}}";

    /// <summary>Answers one HTTP request with the PNG, then stops listening.</summary>
    private static async Task ServeOnceAsync(TcpListener listener, byte[] png)
    {
        using var client = await listener.AcceptTcpClientAsync();
        await using var stream = client.GetStream();
        var buffer = new byte[4096];
        var request = new StringBuilder();
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0) break;
            request.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {png.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(png);
        listener.Stop();
    }

    [Fact]
    public async Task ShutdownLetsARunningGenerationFinishWithinTheGracePeriod()
    {
        var backend = new FakeBackend { Gate = new SemaphoreSlim(0) };
        await using var host = await TestHost.StartAsync(backend, new ServerOptions { ShutdownGracePeriod = TimeSpan.FromMinutes(1) });
        var running = host.PostJsonAsync(Api.Simple("finish me please", "\"stream\":true"));
        await backend.FirstToken.WaitAsync();
        var stop = host.Server.StopAsync();
        backend.Gate.Release();
        using var response = await running;
        var events = Api.Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal("please me finish (1 msgs)", Api.StreamedText(events));
        await stop;
        Assert.Equal(0, backend.Cancelled);
        Assert.Equal(1, host.Server.Metrics.Completed);
    }
}
