using System.Text.Json;

namespace SeeSharp.Cli;

/// <summary>
/// Reads the <c>--messages</c> file of the CLI contract: a JSON list of
/// <c>{role, content: [{type: "image", path} | {type: "text", text}]}</c> (content may also be a plain string).
/// A relative image path is relative to the messages file's folder.
/// </summary>
internal static class Messages
{
    public const long MaxFileBytes = 16L << 20;

    /// <param name="imagesRequired">false: image parts without a path become placeholders (template rendering).</param>
    public static Chat Load(string path, bool imagesRequired)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"messages file not found: {path}");
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"{path}: larger than {MaxFileBytes} bytes");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        using (doc)
        {
            var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{path}: expected a JSON list of messages");
            var chat = new Chat();
            int i = 0;
            foreach (var m in doc.RootElement.EnumerateArray())
            {
                string where = $"{path}: message {i}";
                if (m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected an object");
                if (!m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{where}: missing string field 'role'");
                if (!m.TryGetProperty("content", out var content)) throw new InvalidDataException($"{where}: missing field 'content'");
                var parts = new List<object>();
                if (content.ValueKind == JsonValueKind.String) parts.Add(content.GetString()!);
                else if (content.ValueKind == JsonValueKind.Array)
                {
                    int j = 0;
                    foreach (var part in content.EnumerateArray())
                    {
                        parts.Add(ReadPart(part, $"{where}, content {j}", baseDir, imagesRequired));
                        j++;
                    }
                }
                else throw new InvalidDataException($"{where}: 'content' must be a string or a list of parts");
                chat.Add(role.GetString()!, parts.ToArray());
                i++;
            }
            return chat;
        }
    }

    private static object ReadPart(JsonElement part, string where, string baseDir, bool imagesRequired)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: expected an object with a string 'type'");
        switch (type.GetString())
        {
            case "text":
                if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{where}: a text part needs a string 'text'");
                return text.GetString()!;
            case "image":
                if (part.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String)
                {
                    var full = Path.IsPathRooted(p.GetString()!) ? p.GetString()! : Path.Combine(baseDir, p.GetString()!);
                    return imagesRequired ? Image.Load(full) : ChatPart.ImagePlaceholder();
                }
                if (imagesRequired) throw new InvalidDataException($"{where}: an image part needs a string 'path'");
                return ChatPart.ImagePlaceholder();
            default:
                throw new InvalidDataException($"{where}: unknown part type '{type.GetString()}' (expected 'text' or 'image')");
        }
    }
}
