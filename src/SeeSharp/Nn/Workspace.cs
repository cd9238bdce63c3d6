namespace SeeSharp.Nn;

/// <summary>
/// Named fp32 scratch buffers reused across the layers of one forward call, so a 32-layer pass allocates each
/// activation buffer once instead of once per layer. Buffers are NOT cleared between uses: every consumer fully
/// overwrites what it asks for. Two buffers that are alive at the same time must have different keys. Not thread-safe:
/// make one per call (calls on different threads then never share buffers).
/// </summary>
public sealed class Workspace
{
    private readonly Dictionary<string, float[]> _buffers = new(StringComparer.Ordinal);

    /// <summary>A buffer of exactly <paramref name="length"/> floats under <paramref name="key"/> (grown when needed).</summary>
    public Span<float> Get(string key, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!_buffers.TryGetValue(key, out var buffer) || buffer.Length < length)
        {
            buffer = new float[length];
            _buffers[key] = buffer;
        }
        return buffer.AsSpan(0, length);
    }
}
