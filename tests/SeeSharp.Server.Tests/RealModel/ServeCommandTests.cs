using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using SeeSharp.Testing;

namespace SeeSharp.Server.Tests;

/// <summary>
/// <c>seesharp serve</c> end to end, as a separate process (the CLI built under src/SeeSharp.Cli/bin/Release; skipped
/// when it is not built or has no <c>serve</c> command): it binds a free port, requires its API key, answers the
/// two-image chat exactly as <c>GenerateAsync</c> does, and exits 0 on SIGTERM.
/// </summary>
public sealed partial class ServeCommandTests(TinyModelHost tiny) : IClassFixture<TinyModelHost>
{
    [GeneratedRegex(@"serving .* on (http://[^ ]+/) ")]
    private static partial Regex Listening();

    [SkippableFact]
    public async Task ServeAnswersAndStopsOnSigterm()
    {
        var root = Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.Root))!;
        var cli = Path.Combine(root, "src", "SeeSharp.Cli", "bin", "Release", "net10.0", "SeeSharp.Cli.dll");
        Skip.IfNot(File.Exists(cli), $"the CLI is not built ({cli}); dotnet build SeeSharp.slnx -c Release");
        var kill = OfficialClientTests.FindOnPath("kill");
        Skip.If(kill is null, "no kill command to send SIGTERM");
        var dotnet = Environment.ProcessPath!;
        using (var help = Process.Start(new ProcessStartInfo(dotnet, [cli, "--help"]) { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            var text = await help.StandardOutput.ReadToEndAsync();
            await help.WaitForExitAsync();
            Skip.IfNot(Regex.IsMatch(text, @"^\s+serve\s", RegexOptions.Multiline),
                "this CLI has no serve command yet (CliApp.cs: root.Subcommands.Add(ServeCommand.Create(io)))");
        }

        var psi = new ProcessStartInfo(dotnet, [cli, "serve", "--model", TinyModelHost.Folder, "--port", "0", "--api-key", "cli-key", "--model-name", "tiny"])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = Process.Start(psi)!;
        var stderr = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) { listening.TrySetResult(""); return; }
            lock (stderr) stderr.AppendLine(e.Data);
            if (Listening().Match(e.Data) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            string address;
            using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
                address = await listening.Task.WaitAsync(limit.Token);
            if (address.Length == 0)
            {
                await process.WaitForExitAsync();
                lock (stderr) Assert.Fail($"seesharp serve exited with {process.ExitCode}: {stderr}");
            }

            using var http = new HttpClient { BaseAddress = new Uri(address) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("v1/models")).StatusCode);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "cli-key");
            using var response = await http.PostAsync("v1/chat/completions", new StringContent(TinyModelHost.SeedRequest(), Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var expected = await tiny.ExpectedAsync(TinyModelHost.SeedChat());
            var root2 = TinyModelHost.Parse(body);
            Assert.Equal(expected.Text, root2.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal("tiny", root2.GetProperty("model").GetString());

            using (var term = Process.Start(kill!, ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
            using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1))) await process.WaitForExitAsync(limit.Token);
            Assert.Equal(0, process.ExitCode);
            lock (stderr) Assert.Contains("shutting down", stderr.ToString());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await stdout;
        }
    }
}
