using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using SeeSharp.Models.Idefics2;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models;

// Compares: Idefics2Config parsed from the real idefics2-8b config.json (which omits most keys) with the dump that
// transformers 4.45.2 resolves from it (idefics2-8b.config.resolved-by-transformers-4.45.2.json): every key our records
// carry must have the resolved value (so our defaults are the reference's). Exact equality.
public sealed class Idefics2ConfigTests
{
    private static string RefConfig(string file) => Fixtures.Path("idefics2-8b-reference-config", file);

    [Fact]
    public void DefaultsResolveExactlyAsTransformers()
    {
        var config = Idefics2Config.Load(RefConfig("idefics2-8b.config.json"));
        using var resolved = JsonDocument.Parse(File.ReadAllText(RefConfig("idefics2-8b.config.resolved-by-transformers-4.45.2.json")));
        var checkedKeys = new List<string>();
        CompareRecord(config, resolved.RootElement, "", checkedKeys);
        Assert.True(checkedKeys.Count >= 40, $"only {checkedKeys.Count} keys compared");

        // derived values the model uses
        Assert.Equal(128, config.TextConfig.HeadDim);
        Assert.Equal(8, config.TextConfig.NumKeyValueHeads);
        Assert.Equal(70, config.VisionConfig.NumPatchesPerSide);
        Assert.Equal(72, config.VisionConfig.HeadDim);
    }

    private static void CompareRecord(object record, JsonElement resolved, string path, List<string> checkedKeys)
    {
        foreach (var property in record.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
            if (key is null) continue;
            var where = path + key;
            Assert.True(resolved.TryGetProperty(key, out var expected), $"{where}: not in the resolved config");
            var value = property.GetValue(record);
            if (property.Name.EndsWith("Setting", StringComparison.Ordinal))
            {
                // stored-as-given (nullable) setting: the reference resolves it at init, so compare the resolved value
                value = record.GetType().GetProperty(property.Name[..^"Setting".Length])!.GetValue(record);
            }
            switch (value)
            {
                case Idefics2VisionConfig or Idefics2PerceiverConfig or MistralConfig:
                    CompareRecord(value, expected, where + ".", checkedKeys);
                    continue;
                case null:
                    Assert.True(expected.ValueKind == JsonValueKind.Null, $"{where}: null, resolved {expected}");
                    break;
                case int i:
                    Assert.True(expected.ValueKind == JsonValueKind.Number && expected.GetInt64() == i, $"{where}: {i}, resolved {expected}");
                    break;
                case double d:
                    Assert.True(expected.ValueKind == JsonValueKind.Number && expected.GetDouble() == d, $"{where}: {d:R}, resolved {expected}");
                    break;
                case bool b:
                    Assert.True(expected.ValueKind is JsonValueKind.True or JsonValueKind.False && expected.GetBoolean() == b, $"{where}: {b}, resolved {expected}");
                    break;
                case string s:
                    Assert.True(expected.ValueKind == JsonValueKind.String && expected.GetString() == s, $"{where}: \"{s}\", resolved {expected}");
                    break;
                default:
                    Assert.Fail($"{where}: unexpected property type {value.GetType()}");
                    break;
            }
            checkedKeys.Add(where);
        }
    }

    [Fact]
    public void TinyConfigParses()
    {
        var c = Idefics2Config.Load(Path.Combine(Idefics2Golden.ModelFolder, "config.json"));
        Assert.Equal(449, c.ImageTokenId);
        Assert.Equal((32, 2, 4, 98, 14), (c.VisionConfig.HiddenSize, c.VisionConfig.NumHiddenLayers, c.VisionConfig.NumAttentionHeads, c.VisionConfig.ImageSize, c.VisionConfig.PatchSize));
        Assert.Equal((8, 2, 4, 8, 2), (c.PerceiverConfig.ResamplerNLatents, c.PerceiverConfig.ResamplerDepth, c.PerceiverConfig.ResamplerNHeads, c.PerceiverConfig.ResamplerHeadDim, c.PerceiverConfig.NumKeyValueHeads));
        Assert.Equal((451, 64, 2, 4, 2, 16, 4096), (c.TextConfig.VocabSize, c.TextConfig.HiddenSize, c.TextConfig.NumHiddenLayers, c.TextConfig.NumAttentionHeads, c.TextConfig.NumKeyValueHeads, c.TextConfig.HeadDim, c.TextConfig.SlidingWindow));
        Assert.Equal(1e-5, c.TextConfig.RmsNormEps);
    }

    [Fact]
    public void MissingSubConfigsGetTheReferenceDefaults()
    {
        var c = Idefics2Config.Parse("""{"model_type": "idefics2"}""");
        // Idefics2Config.__init__: text_config None -> MistralConfig(max_position_embeddings=32768, rms_norm_eps=1e-5, pad_token_id=0)
        Assert.Equal(32768, c.TextConfig.MaxPositionEmbeddings);
        Assert.Equal(1e-5, c.TextConfig.RmsNormEps);
        Assert.Equal(0, c.TextConfig.PadTokenId);
        Assert.Equal(32000, c.TextConfig.VocabSize);
        Assert.Equal(224, c.VisionConfig.ImageSize);
        Assert.Equal(64, c.PerceiverConfig.ResamplerNLatents);
        // a text_config that is present gets plain MistralConfig defaults
        var d = Idefics2Config.Parse("""{"text_config": {"model_type": "mistral", "num_key_value_heads": null, "head_dim": 64}}""");
        Assert.Equal(1e-6, d.TextConfig.RmsNormEps);
        Assert.Equal(131072, d.TextConfig.MaxPositionEmbeddings);
        Assert.Equal(32, d.TextConfig.NumKeyValueHeads);
        Assert.Equal(64, d.TextConfig.HeadDim);
    }

    [Theory]
    [InlineData("""{"vision_config": {"hidden_size": 100, "num_attention_heads": 3}}""", "vision_config.hidden_size")]
    [InlineData("""{"text_config": {"num_key_value_heads": 5}}""", "text_config.num_attention_heads")]
    [InlineData("""{"text_config": {"model_type": "llama"}}""", "text_config.model_type")]
    [InlineData("""{"perceiver_config": {"resampler_depth": 0}}""", "perceiver_config.resampler_depth")]
    [InlineData("""{"text_config": {"head_dim": 15}}""", "text_config.head_dim")]
    [InlineData("""{"text_config": {"hidden_size": "wide"}}""", "not a valid Idefics2 config")]
    [InlineData("""[1, 2]""", "not a valid Idefics2 config")]
    public void BadConfigsNameTheFileAndField(string json, string expectedInMessage)
    {
        var e = Assert.ThrowsAny<Exception>(() => Idefics2Config.Parse(json, "some/config.json"));
        Assert.True(e is InvalidDataException or NotSupportedException, e.GetType().Name);
        Assert.Contains("some/config.json", e.Message);
        Assert.Contains(expectedInMessage, e.Message);
    }
}
