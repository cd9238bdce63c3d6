using System.Text.Json;

namespace SeeSharp.Tokenizers;

/// <summary>A JSON element that remembers its file and path, so every error can name both.</summary>
internal readonly struct JNode
{
    public readonly JsonElement El;
    public readonly string File;
    public readonly string Path;

    public JNode(JsonElement el, string file, string path)
    {
        El = el;
        File = file;
        Path = path;
    }

    public JsonValueKind Kind => El.ValueKind;
    public bool IsNull => El.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public TokenizerFormatException Error(string message) => new(File, Path, message);

    public JNode? Opt(string name)
    {
        if (El.ValueKind != JsonValueKind.Object) throw Error($"expected an object, got {El.ValueKind}");
        if (!El.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return new JNode(v, File, Path + "." + name);
    }

    public JNode Req(string name) => Opt(name) ?? throw new TokenizerFormatException(File, Path + "." + name, "required field is missing or null");

    public JNode this[int i] => new(El[i], File, $"{Path}[{i}]");

    public int Count => El.ValueKind == JsonValueKind.Array ? El.GetArrayLength() : throw Error($"expected an array, got {El.ValueKind}");

    public IEnumerable<JNode> Items()
    {
        if (El.ValueKind != JsonValueKind.Array) throw Error($"expected an array, got {El.ValueKind}");
        int i = 0;
        foreach (var e in El.EnumerateArray()) yield return new JNode(e, File, $"{Path}[{i++}]");
    }

    public IEnumerable<(string Name, JNode Value)> Props()
    {
        if (El.ValueKind != JsonValueKind.Object) throw Error($"expected an object, got {El.ValueKind}");
        foreach (var p in El.EnumerateObject()) yield return (p.Name, new JNode(p.Value, File, Path + "." + p.Name));
    }

    public string Str() => El.ValueKind == JsonValueKind.String ? El.GetString()! : throw Error($"expected a string, got {El.ValueKind}");

    public bool Bool() => El.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"expected a boolean, got {El.ValueKind}"),
    };

    public int Int()
    {
        if (El.ValueKind == JsonValueKind.Number && El.TryGetInt32(out var v)) return v;
        throw Error($"expected a 32-bit integer, got {El.ValueKind} {Raw()}");
    }

    public double Double() => El.ValueKind == JsonValueKind.Number ? El.GetDouble() : throw Error($"expected a number, got {El.ValueKind}");

    public string Raw()
    {
        var s = El.ValueKind == JsonValueKind.Undefined ? "undefined" : El.GetRawText();
        return s.Length > 80 ? s[..80] + "..." : s;
    }

    public string? OptStr(string name) => Opt(name)?.Str();
    public bool OptBool(string name, bool dflt) => Opt(name)?.Bool() ?? dflt;
    public int OptInt(string name, int dflt) => Opt(name)?.Int() ?? dflt;

    /// <summary>The <c>type</c> field of a component object.</summary>
    public string TypeName() => Req("type").Str();

    public TokenizerFormatException Unknown(string kind)
    {
        var t = TypeName();
        return new TokenizerFormatException(File, Path + ".type", $"unknown or unsupported {kind} type '{t}'");
    }

    public static JsonDocument Parse(string file, byte[] bytes)
    {
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(file, "$", $"malformed JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }
    }
}
