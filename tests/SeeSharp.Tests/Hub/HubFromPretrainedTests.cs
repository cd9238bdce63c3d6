using System.Text.Json;
using SeeSharp.Generation;
using SeeSharp.Hub;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Hub;

// The user's first line, `FromPretrainedAsync("org/name")`, end to end against the fake Hub on 127.0.0.1: download into a
// huggingface_hub-layout cache, load, generate the golden greedy tokens of tests/fixtures/idefics2-tiny/cases/single_img
// (exact); then again from the cache with the Hub stopped (offline).
public class HubFromPretrainedTests
{
    [Fact]
    public async Task FromPretrainedDownloadsLoadsAndGeneratesThenWorksOffline()
    {
        using var ctx = new HubTestContext();
        var hub = ctx.Options();
        using (var model = await VisionModel.FromPretrainedAsync(FakeHub.RepoName, new LoadOptions { Hub = hub }))
        {
            var processor = await Processor.FromPretrainedAsync(FakeHub.RepoName, hub);
            Assert.Equal(Golden(), await Generate(model, processor));
            Assert.StartsWith(ctx.SnapshotDir, model.Folder);
        }
        var downloads = ctx.Hub.CdnRequests.Count();
        Assert.True(downloads > 0);

        ctx.Hub.Dispose(); // the Hub is gone: the cache alone must do
        var offline = hub with { Offline = true };
        using var again = await VisionModel.FromPretrainedAsync(FakeHub.RepoName, new LoadOptions { Hub = offline });
        var p2 = await Processor.FromPretrainedAsync(FakeHub.RepoName, offline);
        Assert.Equal(Golden(), await Generate(again, p2));
        var missing = await Assert.ThrowsAnyAsync<HubException>(() => VisionModel.FromPretrainedAsync("test-org/not-cached", new LoadOptions { Hub = offline }));
        Assert.Contains("not-cached", missing.Message);
    }

    private static async Task<long[]> Generate(VisionModel model, Processor processor)
    {
        var inputs = processor.Apply(new Chat().User(Image.Load(Fixtures.Path("images", "astronaut.png")), "Describe the picture."));
        var result = await model.GenerateAsync(inputs, new GenerationOptions { MaxNewTokens = 20 });
        return result.Tokens.Select(t => (long)t).ToArray();
    }

    private static long[] Golden()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("idefics2-tiny", "cases", "single_img", "case.json")));
        return doc.RootElement.GetProperty("generate").GetProperty("new_tokens")[0].EnumerateArray().Select(x => x.GetInt64()).ToArray();
    }
}
