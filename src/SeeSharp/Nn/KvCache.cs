namespace SeeSharp.Nn;

/// <summary>
/// Key/value cache of a decoder: per layer and per batch row, K and V buffers [capacity, kvHeads, headDim] (fp32),
/// filled left to right. All rows share one <see cref="Length"/>; a batch of left-padded prompts keeps its pad slots
/// (the attention mask hides them). <see cref="Crop"/> drops everything after a prefix, so a conversation can reuse the
/// cache of the turns it has already paid for. Buffers grow on demand up to <see cref="MaxLength"/>.
/// </summary>
public sealed class KvCache
{
    private readonly float[][][] _keys;   // [layer][row] -> [capacity * kvHeads * headDim]
    private readonly float[][][] _values;
    private int _capacity;

    /// <summary>An empty cache. <paramref name="maxLength"/> bounds the tokens per row (prompt + generated).</summary>
    public KvCache(int layers, int batch, int kvHeads, int headDim, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if ((long)maxLength * kvHeads * headDim > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"a cache row of {maxLength} x {kvHeads} x {headDim} floats is too large");
        Layers = layers;
        Batch = batch;
        KvHeads = kvHeads;
        HeadDim = headDim;
        MaxLength = maxLength;
        _keys = new float[layers][][];
        _values = new float[layers][][];
        for (var l = 0; l < layers; l++)
        {
            _keys[l] = new float[batch][];
            _values[l] = new float[batch][];
            for (var b = 0; b < batch; b++) { _keys[l][b] = []; _values[l][b] = []; }
        }
    }

    /// <summary>Decoder layers.</summary>
    public int Layers { get; }
    /// <summary>Rows (sequences) in the batch.</summary>
    public int Batch { get; }
    /// <summary>Key/value heads per token.</summary>
    public int KvHeads { get; }
    /// <summary>Size of one head.</summary>
    public int HeadDim { get; }
    /// <summary>Most tokens a row can hold.</summary>
    public int MaxLength { get; }
    /// <summary>Tokens cached per row (committed by <see cref="Advance"/>).</summary>
    public int Length { get; private set; }

    private int TokenSize => KvHeads * HeadDim;

    /// <summary>Keeps the first <paramref name="length"/> tokens of every row and forgets the rest.</summary>
    public void Crop(int length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"can crop the cache only to 0..{Length} tokens");
        Length = length;
    }

    /// <summary>Forgets everything (the buffers are kept for reuse).</summary>
    public void Clear() => Length = 0;

    /// <summary>
    /// Stores the keys and values of <paramref name="count"/> new tokens of one row in one layer, at token slots
    /// [Length, Length + count). k, v: [count, KvHeads, HeadDim]. Becomes visible to <see cref="Length"/> only after
    /// <see cref="Advance"/> (called once per step, after every layer has been written).
    /// </summary>
    public void Write(int layer, int row, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int count)
    {
        CheckIndex(layer, row);
        var end = Length + count;
        if (count < 0 || end > MaxLength)
            throw new InvalidOperationException($"KV cache overflow: {Length} cached + {count} new tokens > MaxLength {MaxLength}");
        var size = count * TokenSize;
        if (k.Length < size || v.Length < size)
            throw new ArgumentException($"KV cache write of {count} tokens needs {size} floats, got k {k.Length} / v {v.Length}");
        EnsureCapacity(end);
        k[..size].CopyTo(_keys[layer][row].AsSpan(Length * TokenSize, size));
        v[..size].CopyTo(_values[layer][row].AsSpan(Length * TokenSize, size));
    }

    /// <summary>Keys of one row in one layer, tokens [0, tokens): [tokens, KvHeads, HeadDim].</summary>
    public ReadOnlySpan<float> Keys(int layer, int row, int tokens)
    {
        CheckIndex(layer, row);
        CheckTokens(tokens);
        return _keys[layer][row].AsSpan(0, tokens * TokenSize);
    }

    /// <summary>Values of one row in one layer, tokens [0, tokens): [tokens, KvHeads, HeadDim].</summary>
    public ReadOnlySpan<float> Values(int layer, int row, int tokens)
    {
        CheckIndex(layer, row);
        CheckTokens(tokens);
        return _values[layer][row].AsSpan(0, tokens * TokenSize);
    }

    /// <summary>Commits <paramref name="count"/> tokens written by <see cref="Write"/> in every layer and row.</summary>
    public void Advance(int count)
    {
        if (count < 0 || Length + count > MaxLength || Length + count > _capacity)
            throw new InvalidOperationException($"KV cache: cannot advance {Length} by {count} tokens (capacity {_capacity}, MaxLength {MaxLength})");
        Length += count;
    }

    private void CheckIndex(int layer, int row)
    {
        if ((uint)layer >= (uint)Layers) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"cache has {Layers} layers");
        if ((uint)row >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(row), row, $"cache has {Batch} rows");
    }

    private void CheckTokens(int tokens)
    {
        if (tokens < 0 || tokens > _capacity)
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"cache holds {_capacity} token slots");
    }

    private void EnsureCapacity(int tokens)
    {
        if (tokens <= _capacity) return;
        var capacity = Math.Min(MaxLength, Math.Max(tokens, Math.Max(16, _capacity * 2)));
        for (var l = 0; l < Layers; l++)
            for (var b = 0; b < Batch; b++)
            {
                Array.Resize(ref _keys[l][b], capacity * TokenSize);
                Array.Resize(ref _values[l][b], capacity * TokenSize);
            }
        _capacity = capacity;
    }
}
