using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SeeSharp.Server;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// Hostile and malformed requests: each must get the documented HTTP status and OpenAI's error shape
/// <c>{"error": {message, type, param, code}}</c> (checked field by field), and the server must answer a good request
/// right afterwards. Compared against: the statuses and codes documented in ServerOptions / ChatRequestParser.
/// </summary>
public sealed class ErrorTests : IAsyncLifetime
{
    private readonly FakeBackend _backend = new();
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(_backend, new ServerOptions { MaxImagesPerRequest = 2, MaxTokensLimit = 100, DefaultMaxTokens = 50 });

    public async Task DisposeAsync()
    {
        // After every hostile request the server still serves, and no bad request reached the model.
        using var ok = await _host.PostJsonAsync(Api.Simple("still alive"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, _backend.Started);
        await _host.DisposeAsync();
    }

    [Theory]
    [InlineData("{\"messages\": [", "invalid_json", null)]
    [InlineData("not json at all", "invalid_json", null)]
    [InlineData("[1, 2]", "invalid_type", null)]
    [InlineData("{}", "missing_required_parameter", "messages")]
    [InlineData("{\"messages\": \"hi\"}", "invalid_type", "messages")]
    [InlineData("{\"messages\": []}", "invalid_value", "messages")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "invalid_type", "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}", "invalid_type", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", "unsupported_value", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"audio\"}]}]}", "unsupported_value", "messages[0].content[0].type")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 3}]}]}", "invalid_type", "messages[0].content[0].text")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": \"ten\"}", "invalid_type", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 1.5}", "invalid_type", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 0}", "invalid_value", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 101}", "invalid_value", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"hot\"}", "invalid_type", "temperature")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": 3}", "invalid_value", "temperature")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_p\": 0}", "invalid_value", "top_p")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stream\": \"yes\"}", "invalid_type", "stream")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": 7}", "invalid_type", "stop")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", "invalid_value", "stop")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": 2}", "unsupported_value", "n")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"seed\": \"s\"}", "invalid_type", "seed")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\"}]}", "unsupported_value", "tools")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"presence_penalty\": 1}", "unsupported_value", "presence_penalty")]
    [InlineData("{\"model\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "invalid_type", "model")]
    public async Task MalformedRequestsAre400(string body, string code, string? param)
    {
        using var response = await _host.PostJsonAsync(body);
        var error = await Api.AssertErrorAsync(response, 400, code, param);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    private static string ImageRequest(string url)
        => $"{{\"messages\": [{{\"role\": \"user\", \"content\": [{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{url}\"}}}}, {{\"type\": \"text\", \"text\": \"hi\"}}]}}]}}";

    [Fact]
    public async Task NonImageDataUrlIs400()
    {
        var text = Convert.ToBase64String("hello, not an image"u8.ToArray());
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest($"data:text/plain;base64,{text}")), 400, "invalid_image", "messages[0].content[0].image_url.url");
        // An image media type over bytes that are not an image.
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest($"data:image/png;base64,{text}")), 400, "invalid_image");
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest("data:image/png;base64,!!!notbase64")), 400, "invalid_image_url");
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest("data:image/png,rawdata")), 400, "invalid_image_url");
    }

    [Fact]
    public async Task HugePngHeaderIsRefusedBeforeDecoding()
    {
        var png = PngHeader(30000, 30000);
        Assert.True(png.Length < 100);
        var error = await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest(Api.DataUrl(png))), 400, "image_too_large");
        Assert.Contains("30000x30000", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task RemoteImageUrlsAreRefusedWhileDisabled()
    {
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest("http://169.254.169.254/latest/meta-data")), 400, "remote_images_disabled",
            "messages[0].content[0].image_url.url");
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest("file:///etc/passwd")), 400, "remote_images_disabled");
        await Api.AssertErrorAsync(await _host.PostJsonAsync(ImageRequest("ftp://example.org/a.png")), 400, "invalid_image_url");
    }

    [Fact]
    public async Task TooManyImagesIs400()
    {
        var png = Api.DataUrl(await File.ReadAllBytesAsync(Fixtures.Path("images", "logo.png")));
        var part = $"{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{png}\"}}}}";
        var body = $"{{\"messages\": [{{\"role\": \"user\", \"content\": [{part}, {part}, {part}]}}]}}";
        await Api.AssertErrorAsync(await _host.PostJsonAsync(body), 400, "too_many_images", "messages[0].content[2]");
    }

    [Fact]
    public async Task ImagesOutsideUserMessagesAre400()
    {
        var png = Api.DataUrl(await File.ReadAllBytesAsync(Fixtures.Path("images", "logo.png")));
        var body = $"{{\"messages\": [{{\"role\": \"assistant\", \"content\": [{{\"type\": \"image_url\", \"image_url\": {{\"url\": \"{png}\"}}}}]}}]}}";
        await Api.AssertErrorAsync(await _host.PostJsonAsync(body), 400, "invalid_value", "messages[0].content[0]");
    }

    [Fact]
    public async Task FiftyMegabyteBodyIs413()
    {
        var body = new byte[50 << 20];
        body.AsSpan().Fill((byte)' ');
        "{\"messages\": \""u8.CopyTo(body);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        // As curl does for large bodies: Expect: 100-continue lets the server refuse from the Content-Length alone,
        // before a byte of the body is sent (without it the server answers 413 and closes the connection mid-upload).
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.ExpectContinue = true;
        using var response = await _host.Http.SendAsync(request);
        var error = await Api.AssertErrorAsync(response, 413, "request_too_large");
        Assert.Contains($"{50 << 20} bytes", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimitIs413()
    {
        // No Content-Length: the limit is enforced while reading (one byte over the 20 MiB default).
        using var content = new StreamContent(new RepeatStream((20 << 20) + 1));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _host.Http.SendAsync(request);
        await Api.AssertErrorAsync(response, 413, "request_too_large");
    }

    /// <summary>A PNG signature and a valid IHDR chunk (CRC included) claiming <paramref name="width"/> x <paramref name="height"/>, and nothing else.</summary>
    internal static byte[] PngHeader(int width, int height)
    {
        var png = new byte[8 + 25];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(png, 0);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(8), 13);
        "IHDR"u8.CopyTo(png.AsSpan(12));
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        png[24] = 8; png[25] = 2; // 8-bit RGB, deflate, no filter, no interlace
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>A read-only stream of <paramref name="length"/> spaces (never held in memory at once).</summary>
    private sealed class RepeatStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - _position);
            buffer.AsSpan(offset, n).Fill((byte)' ');
            _position += n;
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>API keys: every /v1 request needs the bearer key; /health and the page do not. Compared against: 401 + OpenAI error shape.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task MissingOrWrongKeyIs401AndTheRightKeyWorks()
    {
        await using var host = await TestHost.StartAsync(new FakeBackend(), new ServerOptions { ApiKey = "s3cret-key" });
        var body = Api.Simple("hi");
        var missing = await host.PostJsonAsync(body);
        await Api.AssertErrorAsync(missing, 401, "invalid_api_key");
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        await Api.AssertErrorAsync(await host.PostJsonAsync(body, apiKey: "wrong"), 401, "invalid_api_key");
        await Api.AssertErrorAsync(await host.PostJsonAsync(body, apiKey: "s3cret-key-and-more"), 401, "invalid_api_key");
        await Api.AssertErrorAsync(await host.Http.GetAsync("v1/models"), 401, "invalid_api_key");
        Assert.Equal(HttpStatusCode.OK, (await host.PostJsonAsync(body, apiKey: "s3cret-key")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/")).StatusCode);
    }
}
