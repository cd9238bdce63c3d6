namespace SeeSharp.Templates.Tests;

/// <summary>
/// Property test: random template soup (fixed seed) built from Jinja fragments, brackets, quotes, operators and
/// unicode must either render or fail with a <see cref="TemplateException"/> (syntax, runtime or limit) — never
/// another exception type, a crash or a hang. No reference output; the property is the exception contract.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly string[] Fragments =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "+%}", "{%+", " ", "\n", "\t",
        "if", "elif", "else", "endif", "for", "in", "endfor", "set", "endset", "macro", "endmacro", "call", "endcall",
        "filter", "endfilter", "raw", "endraw", "with", "endwith", "generation", "endgeneration", "break", "continue",
        "x", "y", "loop", "ns", "namespace(a=1)", "range(3)", "caller()", "messages", "m", "m.content", "loop.index",
        "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "=", "==", "!=", "<", ">", "+", "-", "*", "**", "/", "//", "%", "~",
        "'a'", "\"b\"", "'", "\"", "\\", "1", "2.5", "1e400", "-0", "99999999999999999999", "0x", "true", "none",
        "is", "not", "and", "or", "defined", "string", "upper", "join", "length", "tojson", "items()", "split()",
        "é", "🦙", "\u0000", "\uD800",
    ];

    [Fact]
    public void RandomSoupOnlyRaisesTemplateExceptions()
    {
        var rnd = new Random(20240601);
        var limits = TemplateLimits.Default with { MaxIterations = 20_000, MaxOutputLength = 100_000, MaxStringLength = 100_000 };
        var ctx = new Dictionary<string, object?>
        {
            ["messages"] = new List<object?> { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" } },
            ["x"] = 3,
        };
        int rendered = 0, failed = 0;
        for (int i = 0; i < 4000; i++)
        {
            int n = rnd.Next(1, 40);
            var parts = new string[n];
            for (int k = 0; k < n; k++) parts[k] = Fragments[rnd.Next(Fragments.Length)];
            string src = string.Concat(parts);
            try
            {
                ChatTemplate.Parse(src, limits).Render(ctx);
                rendered++;
            }
            catch (TemplateException)
            {
                failed++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"template {System.Text.Json.JsonSerializer.Serialize(src)} threw {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.Equal(4000, rendered + failed);
    }

    [Fact]
    public void StructuredSoupOnlyRaisesTemplateExceptions()
    {
        // Well-formed tags around random expressions reach the interpreter far more often than raw soup.
        var rnd = new Random(7);
        string[] exprs = ["x", "messages", "messages[0]", "m.content", "'ab'", "[1, 'a']", "{'k': 1}", "none", "1.5", "(1, 2)", "ns", "loop", "range(4)", "x.y", "caller"];
        string[] ops = [" + ", " - ", " * ", " / ", " // ", " % ", " ** ", " ~ ", " == ", " < ", " in ", " and ", " or ", " if x else "];
        string[] posts = ["", "[0]", "[-1]", "[1:]", ".upper()", ".split()", "|length", "|tojson", "|first", "|list", "|join(',')", "|sort", "|map('upper')|list", ".items()", "()", " is defined", " is string", "|selectattr('role')|list"];
        string E(int d) => d > 2 || rnd.Next(3) == 0
            ? exprs[rnd.Next(exprs.Length)] + posts[rnd.Next(posts.Length)]
            : "(" + E(d + 1) + ops[rnd.Next(ops.Length)] + E(d + 1) + ")" + posts[rnd.Next(posts.Length)];
        string[] stmts =
        [
            "{{ $ }}", "{% if $ %}A{% else %}B{% endif %}", "{% for m in $ %}{{ loop.index }}{{ m }}{% endfor %}",
            "{% set x = $ %}", "{% set ns = namespace(a=$) %}{% set ns.a = $ %}{{ ns.a }}", "{% macro f(a, b=$) %}{{ a }}{{ b }}{% endmacro %}{{ f($) }}",
            "{% for k, v in $ %}{{ k }}{% endfor %}", "{% filter upper %}{{ $ }}{% endfilter %}", "{% with y = $ %}{{ y }}{% endwith %}",
        ];
        for (int i = 0; i < 3000; i++)
        {
            int n = rnd.Next(1, 5);
            string src = string.Concat(Enumerable.Range(0, n).Select(_ =>
            {
                string s = stmts[rnd.Next(stmts.Length)];
                while (s.Contains('$')) { int p = s.IndexOf('$'); s = s[..p] + E(0) + s[(p + 1)..]; }
                return s;
            }));
            try
            {
                ChatTemplate.Parse(src).Render(new Dictionary<string, object?> { ["x"] = 2, ["messages"] = new List<object?> { "a", "b" } });
            }
            catch (TemplateException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"template {System.Text.Json.JsonSerializer.Serialize(src)} threw {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
        }
    }
}
