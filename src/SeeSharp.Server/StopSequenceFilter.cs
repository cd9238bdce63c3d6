namespace SeeSharp.Server;

/// <summary>
/// OpenAI's <c>stop</c>: the answer ends just before the first stop string, which is not returned. Text that could
/// still become a stop string is held back until it cannot, so a streamed answer never shows part of one.
/// </summary>
internal sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _pending = new();

    /// <summary>Whether a stop string was found; nothing more is to be generated.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Takes new text; returns the text that is safe to emit now.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        if (stops.Count == 0) return text;
        _pending.Append(text);
        var s = _pending.ToString();
        int cut = -1;
        foreach (var stop in stops)
        {
            int i = s.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return s[..cut];
        }
        // Hold back the longest tail that is a prefix of some stop string.
        int hold = 0;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, s.Length); k > hold; k--)
                if (s.AsSpan(s.Length - k).SequenceEqual(stop.AsSpan(0, k))) { hold = k; break; }
        _pending.Clear().Append(s, s.Length - hold, hold);
        return s[..^hold];
    }

    /// <summary>At the end of generation: the held-back text (it did not become a stop string).</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return Stopped ? "" : rest;
    }
}
