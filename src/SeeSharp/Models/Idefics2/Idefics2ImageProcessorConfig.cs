using SeeSharp.Imaging;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics2;

/// <summary>
/// <c>preprocessor_config.json</c> of <c>Idefics2ImageProcessor</c>, with transformers v4.45.2's defaults
/// (models/idefics2/image_processing_idefics2.py, <c>__init__</c>) for every absent key.
/// </summary>
public sealed record Idefics2ImageProcessorConfig
{
    /// <summary><c>do_convert_rgb</c> (default true): composite non-RGB images onto white and convert to RGB.</summary>
    public bool DoConvertRgb { get; init; } = true;

    /// <summary><c>do_resize</c> (default true).</summary>
    public bool DoResize { get; init; } = true;

    /// <summary><c>size</c> (default shortest_edge 378, longest_edge 980); height + width is also accepted.</summary>
    public ImageSizeSpec Size { get; init; } = new() { ShortestEdge = 378, LongestEdge = 980 };

    /// <summary><c>resample</c> (default 2 = BILINEAR).</summary>
    public ResampleFilter Resample { get; init; } = ResampleFilter.Bilinear;

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

    /// <summary><c>do_pad</c> (default true): pad to the batch's max H/W and image count, with pixel masks.</summary>
    public bool DoPad { get; init; } = true;

    /// <summary><c>do_image_splitting</c> (default false): 4 crops + the full image per input image.</summary>
    public bool DoImageSplitting { get; init; }

    /// <summary>Reads a <c>preprocessor_config.json</c> file.</summary>
    /// <exception cref="InvalidDataException">Invalid JSON or a field of the wrong type / range (the message names both).</exception>
    public static Idefics2ImageProcessorConfig Load(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>Parses <c>preprocessor_config.json</c> text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Invalid JSON or a field of the wrong type / range.</exception>
    public static Idefics2ImageProcessorConfig FromJson(string json, string source = "preprocessor_config.json") =>
        PreprocessorJson.Parse(json, source, j =>
        {
            var d = new Idefics2ImageProcessorConfig();
            var config = new Idefics2ImageProcessorConfig
            {
                DoConvertRgb = j.Bool("do_convert_rgb", d.DoConvertRgb),
                DoResize = j.Bool("do_resize", d.DoResize),
                Size = j.Size("size", d.Size),
                Resample = j.Resample("resample", d.Resample),
                DoRescale = j.Bool("do_rescale", d.DoRescale),
                RescaleFactor = j.Number("rescale_factor", d.RescaleFactor),
                DoNormalize = j.Bool("do_normalize", d.DoNormalize),
                ImageMean = j.PerChannel("image_mean", [.. d.ImageMean], 3, positive: false),
                ImageStd = j.PerChannel("image_std", [.. d.ImageStd], 3, positive: true),
                DoPad = j.Bool("do_pad", d.DoPad),
                DoImageSplitting = j.Bool("do_image_splitting", d.DoImageSplitting),
            };
            config.Validate(source);
            return config;
        });

    internal void Validate(string source)
    {
        bool edges = Size.ShortestEdge is not null && Size.LongestEdge is not null;
        bool fixedSize = Size.Height is not null && Size.Width is not null;
        if (DoResize && !edges && !fixedSize)
            throw new InvalidDataException($"{source}: field 'size' = {Size} needs 'shortest_edge' and 'longest_edge', or 'height' and 'width'");
        if (ImageMean.Count != 3 || ImageStd.Count != 3)
            throw new InvalidDataException($"{source}: image_mean / image_std need 3 values, got {ImageMean.Count} / {ImageStd.Count}");
        if (ImageStd.Any(s => s == 0))
            throw new InvalidDataException($"{source}: field 'image_std' contains 0");
    }
}
