using SeeSharp.Imaging;
using SeeSharp.Processing;

namespace SeeSharp.Models.Idefics3;

/// <summary>
/// Output of <see cref="Idefics3ImageProcessor.Preprocess"/>: the padded pixel batch plus, per sample and input image,
/// the tile grid (<c>rows</c> x <c>cols</c>; both 0 when the image was not split), which the processor's prompt
/// expansion needs.
/// </summary>
public sealed record Idefics3ImageBatch(PixelBatch Pixels, IReadOnlyList<IReadOnlyList<int>> Rows, IReadOnlyList<IReadOnlyList<int>> Cols);

/// <summary>
/// Port of transformers v4.46 <c>Idefics3ImageProcessor.preprocess</c> (src/transformers/models/idefics3/
/// image_processing_idefics3.py): resize so the longest edge is <c>size.longest_edge</c> (odd sides bumped to even);
/// with splitting, resize both sides UP to multiples of <c>max_image_size.longest_edge</c> (M), cut into rows x cols
/// tiles of M and append the image resized to M x M; without splitting, resize to M x M. All resizes are Pillow
/// (LANCZOS by default). Then convert_to_rgb (composite onto white), rescale, normalize, pad as Idefics2.
/// </summary>
/// <remarks>
/// RGB and RGBA inputs follow the reference order exactly (RGBA is resized premultiplied and composited at the end).
/// L / LA inputs are converted to RGB first; transformers instead resizes them as a 1-channel "P" image (i.e. with
/// NEAREST), a quirk not reproduced. <c>Idefics3Processor.__call__</c> converts every image to RGB first (<c>load_image</c>),
/// so the full processor path is exact: pass images through <see cref="ImageOps.ToRgbDropAlpha"/> to match it.
/// </remarks>
public sealed class Idefics3ImageProcessor
{
    /// <summary>Creates a processor with <paramref name="config"/> (null = transformers' defaults).</summary>
    public Idefics3ImageProcessor(Idefics3ImageProcessorConfig? config = null)
    {
        Config = config ?? new Idefics3ImageProcessorConfig();
        Config.Validate("Idefics3ImageProcessorConfig");
    }

    /// <summary>The settings in use.</summary>
    public Idefics3ImageProcessorConfig Config { get; }

    /// <summary>Reads <c>preprocessor_config.json</c> from a model folder.</summary>
    /// <exception cref="FileNotFoundException">The folder has no preprocessor_config.json.</exception>
    /// <exception cref="InvalidDataException">A field has the wrong type or range.</exception>
    public static Idefics3ImageProcessor FromPretrained(string directory)
    {
        string path = Path.Combine(directory, "preprocessor_config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"no preprocessor_config.json in {directory}", path);
        return new Idefics3ImageProcessor(Idefics3ImageProcessorConfig.Load(path));
    }

    /// <summary>
    /// <c>_resize_output_size_rescale_to_max_len</c> then <c>_resize_output_size_scale_below_upper_bound</c>: the longest
    /// edge becomes <paramref name="longestEdge"/> (up or down), the other keeps the aspect ratio (truncated, then bumped
    /// to even), both at least 1; then both are scaled below <see cref="Idefics3ImageProcessorConfig.MaxResolution"/>.
    /// </summary>
    public static (int Height, int Width) GetResizeOutputImageSize(int height, int width, int longestEdge)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size must be positive, got {height}x{width} (HxW)");
        if (longestEdge > Idefics3ImageProcessorConfig.MaxResolution)
            throw new ArgumentException($"longest_edge {longestEdge} cannot be larger than {Idefics3ImageProcessorConfig.MaxResolution}");
        double aspect = (double)width / height;
        if (width >= height)
        {
            width = longestEdge;
            height = (int)(width / aspect);
            if (height % 2 != 0) height++;
        }
        else
        {
            height = longestEdge;
            width = (int)(height * aspect);
            if (width % 2 != 0) width++;
        }
        height = Math.Max(height, 1);
        width = Math.Max(width, 1);

        const int upper = Idefics3ImageProcessorConfig.MaxResolution;
        aspect = (double)width / height;
        if (width >= height && width > upper)
        {
            width = upper;
            height = (int)(width / aspect);
        }
        else if (height > width && height > upper)
        {
            height = upper;
            width = (int)(height * aspect);
        }
        return (Math.Max(height, 1), Math.Max(width, 1));
    }

    /// <summary>
    /// <c>resize_for_vision_encoder</c>: the longer side rounded UP to a multiple of <paramref name="tile"/>, the other
    /// side = int(longer / aspect) rounded up to a multiple of <paramref name="tile"/>.
    /// </summary>
    public static (int Height, int Width) GetVisionEncoderSize(int height, int width, int tile)
    {
        double aspect = (double)width / height;
        if (width >= height)
        {
            width = CeilMultiple(width, tile);
            height = CeilMultiple((int)(width / aspect), tile);
        }
        else
        {
            height = CeilMultiple(height, tile);
            width = CeilMultiple((int)(height * aspect), tile);
        }
        return (height, width);
    }

    private static int CeilMultiple(int value, int tile) => (int)Math.Ceiling((double)value / tile) * tile;

    /// <summary>
    /// Preprocesses a batch: <paramref name="samples"/>[b] lists the images of sample b (may be empty; at least one
    /// image overall). <paramref name="doImageSplitting"/> overrides <c>do_image_splitting</c> for this call.
    /// </summary>
    /// <exception cref="ArgumentException">No image at all; a non-RGB image with do_convert_rgb off; a size that rounds
    /// to 0; different sizes with do_pad off; or a batch too large for one buffer.</exception>
    public Idefics3ImageBatch Preprocess(IReadOnlyList<IReadOnlyList<RasterImage>> samples, bool? doImageSplitting = null)
    {
        var (prepared, rows, cols) = PrepareImages(samples, doImageSplitting ?? Config.DoImageSplitting);
        var pixels = PixelBatchBuilder.Build(prepared, Config.DoPad, Config.DoRescale ? Config.RescaleFactor : null,
            Config.DoNormalize ? Config.ImageMean : null, Config.DoNormalize ? Config.ImageStd : null);
        return new Idefics3ImageBatch(pixels, rows, cols);
    }

    /// <summary>The uint8 RGB images right before rescale/normalize, per sample, in processing order, with rows/cols per input image.</summary>
    internal (List<List<RasterImage>> Images, List<IReadOnlyList<int>> Rows, List<IReadOnlyList<int>> Cols) PrepareImages(
        IReadOnlyList<IReadOnlyList<RasterImage>> samples, bool split)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0 || samples.All(s => s is null || s.Count == 0))
            throw new ArgumentException("Idefics3ImageProcessor needs at least one image");
        int tile = Config.MaxImageSize.LongestEdge!.Value;
        var images = new List<List<RasterImage>>();
        var rowsAll = new List<IReadOnlyList<int>>();
        var colsAll = new List<IReadOnlyList<int>>();
        for (int b = 0; b < samples.Count; b++)
        {
            var sample = samples[b] ?? throw new ArgumentException($"sample {b} is null");
            var outImages = new List<RasterImage>();
            var rows = new List<int>();
            var cols = new List<int>();
            for (int i = 0; i < sample.Count; i++)
            {
                var image = sample[i] ?? throw new ArgumentException($"image {i} of sample {b} is null");
                string where = $"image {i} of sample {b} ({image})";
                if (image.Mode is ImageMode.L or ImageMode.LA)
                {
                    if (!Config.DoConvertRgb) throw new ArgumentException($"{where} is {image.Mode}, not RGB, and do_convert_rgb is false");
                    image = ImageOps.ToRgbOnWhite(image);
                }
                if (Config.DoResize)
                {
                    var (h, w) = Config.Size.LongestEdge is int longest
                        ? GetResizeOutputImageSize(image.Height, image.Width, longest)
                        : (Config.Size.Height!.Value, Config.Size.Width!.Value);
                    image = Resize(image, h, w, where);
                }

                var frames = new List<RasterImage>();
                if (split)
                {
                    var (vh, vw) = GetVisionEncoderSize(image.Height, image.Width, tile);
                    image = Resize(image, vh, vw, where);
                    int height = image.Height, width = image.Width;
                    if (height > tile || width > tile)
                    {
                        int splitsH = (height + tile - 1) / tile, splitsW = (width + tile - 1) / tile;
                        int optimalH = (height + splitsH - 1) / splitsH, optimalW = (width + splitsW - 1) / splitsW;
                        for (int r = 0; r < splitsH; r++)
                            for (int c = 0; c < splitsW; c++)
                            {
                                int x0 = c * optimalW, y0 = r * optimalH;
                                frames.Add(ImageOps.Crop(image, x0, y0, Math.Min(x0 + optimalW, width), Math.Min(y0 + optimalH, height)));
                            }
                        frames.Add(Resize(image, tile, tile, where)); // global image
                        rows.Add(splitsH);
                        cols.Add(splitsW);
                    }
                    else
                    {
                        frames.Add(image);
                        rows.Add(0);
                        cols.Add(0);
                    }
                }
                else
                {
                    frames.Add(Resize(image, tile, tile, where)); // squared to max_image_size
                    rows.Add(0);
                    cols.Add(0);
                }

                foreach (var frame in frames)
                {
                    if (frame.Mode == ImageMode.Rgb) outImages.Add(frame);
                    else if (Config.DoConvertRgb) outImages.Add(ImageOps.ToRgbOnWhite(frame));
                    else throw new ArgumentException($"{where} is {frame.Mode}, not RGB, and do_convert_rgb is false");
                }
            }
            images.Add(outImages);
            rowsAll.Add(rows);
            colsAll.Add(cols);
        }
        return (images, rowsAll, colsAll);
    }

    private RasterImage Resize(RasterImage image, int height, int width, string where)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"{where}: the resize target {height}x{width} (HxW) is empty (extreme aspect ratio)");
        return PillowResize.Resize(image, width, height, Config.Resample);
    }
}
