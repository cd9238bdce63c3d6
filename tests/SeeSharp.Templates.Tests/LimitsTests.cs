namespace SeeSharp.Templates.Tests;

/// <summary>
/// Property tests of the sandbox bounds (<see cref="TemplateLimits"/>): hostile templates must fail with a
/// <see cref="TemplateLimitException"/> naming the exceeded limit — never hang, overflow the stack or run out of
/// memory. No timing assertions: the limits are counts, so "fast" follows from the counts being small.
/// </summary>
public sealed class LimitsTests
{
    private static TemplateLimitException Fails(string source, TemplateLimits? limits = null, IReadOnlyDictionary<string, object?>? context = null) =>
        Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(source, limits).Render(context ?? new Dictionary<string, object?>()));

    [Fact]
    public void NestedHugeLoopsHitIterationLimit()
    {
        var ex = Fails("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}");
        Assert.Equal(nameof(TemplateLimits.MaxIterations), ex.Limit);
    }

    [Fact]
    public void LoopOverHugeStringHitsIterationLimit()
    {
        var ex = Fails("{% for i in range(100000) %}{{ ('ab' * 1000)|list|length }}{% endfor %}", TemplateLimits.Default with { MaxOutputLength = int.MaxValue });
        Assert.Equal(nameof(TemplateLimits.MaxIterations), ex.Limit);
    }

    [Fact]
    public void EndlessMacroRecursionHitsCallDepth()
    {
        var ex = Fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Equal(nameof(TemplateLimits.MaxCallDepth), ex.Limit);
    }

    [Fact]
    public void ExponentialMacroRecursionHitsALimit()
    {
        // Each call makes two calls: depth stays small, the work explodes.
        var ex = Fails("{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}");
        Assert.Contains(ex.Limit, new[] { nameof(TemplateLimits.MaxIterations), nameof(TemplateLimits.MaxCallDepth) });
    }

    [Fact]
    public void DeepRecursionWithRaisedDepthLimitStillFailsCleanly()
    {
        // A call-depth limit far beyond what the stack holds: the interpreter's own stack guard must answer.
        var limits = TemplateLimits.Default with { MaxCallDepth = 10_000_000, MaxIterations = long.MaxValue };
        var ex = Fails("{% macro f(n) %}{% for x in [1] %}{% if true %}{{ f(n + 1) }}{% endif %}{% endfor %}{% endmacro %}{{ f(0) }}", limits);
        Assert.Equal(nameof(TemplateLimits.MaxCallDepth), ex.Limit);
    }

    [Fact]
    public void RecursiveLoopOverCyclicDataHitsCallDepth()
    {
        // A namespace can hold itself; loop(...) over it would never end.
        var ex = Fails("{% set ns = namespace(name='x') %}{% set ns.kids = [ns] %}{% for n in [ns] recursive %}{{ loop(n.kids) }}{% endfor %}");
        Assert.Equal(nameof(TemplateLimits.MaxCallDepth), ex.Limit);
    }

    [Fact]
    public void CallerRecursionHitsCallDepth()
    {
        var ex = Fails("{% macro m() %}{{ caller() }}{% endmacro %}{% macro g() %}{% call m() %}{{ g() }}{% endcall %}{% endmacro %}{{ g() }}");
        Assert.Equal(nameof(TemplateLimits.MaxCallDepth), ex.Limit);
    }

    [Fact]
    public void HugeOutputHitsOutputLimit()
    {
        var ex = Fails("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
        Assert.Equal(nameof(TemplateLimits.MaxOutputLength), ex.Limit);
    }

    [Fact]
    public void StringRepetitionHitsStringLimit()
    {
        var ex = Fails("{{ 'abc' * 1000000000 }}");
        Assert.Equal(nameof(TemplateLimits.MaxStringLength), ex.Limit);
    }

    [Fact]
    public void StringDoublingHitsStringLimit()
    {
        var ex = Fails("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
        Assert.Equal(nameof(TemplateLimits.MaxStringLength), ex.Limit);
    }

    [Fact]
    public void ListDoublingHitsListLimit()
    {
        var ex = Fails("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
        Assert.Contains(ex.Limit, new[] { nameof(TemplateLimits.MaxListLength), nameof(TemplateLimits.MaxIterations) });
    }

    [Fact]
    public void RangeTooBigHitsRangeLimit()
    {
        var ex = Fails("{{ range(100001) | length }}");
        Assert.Equal(nameof(TemplateLimits.MaxRangeLength), ex.Limit);
        Assert.Equal("100000", ChatTemplate.Parse("{{ range(100000) | length }}").Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void DeeplyNestedSourceHitsNestingLimit()
    {
        string deepExpr = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        Assert.Equal(nameof(TemplateLimits.MaxNestingDepth), Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(deepExpr)).Limit);
        string deepBlocks = string.Concat(Enumerable.Repeat("{% if true %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000));
        Assert.Equal(nameof(TemplateLimits.MaxNestingDepth), Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(deepBlocks)).Limit);
        string deepNot = "{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "x }}";
        Assert.Equal(nameof(TemplateLimits.MaxNestingDepth), Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(deepNot)).Limit);
    }

    [Fact]
    public void DeeplyNestedContextIsRejected()
    {
        object? v = "leaf";
        for (int i = 0; i < 1000; i++) v = new List<object?> { v };
        Assert.Throws<ArgumentException>(() => ChatTemplate.Parse("{{ x }}").Render(new Dictionary<string, object?> { ["x"] = v }));
    }

    [Theory]
    [InlineData("{{ ns.t }}")]
    [InlineData("{{ ns.t | tojson }}")]
    [InlineData("{{ ns.t == ns.t }}")]
    [InlineData("{{ ns.t < ns.t }}")]
    [InlineData("{{ [ns.t] | unique | list | length }}")]
    [InlineData("{{ ns.t in [ns.t] }}")]
    public void DeeplyNestedBuiltValuesHitALimitNotTheStack(string use)
    {
        // 50000 levels of ((...),) built in a loop: every recursive walk over values must stop at a depth bound.
        var limits = TemplateLimits.Default with { MaxIterations = 10_000_000 };
        var ex = Fails("{% set ns = namespace(t=1) %}{% for i in range(50000) %}{% set ns.t = (ns.t,) %}{% endfor %}" + use, limits);
        Assert.Equal(nameof(TemplateLimits.MaxValueDepth), ex.Limit);
    }

    [Fact]
    public void SourceTooLongIsRejected()
    {
        var limits = TemplateLimits.Default with { MaxSourceLength = 100 };
        Assert.Equal(nameof(TemplateLimits.MaxSourceLength), Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(new string('x', 101), limits)).Limit);
    }

    [Theory]
    [InlineData("{% set big = 'ab' * 2000000 %}{% for i in range(100000) %}{% for j in range(100) %}{% if big == big ~ '' %}{% endif %}{% endfor %}{% endfor %}")]
    [InlineData("{% set big = range(100000) | list %}{% for i in range(100000) %}{% for j in range(100) %}{% if -1 in big %}{% endif %}{% endfor %}{% endfor %}")]
    [InlineData("{% set big = 'x' * 4000000 %}{% macro m() %}{{ big }}{% endmacro %}{% for i in range(100000) %}{% set _ = m() %}{% endfor %}")]
    [InlineData("{% set big = 'a b ' * 1000000 %}{% for i in range(100000) %}{{ big.split() | length }}{% endfor %}")]
    [InlineData("{% set big = 'a🦙' * 1000000 %}{% for i in range(100000) %}{% for j in range(100) %}{% set _ = big[5] %}{% endfor %}{% endfor %}")]
    [InlineData("{% set big = range(100000) | list %}{% for i in range(100000) %}{% set _ = big | unique | list %}{% endfor %}")]
    public void WorkOnBigValuesIsCharged(string source)
    {
        // Each statement is cheap to write but O(size) to run; repeating it must run into the work budget.
        var ex = Fails(source);
        Assert.Contains(ex.Limit, new[] { nameof(TemplateLimits.MaxIterations), nameof(TemplateLimits.MaxListLength), nameof(TemplateLimits.MaxStringLength) });
    }

    [Fact]
    public void LimitsAreNamedInMessage()
    {
        var ex = Fails("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        Assert.Contains("MaxIterations", ex.Message);
    }
}
