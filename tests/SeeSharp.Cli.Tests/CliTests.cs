using System.Text.Json;
using SeeSharp.Cli;
using SeeSharp.Testing;

namespace SeeSharp.Cli.Tests;

// The CLI contract of DESIGN.md, run in-process. Compares against the golden greedy tokens of
// tests/fixtures/idefics2-tiny/cases/*/case.json (exact) and the fixtures' rendered prompts (exact).
public class CliTests
{
    private static readonly string Tiny = Fixtures.Path("idefics2-tiny", "model");

    private static async Task<(int Code, string Out, string Err)> Run(string stdin, params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = await CliApp.RunAsync(args, o, e, new StringReader(stdin));
        return (code, o.ToString(), e.ToString());
    }

    private static long[] GoldenNewTokens(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("idefics2-tiny", "cases", caseName, "case.json")));
        return doc.RootElement.GetProperty("generate").GetProperty("new_tokens")[0].EnumerateArray().Select(x => x.GetInt64()).ToArray();
    }

    [Fact]
    public async Task RunJsonGivesTheGoldenGreedyTokens()
    {
        var (code, stdout, stderr) = await Run("", "run", "--model", Tiny, "--image", Fixtures.Path("images", "astronaut.png"),
            "--max-new-tokens", "20", "--json", "Describe the picture.");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        Assert.Equal(GoldenNewTokens("single_img"), root.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt64()).ToArray());
        Assert.Equal(39, root.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("length", root.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.String, root.GetProperty("text").ValueKind);
        foreach (var key in new[] { "load_s", "image_encode_s", "prefill_s", "decode_tokens_per_s" })
            Assert.True(root.GetProperty("timings").TryGetProperty(key, out _), key);
    }

    [Fact]
    public async Task MessagesFileWithRelativeImagePaths()
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-cli-");
        try
        {
            File.Copy(Fixtures.Path("images", "astronaut.png"), Path.Combine(dir.FullName, "a.png"));
            var messages = Path.Combine(dir.FullName, "chat.json");
            File.WriteAllText(messages, """[{"role": "user", "content": [{"type": "image", "path": "a.png"}, {"type": "text", "text": "Describe the picture."}]}]""");
            var (code, stdout, stderr) = await Run("", "run", "--model", Tiny, "--messages", messages, "--max-new-tokens", "20", "--json");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
            Assert.Equal(GoldenNewTokens("single_img"), doc.RootElement.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt64()).ToArray());
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData("missing image", "--image", "/nonexistent/x.png", "hello")]
    [InlineData("too many images", "--image", "IMG", "--image", "IMG", "<image> one placeholder")]
    [InlineData("unknown option", "--frobnicate", "1", "hi")]
    [InlineData("bad quantize", "--quantize", "int3", "hi")]
    public async Task BadInputIsExitCodeTwoWithOneLine(string why, params string[] rest)
    {
        var args = new[] { "run", "--model", Tiny }.Concat(rest.Select(a => a == "IMG" ? Fixtures.Path("images", "astronaut.png") : a)).ToArray();
        var (code, _, stderr) = await Run("", args);
        Assert.True(code == 2, $"{why}: exit {code}, stderr {stderr}");
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task UnsupportedModelIsExitCodeTwoNamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-cli-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "config.json"), """{"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"]}""");
            var (code, _, stderr) = await Run("", "run", "--model", dir.FullName, "hi");
            Assert.Equal(2, code);
            Assert.Contains("llava", stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task TokenizeTextAndStdinLines()
    {
        var expanded = File.ReadAllText(Fixtures.Path("idefics2-tiny", "cases", "single_img", "prompt0_expanded.txt"));
        var (code, stdout, _) = await Run("", "tokenize", "--tokenizer", Tiny, expanded);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("idefics2-tiny", "cases", "single_img", "case.json")));
        var golden = doc.RootElement.GetProperty("input_ids")[0].EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal(golden, JsonSerializer.Deserialize<long[]>(stdout));

        var (code2, stdout2, _) = await Run(JsonSerializer.Serialize("a b") + "\n" + JsonSerializer.Serialize(expanded) + "\n",
            "tokenize", "--tokenizer", Path.Combine(Tiny, "tokenizer.json"), "--no-special");
        Assert.Equal(0, code2);
        var lines = stdout2.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal(golden.Skip(1), JsonSerializer.Deserialize<long[]>(lines[1])); // without <s>
    }

    [Fact]
    public async Task TemplatePrintsThePromptExactly()
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-cli-");
        try
        {
            var messages = Path.Combine(dir.FullName, "chat.json");
            File.WriteAllText(messages, """
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What do we see in this image?"}]},
                 {"role": "assistant", "content": [{"type": "text", "text": "In this image we can see two cats on the nets."}]},
                 {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "And how about this image?"}]}]
                """);
            var (code, stdout, stderr) = await Run("", "template", "--model", Tiny, "--messages", messages, "--add-generation-prompt");
            Assert.True(code == 0, stderr);
            Assert.Equal(File.ReadAllText(Fixtures.Path("idefics2-tiny", "cases", "chat_2img", "prompt0.txt")), stdout);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task QuantizeWritesACheckpointThatRunsWithQuantizeFlagTokens()
    {
        var dir = Directory.CreateTempSubdirectory("seesharp-cli-");
        try
        {
            var output = Path.Combine(dir.FullName, "int8");
            var (code, stdout, stderr) = await Run("", "quantize", "--model", Tiny, "--out", output, "--quantize", "int8");
            Assert.True(code == 0, stderr);
            Assert.Equal(output, stdout.Trim());
            string[] common = ["--image", Fixtures.Path("images", "astronaut.png"), "--max-new-tokens", "8", "--json", "Describe the picture."];
            var saved = await Run("", ["run", "--model", output, .. common]);
            var inPlace = await Run("", ["run", "--model", Tiny, "--quantize", "int8", .. common]);
            Assert.True(saved.Code == 0 && inPlace.Code == 0, saved.Err + inPlace.Err);
            using var a = JsonDocument.Parse(saved.Out.Trim().Split('\n')[^1]);
            using var b = JsonDocument.Parse(inPlace.Out.Trim().Split('\n')[^1]);
            Assert.Equal(b.RootElement.GetProperty("token_ids").GetRawText(), a.RootElement.GetProperty("token_ids").GetRawText());
            var again = await Run("", "quantize", "--model", Tiny, "--out", output, "--quantize", "int8");
            Assert.Equal(2, again.Code); // never overwrites
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task ChatAttachesImagesReusesTheConversationAndResets()
    {
        var script = $"/image {Fixtures.Path("images", "astronaut.png")}\nDescribe the picture.\nAnd again?\n/reset\n/bogus\n/image /nonexistent.png\nHello\n/exit\n";
        var (code, stdout, stderr) = await Run(script, "chat", "--model", Tiny, "--max-new-tokens", "8");
        Assert.True(code == 0, stderr);
        var stats = System.Text.RegularExpressions.Regex.Matches(stderr, @"\((\d+) tokens, [\d.]+ tokens/s, prefill (\d+) of (\d+) tokens")
            .Select(m => (Prefill: int.Parse(m.Groups[2].Value), Prompt: int.Parse(m.Groups[3].Value))).ToArray();
        Assert.Equal(3, stats.Length);                           // three answers
        Assert.Equal((39, 39), stats[0]);                        // the golden single_img prompt, all prefilled
        Assert.True(stats[1].Prefill <= stats[1].Prompt - 39, $"turn 2 prefilled {stats[1]}: turn 1's 39 prompt tokens were not reused");
        Assert.Equal(stats[2].Prompt, stats[2].Prefill);         // after /reset, a fresh prompt
        Assert.Contains("(conversation reset)", stderr);
        Assert.Contains("unknown command /bogus", stderr);
        Assert.Contains("error:", stderr);         // the missing image, reported without leaving the session
    }
}
