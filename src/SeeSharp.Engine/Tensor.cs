using System.Runtime.InteropServices;

namespace SeeSharp.Engine;

/// <summary>
/// A typed, row-major, contiguous view of a <see cref="Storage"/>: dtype + byte offset + shape.
/// Tensors over a memory-mapped file are zero-copy views of the file.
/// </summary>
public sealed unsafe class Tensor
{
    private readonly long[] _shape;

    /// <summary>A view of <paramref name="storage"/> at <paramref name="byteOffset"/>; checks that it fits.</summary>
    public Tensor(Storage storage, long byteOffset, DType dtype, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(shape);
        long count = CheckedElementCount(shape);
        long bytes = checked(count * DTypes.SizeOf(dtype));
        if (byteOffset < 0 || bytes > storage.Length - byteOffset)
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"tensor {dtype}[{string.Join(", ", shape)}] ({bytes} bytes) at offset {byteOffset} does not fit in a storage of {storage.Length} bytes");
        Storage = storage;
        ByteOffset = byteOffset;
        DType = dtype;
        _shape = (long[])shape.Clone();
        ElementCount = count;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Dimensions, outermost first. Do not modify the returned array.</summary>
    public long[] Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Product of <see cref="Shape"/> (1 for a scalar of rank 0).</summary>
    public long ElementCount { get; }

    /// <summary>Size in bytes of the data.</summary>
    public long ByteLength => ElementCount * DTypes.SizeOf(DType);

    /// <summary>The storage this tensor views.</summary>
    public Storage Storage { get; }

    /// <summary>Offset of the first element in <see cref="Storage"/>.</summary>
    public long ByteOffset { get; }

    /// <summary>Address of the first element. Keep the tensor alive while using it.</summary>
    public byte* Pointer => Storage.Pointer + ByteOffset;

    /// <summary>A zeroed tensor in 64-byte aligned memory.</summary>
    public static Tensor Allocate(DType t, params long[] shape)
    {
        long count = CheckedElementCount(shape);
        return new Tensor(new NativeStorage(checked(count * DTypes.SizeOf(t))), 0, t, shape);
    }

    /// <summary>
    /// A tensor holding a copy of <paramref name="data"/>; the dtype follows <typeparamref name="T"/>
    /// (float F32, double F64, Half F16, long I64, int I32, short I16, sbyte I8, byte U8, bool BOOL).
    /// ushort is not accepted (ambiguous between F16 and BF16): use <see cref="FromArray{T}(DType, T[], long[])"/>.
    /// </summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged
    {
        DType t = default(T) switch
        {
            float => DType.F32,
            double => DType.F64,
            Half => DType.F16,
            long => DType.I64,
            int => DType.I32,
            short => DType.I16,
            sbyte => DType.I8,
            byte => DType.U8,
            bool => DType.Bool,
            _ => throw new ArgumentException($"FromArray: no DType for element type {typeof(T).Name}; use FromArray(DType, data, shape)"),
        };
        return FromArray(t, data, shape);
    }

    /// <summary>A tensor of dtype <paramref name="t"/> holding a copy of the raw elements of <paramref name="data"/>
    /// (e.g. ushort bits as <see cref="DType.BF16"/>).</summary>
    public static Tensor FromArray<T>(DType t, T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        if (sizeof(T) != DTypes.SizeOf(t))
            throw new ArgumentException($"FromArray: {typeof(T).Name} is {sizeof(T)} bytes, {t} is {DTypes.SizeOf(t)}");
        long count = CheckedElementCount(shape);
        if (count != data.Length)
            throw new ArgumentException($"FromArray: shape [{string.Join(", ", shape)}] holds {count} elements, data has {data.Length}");
        var tensor = Allocate(t, shape);
        data.AsSpan().CopyTo(tensor.AsSpan<T>());
        return tensor;
    }

    /// <summary>A view of the elements as <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">sizeof(T) differs from the dtype's size, or more than int.MaxValue elements.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (sizeof(T) != DTypes.SizeOf(DType))
            throw new InvalidOperationException($"AsSpan<{typeof(T).Name}>: element size {sizeof(T)} does not match tensor dtype {DType} ({DTypes.SizeOf(DType)} bytes)");
        if (ElementCount > int.MaxValue)
            throw new InvalidOperationException($"AsSpan: tensor [{string.Join(", ", _shape)}] has {ElementCount} elements, more than a span can hold");
        return Storage.Span<T>(ByteOffset, (int)ElementCount);
    }

    /// <summary>A read-only view of the elements as <typeparamref name="T"/> (same checks as <see cref="AsSpan{T}"/>).</summary>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged => AsSpan<T>();

    /// <summary>The sub-tensor at <paramref name="index"/> along the first dimension, as a view (no copy):
    /// shape [d0, d1, ...] gives [d1, ...].</summary>
    public Tensor Select(long index)
    {
        if (Rank == 0) throw new InvalidOperationException($"Select: {this} is a scalar");
        if ((ulong)index >= (ulong)_shape[0])
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Select: index {index} outside dimension 0 of {this}");
        long[] sub = _shape[1..];
        long subBytes = CheckedElementCount(sub) * DTypes.SizeOf(DType);
        return new Tensor(Storage, ByteOffset + index * subBytes, DType, sub);
    }

    /// <summary>The raw bytes of the elements (any dtype).</summary>
    public Span<byte> AsBytes()
    {
        if (ByteLength > int.MaxValue)
            throw new InvalidOperationException($"AsBytes: tensor [{string.Join(", ", _shape)}] has {ByteLength} bytes, more than a span can hold");
        return Storage.Span<byte>(ByteOffset, (int)ByteLength);
    }

    /// <summary>The same bytes with another shape of the same element count (no copy).</summary>
    public Tensor Reshape(params long[] shape)
    {
        long count = CheckedElementCount(shape);
        if (count != ElementCount)
            throw new ArgumentException($"Reshape: [{string.Join(", ", _shape)}] ({ElementCount} elements) cannot become [{string.Join(", ", shape)}] ({count})");
        return new Tensor(Storage, ByteOffset, DType, shape);
    }

    /// <summary>The elements converted to fp32 (floats, integers and bools).</summary>
    public float[] ToFloatArray()
    {
        if (ElementCount > Array.MaxLength) throw new InvalidOperationException($"ToFloatArray: {ElementCount} elements is too many for an array");
        var result = new float[ElementCount];
        byte* p = Pointer;
        int n = result.Length;
        switch (DType)
        {
            case DType.F32: new ReadOnlySpan<float>(p, n).CopyTo(result); break;
            case DType.F64: for (int i = 0; i < n; i++) result[i] = (float)((double*)p)[i]; break;
            case DType.F16: for (int i = 0; i < n; i++) result[i] = DTypes.F16ToSingle(((ushort*)p)[i]); break;
            case DType.BF16: for (int i = 0; i < n; i++) result[i] = DTypes.BF16ToSingle(((ushort*)p)[i]); break;
            case DType.Bool: for (int i = 0; i < n; i++) result[i] = p[i] != 0 ? 1f : 0f; break;
            case DType.U8: for (int i = 0; i < n; i++) result[i] = p[i]; break;
            case DType.I8: for (int i = 0; i < n; i++) result[i] = ((sbyte*)p)[i]; break;
            case DType.I16: for (int i = 0; i < n; i++) result[i] = ((short*)p)[i]; break;
            case DType.I32: for (int i = 0; i < n; i++) result[i] = ((int*)p)[i]; break;
            case DType.I64: for (int i = 0; i < n; i++) result[i] = ((long*)p)[i]; break;
            default: throw new InvalidOperationException($"ToFloatArray: unsupported dtype {DType}");
        }
        GC.KeepAlive(this);
        return result;
    }

    /// <summary>The elements converted to long (integer and bool dtypes only).</summary>
    /// <exception cref="InvalidOperationException">The dtype is a floating-point type.</exception>
    public long[] ToInt64Array()
    {
        if (ElementCount > Array.MaxLength) throw new InvalidOperationException($"ToInt64Array: {ElementCount} elements is too many for an array");
        var result = new long[ElementCount];
        byte* p = Pointer;
        int n = result.Length;
        switch (DType)
        {
            case DType.I64: new ReadOnlySpan<long>(p, n).CopyTo(result); break;
            case DType.Bool: for (int i = 0; i < n; i++) result[i] = p[i] != 0 ? 1 : 0; break;
            case DType.U8: for (int i = 0; i < n; i++) result[i] = p[i]; break;
            case DType.I8: for (int i = 0; i < n; i++) result[i] = ((sbyte*)p)[i]; break;
            case DType.I16: for (int i = 0; i < n; i++) result[i] = ((short*)p)[i]; break;
            case DType.I32: for (int i = 0; i < n; i++) result[i] = ((int*)p)[i]; break;
            default: throw new InvalidOperationException($"ToInt64Array: tensor dtype {DType} is not an integer or bool type");
        }
        GC.KeepAlive(this);
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor {DType}[{string.Join(", ", _shape)}]";

    /// <summary>Product of a shape; throws on negative dimensions or overflow.</summary>
    internal static long CheckedElementCount(long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension");
            try { count = checked(count * d); }
            catch (OverflowException) { throw new ArgumentException($"shape [{string.Join(", ", shape)}] overflows 64-bit element count"); }
        }
        return count;
    }
}
