namespace SeeSharp.Templates;

/// <summary>
/// A compiled chat template, rendered exactly as transformers renders it: Jinja2's
/// <c>ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)</c> with the loop-controls extension, the
/// <c>{% generation %}</c> tag, <c>raise_exception</c>, <c>strftime_now</c> and a <c>tojson</c> filter without ASCII
/// escaping (transformers 4.45.2, <c>tokenization_utils_base.py</c> <c>_compile_jinja_template</c>).
/// Python printing rules apply (<c>True</c>, <c>None</c>, <c>['a', 1]</c>, float repr), strings are indexed by code
/// point, and every render is bounded by <see cref="TemplateLimits"/>.
/// </summary>
/// <remarks>
/// Values are null, bool, long, double, string, lists, string-keyed ordered dicts (and tuples, namespaces and
/// macros the template makes). Deliberate differences from Python: integers are 64-bit (overflow raises
/// <c>OverflowError</c>), dict keys are strings, there is no autoescaping (as in transformers), no
/// <c>include</c>/<c>import</c>/<c>extends</c> (chat templates have no loader).
/// </remarks>
public sealed class ChatTemplate
{
    private readonly List<Stmt> _body;
    private readonly Dictionary<List<Stmt>, string[]> _frameLocals;
    private readonly TemplateLimits _limits;
    private readonly TimeProvider _clock;

    private ChatTemplate(string source, List<Stmt> body, TemplateLimits limits, TimeProvider clock)
    {
        Source = source;
        _body = body;
        _frameLocals = FrameAnalysis.Analyze(body);
        _limits = limits;
        _clock = clock;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>
    /// Parses a template. Throws <see cref="TemplateSyntaxException"/> (with line and column) for invalid syntax,
    /// unknown tags, filters or tests, and <see cref="TemplateLimitException"/> for a source beyond the limits.
    /// </summary>
    /// <param name="source">Jinja template text.</param>
    /// <param name="limits">Render and parse bounds; <see cref="TemplateLimits.Default"/> when null.</param>
    /// <param name="clock">Clock for <c>strftime_now</c> (local time, as Python's <c>datetime.now()</c>); the system clock when null.</param>
    public static ChatTemplate Parse(string source, TemplateLimits? limits = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        limits ??= TemplateLimits.Default;
        try
        {
            return new ChatTemplate(source, Parser.Parse(source, limits), limits, clock ?? TimeProvider.System);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateLimitException(nameof(TemplateLimits.MaxNestingDepth), "template nesting exhausted the parser's stack");
        }
    }

    /// <summary>
    /// Renders with the given variables. Values are converted with <see cref="TemplateValues.FromHost(object?)"/>
    /// (copied: the template cannot change the caller's objects). Throws <see cref="TemplateException"/> when the
    /// template raises (<c>raise_exception</c>, undefined use, type errors) and <see cref="TemplateLimitException"/>
    /// when a limit is exceeded.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Interpreter(_limits, _clock, _frameLocals).Render(_body, context);
    }

    /// <summary>
    /// transformers' <c>apply_chat_template(messages, add_generation_prompt=..., tokenize=False)</c>: renders with
    /// <c>messages</c>, <c>tools</c> = None, <c>documents</c> = None, <c>add_generation_prompt</c>, plus
    /// <paramref name="extra"/> (the tokenizer's special tokens such as <c>bos_token</c>/<c>eos_token</c>, and any
    /// template kwargs; <c>tools</c>/<c>documents</c> may be given there too).
    /// </summary>
    public string Apply(IReadOnlyList<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var ctx = new Dictionary<string, object?>
        {
            ["messages"] = messages,
            ["tools"] = null,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (extra is not null)
        {
            foreach (var kv in extra)
            {
                if (kv.Key is "messages" or "add_generation_prompt")
                    throw new ArgumentException($"extra template variable '{kv.Key}' collides with an apply_chat_template argument", nameof(extra));
                ctx[kv.Key] = kv.Value;
            }
        }
        return Render(ctx);
    }
}
