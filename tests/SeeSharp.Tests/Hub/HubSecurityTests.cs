using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

// Compares against: huggingface_hub's validate_repo_id rules, and the property that no name from a user, an index,
// a listing or a server header (ETag, commit) can make a path outside the cache. Exact accept/reject sets.
public sealed class HubSecurityTests
{
    [Theory]
    [InlineData("HuggingFaceM4/idefics2-8b")]
    [InlineData("gpt2")]
    [InlineData("a.b_c-d/x")]
    [InlineData("org/n")]
    public void Valid_repo_ids_are_accepted(string id) => RepoId.Validate(id);

    [Theory]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("org/..")]
    [InlineData("org/../x")]
    [InlineData("a/b/c")]
    [InlineData("/abs")]
    [InlineData("org/")]
    [InlineData(@"C:\x")]
    [InlineData("C:/x")]
    [InlineData(@"org\name")]
    [InlineData("org--name")]
    [InlineData("org/name.git")]
    [InlineData("-org/name")]
    [InlineData("org/name-")]
    [InlineData("org/na me")]
    [InlineData("org/a..b")]
    public void Invalid_repo_ids_are_rejected(string id) => Assert.Throws<ArgumentException>(() => RepoId.Validate(id));

    [Fact]
    public void Repo_name_longer_than_96_is_rejected()
    {
        RepoId.Validate("org/" + new string('a', 96));
        Assert.Throws<ArgumentException>(() => RepoId.Validate("org/" + new string('a', 97)));
    }

    [Theory]
    [InlineData("../a")]
    [InlineData("a/../b")]
    [InlineData("a/..")]
    [InlineData("/etc/passwd")]
    [InlineData(@"a\b")]
    [InlineData(@"..\..\x")]
    [InlineData("C:/x")]
    [InlineData("c:x")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("a/")]
    [InlineData("")]
    [InlineData("a\0b")]
    public void Unsafe_file_names_are_rejected(string name) =>
        Assert.Throws<HubException>(() => RepoId.ValidateFilePath(name, "a test"));

    [Theory]
    [InlineData("model-00001-of-00002.safetensors")]
    [InlineData("sub/dir/file.json")]
    [InlineData("a..b")]
    public void Safe_file_names_are_accepted(string name) => RepoId.ValidateFilePath(name, "a test");

    [Theory]
    [InlineData("org/name@../../x")]
    [InlineData("org/name@/abs")]
    [InlineData(@"org/name@a\b")]
    [InlineData("org/name@")]
    [InlineData("../../etc@main")]
    public async Task Hostile_ids_and_revisions_fail_before_any_request(string id)
    {
        using var ctx = new HubTestContext();
        await Assert.ThrowsAsync<ArgumentException>(() => ModelLocator.ResolveAsync(id, ctx.Options()));
        Assert.Empty(ctx.Hub.HubRequests);
        Assert.Empty(Directory.GetFileSystemEntries(ctx.CacheDir));
    }

    [Fact]
    public async Task Hostile_file_name_argument_fails_before_any_request()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options());
        await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(FakeHub.RepoName, "../../../../tmp/evil"));
        Assert.Empty(ctx.Hub.HubRequests);
    }

    [Theory]
    [InlineData("../../../../evil.safetensors")]
    [InlineData("/tmp/evil.safetensors")]
    [InlineData(@"..\evil.safetensors")]
    [InlineData("C:/evil.safetensors")]
    public async Task Index_naming_a_path_outside_the_snapshot_is_rejected(string shard)
    {
        using var ctx = new HubTestContext();
        var index = System.Text.Encoding.UTF8.GetBytes(
            System.Text.Json.JsonSerializer.Serialize(new { weight_map = new Dictionary<string, string> { ["w"] = shard } }));
        ctx.Hub.AddRepo(new FakeRepo("test-org/evil", FakeHub.Sha1Hex("evil"), new()
        {
            ["config.json"] = HubTestContext.Fixture("config.json"),
            ["model.safetensors.index.json"] = index,
        }));
        var e = await Assert.ThrowsAsync<HubException>(() => ModelLocator.ResolveAsync("test-org/evil", ctx.Options()));
        Assert.Contains(shard, e.Message);
        Assert.Contains("weight_map['w']", e.Message);
        Assert.DoesNotContain(ctx.Hub.HubRequests, r => r.Path.Contains("evil.safetensors", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Listing_with_a_traversal_name_is_rejected()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) => req.Path.StartsWith("/api/", StringComparison.Ordinal)
            ? new FakeResponse { Body = """{"sha": "0123456789012345678901234567890123456789", "siblings": [{"rfilename": "../../x.json"}]}"""u8.ToArray() }
            : resp;
        using var client = new HubClient(ctx.Options());
        var e = await Assert.ThrowsAsync<HubException>(() => client.SnapshotAsync(FakeHub.RepoName, ["*.json"]));
        Assert.Contains("../../x.json", e.Message);
    }

    [Theory]
    [InlineData("ETag", "\"../../../escape\"")]
    [InlineData("X-Repo-Commit", "../../outside")]
    public async Task Hostile_etag_or_commit_header_is_rejected(string header, string value)
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) =>
        {
            int i = resp.Headers.FindIndex(h => h.Name == header);
            if (i >= 0) resp.Headers[i] = (header, value);
            return resp;
        };
        var e = await Assert.ThrowsAsync<HubException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Contains("unusable", e.Message);
        Assert.False(Directory.Exists(Path.Combine(ctx.CacheDir, "escape")));
        Assert.False(Directory.Exists(Path.Combine(ctx.RepoDir, "outside")));
    }
}
