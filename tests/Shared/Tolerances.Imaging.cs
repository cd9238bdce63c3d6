namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>
    /// Resized uint8 pixels vs Pillow 9.4 (bilinear fixtures, lanczos via idefics3 pixel values): bit-exact, max |diff| 0.
    /// </summary>
    public const int ResizeUint8MaxAbsDiff = 0;

    /// <summary>
    /// pixel_values vs transformers' float32 numpy arithmetic: bit-exact (0 ULP) — the same IEEE float32 operations in the
    /// same order on bit-identical uint8 input.
    /// </summary>
    public const float PixelValuesMaxAbsDiff = 0f;

    /// <summary>
    /// Float64 channel sums of pixel_values: exact. With mean = std = 0.5 every value is a multiple of 2^-31 of magnitude
    /// at most 1, so a sum of fewer than 2^21 values needs at most 52 bits and is exact in any summation order.
    /// </summary>
    public const double ChannelSumMaxAbsDiff = 0.0;
}
