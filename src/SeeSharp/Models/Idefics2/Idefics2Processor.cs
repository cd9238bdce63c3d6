using System.Text;
using SeeSharp.Imaging;
using SeeSharp.Models.Shared;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics2;

/// <summary>
/// transformers' <c>Idefics2Processor</c> (v4.45.2, processing_idefics2.py): each <c>&lt;image&gt;</c> of a prompt becomes
/// <c>&lt;fake_token_around_image&gt;</c> + image_seq_len x <c>&lt;image&gt;</c> + <c>&lt;fake_token_around_image&gt;</c> (five times
/// when the image processor splits images), doubled fake tokens are merged, and the prompts are tokenized with
/// special tokens and padded on the left.
/// </summary>
public sealed class Idefics2Processor : Processor
{
    /// <summary>transformers' default <c>image_seq_len</c>.</summary>
    public const int DefaultImageSeqLen = 64;
    private const string FakeImageToken = "<fake_token_around_image>";
    private const string ImageToken = "<image>";

    /// <summary>Loads <c>processor_config.json</c>, <c>preprocessor_config.json</c>, the tokenizer and the template of a folder.</summary>
    public Idefics2Processor(string folder) : base(folder)
    {
        ImageSeqLen = PromptBatch.ImageSeqLenSetting(folder) ?? DefaultImageSeqLen;
        ImageProcessor = Idefics2ImageProcessor.FromPretrained(folder);
        DoImageSplitting = ImageProcessor.Config.DoImageSplitting;
    }

    /// <summary>
    /// Split each image into 4 crops + the original (the image processor's <c>do_image_splitting</c>; settable, as
    /// transformers users set it on <c>processor.image_processor</c>). Both the prompt expansion and the pixels follow it.
    /// </summary>
    public bool DoImageSplitting { get; set; }

    /// <summary>Image tokens per image (per crop when splitting).</summary>
    public int ImageSeqLen { get; }

    /// <summary>The image preprocessor (<c>preprocessor_config.json</c>).</summary>
    public Idefics2ImageProcessor ImageProcessor { get; }

    /// <summary>The prompt with every <c>&lt;image&gt;</c> expanded as the processor does it.</summary>
    public string ExpandImageTokens(string prompt)
    {
        var one = FakeImageToken + string.Concat(Enumerable.Repeat(ImageToken, ImageSeqLen)) + FakeImageToken;
        var imageString = DoImageSplitting ? string.Concat(Enumerable.Repeat(one, 5)) : one;
        return prompt.Replace(ImageToken, imageString, StringComparison.Ordinal)
                     .Replace(FakeImageToken + FakeImageToken, FakeImageToken, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override ModelInputs Process(IReadOnlyList<string> prompts, IReadOnlyList<IReadOnlyList<Image>> images)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompt to process");
        if (images.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {images.Count} image lists");
        var textCounts = prompts.Select(p => PromptBatch.CountOccurrences(p, ImageToken)).ToList();
        var imageCounts = images.Select(l => l.Count).ToList();
        bool anyImages = imageCounts.Any(c => c > 0);
        if (anyImages && !textCounts.SequenceEqual(imageCounts))
            throw new ArgumentException($"The number of images in the text [{string.Join(", ", textCounts)}] and images [{string.Join(", ", imageCounts)}] should be the same.");
        if (!anyImages && textCounts.Any(c => c > 0))
            throw new ArgumentException($"the prompt holds {textCounts.Sum()} {ImageToken} placeholder(s) but no image was given");

        var expanded = prompts.Select(ExpandImageTokens).ToList();
        var (ids, mask, _) = PromptBatch.TokenizeLeftPadded(Tokenizer, expanded, Folder);
        PixelBatch? pixels = anyImages
            ? ImageProcessor.Preprocess(images.Select(l => (IReadOnlyList<RasterImage>)l.Select(PromptBatch.LoadImage).ToList()).ToList(), DoImageSplitting)
            : null;
        return new ModelInputs(this, ids, mask, expanded.Count, expanded, pixels);
    }
}
