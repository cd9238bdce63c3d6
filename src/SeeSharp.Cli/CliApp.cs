using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SeeSharp.Generation;

namespace SeeSharp.Cli;

/// <summary>
/// The <c>seesharp</c> command line (DESIGN.md, "CLI contract"). Bad input: one line on stderr, exit code 2.
/// </summary>
internal static class CliApp
{
    public const int ExitBadInput = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, TextReader? stdin = null)
    {
        var io = new CliIo(stdout ?? Console.Out, stderr ?? Console.Error, stdin ?? Console.In);
        var root = new RootCommand("SeeSharp: vision-language models for .NET (Idefics2), on a managed inference engine.");
        root.Subcommands.Add(RunCommand.Create(io));
        root.Subcommands.Add(ChatCommand.Create(io));
        root.Subcommands.Add(TokenizeCommand.Create(io));
        root.Subcommands.Add(TemplateCommand.Create(io));
        root.Subcommands.Add(DownloadCommand.Create(io));
        root.Subcommands.Add(InspectCommand.Create(io));
        root.Subcommands.Add(QuantizeCommand.Create(io));
        root.Subcommands.Add(ServeCommand.Create(io));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            io.Err.WriteLine($"seesharp: {OneLine(parsed.Errors[0].Message)} (see seesharp --help)");
            return ExitBadInput;
        }
        var config = new InvocationConfiguration { Output = io.Out, Error = io.Err, EnableDefaultExceptionHandler = false };
        try
        {
            return await parsed.InvokeAsync(config);
        }
        catch (OperationCanceledException)
        {
            io.Err.WriteLine("seesharp: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            io.Err.WriteLine($"seesharp: {OneLine(e)}");
            return ExitBadInput;
        }
    }

    /// <summary>An exception as one line: its message, with inner messages that add something.</summary>
    public static string OneLine(Exception e)
    {
        var sb = new StringBuilder(e.Message);
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (!e.Message.Contains(inner.Message, StringComparison.Ordinal)) sb.Append(": ").Append(inner.Message);
        return OneLine(sb.ToString());
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>The streams a command writes to (swappable in tests).</summary>
internal sealed record CliIo(TextWriter Out, TextWriter Err, TextReader In);
