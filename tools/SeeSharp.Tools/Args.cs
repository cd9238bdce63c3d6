namespace SeeSharp.Tools;

/// <summary>Minimal "--key value" / "--flag" command-line parsing; unknown keys are errors.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args)
    {
        string? key = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (key is not null) _values[key] = null;
                key = a[2..];
            }
            else if (key is not null)
            {
                _values[key] = a;
                key = null;
            }
            else throw new ArgumentException($"unexpected argument \"{a}\"");
        }
        if (key is not null) _values[key] = null;
    }

    public string Get(string key) => Opt(key) ?? throw new ArgumentException($"--{key} is required");

    public string? Opt(string key)
    {
        _used.Add(key);
        return _values.TryGetValue(key, out var v) ? v ?? throw new ArgumentException($"--{key} needs a value") : null;
    }

    public string Opt(string key, string fallback) => Opt(key) ?? fallback;

    public int Int(string key, int fallback)
    {
        var v = Opt(key);
        if (v is null) return fallback;
        return int.TryParse(v, out int i) ? i : throw new ArgumentException($"--{key} {v}: an integer expected");
    }

    public bool Flag(string key)
    {
        _used.Add(key);
        return _values.ContainsKey(key);
    }

    /// <summary>Throws naming the first option nobody asked for.</summary>
    public void CheckAllUsed()
    {
        foreach (var k in _values.Keys)
            if (!_used.Contains(k)) throw new ArgumentException($"unknown option --{k}");
    }
}
