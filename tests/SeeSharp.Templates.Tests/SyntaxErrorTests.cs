namespace SeeSharp.Templates.Tests;

/// <summary>
/// Invalid templates raise <see cref="TemplateSyntaxException"/> with the 1-based line and column of the offending
/// token (property tests; expected positions counted by hand from each source string).
/// </summary>
public sealed class SyntaxErrorTests
{
    private static TemplateSyntaxException Fails(string source) => Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(source));

    [Theory]
    [InlineData("{% if x %}\nabc", 2, 4)]                      // missing endif: reported at end of template
    [InlineData("ab\ncd {{ 1 + }}", 2, 11)]                    // '}}' where an operand should be
    [InlineData("{% for x in y %}{% endif %}", 1, 20)]          // wrong end tag (unknown tag here)
    [InlineData("line1\nline2\n  {% frobnicate %}", 3, 6)]     // unknown tag
    [InlineData("{{ x | nosuchfilter }}", 1, 8)]                // unknown filter
    [InlineData("{{ x is nosuchtest }}", 1, 9)]                 // unknown test
    [InlineData("{{ 'unterminated }}", 1, 4)]                   // unterminated string
    [InlineData("{# comment", 1, 1)]                            // unterminated comment
    [InlineData("{{ x }", 1, 6)]                                // stray single brace before the end
    [InlineData("{% break %}", 1, 4)]                           // break outside a loop
    [InlineData("{% include 'x.jinja' %}", 1, 4)]               // no loader in chat templates
    public void ReportsLineAndColumn(string source, int line, int column)
    {
        var ex = Fails(source);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.Contains($"line {line}, column {column}", ex.Message);
    }

    [Fact]
    public void UnknownTagNamesTheTag() => Assert.Contains("'frobnicate'", Fails("{% frobnicate %}").Reason);

    [Fact]
    public void RuntimeErrorsCarryTheLine()
    {
        var ex = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse("a\nb\n{{ raise_exception('bad input') }}").Render(new Dictionary<string, object?>()));
        Assert.Equal("TemplateError", ex.ErrorType);
        Assert.Equal("bad input", ex.Reason);
        Assert.Equal(3, ex.Line);
    }
}
