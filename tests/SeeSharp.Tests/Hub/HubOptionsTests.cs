using SeeSharp.Hub;

namespace SeeSharp.Tests.Hub;

// Compares against: huggingface_hub constants.py (HF_HOME, XDG_CACHE_HOME, HF_HUB_CACHE/HUGGINGFACE_HUB_CACHE,
// HF_ENDPOINT, HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE with _is_true) and _auth.py (HF_TOKEN, then the token file at
// HF_TOKEN_PATH or $HF_HOME/token). The environment is injected: no test touches the process environment.
public sealed class HubOptionsTests
{
    private static HubOptions From(params (string Name, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Name, v => v.Value);
        if (!map.ContainsKey("HOME")) map["HOME"] = "/home/u";
        return HubOptions.FromEnvironment(n => map.TryGetValue(n, out var v) ? v : null);
    }

    [Fact]
    public void Defaults_follow_home()
    {
        var o = From();
        Assert.Equal(Path.Combine("/home/u", ".cache", "huggingface", "hub"), o.CacheDir);
        Assert.Equal("https://huggingface.co", o.Endpoint);
        Assert.False(o.Offline);
        Assert.Null(o.Token);
        Assert.Equal("main", o.Revision);
    }

    [Fact]
    public void Cache_dir_precedence()
    {
        Assert.Equal(Path.Combine("/x", "huggingface", "hub"), From(("XDG_CACHE_HOME", "/x")).CacheDir);
        Assert.Equal(Path.Combine("/h", "hub"), From(("XDG_CACHE_HOME", "/x"), ("HF_HOME", "/h")).CacheDir);
        Assert.Equal("/legacy", From(("HF_HOME", "/h"), ("HUGGINGFACE_HUB_CACHE", "/legacy")).CacheDir);
        Assert.Equal("/c", From(("HF_HOME", "/h"), ("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/c")).CacheDir);
        Assert.Equal(Path.Combine("/home/u", "models"), From(("HF_HUB_CACHE", "~/models")).CacheDir);
    }

    [Fact]
    public void Endpoint_loses_its_trailing_slash() =>
        Assert.Equal("http://mirror.local:8080", From(("HF_ENDPOINT", "http://mirror.local:8080/")).Endpoint);

    [Theory]
    [InlineData("1", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    public void Offline_flag_uses_is_true(string value, bool expected)
    {
        Assert.Equal(expected, From(("HF_HUB_OFFLINE", value)).Offline);
        Assert.Equal(expected, From(("TRANSFORMERS_OFFLINE", value)).Offline);
        Assert.Equal(expected, From(("HF_HUB_OFFLINE", ""), ("TRANSFORMERS_OFFLINE", value)).Offline);
    }

    [Fact]
    public void Token_from_variable_then_file()
    {
        string home = Path.Combine(Path.GetTempPath(), "seesharp-hf-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "  hf_from_file\n");
            Assert.Equal("hf_from_file", From(("HF_HOME", home)).Token);
            Assert.Equal("hf_from_env", From(("HF_HOME", home), ("HF_TOKEN", "hf_from_env\r\n")).Token);
            Assert.Equal("hf_legacy", From(("HF_HOME", home), ("HUGGING_FACE_HUB_TOKEN", "hf_legacy")).Token);
            string other = Path.Combine(home, "other-token");
            File.WriteAllText(other, "hf_other");
            Assert.Equal("hf_other", From(("HF_HOME", home), ("HF_TOKEN_PATH", other)).Token);
            Assert.Null(From(("HF_HOME", Path.Combine(home, "absent"))).Token);
            Assert.Equal("hf_from_file", From(("HF_HOME", home), ("HF_TOKEN", "   ")).Token);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Endpoint_must_be_http()
    {
        Assert.Throws<ArgumentException>(() => new HubClient(From(("HF_ENDPOINT", "file:///etc"))));
        Assert.Throws<ArgumentException>(() => new HubClient(From(("HF_ENDPOINT", "not a url"))));
    }
}
