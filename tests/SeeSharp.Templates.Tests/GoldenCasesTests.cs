using System.Text.Json;
using SeeSharp.Testing;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// Compares against tests/fixtures/chat-templates/cases.json: renders of Python Jinja2 3.1 configured as
/// transformers configures it (see that folder's README). Tolerance: none — the output string must be equal
/// character for character, and error cases must raise the same Python exception type with the same message.
/// The fixture's <c>strftime_now</c> probe was rendered on 2025-07-10, so the clock is fixed to that day.
/// </summary>
public sealed class GoldenCasesTests
{
    private static readonly Lazy<JsonDocument> s_cases = new(() =>
        JsonDocument.Parse(File.ReadAllText(Fixtures.Path("chat-templates", "cases.json"))));

    private static readonly FixedClock s_clock = new(new DateTimeOffset(2025, 7, 10, 12, 0, 0, TimeSpan.Zero));

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value.RootElement.EnumerateArray()) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    private static JsonElement Case(string id) =>
        s_cases.Value.RootElement.EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    [Fact]
    public void FixtureHasAllCases() => Assert.Equal(108, s_cases.Value.RootElement.GetArrayLength());

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void RendersLikeJinja2(string id)
    {
        var c = Case(id);
        var context = TemplateValues.ContextFromJson(c.GetProperty("context"));
        string source = c.GetProperty("template").GetString()!;
        if (c.TryGetProperty("expected", out var expected))
        {
            var template = ChatTemplate.Parse(source, clock: s_clock);
            Assert.Equal(expected.GetString(), template.Render(context));
        }
        else
        {
            string expectedError = c.GetProperty("expected_error").GetString()!;
            var ex = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse(source, clock: s_clock).Render(context));
            Assert.Equal(expectedError, $"{ex.ErrorType}: {ex.Reason}");
        }
    }
}
