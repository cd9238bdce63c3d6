using System.Text.Json;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Models.Idefics2;
using SeeSharp.Models.Idefics3;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Models.Idefics3;

/// <summary>One case of tests/fixtures/idefics3-tiny/cases: the golden inputs and generate outputs (batch 1 each).</summary>
internal sealed class Idefics3Golden
{
    public static readonly string[] CaseNames = ["chat_2img_split", "single_img_nosplit"];

    public static string ModelFolder => Fixtures.Path("idefics3-tiny", "model");

    public required string Name { get; init; }
    public required string Folder { get; init; }
    public required int Length { get; init; }
    public required long[] InputIds { get; init; }      // [1, Length]
    public required long[] AttentionMask { get; init; } // [1, Length]
    public required float[] PixelValues { get; init; }  // [1, N, 3, H, W]
    public required bool[] PixelMask { get; init; }     // [1, N, H, W]
    public required Idefics2PixelShape PixelShape { get; init; }
    public required long[] NewTokens { get; init; }     // [1, 20]
    public required float[] LogitsRaw { get; init; }    // [1, 20, vocab]
    public required bool DoImageSplitting { get; init; }
    public required string[] Images { get; init; }

    public static Idefics3Golden Load(string name)
    {
        var folder = Fixtures.Path("idefics3-tiny", "cases", name);
        using var inputs = SafetensorsFile.Open(Path.Combine(folder, "inputs.safetensors"));
        using var generate = SafetensorsFile.Open(Path.Combine(folder, "generate.safetensors"));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "case.json")));
        var ids = inputs.Get("input_ids");
        var pv = inputs.Get("pixel_values");
        var s = pv.Shape;
        return new Idefics3Golden
        {
            Name = name,
            Folder = folder,
            Length = (int)ids.Shape[1],
            InputIds = ids.ToInt64Array(),
            AttentionMask = inputs.Get("attention_mask").ToInt64Array(),
            PixelValues = pv.ToFloatArray(),
            PixelMask = Array.ConvertAll(inputs.Get("pixel_attention_mask").ToFloatArray(), x => x != 0f),
            PixelShape = new Idefics2PixelShape((int)s[0], (int)s[1], (int)s[2], (int)s[3], (int)s[4]),
            NewTokens = generate.Get("new_tokens").ToInt64Array(),
            LogitsRaw = generate.Get("logits_raw").ToFloatArray(),
            DoImageSplitting = doc.RootElement.GetProperty("do_image_splitting").GetBoolean(),
            Images = doc.RootElement.GetProperty("images")[0].EnumerateArray().Select(e => e.GetString()!).ToArray(),
        };
    }

    public Idefics2ImageFeatures EncodeImages(Idefics3ForConditionalGeneration model) => model.EncodeImages(PixelValues, PixelMask, PixelShape);

    /// <summary>
    /// The conversation each case was made from (README: the seed conversation of ../idefics2-tiny for two images,
    /// one user turn for one image), with the case's images from tests/fixtures/images.
    /// </summary>
    public Chat Chat()
    {
        var images = Images.Select(i => Image.Load(Fixtures.Path("images", i))).ToArray();
        return Images.Length == 1
            ? new Chat().User(images[0], "Describe the picture.")
            : new Chat()
                .User(images[0], "What do we see in this image?")
                .Assistant("In this image we can see two cats on the nets.")
                .User(images[1], "And how about this image?");
    }
}

/// <summary>The tiny fp32 Idefics3 model, loaded once per test class.</summary>
public sealed class Idefics3ModelFixture : IDisposable
{
    public Idefics3ForConditionalGeneration Model { get; } = Idefics3ForConditionalGeneration.Load(Idefics3Golden.ModelFolder);

    public void Dispose() => Model.Dispose();
}
