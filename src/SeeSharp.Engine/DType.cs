namespace SeeSharp.Engine;

/// <summary>Element types of tensors. Names follow safetensors' dtype strings.</summary>
public enum DType
{
    Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64,
    // Room for quantized block types (a block of values + its scale(s)); their layouts live in Quant/.
}

/// <summary>Sizes and safetensors names of <see cref="DType"/>.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType t) => t switch
    {
        DType.Bool or DType.U8 or DType.I8 => 1,
        DType.I16 or DType.F16 or DType.BF16 => 2,
        DType.I32 or DType.F32 => 4,
        DType.I64 or DType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown DType"),
    };

    /// <summary>The dtype of a safetensors dtype string ("F32", "BF16", "BOOL", ...).</summary>
    /// <exception cref="FormatException">The name is not a dtype this engine supports; the message names it.</exception>
    public static DType FromSafetensors(string name) => TryFromSafetensors(name, out var t)
        ? t
        : throw new FormatException($"unknown or unsupported safetensors dtype \"{name}\" (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64)");

    /// <summary>Non-throwing form of <see cref="FromSafetensors"/>.</summary>
    public static bool TryFromSafetensors(string? name, out DType t)
    {
        switch (name)
        {
            case "BOOL": t = DType.Bool; return true;
            case "U8": t = DType.U8; return true;
            case "I8": t = DType.I8; return true;
            case "I16": t = DType.I16; return true;
            case "I32": t = DType.I32; return true;
            case "I64": t = DType.I64; return true;
            case "F16": t = DType.F16; return true;
            case "BF16": t = DType.BF16; return true;
            case "F32": t = DType.F32; return true;
            case "F64": t = DType.F64; return true;
            default: t = default; return false;
        }
    }

    /// <summary>The safetensors dtype string of <paramref name="t"/>.</summary>
    public static string ToSafetensors(DType t) => t switch
    {
        DType.Bool => "BOOL",
        DType.U8 => "U8",
        DType.I8 => "I8",
        DType.I16 => "I16",
        DType.I32 => "I32",
        DType.I64 => "I64",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        DType.F32 => "F32",
        DType.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown DType"),
    };

    /// <summary>True for F16, BF16, F32, F64.</summary>
    public static bool IsFloat(DType t) => t is DType.F16 or DType.BF16 or DType.F32 or DType.F64;

    /// <summary>bf16 bits to fp32 (exact: bf16 is the top half of an fp32).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float BF16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>fp32 to bf16 bits, round to nearest even (NaN stays NaN), as torch's <c>.to(torch.bfloat16)</c>.</summary>
    public static ushort SingleToBF16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((u >> 16) | 0x40);
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    /// <summary>IEEE half bits to fp32 (exact).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float F16ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>fp32 to IEEE half bits, round to nearest even.</summary>
    public static ushort SingleToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);
}
