using System.Diagnostics;
using System.Globalization;

namespace SeeSharp.Bench;

/// <summary>What every benchmark mode needs: arguments, the repo root, child processes, peak RSS.</summary>
internal static class BenchUtil
{
    /// <summary>The value after <paramref name="name"/>, or null.</summary>
    public static string? Arg(string[] args, string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }

    /// <summary>Every value given after <paramref name="name"/> (a repeatable option).</summary>
    public static List<string> Args(string[] args, string name) =>
        args.Select((a, i) => (a, i)).Where(p => p.a == name && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();

    /// <summary>The folder holding SeeSharp.slnx above the binary (or the current folder).</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SeeSharp.slnx"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }

    /// <summary>VmHWM of /proc/self/status: the peak resident set, file-backed (mapped weights) pages included.</summary>
    public static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) // "VmHWM:\t  123456 kB" (no space once the number is wide)
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return -1;
    }

    /// <summary>Runs a command (output to this console, or captured and returned); a non-zero exit throws.</summary>
    public static string Exec(string file, string arguments, bool capture = false)
    {
        Log($"$ {file} {arguments}");
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false, RedirectStandardOutput = capture })!;
        string output = capture ? p.StandardOutput.ReadToEnd() : "";
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} exited with {p.ExitCode}");
        return output;
    }

    /// <summary>Progress on stderr (stdout keeps the results).</summary>
    public static void Log(string s) => Console.Error.WriteLine(s);
}
