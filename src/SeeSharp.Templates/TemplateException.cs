namespace SeeSharp.Templates;

/// <summary>
/// A template failed while rendering. <see cref="ErrorType"/> is the name of the Python exception that Jinja2
/// (as configured by transformers) raises in the same situation: <c>TemplateError</c> for
/// <c>raise_exception(msg)</c>, <c>UndefinedError</c>, <c>TypeError</c>, <c>SecurityError</c>,
/// <c>ValueError</c>, ...; <see cref="Reason"/> is Python's message text.
/// </summary>
public class TemplateException : Exception
{
    /// <summary>Creates a render error.</summary>
    public TemplateException(string errorType, string reason, int line = 0)
        : base($"{errorType}: {reason}")
    {
        ErrorType = errorType;
        Reason = reason;
        Line = line;
    }

    /// <summary>Creates an error that wraps another.</summary>
    protected TemplateException(string errorType, string reason, string message)
        : base(message)
    {
        ErrorType = errorType;
        Reason = reason;
    }

    /// <summary>Python exception type name (<c>TemplateError</c>, <c>UndefinedError</c>, <c>TypeError</c>, ...).</summary>
    public string ErrorType { get; }

    /// <summary>The message as Python would word it, without location.</summary>
    public string Reason { get; }

    /// <summary>1-based template line of the statement or output tag being rendered; 0 when unknown.</summary>
    public int Line { get; internal set; }

    /// <inheritdoc />
    public override string Message => this is TemplateSyntaxException || Line <= 0 ? base.Message : $"{base.Message} (template line {Line})";
}

/// <summary>The template source is not valid Jinja; carries the 1-based line and column of the offending token.</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    /// <summary>Creates a syntax error at a position.</summary>
    public TemplateSyntaxException(string reason, int line, int column)
        : base("TemplateSyntaxError", reason, $"TemplateSyntaxError: {reason} (line {line}, column {column})")
    {
        Line = line;
        Column = column;
    }

    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; }
}

/// <summary>A <see cref="TemplateLimits"/> bound was exceeded; <see cref="Limit"/> names it.</summary>
public sealed class TemplateLimitException : TemplateException
{
    /// <summary>Creates a limit error.</summary>
    public TemplateLimitException(string limit, string reason)
        : base("TemplateLimitError", $"{reason} (TemplateLimits.{limit})")
    {
        Limit = limit;
    }

    /// <summary>Name of the exceeded <see cref="TemplateLimits"/> property, e.g. <c>MaxIterations</c>.</summary>
    public string Limit { get; }
}
