using System.CommandLine;
using SeeSharp.Hub;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp download &lt;id&gt; [--revision R] [--include GLOB]...</c>: fetches a model into the huggingface_hub cache
/// (shared with Python) with a progress bar per file, and prints the snapshot folder.
/// </summary>
internal static class DownloadCommand
{
    public static Command Create(CliIo io)
    {
        var id = new Argument<string>("ID") { Description = "Hub repo id, org/name[@revision]." };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (default main)." };
        var include = new Option<string[]>("--include") { Description = "Only files matching this glob (repeatable); default: the files a model needs.", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("download", "Download a model into the Hugging Face cache.") { id, revision, include };
        cmd.SetAction(async (pr, ct) =>
        {
            var repo = pr.GetValue(id)!;
            var rev = pr.GetValue(revision);
            if (rev is not null)
            {
                if (repo.Contains('@')) throw new ArgumentException($"give the revision once: '{repo}' already has one and --revision is {rev}");
                repo = $"{repo}@{rev}";
            }
            var globs = pr.GetValue(include);
            var bar = ProgressBar.ForLoad(io);
            IProgress<DownloadProgress>? progress = bar is null ? null : new SyncProgress<DownloadProgress>(p => bar.Report(new LoadProgress("download", p.File, p.BytesDone, p.TotalBytes)));
            using var client = new HubClient(new HubOptions());
            var folder = await client.SnapshotAsync(repo, globs is { Length: > 0 } ? globs : null, progress, ct);
            io.Out.WriteLine(folder);
            return 0;
        });
        return cmd;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread, in order (no SynchronizationContext post).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
