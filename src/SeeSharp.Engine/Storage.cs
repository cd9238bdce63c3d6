using System.Runtime.CompilerServices;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace SeeSharp.Engine;

/// <summary>
/// Bytes a <see cref="Tensor"/> views: aligned memory owned by the process, or a memory-mapped file region.
/// Tensors never copy mapped weights; they keep their storage alive by reference.
/// </summary>
public abstract unsafe class Storage : IDisposable
{
    /// <summary>Address of the first byte. Valid while the storage is alive and not disposed.</summary>
    public abstract byte* Pointer { get; }

    /// <summary>Length in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>True once <see cref="Dispose()"/> ran; the pointer is then invalid.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>A span over <paramref name="count"/> elements at <paramref name="byteOffset"/> (bounds checked).</summary>
    internal virtual Span<T> Span<T>(long byteOffset, int count) where T : unmanaged
    {
        ThrowIfDisposed();
        if (byteOffset < 0 || (long)count * sizeof(T) > Length - byteOffset)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"span [{byteOffset}, +{(long)count * sizeof(T)}) outside storage of {Length} bytes");
        return new Span<T>(Pointer + byteOffset, count);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> after disposal.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the memory or the mapping.</summary>
    protected abstract void Dispose(bool disposing);
}

/// <summary>
/// Zeroed, 64-byte aligned memory owned by the process.
/// Sizes up to ~2 GiB live in a pinned array on the pinned object heap, so that a span handed out by
/// <see cref="Tensor.AsSpan{T}"/> keeps the memory alive by itself (no use-after-free if the tensor object dies
/// first); larger sizes use <see cref="NativeMemory.AlignedAlloc"/> and are freed by Dispose or the finalizer.
/// </summary>
public sealed unsafe class NativeStorage : Storage
{
    /// <summary>Alignment of <see cref="Pointer"/> in bytes.</summary>
    public const int Alignment = 64;
    private const long PinnedLimit = 0x7FFF_FF00L - Alignment;

    private readonly byte[]? _array;   // pinned; null for the native path
    private readonly int _arrayOffset;
    private byte* _pointer;
    private readonly long _length;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes.</summary>
    public NativeStorage(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        if (length <= PinnedLimit)
        {
            _array = GC.AllocateArray<byte>((int)length + Alignment, pinned: true);
            byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
            _arrayOffset = (int)(((nuint)Alignment - ((nuint)p % Alignment)) % Alignment);
            _pointer = p + _arrayOffset;
        }
        else
        {
            _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, Alignment);
            NativeMemory.Clear(_pointer, (nuint)length);
            GC.AddMemoryPressure(length);
        }
    }

    /// <inheritdoc/>
    public override byte* Pointer { get { ThrowIfDisposed(); return _pointer; } }

    /// <inheritdoc/>
    public override long Length => _length;

    internal override Span<T> Span<T>(long byteOffset, int count)
    {
        if (_array is null) return base.Span<T>(byteOffset, count);
        ThrowIfDisposed();
        if (byteOffset < 0 || (long)count * sizeof(T) > _length - byteOffset)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"span [{byteOffset}, +{(long)count * sizeof(T)}) outside storage of {_length} bytes");
        // A span built on a reference into the array keeps the array alive (GC-tracked interior pointer).
        ref byte start = ref _array[_arrayOffset + (int)byteOffset];
        return MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref start), count);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_array is null && _pointer != null)
        {
            NativeMemory.AlignedFree(_pointer);
            GC.RemoveMemoryPressure(_length);
        }
        _pointer = null;
    }

    /// <summary>Frees native memory the owner forgot to dispose.</summary>
    ~NativeStorage() => Dispose(false);
}

/// <summary>
/// A whole file mapped into memory, copy-on-write: the file is never modified, and an accidental write through a
/// span changes only this process's private page instead of crashing it.
/// </summary>
public sealed unsafe class MappedStorage : Storage
{
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private readonly long _length;

    /// <summary>Maps <paramref name="path"/>. An empty file gives an empty storage.</summary>
    public MappedStorage(string path)
    {
        Path = path;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        _length = stream.Length;
        if (_length == 0) return;   // mmap of 0 bytes is an error; nothing to map
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: false);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _pointer = p + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    /// <summary>The mapped file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public override byte* Pointer { get { ThrowIfDisposed(); return _pointer; } }

    /// <inheritdoc/>
    public override long Length => _length;

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;   // the SafeHandles of the view and the file release themselves
        if (_view is not null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _file?.Dispose();
        _pointer = null;
    }
}
