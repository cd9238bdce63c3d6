namespace SeeSharp.Engine;

/// <summary>Element types of tensors. Names follow safetensors' dtype strings.</summary>
public enum DType
{
    Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64,
    // Room for quantized block types (a block of values + its scale(s)); their layouts live in Quant/.
}
