using System.Text.Json.Nodes;

namespace SeeSharp.Templates.Tests;

/// <summary>
/// Property tests of the public surface: host-value conversion (CLR and System.Text.Json), Apply's variables
/// (transformers passes tools=None and documents=None), isolation of caller data, reuse across renders.
/// Expected strings are Python/Jinja2 printing rules written out by hand; exact equality.
/// </summary>
public sealed class ApiTests
{
    private static string Render(string source, IReadOnlyDictionary<string, object?> ctx) => ChatTemplate.Parse(source).Render(ctx);

    [Fact]
    public void HostValuesBecomePythonValues()
    {
        var ctx = new Dictionary<string, object?>
        {
            ["i"] = 3,
            ["f"] = 2.5f,
            ["m"] = 1.25m,
            ["b"] = true,
            ["n"] = null,
            ["list"] = new[] { 1, 2 },
            ["dict"] = new Dictionary<string, int> { ["z"] = 1, ["a"] = 2 },
            ["ch"] = 'c',
        };
        Assert.Equal("3|2.5|1.25|True|None|[1, 2]|{'z': 1, 'a': 2}|c|True",
            Render("{{ i }}|{{ f }}|{{ m }}|{{ b }}|{{ n }}|{{ list }}|{{ dict }}|{{ ch }}|{{ i is integer }}", ctx));
    }

    [Fact]
    public void JsonIntegersStayIntegersAndFloatsStayFloats()
    {
        var node = JsonNode.Parse("""{"a": 1, "b": 1.0, "c": 1e2, "d": [true, null, "x"], "e": {"k": -7}}""");
        var ctx = new Dictionary<string, object?> { ["j"] = TemplateValues.FromJson(node) };
        Assert.Equal("1|1.0|100.0|[True, None, 'x']|-7|True|True",
            Render("{{ j.a }}|{{ j.b }}|{{ j.c }}|{{ j.d }}|{{ j.e.k }}|{{ j.a is integer }}|{{ j.b is float }}", ctx));
    }

    [Fact]
    public void UnsupportedHostTypesAreRejectedByName()
    {
        var ex = Assert.Throws<ArgumentException>(() => Render("{{ x }}", new Dictionary<string, object?> { ["x"] = new Uri("http://a") }));
        Assert.Contains("System.Uri", ex.Message);
    }

    [Fact]
    public void ApplyPassesToolsAndDocumentsAsNone()
    {
        var t = ChatTemplate.Parse("{{ tools is none }}{{ documents is none }}{{ tools is defined }}{{ add_generation_prompt }}{{ bos_token }}");
        Assert.Equal("TrueTrueTrueFalse<s>", t.Apply([], false, new Dictionary<string, object?> { ["bos_token"] = "<s>" }));
    }

    [Fact]
    public void ApplyRejectsCollidingExtraVariables()
    {
        var t = ChatTemplate.Parse("x");
        Assert.Throws<ArgumentException>(() => t.Apply([], true, new Dictionary<string, object?> { ["messages"] = null }));
    }

    [Fact]
    public void CallerDataIsNotMutatedAndTemplateIsReusable()
    {
        var messages = new List<object?> { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" } };
        var t = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.role }}:{{ m.content }}{% endfor %}{{ ns.n }}");
        Assert.Equal("user:hi1", t.Apply(messages, false));
        Assert.Equal("user:hi1", t.Apply(messages, false));
        Assert.Single(messages);
    }

    [Fact]
    public void ConcurrentRendersAreIndependent()
    {
        var t = ChatTemplate.Parse("{% for i in range(n) %}{{ i }}{% endfor %}");
        var results = Enumerable.Range(0, 16).AsParallel().Select(n => (n, t.Render(new Dictionary<string, object?> { ["n"] = n }))).ToList();
        foreach (var (n, s) in results) Assert.Equal(string.Concat(Enumerable.Range(0, n)), s);
    }

    [Fact]
    public void StrftimeNowUsesTheGivenClock()
    {
        var clock = new FixedClock(new DateTimeOffset(2024, 2, 29, 13, 5, 9, TimeSpan.Zero));
        // Expected strings: Python's datetime(2024, 2, 29, 13, 5, 9).strftime(...) on Linux (glibc, C locale).
        Assert.Equal("29 Feb 2024 Thursday 01PM 13:05:09 060 4 2/29/24",
            ChatTemplate.Parse("{{ strftime_now('%d %b %Y %A %I%p %H:%M:%S %j %u %-m/%-d/%y') }}", clock: clock).Render(new Dictionary<string, object?>()));
    }
}
