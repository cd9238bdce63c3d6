using SeeSharp.Imaging;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics3;

/// <summary>
/// <c>preprocessor_config.json</c> of <c>Idefics3ImageProcessor</c>, with transformers v4.46's defaults
/// (models/idefics3/image_processing_idefics3.py, <c>__init__</c>) for every absent key.
/// </summary>
public sealed record Idefics3ImageProcessorConfig
{
    /// <summary>
    /// transformers' <c>get_resize_output_image_size</c> upper bound: size.longest_edge may not exceed it, and resized
    /// images are scaled below it. v4.46 used 1820; later releases raised it to 4096 (<c>MAX_IMAGE_SIZE</c>), which the
    /// published SmolVLM-256M/500M need (longest_edge 2048). For every longest_edge up to 1820 both give the same sizes.
    /// </summary>
    public const int MaxResolution = 4096;

    /// <summary><c>do_convert_rgb</c> (default true).</summary>
    public bool DoConvertRgb { get; init; } = true;

    /// <summary><c>do_resize</c> (default true).</summary>
    public bool DoResize { get; init; } = true;

    /// <summary><c>size</c> (default longest_edge 4 * 364 = 1456); height + width is also accepted.</summary>
    public ImageSizeSpec Size { get; init; } = new() { LongestEdge = 4 * 364 };

    /// <summary><c>resample</c> (default 1 = LANCZOS).</summary>
    public ResampleFilter Resample { get; init; } = ResampleFilter.Lanczos;

    /// <summary><c>do_image_splitting</c> (default true): tiles of max_image_size plus a global image.</summary>
    public bool DoImageSplitting { get; init; } = true;

    /// <summary><c>max_image_size</c> (default longest_edge 364): the tile and global-image side.</summary>
    public ImageSizeSpec MaxImageSize { get; init; } = new() { LongestEdge = 364 };

    /// <summary><c>do_rescale</c> (default true).</summary>
    public bool DoRescale { get; init; } = true;

    /// <summary><c>rescale_factor</c> (default 1/255).</summary>
    public double RescaleFactor { get; init; } = 1.0 / 255;

    /// <summary><c>do_normalize</c> (default true).</summary>
    public bool DoNormalize { get; init; } = true;

    /// <summary><c>image_mean</c> (default IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5]).</summary>
    public IReadOnlyList<double> ImageMean { get; init; } = [0.5, 0.5, 0.5];

    /// <summary><c>image_std</c> (default IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5]).</summary>
    public IReadOnlyList<double> ImageStd { get; init; } = [0.5, 0.5, 0.5];

    /// <summary><c>do_pad</c> (default true).</summary>
    public bool DoPad { get; init; } = true;

    /// <summary>Reads a <c>preprocessor_config.json</c> file.</summary>
    /// <exception cref="InvalidDataException">Invalid JSON or a field of the wrong type / range (the message names both).</exception>
    public static Idefics3ImageProcessorConfig Load(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>Parses <c>preprocessor_config.json</c> text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Invalid JSON or a field of the wrong type / range.</exception>
    public static Idefics3ImageProcessorConfig FromJson(string json, string source = "preprocessor_config.json") =>
        PreprocessorJson.Parse(json, source, j =>
        {
            var d = new Idefics3ImageProcessorConfig();
            var config = new Idefics3ImageProcessorConfig
            {
                DoConvertRgb = j.Bool("do_convert_rgb", d.DoConvertRgb),
                DoResize = j.Bool("do_resize", d.DoResize),
                Size = j.Size("size", d.Size),
                Resample = j.Resample("resample", d.Resample),
                DoImageSplitting = j.Bool("do_image_splitting", d.DoImageSplitting),
                MaxImageSize = j.Size("max_image_size", d.MaxImageSize),
                DoRescale = j.Bool("do_rescale", d.DoRescale),
                RescaleFactor = j.Number("rescale_factor", d.RescaleFactor),
                DoNormalize = j.Bool("do_normalize", d.DoNormalize),
                ImageMean = j.PerChannel("image_mean", [.. d.ImageMean], 3, positive: false),
                ImageStd = j.PerChannel("image_std", [.. d.ImageStd], 3, positive: true),
                DoPad = j.Bool("do_pad", d.DoPad),
            };
            config.Validate(source);
            return config;
        });

    internal void Validate(string source)
    {
        bool longest = Size.LongestEdge is not null;
        bool fixedSize = Size.Height is not null && Size.Width is not null;
        if (DoResize && !longest && !fixedSize)
            throw new InvalidDataException($"{source}: field 'size' = {Size} needs 'longest_edge', or 'height' and 'width'");
        if (DoResize && Size.LongestEdge > MaxResolution)
            throw new InvalidDataException($"{source}: field 'size.longest_edge' = {Size.LongestEdge} is larger than {MaxResolution}");
        if (MaxImageSize.LongestEdge is null)
            throw new InvalidDataException($"{source}: field 'max_image_size' = {MaxImageSize} needs 'longest_edge'");
        if (ImageMean.Count != 3 || ImageStd.Count != 3)
            throw new InvalidDataException($"{source}: image_mean / image_std need 3 values, got {ImageMean.Count} / {ImageStd.Count}");
        if (ImageStd.Any(s => s == 0))
            throw new InvalidDataException($"{source}: field 'image_std' contains 0");
    }
}
