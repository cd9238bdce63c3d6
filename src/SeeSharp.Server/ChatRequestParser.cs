using System.Text.Json;

namespace SeeSharp.Server;

/// <summary>
/// Turns an OpenAI <c>/v1/chat/completions</c> body into a <see cref="ChatRequest"/>, checking every field's type and
/// the server's limits. Every problem is an <see cref="ApiException"/> (400) naming the field (<c>param</c>) and value.
/// Fields SeeSharp cannot honour (tools, logprobs, non-zero penalties, n &gt; 1) are refused rather than ignored;
/// unknown fields are ignored, as OpenAI's clients send extras.
/// </summary>
internal sealed class ChatRequestParser(ServerOptions options, HttpClient? remoteImages)
{
    private const int MaxStopSequences = 4;
    private static readonly JsonDocumentOptions s_json = new() { MaxDepth = 32 };

    /// <summary>Parses and checks a request body (already bounded by <see cref="ServerOptions.MaxRequestBodyBytes"/>).</summary>
    public async Task<ChatRequest> ParseAsync(ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, s_json);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ApiException(400, $"the request body must be a JSON object, not {Kind(root)}", code: "invalid_type");
            return await ParseRootAsync(root, ct).ConfigureAwait(false);
        }
    }

    private async Task<ChatRequest> ParseRootAsync(JsonElement root, CancellationToken ct)
    {
        if (Get(root, "model") is { } model && model.ValueKind != JsonValueKind.String)
            throw TypeError("model", "a string", model);

        int? n = OptionalInt(root, "n");
        if (n is not null and not 1) throw new ApiException(400, $"n must be 1 (got {n}): one choice per request", "n", "unsupported_value");

        int? maxTokens = OptionalInt(root, "max_completion_tokens") ?? OptionalInt(root, "max_tokens");
        string maxParam = Get(root, "max_completion_tokens") is not null ? "max_completion_tokens" : "max_tokens";
        if (maxTokens is < 1)
            throw new ApiException(400, $"{maxParam} must be at least 1 (got {maxTokens})", maxParam, "invalid_value");
        if (maxTokens > options.MaxTokensLimit)
            throw new ApiException(400, $"{maxParam} is {maxTokens}, over this server's limit of {options.MaxTokensLimit}", maxParam, "invalid_value");

        double? temperature = OptionalNumber(root, "temperature");
        if (temperature is < 0 or > 2) throw new ApiException(400, $"temperature must be in [0, 2] (got {temperature})", "temperature", "invalid_value");
        double? topP = OptionalNumber(root, "top_p");
        if (topP is not null && !(topP > 0 && topP <= 1)) throw new ApiException(400, $"top_p must be in (0, 1] (got {topP})", "top_p", "invalid_value");
        int? topK = OptionalInt(root, "top_k");
        if (topK is < 0) throw new ApiException(400, $"top_k must be >= 0 (got {topK})", "top_k", "invalid_value");
        long? seed = OptionalLong(root, "seed");

        foreach (var penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            double? p = OptionalNumber(root, penalty);
            if (p is not null and not 0) throw new ApiException(400, $"{penalty} is not supported (got {p}; only 0)", penalty, "unsupported_value");
        }
        if (OptionalBool(root, "logprobs") == true) throw new ApiException(400, "logprobs is not supported", "logprobs", "unsupported_value");
        if (Get(root, "logit_bias") is { ValueKind: JsonValueKind.Object } bias && bias.EnumerateObject().Any())
            throw new ApiException(400, "logit_bias is not supported", "logit_bias", "unsupported_value");
        if (Get(root, "tools") is { ValueKind: JsonValueKind.Array } tools && tools.GetArrayLength() > 0)
            throw new ApiException(400, "tools are not supported by this server", "tools", "unsupported_value");
        if (Get(root, "response_format") is { } format)
        {
            if (format.ValueKind != JsonValueKind.Object) throw TypeError("response_format", "an object", format);
            var type = Get(format, "type");
            if (type is not { ValueKind: JsonValueKind.String } || type.Value.GetString() != "text")
                throw new ApiException(400, "response_format: only {\"type\": \"text\"} is supported", "response_format", "unsupported_value");
        }

        var stop = ParseStop(root);
        bool stream = OptionalBool(root, "stream") ?? false;
        bool includeUsage = false;
        if (Get(root, "stream_options") is { } so)
        {
            if (so.ValueKind != JsonValueKind.Object) throw TypeError("stream_options", "an object", so);
            includeUsage = OptionalBool(so, "include_usage", "stream_options.include_usage") ?? false;
        }

        var messages = await ParseMessagesAsync(root, ct).ConfigureAwait(false);
        return new ChatRequest
        {
            Messages = messages,
            MaxTokens = maxTokens,
            DefaultMaxTokens = options.DefaultMaxTokens,
            Temperature = (float?)temperature,
            TopP = (float?)topP,
            TopK = topK,
            Seed = seed,
            Stop = stop,
            Stream = stream,
            IncludeUsage = stream && includeUsage,
        };
    }

    private static List<string> ParseStop(JsonElement root)
    {
        var stop = new List<string>();
        switch (Get(root, "stop"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.String } s:
                stop.Add(s.GetString()!);
                break;
            case { ValueKind: JsonValueKind.Array } list:
                int i = 0;
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) throw TypeError($"stop[{i}]", "a string", item);
                    stop.Add(item.GetString()!);
                    i++;
                }
                break;
            case { } other:
                throw TypeError("stop", "a string or a list of strings", other);
        }
        if (stop.Count > MaxStopSequences) throw new ApiException(400, $"stop has {stop.Count} sequences, at most {MaxStopSequences} are allowed", "stop", "invalid_value");
        for (int i = 0; i < stop.Count; i++)
            if (stop[i].Length == 0) throw new ApiException(400, $"stop[{i}] is empty", "stop", "invalid_value");
        return stop;
    }

    private async Task<List<ChatRequestMessage>> ParseMessagesAsync(JsonElement root, CancellationToken ct)
    {
        var list = Get(root, "messages") ?? throw new ApiException(400, "messages is required", "messages", "missing_required_parameter");
        if (list.ValueKind != JsonValueKind.Array) throw TypeError("messages", "an array", list);
        int count = list.GetArrayLength();
        if (count == 0) throw new ApiException(400, "messages must not be empty", "messages", "invalid_value");
        if (count > options.MaxMessages) throw new ApiException(400, $"messages has {count} entries, over this server's limit of {options.MaxMessages}", "messages", "invalid_value");

        var messages = new List<ChatRequestMessage>(count);
        int images = 0;
        int m = 0;
        foreach (var message in list.EnumerateArray())
        {
            string at = $"messages[{m}]";
            if (message.ValueKind != JsonValueKind.Object) throw TypeError(at, "an object", message);
            var roleElement = Get(message, "role") ?? throw new ApiException(400, $"{at}.role is required", $"{at}.role", "missing_required_parameter");
            if (roleElement.ValueKind != JsonValueKind.String) throw TypeError($"{at}.role", "a string", roleElement);
            string role = roleElement.GetString() switch
            {
                "system" or "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                var r => throw new ApiException(400, $"{at}.role '{r}' is not supported (system, developer, user, assistant)", $"{at}.role", "unsupported_value"),
            };
            var parts = new List<ChatRequestPart>();
            var content = Get(message, "content");
            switch (content)
            {
                case { ValueKind: JsonValueKind.String } s:
                    parts.Add(ChatRequestPart.FromText(s.GetString()!));
                    break;
                case { ValueKind: JsonValueKind.Array } array:
                    int p = 0;
                    foreach (var part in array.EnumerateArray())
                    {
                        var parsed = await ParsePartAsync(part, role, $"{at}.content[{p}]", ct).ConfigureAwait(false);
                        if (parsed.Image is not null && ++images > options.MaxImagesPerRequest)
                            throw new ApiException(400, $"the request has more than {options.MaxImagesPerRequest} images, this server's limit", $"{at}.content[{p}]", "too_many_images");
                        parts.Add(parsed);
                        p++;
                    }
                    if (p == 0) throw new ApiException(400, $"{at}.content must not be an empty list", $"{at}.content", "invalid_value");
                    break;
                case null:
                    throw new ApiException(400, $"{at}.content is required", $"{at}.content", "missing_required_parameter");
                case { } other:
                    throw TypeError($"{at}.content", "a string or a list of content parts", other);
            }
            messages.Add(new ChatRequestMessage(role, parts));
            m++;
        }
        return messages;
    }

    private async Task<ChatRequestPart> ParsePartAsync(JsonElement part, string role, string at, CancellationToken ct)
    {
        if (part.ValueKind != JsonValueKind.Object) throw TypeError(at, "an object", part);
        var typeElement = Get(part, "type") ?? throw new ApiException(400, $"{at}.type is required", $"{at}.type", "missing_required_parameter");
        if (typeElement.ValueKind != JsonValueKind.String) throw TypeError($"{at}.type", "a string", typeElement);
        switch (typeElement.GetString())
        {
            case "text":
                var text = Get(part, "text") ?? throw new ApiException(400, $"{at}.text is required", $"{at}.text", "missing_required_parameter");
                if (text.ValueKind != JsonValueKind.String) throw TypeError($"{at}.text", "a string", text);
                return ChatRequestPart.FromText(text.GetString()!);
            case "image_url":
                if (role != "user") throw new ApiException(400, $"{at}: images are only allowed in user messages (this one is {role})", at, "invalid_value");
                var image = Get(part, "image_url") ?? throw new ApiException(400, $"{at}.image_url is required", $"{at}.image_url", "missing_required_parameter");
                JsonElement url;
                string urlAt = $"{at}.image_url.url";
                if (image.ValueKind == JsonValueKind.String) { url = image; urlAt = $"{at}.image_url"; }
                else if (image.ValueKind == JsonValueKind.Object)
                    url = Get(image, "url") ?? throw new ApiException(400, $"{urlAt} is required", urlAt, "missing_required_parameter");
                else throw TypeError($"{at}.image_url", "an object {url}", image);
                if (url.ValueKind != JsonValueKind.String) throw TypeError(urlAt, "a string", url);
                var bytes = await LoadImageAsync(url.GetString()!, urlAt, ct).ConfigureAwait(false);
                CheckImage(bytes, urlAt);
                return ChatRequestPart.FromImage(bytes);
            case var other:
                throw new ApiException(400, $"{at}.type '{other}' is not supported (text, image_url)", $"{at}.type", "unsupported_value");
        }
    }

    private void CheckImage(byte[] bytes, string at)
    {
        var header = ImageHeader.Probe(bytes, out var reason);
        if (header is not { } h) throw new ApiException(400, $"{at}: {reason}", at, "invalid_image");
        long pixels = (long)h.Width * h.Height;
        if (pixels > options.MaxImagePixels)
            throw new ApiException(400, $"{at}: the {h.Format} image is {h.Width}x{h.Height} = {pixels} pixels, over this server's limit of {options.MaxImagePixels}",
                at, "image_too_large");
    }

    private async Task<byte[]> LoadImageAsync(string url, string at, CancellationToken ct)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase)) return DecodeDataUrl(url, at);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new ApiException(400, $"{at}: '{Shorten(url)}' is neither a data: URL nor an absolute URL", at, "invalid_image_url");
        if (uri.Scheme is not ("http" or "https" or "file"))
            throw new ApiException(400, $"{at}: URL scheme '{uri.Scheme}' is not supported (data:, and http/https/file when the server allows remote images)", at, "invalid_image_url");
        if (!options.AllowRemoteImages)
            throw new ApiException(400, $"{at}: {uri.Scheme} image URLs are disabled on this server (start it with --allow-remote-images); send the image as a data: URL",
                at, "remote_images_disabled");
        try
        {
            if (uri.IsFile)
            {
                var info = new FileInfo(uri.LocalPath);
                if (!info.Exists) throw new ApiException(400, $"{at}: file not found: {uri.LocalPath}", at, "invalid_image_url");
                if (info.Length > options.MaxRequestBodyBytes)
                    throw new ApiException(400, $"{at}: {uri.LocalPath} has {info.Length} bytes, over the {options.MaxRequestBodyBytes}-byte limit", at, "image_too_large");
                return await File.ReadAllBytesAsync(uri.LocalPath, ct).ConfigureAwait(false);
            }
            var http = remoteImages ?? throw new InvalidOperationException("no HTTP client for remote images");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.RemoteImageTimeout);
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new ApiException(400, $"{at}: fetching {uri} gave HTTP {(int)response.StatusCode}", at, "invalid_image_url");
            if (response.Content.Headers.ContentLength > options.MaxRequestBodyBytes)
                throw new ApiException(400, $"{at}: {uri} is larger than the {options.MaxRequestBodyBytes}-byte limit", at, "image_too_large");
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > options.MaxRequestBodyBytes)
                    throw new ApiException(400, $"{at}: {uri} is larger than the {options.MaxRequestBodyBytes}-byte limit", at, "image_too_large");
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new ApiException(400, $"{at}: cannot fetch {uri}: {e.Message}", at, "invalid_image_url");
        }
    }

    /// <summary>Decodes <c>data:image/(png|jpeg|webp|gif);base64,...</c>.</summary>
    private static byte[] DecodeDataUrl(string url, string at)
    {
        int comma = url.IndexOf(',');
        if (comma < 0) throw new ApiException(400, $"{at}: data URL has no ',' before its data", at, "invalid_image_url");
        var meta = url.AsSpan(5, comma - 5);
        if (!meta.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            throw new ApiException(400, $"{at}: data URL must be base64-encoded (data:image/png;base64,...)", at, "invalid_image_url");
        var mediaType = meta[..meta.IndexOf(';')].ToString().Trim().ToLowerInvariant();
        if (mediaType is not ("image/png" or "image/jpeg" or "image/jpg" or "image/webp" or "image/gif"))
            throw new ApiException(400, $"{at}: data URL media type '{mediaType}' is not an image this server reads (image/png, image/jpeg, image/webp, image/gif)",
                at, "invalid_image");
        var payload = url.AsSpan(comma + 1);
        var bytes = new byte[payload.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(payload, bytes, out int written))
            throw new ApiException(400, $"{at}: data URL payload is not valid base64", at, "invalid_image_url");
        return bytes.AsSpan(0, written).ToArray();
    }

    // --- typed field access -------------------------------------------------------------------------------------

    private static JsonElement? Get(JsonElement obj, string name)
        => obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static int? OptionalInt(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i)) throw TypeError(name, "an integer", v);
        return i;
    }

    private static long? OptionalLong(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long i)) throw TypeError(name, "an integer", v);
        return i;
    }

    private static double? OptionalNumber(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(name, "a number", v);
        return v.GetDouble();
    }

    private static bool? OptionalBool(JsonElement obj, string name, string? param = null)
    {
        if (Get(obj, name) is not { } v) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw TypeError(param ?? name, "a boolean", v);
        return v.GetBoolean();
    }

    private static ApiException TypeError(string param, string expected, JsonElement got)
        => new(400, $"{param} must be {expected}, not {Kind(got)} ({Shorten(got.GetRawText())})", param, "invalid_type");

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Shorten(string s) => s.Length <= 60 ? s : string.Concat(s.AsSpan(0, 57), "...");
}
