using System.Runtime.CompilerServices;

namespace SeeSharp.Engine.Quant;

/// <summary>The scalar rounding rules shared by weight and activation quantization (ggml's reference quantizers:
/// round half away from zero).</summary>
internal static class QuantMath
{
    /// <summary>absmax / 127 of v[start..start+len).</summary>
    public static float Int8Scale(ReadOnlySpan<float> v, int start, int len)
    {
        float amax = 0;
        for (int i = start; i < start + len; i++) amax = MathF.Max(amax, MathF.Abs(v[i]));
        return amax / 127f;
    }

    /// <summary>The value of largest magnitude (with its sign) / -8, so that it maps to -8 (ggml Q4_0).</summary>
    public static float Int4Scale(ReadOnlySpan<float> v, int start, int len)
    {
        float amax = 0, max = 0;
        for (int i = start; i < start + len; i++)
        {
            float a = MathF.Abs(v[i]);
            if (a > amax) { amax = a; max = v[i]; }
        }
        return max / -8f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte RoundInt8(float v) => (sbyte)Math.Clamp((int)MathF.Round(v, MidpointRounding.AwayFromZero), -127, 127);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundInt4(float v) => Math.Clamp((int)MathF.Round(v, MidpointRounding.AwayFromZero), -8, 7);
}
