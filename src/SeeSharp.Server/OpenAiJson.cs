using System.Buffers;
using System.Text.Json;

namespace SeeSharp.Server;

/// <summary>Writes the OpenAI response objects (chat.completion, chat.completion.chunk, errors) by hand: no reflection.</summary>
internal static class OpenAiJson
{
    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer)) body(w);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public static byte[] Error(string message, string type, string? param, string? code) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", type);
        if (param is null) w.WriteNull("param"); else w.WriteString("param", param);
        if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static void Usage(Utf8JsonWriter w, int prompt, int completion)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteEndObject();
    }

    /// <summary>The fields every completion object starts with.</summary>
    public static void Head(Utf8JsonWriter w, string id, string obj, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", obj);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteString("system_fingerprint", SeeSharpServer.SystemFingerprint);
    }

    /// <summary>A non-streamed <c>chat.completion</c>.</summary>
    public static byte[] Completion(string id, long created, string model, string text, string finish, int prompt, int completion) => Write(w =>
    {
        w.WriteStartObject();
        Head(w, id, "chat.completion", created, model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", text);
        w.WriteNull("refusal");
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        Usage(w, prompt, completion);
        w.WriteEndObject();
    });

    /// <summary>
    /// A <c>chat.completion.chunk</c> with one choice: the role (first chunk), a content delta, or the finish reason.
    /// With <paramref name="withUsageField"/> (stream_options.include_usage) it carries <c>"usage": null</c>.
    /// </summary>
    public static byte[] Chunk(string id, long created, string model, string? role, string? content, string? finish, bool withUsageField) => Write(w =>
    {
        w.WriteStartObject();
        Head(w, id, "chat.completion.chunk", created, model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (role is not null) w.WriteString("role", role);
        if (content is not null) w.WriteString("content", content);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (withUsageField) w.WriteNull("usage");
        w.WriteEndObject();
    });

    /// <summary>The last chunk of a stream with <c>include_usage</c>: no choices, the token counts.</summary>
    public static byte[] UsageChunk(string id, long created, string model, int prompt, int completion) => Write(w =>
    {
        w.WriteStartObject();
        Head(w, id, "chat.completion.chunk", created, model);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        Usage(w, prompt, completion);
        w.WriteEndObject();
    });
}
