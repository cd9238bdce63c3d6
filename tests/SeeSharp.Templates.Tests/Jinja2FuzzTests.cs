using System.Text.Json;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// Compares against Data/jinja2-fuzz.json: 2500 random templates (1000 whitespace-control layouts, 1500 random
/// expressions over filters, tests, methods, operators and subscripts) rendered by Python Jinja2 3.1 configured as
/// transformers 4.45.2 configures it (Data/make_jinja2_fuzz.py, fixed seeds). Tolerance: none — equal output, or the
/// same exception type and message. Cases listed in the file's <c>known_divergent</c> (each with its reason) are
/// skipped; every other case must match.
/// </summary>
public sealed class Jinja2FuzzTests
{
    private static readonly Lazy<JsonDocument> s_doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "jinja2-fuzz.json"))));

    [Theory]
    [InlineData("ws")]
    [InlineData("expr")]
    [InlineData("stmt")]
    public void RandomTemplatesMatchJinja2(string family)
    {
        var root = s_doc.Value.RootElement;
        var skip = root.GetProperty("known_divergent").EnumerateObject().Select(p => p.Name).ToHashSet();
        var contexts = root.GetProperty("contexts");
        var failures = new List<string>();
        int checkedCount = 0;
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            string id = c.GetProperty("id").GetString()!;
            if (!id.StartsWith(family, StringComparison.Ordinal) || char.IsLetter(id[family.Length]) || skip.Contains(id)) continue;
            checkedCount++;
            var ctxEl = c.GetProperty("context");
            var ctx = TemplateValues.ContextFromJson(ctxEl.ValueKind == JsonValueKind.String ? contexts.GetProperty(ctxEl.GetString()!) : ctxEl);
            string src = c.GetProperty("template").GetString()!;
            string got;
            try
            {
                got = ChatTemplate.Parse(src).Render(ctx);
            }
            catch (TemplateException ex)
            {
                got = $"ERR {ex.ErrorType}: {ex.Reason}";
            }
            string expected = c.TryGetProperty("expected", out var e) ? e.GetString()! : "ERR " + c.GetProperty("expected_error").GetString();
            if (got != expected) failures.Add($"{id}: {JsonSerializer.Serialize(src)}\n  expected {JsonSerializer.Serialize(expected)}\n  got      {JsonSerializer.Serialize(got)}");
        }
        Assert.True(checkedCount > 700, $"only {checkedCount} {family} cases found");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedCount} differ:\n" + string.Join("\n", failures.Take(20)));
    }
}
