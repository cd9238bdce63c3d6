using SeeSharp.Imaging;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics2;

/// <summary>
/// Port of transformers v4.45.2 <c>Idefics2ImageProcessor.preprocess</c>
/// (src/transformers/models/idefics2/image_processing_idefics2.py), bit-exact on the golden fixtures:
/// convert_to_rgb (composite onto white) → optional split into 4 crops + the full image (on the ORIGINAL image) →
/// Pillow resize of each to <see cref="GetResizeOutputImageSize"/> → rescale (float64 multiply, float32 result) →
/// normalize (float32) → pad every image bottom/right to the batch's max H and W and every sample to the max image
/// count with all-zero images, with <c>pixel_attention_mask</c>.
/// </summary>
/// <remarks>
/// <c>Idefics2Processor.__call__</c> first runs <c>load_image</c> on each image (EXIF transpose + Pillow
/// <c>convert("RGB")</c>, which DROPS alpha). To match the full processor, pass images through
/// <see cref="ImageOps.ToRgbDropAlpha"/> (the decoder already applies EXIF orientation) before <see cref="Preprocess"/>.
/// </remarks>
public sealed class Idefics2ImageProcessor
{
    /// <summary>Creates a processor with <paramref name="config"/> (null = transformers' defaults).</summary>
    public Idefics2ImageProcessor(Idefics2ImageProcessorConfig? config = null)
    {
        Config = config ?? new Idefics2ImageProcessorConfig();
        Config.Validate("Idefics2ImageProcessorConfig");
    }

    /// <summary>The settings in use.</summary>
    public Idefics2ImageProcessorConfig Config { get; }

    /// <summary>Reads <c>preprocessor_config.json</c> from a model folder.</summary>
    /// <exception cref="FileNotFoundException">The folder has no preprocessor_config.json.</exception>
    /// <exception cref="InvalidDataException">A field has the wrong type or range.</exception>
    public static Idefics2ImageProcessor FromPretrained(string directory)
    {
        string path = Path.Combine(directory, "preprocessor_config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"no preprocessor_config.json in {directory}", path);
        return new Idefics2ImageProcessor(Idefics2ImageProcessorConfig.Load(path));
    }

    /// <summary>
    /// transformers' <c>get_resize_output_image_size</c>: with aspect = W / H, if W ≥ H and W > longest: W = longest,
    /// H = int(W / aspect); elif H > W and H > longest: H = longest, W = int(H * aspect); then both are raised to at
    /// least <paramref name="shortestEdge"/> (which does NOT keep the aspect ratio).
    /// </summary>
    public static (int Height, int Width) GetResizeOutputImageSize(int height, int width, int shortestEdge, int longestEdge)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size must be positive, got {height}x{width} (HxW)");
        double aspect = (double)width / height;
        if (width >= height && width > longestEdge)
        {
            width = longestEdge;
            height = (int)(width / aspect);
        }
        else if (height > width && height > longestEdge)
        {
            height = longestEdge;
            width = (int)(height * aspect);
        }
        return (Math.Max(height, shortestEdge), Math.Max(width, shortestEdge));
    }

    /// <summary>
    /// Preprocesses a batch: <paramref name="samples"/>[b] lists the images of sample b (may be empty; at least one
    /// image overall). <paramref name="doImageSplitting"/> overrides <c>do_image_splitting</c> for this call.
    /// </summary>
    /// <exception cref="ArgumentException">No image at all; a non-RGB image with do_convert_rgb off; an image too small to split;
    /// different sizes with do_pad off; or a batch too large for one buffer.</exception>
    public PixelBatch Preprocess(IReadOnlyList<IReadOnlyList<RasterImage>> samples, bool? doImageSplitting = null)
    {
        var prepared = PrepareImages(samples, doImageSplitting ?? Config.DoImageSplitting);
        return PixelBatchBuilder.Build(prepared, Config.DoPad, Config.DoRescale ? Config.RescaleFactor : null,
            Config.DoNormalize ? Config.ImageMean : null, Config.DoNormalize ? Config.ImageStd : null);
    }

    /// <summary>The uint8 RGB images right before rescale/normalize, per sample, in processing order (crops 0..3 then the full image).</summary>
    internal List<List<RasterImage>> PrepareImages(IReadOnlyList<IReadOnlyList<RasterImage>> samples, bool split)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0 || samples.All(s => s is null || s.Count == 0))
            throw new ArgumentException("Idefics2ImageProcessor needs at least one image");
        var result = new List<List<RasterImage>>(samples.Count);
        for (int b = 0; b < samples.Count; b++)
        {
            var sample = samples[b] ?? throw new ArgumentException($"sample {b} is null");
            var outImages = new List<RasterImage>();
            for (int i = 0; i < sample.Count; i++)
            {
                var image = sample[i] ?? throw new ArgumentException($"image {i} of sample {b} is null");
                RasterImage rgb;
                if (Config.DoConvertRgb) rgb = ImageOps.ToRgbOnWhite(image);
                else if (image.Mode == ImageMode.Rgb) rgb = image;
                else throw new ArgumentException($"image {i} of sample {b} ({image}) is {image.Mode}, not RGB, and do_convert_rgb is false");

                if (split)
                {
                    int w = rgb.Width, h = rgb.Height, midW = w / 2, midH = h / 2;
                    if (midW == 0 || midH == 0)
                        throw new ArgumentException($"image {i} of sample {b} ({image}) is too small to split into 4 crops");
                    outImages.Add(Resize(ImageOps.Crop(rgb, 0, 0, midW, midH)));
                    outImages.Add(Resize(ImageOps.Crop(rgb, midW, 0, w, midH)));
                    outImages.Add(Resize(ImageOps.Crop(rgb, 0, midH, midW, h)));
                    outImages.Add(Resize(ImageOps.Crop(rgb, midW, midH, w, h)));
                }
                outImages.Add(Resize(rgb));
            }
            result.Add(outImages);
        }
        return result;
    }

    private RasterImage Resize(RasterImage image)
    {
        if (!Config.DoResize) return image;
        var size = Config.Size;
        (int h, int w) = size.ShortestEdge is int shortest && size.LongestEdge is int longest
            ? GetResizeOutputImageSize(image.Height, image.Width, shortest, longest)
            : (size.Height!.Value, size.Width!.Value);
        return PillowResize.Resize(image, w, h, Config.Resample);
    }
}
