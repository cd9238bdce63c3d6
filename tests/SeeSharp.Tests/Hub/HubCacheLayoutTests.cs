using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

// Compares against: huggingface_hub's cache layout (file_download.py: blobs/<etag>, snapshots/<commit>/<path> as
// relative symlinks, refs/<revision>, .no_exist/<commit>/<path>) and the fixture repo tests/fixtures/idefics2-tiny/model,
// byte for byte (exact: no tolerance). Blob names are the Hub's ETags: sha256 for LFS files, git blob sha1 otherwise.
public sealed class HubCacheLayoutTests
{
    private static readonly string[] ModelFiles =
    [
        "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "preprocessor_config.json", "processor_config.json",
        "chat_template.json",
    ];

    [Fact]
    public async Task Snapshot_has_the_huggingface_hub_layout_and_the_fixture_bytes()
    {
        using var ctx = new HubTestContext();
        var progress = new ProgressLog();
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options(), progress);

        Assert.Equal(ctx.SnapshotDir, folder);
        Assert.Equal(FakeHub.Commit, File.ReadAllText(Path.Combine(ctx.RepoDir, "refs", "main")));
        foreach (string file in ModelFiles)
        {
            byte[] expected = HubTestContext.Fixture(file);
            string etag = FakeHub.ExpectedEtag(file, expected);
            string pointer = Path.Combine(folder, file);
            var info = new FileInfo(pointer);
            Assert.Equal(Path.Combine("..", "..", "blobs", etag), info.LinkTarget);   // relative, like _create_symlink
            Assert.Equal(expected, File.ReadAllBytes(pointer));
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(ctx.RepoDir, "blobs", etag)));
        }
        // Exactly those blobs, nothing half-done left behind.
        var blobs = Directory.GetFiles(Path.Combine(ctx.RepoDir, "blobs")).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(ModelFiles.Select(f => FakeHub.ExpectedEtag(f, HubTestContext.Fixture(f))).Order().ToArray(), blobs);
        Assert.Equal(ModelFiles.Order().ToArray(), Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order().ToArray());
        // Absent optional file remembered like huggingface_hub's .no_exist markers; tokenizer.model is not in the set.
        Assert.True(File.Exists(Path.Combine(ctx.RepoDir, ".no_exist", FakeHub.Commit, "chat_template.jinja")));
        Assert.False(File.Exists(Path.Combine(folder, "tokenizer.model")));
        // The lock lives where Python's filelock puts it.
        string sha = FakeHub.Sha256Hex(HubTestContext.Fixture("model.safetensors"));
        Assert.True(File.Exists(Path.Combine(ctx.CacheDir, ".locks", "models--test-org--tiny-idefics2", sha + ".lock")));

        long size = HubTestContext.Fixture("model.safetensors").Length;
        var weights = progress.Reports.Where(r => r.File == "model.safetensors").ToArray();
        Assert.NotEmpty(weights);
        Assert.Equal(size, weights[^1].BytesDone);
        Assert.All(weights, r => Assert.Equal(size, r.TotalBytes));
        Assert.True(weights.Zip(weights.Skip(1)).All(p => p.First.BytesDone <= p.Second.BytesDone));
    }

    [Fact]
    public async Task Second_resolve_makes_one_revision_request_and_commit_revision_none()
    {
        using var ctx = new HubTestContext();
        string first = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        int hubBefore = ctx.Hub.HubRequests.Count(), cdnBefore = ctx.Hub.CdnRequests.Count();

        string second = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        Assert.Equal(first, second);
        var newHub = ctx.Hub.HubRequests.Skip(hubBefore).ToArray();
        Assert.Single(newHub);   // snapshot_download also makes one request (repo_info) when online
        Assert.Equal("HEAD", newHub[0].Method);
        Assert.EndsWith("/resolve/main/config.json", newHub[0].Path);
        Assert.Equal(cdnBefore, ctx.Hub.CdnRequests.Count());

        // A commit-hash revision whose snapshot is complete needs no request (hf_hub_download's early return).
        int hubMid = ctx.Hub.HubRequests.Count();
        Assert.Equal(first, await ModelLocator.ResolveAsync(FakeHub.RepoName + "@" + FakeHub.Commit, ctx.Options()));
        Assert.Equal(hubMid, ctx.Hub.HubRequests.Count());
    }

    [Fact]
    public async Task Offline_resolves_from_cache_with_the_server_stopped_and_names_a_missing_file()
    {
        using var ctx = new HubTestContext();
        string online = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        ctx.Hub.Dispose();

        var offline = ctx.Options() with { Offline = true };
        Assert.Equal(online, await ModelLocator.ResolveAsync(FakeHub.RepoName, offline));
        Assert.Equal(online, await ModelLocator.ResolveAsync(FakeHub.RepoName + "@" + FakeHub.Commit, offline));
        // Offline mode read from the environment variable maps to the same flag.
        var fromEnv = HubOptions.FromEnvironment(n => n == "HF_HUB_OFFLINE" ? "1" : null) with
        {
            CacheDir = ctx.CacheDir, Endpoint = ctx.Options().Endpoint, Token = null,
        };
        Assert.True(fromEnv.Offline);
        Assert.Equal(online, await ModelLocator.ResolveAsync(FakeHub.RepoName, fromEnv));

        using var client = new HubClient(offline);
        Assert.Equal(Path.Combine(online, "tokenizer.json"), await client.DownloadFileAsync(FakeHub.RepoName, "tokenizer.json"));
        var missing = await Assert.ThrowsAsync<LocalEntryNotFoundException>(
            () => client.DownloadFileAsync(FakeHub.RepoName, "tokenizer.model"));
        Assert.Contains("tokenizer.model", missing.Message);
        Assert.Contains("Offline", missing.Message);
        var remembered = await Assert.ThrowsAsync<EntryNotFoundException>(
            () => client.DownloadFileAsync(FakeHub.RepoName, "chat_template.jinja"));
        Assert.Contains("chat_template.jinja", remembered.Message);

        // A deleted weights file is named.
        File.Delete(Path.Combine(online, "model.safetensors"));
        var noWeights = await Assert.ThrowsAsync<LocalEntryNotFoundException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, offline));
        Assert.Contains("model.safetensors", noWeights.Message);
        // A revision never fetched is named too.
        var noRev = await Assert.ThrowsAsync<LocalEntryNotFoundException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName + "@v2", offline));
        Assert.Contains("'v2'", noRev.Message);
    }

    [Fact]
    public async Task Unreachable_hub_falls_back_to_the_cache_like_huggingface_hub()
    {
        using var ctx = new HubTestContext();
        string online = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options());
        ctx.Hub.Dispose();   // connection refused from now on
        Assert.Equal(online, await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        var e = await Assert.ThrowsAsync<LocalEntryNotFoundException>(
            () => ModelLocator.ResolveAsync("test-org/never-downloaded", ctx.Options()));
        Assert.Contains("could not be reached", e.Message);
        Assert.Contains("test-org/never-downloaded", e.Message);
    }

    [Fact]
    public async Task Local_folder_is_returned_as_is_without_requests()
    {
        using var ctx = new HubTestContext();
        string fixture = SeeSharp.Testing.Fixtures.Path("idefics2-tiny", "model");
        Assert.Equal(Path.GetFullPath(fixture), await ModelLocator.ResolveAsync(fixture, ctx.Options()));
        Assert.Empty(ctx.Hub.HubRequests);
    }

    [Fact]
    public async Task Sharded_weights_follow_the_index()
    {
        using var ctx = new HubTestContext();
        byte[] weights = HubTestContext.Fixture("model.safetensors");
        byte[] a = weights[..500_000], b = weights[500_000..];
        var index = """{"metadata": {"total_size": 1}, "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors", "z": "model-00001-of-00002.safetensors"}}"""u8.ToArray();
        ctx.Hub.AddRepo(new FakeRepo("test-org/sharded", FakeHub.Sha1Hex("sharded"), new()
        {
            ["config.json"] = HubTestContext.Fixture("config.json"),
            ["model.safetensors.index.json"] = index,
            ["model-00001-of-00002.safetensors"] = a,
            ["model-00002-of-00002.safetensors"] = b,
        }));
        string folder = await ModelLocator.ResolveAsync("test-org/sharded", ctx.Options());
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(folder, "model-00001-of-00002.safetensors")));
        Assert.Equal(b, File.ReadAllBytes(Path.Combine(folder, "model-00002-of-00002.safetensors")));
        Assert.Equal(index, File.ReadAllBytes(Path.Combine(folder, "model.safetensors.index.json")));
        Assert.False(File.Exists(Path.Combine(folder, "model.safetensors")));

        int before = ctx.Hub.HubRequests.Count();
        Assert.Equal(folder, await ModelLocator.ResolveAsync("test-org/sharded", ctx.Options()));
        Assert.Equal(before + 1, ctx.Hub.HubRequests.Count());
        Assert.Equal(folder, await ModelLocator.ResolveAsync("test-org/sharded", ctx.Options() with { Offline = true }));
    }

    [Fact]
    public async Task Include_globs_select_files_from_the_repo_listing()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options());
        string folder = await client.SnapshotAsync(FakeHub.RepoName, ["tokenizer.*"]);
        Assert.Equal(ctx.SnapshotDir, folder);
        Assert.Equal(new[] { "tokenizer.json", "tokenizer.model" }, Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order().ToArray());
        Assert.Equal(HubTestContext.Fixture("tokenizer.model"), File.ReadAllBytes(Path.Combine(folder, "tokenizer.model")));
        Assert.Contains(ctx.Hub.HubRequests, r => r.Path == "/api/models/test-org/tiny-idefics2/revision/main");
    }

    [Fact]
    public async Task Relative_redirect_of_a_renamed_repo_is_followed()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options());
        string path = await client.DownloadFileAsync(FakeHub.RenamedRepoName, "config.json");
        Assert.Equal(HubTestContext.Fixture("config.json"), File.ReadAllBytes(path));
        Assert.StartsWith(Path.Combine(ctx.CacheDir, "models--test-org--old-name", "snapshots", FakeHub.Commit), path);
    }

    [Fact]
    public async Task DownloadFile_returns_the_snapshot_path()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options());
        string path = await client.DownloadFileAsync(FakeHub.RepoName, "model.safetensors");
        Assert.Equal(Path.Combine(ctx.SnapshotDir, "model.safetensors"), path);
        Assert.Equal(HubTestContext.Fixture("model.safetensors"), File.ReadAllBytes(path));
        int before = ctx.Hub.HubRequests.Count();
        Assert.Equal(path, await client.DownloadFileAsync(FakeHub.RepoName, "model.safetensors", FakeHub.Commit));
        Assert.Equal(before, ctx.Hub.HubRequests.Count());
    }

    [Fact]
    public async Task Without_symlinks_snapshot_files_are_real_files()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options()) { UseSymlinks = false };
        string folder = await client.SnapshotAsync(FakeHub.RepoName);
        foreach (string file in ModelFiles)
        {
            var info = new FileInfo(Path.Combine(folder, file));
            Assert.Null(info.LinkTarget);
            Assert.Equal(HubTestContext.Fixture(file), File.ReadAllBytes(info.FullName));
        }
        // As huggingface_hub does, a freshly downloaded blob is moved (not copied) into the snapshot.
        Assert.Empty(Directory.GetFiles(Path.Combine(ctx.RepoDir, "blobs")));
        int before = ctx.Hub.HubRequests.Count();
        Assert.Equal(folder, await client.SnapshotAsync(FakeHub.RepoName));
        Assert.Equal(before + 1, ctx.Hub.HubRequests.Count());
    }
}
