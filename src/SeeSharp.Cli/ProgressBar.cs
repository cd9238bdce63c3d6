using System.Diagnostics;

namespace SeeSharp.Cli;

/// <summary>
/// A one-line progress bar on stderr (redrawn with a carriage return, at most 10 times a second): bytes, speed, ETA.
/// Nothing is drawn when stderr is redirected, so logs and pipes stay clean.
/// </summary>
internal sealed class ProgressBar : IProgress<LoadProgress>
{
    private readonly TextWriter _err;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, (long Done, TimeSpan Start)> _items = [];
    private TimeSpan? _lastDraw;
    private readonly object _gate = new();

    private ProgressBar(TextWriter err) => _err = err;

    /// <summary>A bar on the given writer, or null when it is not an interactive terminal.</summary>
    public static ProgressBar? ForLoad(CliIo io) =>
        ReferenceEquals(io.Err, Console.Error) && Console.IsErrorRedirected ? null : new ProgressBar(io.Err);

    public void Report(LoadProgress p)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            if (!_items.TryGetValue(p.Item, out var state)) state = (0, now);
            _items[p.Item] = (p.Done, state.Start);
            bool finished = p.Total is long t && p.Done >= t;
            if (!finished && _lastDraw is TimeSpan last && now - last < TimeSpan.FromMilliseconds(100)) return;
            _lastDraw = now;
            double seconds = Math.Max(1e-3, (now - state.Start).TotalSeconds);
            double rate = p.Done / seconds;
            string line = p.Total is long total && total > 0
                ? $"{p.Stage} {Short(p.Item)} [{Bar(p.Done / (double)total)}] {Bytes(p.Done)}/{Bytes(total)} {Bytes((long)rate)}/s ETA {Eta(total - p.Done, rate)}"
                : $"{p.Stage} {Short(p.Item)} {Bytes(p.Done)} {Bytes((long)rate)}/s";
            _err.Write("\r" + line.PadRight(100)[..Math.Max(line.Length, Math.Min(100, line.Length + 10))]);
            if (finished) _err.WriteLine();
            _err.Flush();
        }
    }

    private static string Short(string item) => item.Length <= 40 ? item : "…" + item[^39..];
    private static string Bar(double f) { int n = (int)Math.Round(Math.Clamp(f, 0, 1) * 24); return new string('#', n) + new string('.', 24 - n); }
    private static string Eta(long left, double rate) => rate <= 0 ? "?" : TimeSpan.FromSeconds(Math.Min(left / rate, 359999)).ToString(@"hh\:mm\:ss");

    internal static string Bytes(long b) => b switch
    {
        >= 1L << 30 => $"{b / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{b / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{b / 1024.0:F1} KiB",
        _ => $"{b} B",
    };
}
