using System.Text;
using SeeSharp.Imaging;
using SeeSharp.Models.Shared;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics3;

/// <summary>
/// transformers' <c>Idefics3Processor</c> (v4.46, processing_idefics3.py), also used by SmolVLM: the images are
/// preprocessed first (<see cref="Idefics3ImageProcessor"/>: tiles + a global image, or one image), then each
/// <c>&lt;image&gt;</c> of a prompt becomes, for an image cut into rows x cols tiles,
/// <c>&lt;fake_token_around_image&gt;&lt;row_r_col_c&gt;</c> + image_seq_len x <c>&lt;image&gt;</c> per tile with "\n"
/// after each tile row, then "\n&lt;fake_token_around_image&gt;&lt;global-img&gt;" + image_seq_len x <c>&lt;image&gt;</c> +
/// <c>&lt;fake_token_around_image&gt;</c>; an image that was not split (rows = cols = 0) gets only the global form.
/// Prompts are tokenized with special tokens and padded on the left.
/// </summary>
public sealed class Idefics3Processor : Processor
{
    /// <summary>transformers' default <c>image_seq_len</c> (Idefics3Processor.__init__).</summary>
    public const int DefaultImageSeqLen = 169;
    private const string FakeImageToken = "<fake_token_around_image>";
    private const string ImageToken = "<image>";
    private const string GlobalImageTag = "<global-img>";

    /// <summary>
    /// Loads <c>processor_config.json</c>, <c>preprocessor_config.json</c>, the tokenizer and the template of a folder.
    /// image_seq_len comes from processor_config.json; without it, from config.json ((image_size / patch_size)² /
    /// scale_factor²); without either, transformers' default 169.
    /// </summary>
    public Idefics3Processor(string folder) : base(folder)
    {
        ImageSeqLen = ReadImageSeqLen(folder);
        ImageProcessor = Idefics3ImageProcessor.FromPretrained(folder);
        DoImageSplitting = ImageProcessor.Config.DoImageSplitting;
    }

    /// <summary>
    /// Cut each image into tiles of max_image_size plus a global image (the image processor's <c>do_image_splitting</c>;
    /// settable, as transformers users set it on <c>processor.image_processor</c>). Pixels and prompt expansion follow it.
    /// </summary>
    public bool DoImageSplitting { get; set; }

    /// <summary>Image tokens per tile (and for the global image).</summary>
    public int ImageSeqLen { get; }

    /// <summary>The image preprocessor (<c>preprocessor_config.json</c>).</summary>
    public Idefics3ImageProcessor ImageProcessor { get; }

    /// <summary>
    /// <c>get_image_prompt_string</c>: the text that replaces one <c>&lt;image&gt;</c> of an image cut into
    /// <paramref name="rows"/> x <paramref name="cols"/> tiles (0 x 0 = not split).
    /// </summary>
    public string ImagePromptString(int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        var tokens = string.Concat(Enumerable.Repeat(ImageToken, ImageSeqLen));
        var global = FakeImageToken + GlobalImageTag + tokens + FakeImageToken;
        if (rows == 0 && cols == 0) return global; // _prompt_single_image
        var sb = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) sb.Append(FakeImageToken).Append($"<row_{r + 1}_col_{c + 1}>").Append(tokens);
            sb.Append('\n');
        }
        return sb.Append('\n').Append(global).ToString(); // _prompt_split_image
    }

    /// <summary>
    /// The prompt with its <c>&lt;image&gt;</c> placeholders replaced, in order, by the prompt strings of images with
    /// the given tile grids (as <c>sample.split(image_token)</c> + join does it).
    /// </summary>
    public string ExpandImageTokens(string prompt, IReadOnlyList<int> rows, IReadOnlyList<int> cols)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (rows.Count != cols.Count) throw new ArgumentException($"{rows.Count} row counts but {cols.Count} column counts");
        var parts = prompt.Split(ImageToken);
        if (parts.Length - 1 != rows.Count)
            throw new ArgumentException($"The number of images in the text [{parts.Length - 1}] and images [{rows.Count}] should be the same.");
        var sb = new StringBuilder(parts[0]);
        for (int i = 0; i < rows.Count; i++) sb.Append(ImagePromptString(rows[i], cols[i])).Append(parts[i + 1]);
        return sb.ToString();
    }

    /// <inheritdoc />
    public override ModelInputs Process(IReadOnlyList<string> prompts, IReadOnlyList<IReadOnlyList<Image>> images)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompt to process");
        if (images.Count != prompts.Count) throw new ArgumentException($"{prompts.Count} prompts but {images.Count} image lists");
        var textCounts = prompts.Select(p => PromptBatch.CountOccurrences(p, ImageToken)).ToList();
        var imageCounts = images.Select(l => l.Count).ToList();
        bool anyImages = imageCounts.Any(c => c > 0);
        if (!anyImages)
        {
            if (textCounts.Any(c => c > 0))
                throw new ArgumentException($"Found {textCounts.Sum()} {ImageToken} tokens in the text but no images were passed.");
            var (plainIds, plainMask, _) = PromptBatch.TokenizeLeftPadded(Tokenizer, prompts, Folder);
            return new ModelInputs(this, plainIds, plainMask, prompts.Count, prompts.ToList(), null);
        }
        if (!textCounts.SequenceEqual(imageCounts))
            throw new ArgumentException($"The number of images in the text [{string.Join(", ", textCounts)}] and images [{string.Join(", ", imageCounts)}] should be the same.");

        var batch = ImageProcessor.Preprocess(images.Select(l => (IReadOnlyList<RasterImage>)l.Select(PromptBatch.LoadImage).ToList()).ToList(), DoImageSplitting);
        var expanded = prompts.Select((p, b) => ExpandImageTokens(p, batch.Rows[b], batch.Cols[b])).ToList();
        var (ids, mask, _) = PromptBatch.TokenizeLeftPadded(Tokenizer, expanded, Folder);
        return new ModelInputs(this, ids, mask, expanded.Count, expanded, batch.Pixels);
    }

    private static int ReadImageSeqLen(string folder)
    {
        if (PromptBatch.ImageSeqLenSetting(folder) is int n) return n;
        var configPath = Path.Combine(folder, "config.json");
        return File.Exists(configPath) ? Idefics3Config.Load(configPath).ImageSeqLen : DefaultImageSeqLen;
    }
}
