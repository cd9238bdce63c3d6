using System.Text.Json;

namespace SeeSharp.Templates;

/// <summary>Finds the chat template of a checkpoint folder the way transformers' <c>from_pretrained</c> does.</summary>
public static class ChatTemplateLocator
{
    /// <summary>
    /// Returns the chat template text of a checkpoint folder, or null when it has none. Lookup order (first hit wins):
    /// <list type="number">
    /// <item><c>chat_template.jinja</c> — the raw template file that newer transformers releases save and prefer over
    /// every other source (4.45.2 does not read it; a folder saved by a newer release may only have this one).</item>
    /// <item><c>chat_template.json</c>, key <c>"chat_template"</c> — what 4.45.2's <c>ProcessorMixin.get_processor_dict</c>
    /// reads; it is passed as a keyword to <c>from_args_and_dict</c> and set after construction, so it overrides
    /// the processor config's key.</item>
    /// <item><c>processor_config.json</c>, key <c>"chat_template"</c> — the legacy processor location (4.45.2 warns
    /// but uses it when no chat_template.json exists).</item>
    /// <item><c>tokenizer_config.json</c>, key <c>"chat_template"</c> — a string, or a list of
    /// <c>{"name", "template"}</c> entries (the tokenizer's template, which <c>tokenizer.apply_chat_template</c> uses).
    /// From a list, <paramref name="name"/> is picked, else the entry named <c>"default"</c>
    /// (<c>PreTrainedTokenizerBase.get_chat_template</c>; transformers also picks <c>"tool_use"</c> by itself when tools
    /// are passed — pass that name here in that case). A 4.45.2 <em>processor</em> does not fall back to the
    /// tokenizer's template (its apply_chat_template raises instead); this locator does, so that text-only checkpoints
    /// work too.</item>
    /// </list>
    /// A present file that is not valid JSON, or whose <c>chat_template</c> field has the wrong type, raises
    /// <see cref="InvalidDataException"/> naming the file and field. A null <c>chat_template</c> counts as absent.
    /// </summary>
    /// <param name="folder">Checkpoint folder.</param>
    /// <param name="name">Named template to pick from a tokenizer_config list (e.g. <c>"tool_use"</c>); null for the default.</param>
    public static string? Find(string folder, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"checkpoint folder '{folder}' does not exist");

        string jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja)) return File.ReadAllText(jinja);

        foreach (var file in new[] { "chat_template.json", "processor_config.json" })
        {
            string path = Path.Combine(folder, file);
            if (!File.Exists(path)) continue;
            using var doc = ReadJson(path);
            if (!doc.RootElement.TryGetProperty("chat_template", out var t) || t.ValueKind == JsonValueKind.Null) continue;
            if (t.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: field \"chat_template\" must be a string, got {t.ValueKind}");
            return t.GetString();
        }

        string tok = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(tok))
        {
            using var doc = ReadJson(tok);
            if (doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind != JsonValueKind.Null)
            {
                if (t.ValueKind == JsonValueKind.String) return t.GetString();
                if (t.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException($"{tok}: field \"chat_template\" must be a string or a list of {{name, template}}, got {t.ValueKind}");
                var named = new Dictionary<string, string>();
                int i = 0;
                foreach (var entry in t.EnumerateArray())
                {
                    if (entry.ValueKind != JsonValueKind.Object
                        || !entry.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                        || !entry.TryGetProperty("template", out var tt) || tt.ValueKind != JsonValueKind.String)
                        throw new InvalidDataException($"{tok}: field \"chat_template\"[{i}] must be an object with string \"name\" and \"template\"");
                    named[n.GetString()!] = tt.GetString()!;
                    i++;
                }
                string want = name ?? "default";
                if (named.TryGetValue(want, out var chosen)) return chosen;
                throw new InvalidDataException(name is null
                    ? $"{tok}: field \"chat_template\" has several templates ({string.Join(", ", named.Keys)}) and none named \"default\"; pass a name"
                    : $"{tok}: field \"chat_template\" has no template named \"{name}\" (available: {string.Join(", ", named.Keys)})");
            }
        }
        return null;
    }

    private static JsonDocument ReadJson(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > 64L << 20) throw new InvalidDataException($"{path}: {info.Length} bytes is too large for a config file");
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = doc.RootElement.ValueKind;
                doc.Dispose();
                throw new InvalidDataException($"{path}: expected a JSON object at the top level, got {kind}");
            }
            return doc;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
    }
}
