using System.Text.Json;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// Compares against Data/jinja2-probes.json: ~140 small templates (filters, tests, str/list/dict methods, Python
/// printing, whitespace control, scoping, macros, error messages) rendered by Python Jinja2 3.1 configured as
/// transformers 4.45.2 configures it (Data/make_jinja2_probes.py generates the file). Tolerance: none — equal
/// strings, or the same Python exception type and message.
/// </summary>
public sealed class Jinja2ProbeTests
{
    // make_jinja2_probes.py renders strftime_now at 2025-07-10 12:00 (local time = UTC).
    private static readonly FixedClock s_clock = new(new DateTimeOffset(2025, 7, 10, 12, 0, 0, TimeSpan.Zero));

    private static readonly Lazy<JsonDocument> s_doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "jinja2-probes.json"))));

    public static TheoryData<string> ProbeIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_doc.Value.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(ProbeIds))]
    public void MatchesJinja2(string id)
    {
        var c = s_doc.Value.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("id").GetString() == id);
        var context = TemplateValues.ContextFromJson(c.GetProperty("context"));
        string source = c.GetProperty("template").GetString()!;
        if (c.TryGetProperty("expected", out var expected))
        {
            Assert.Equal(expected.GetString(), ChatTemplate.Parse(source, clock: s_clock).Render(context));
        }
        else
        {
            var ex = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse(source, clock: s_clock).Render(context));
            Assert.Equal(c.GetProperty("expected_error").GetString(), $"{ex.ErrorType}: {ex.Reason}");
        }
    }
}
