using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

// Compares against: huggingface_hub's hf_raise_for_status mapping (X-Error-Code RepoNotFound / RevisionNotFound /
// EntryNotFound / GatedRepo; 401/403 = gated or private) and its token rule (Authorization only for the endpoint,
// stripped for a CDN on another host). Exact message fragments and exact request logs; no tolerance involved.
public sealed class HubAuthAndErrorTests
{
    private const string Token = "hf_test_secret_token";

    [Fact]
    public async Task Token_reaches_the_endpoint_but_never_the_cdn()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.RequiredToken = Token;
        string folder = await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options(Token));
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.NotEmpty(ctx.Hub.HubRequests);
        Assert.All(ctx.Hub.HubRequests, r => Assert.Equal("Bearer " + Token, r.Header("Authorization")));
        Assert.NotEmpty(ctx.Hub.CdnRequests);
        Assert.All(ctx.Hub.CdnRequests, r => Assert.Null(r.Header("Authorization")));
    }

    [Fact]
    public async Task Token_is_dropped_when_a_download_redirect_leaves_the_endpoint()
    {
        using var ctx = new HubTestContext();
        // The CDN redirects once more to itself (another origin than the endpoint): still no token.
        ctx.Hub.CdnFault = (req, resp) => req.Path.Contains("hop=1", StringComparison.Ordinal) || resp.Status != 200
            ? resp
            : new FakeResponse { Status = 302 }.With("Location", req.Path + "&hop=1");
        await ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options(Token));
        Assert.Equal(2, ctx.Hub.CdnRequests.Count(r => r.Method == "GET"));
        Assert.All(ctx.Hub.CdnRequests, r => Assert.Null(r.Header("Authorization")));
    }

    [Fact]
    public async Task Gated_repo_without_token_is_401_with_guidance()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.RequiredToken = Token;
        var e = await Assert.ThrowsAsync<GatedRepoException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Equal(401, e.StatusCode);
        Assert.Contains("gated or private", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Contains("no token was sent", e.Message);
        Assert.Contains($"accept the licence on {ctx.Options().Endpoint}/{FakeHub.RepoName}", e.Message);
        Assert.Empty(ctx.Hub.CdnRequests);
        Assert.False(Directory.Exists(Path.Combine(ctx.RepoDir, "snapshots")));
    }

    [Fact]
    public async Task Gated_repo_with_a_wrong_token_is_403_with_guidance()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.RequiredToken = Token;
        var e = await Assert.ThrowsAsync<GatedRepoException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options("hf_wrong")));
        Assert.Equal(403, e.StatusCode);
        Assert.Contains("the token sent was refused", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task Plain_401_or_403_without_error_code_means_gated_or_private(int status)
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) => new FakeResponse { Status = status };
        var e = await Assert.ThrowsAsync<GatedRepoException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Equal(status, e.StatusCode);
        Assert.Contains(FakeHub.RepoName, e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
    }

    [Fact]
    public async Task Missing_repo_revision_and_file_are_told_apart()
    {
        using var ctx = new HubTestContext();
        using var client = new HubClient(ctx.Options());

        var repo = await Assert.ThrowsAsync<RepositoryNotFoundException>(() => ModelLocator.ResolveAsync("test-org/nope", ctx.Options()));
        Assert.Contains("'test-org/nope' not found", repo.Message);
        Assert.Equal(404, repo.StatusCode);

        var rev = await Assert.ThrowsAsync<RevisionNotFoundException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName + "@v9", ctx.Options()));
        Assert.Contains("Revision 'v9'", rev.Message);

        var file = await Assert.ThrowsAsync<EntryNotFoundException>(() => client.DownloadFileAsync(FakeHub.RepoName, "missing/file.bin"));
        Assert.Contains("'missing/file.bin'", file.Message);
        Assert.Contains(FakeHub.RepoName, file.Message);
        // ... and remembered: offline, the marker answers without the server.
        Assert.True(File.Exists(Path.Combine(ctx.RepoDir, ".no_exist", FakeHub.Commit, "missing", "file.bin")));
    }

    [Fact]
    public async Task Repo_without_required_files_gives_a_clear_error()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.AddRepo(new FakeRepo("test-org/no-weights", FakeHub.Sha1Hex("nw"), new()
        {
            ["config.json"] = HubTestContext.Fixture("config.json"),
        }));
        ctx.Hub.AddRepo(new FakeRepo("test-org/no-config", FakeHub.Sha1Hex("nc"), new()
        {
            ["model.safetensors"] = HubTestContext.Fixture("model.safetensors"),
        }));
        var w = await Assert.ThrowsAsync<EntryNotFoundException>(() => ModelLocator.ResolveAsync("test-org/no-weights", ctx.Options()));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", w.Message);
        Assert.Contains("test-org/no-weights", w.Message);
        var c = await Assert.ThrowsAsync<EntryNotFoundException>(() => ModelLocator.ResolveAsync("test-org/no-config", ctx.Options()));
        Assert.Contains("has no config.json", c.Message);
        Assert.Equal(404, c.StatusCode);
        Assert.Equal(404, w.StatusCode);
    }

    [Fact]
    public async Task Server_that_is_not_a_hub_is_reported()
    {
        using var ctx = new HubTestContext();
        ctx.Hub.HubFault = (req, resp) => new FakeResponse { Body = "<html>proxy login</html>"u8.ToArray() };
        var e = await Assert.ThrowsAsync<HubException>(() => ModelLocator.ResolveAsync(FakeHub.RepoName, ctx.Options()));
        Assert.Contains("X-Repo-Commit", e.Message);
    }
}
