namespace SeeSharp.Engine.Kernels;

/// <summary>Argument checks shared by <see cref="Ops"/> and <see cref="Reference"/>; messages name the op and the sizes.</summary>
internal static class Checks
{
    public static void Linear(int xLen, int m, in WeightMatrix w, int biasLen, int yLen)
    {
        if (w.Tensor is null) throw new ArgumentException("Linear: default(WeightMatrix) has no tensor");
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "Linear: m must be >= 0");
        if ((long)m * w.Cols != xLen)
            throw new ArgumentException($"Linear: x has {xLen} elements, expected m {m} x cols {w.Cols} = {(long)m * w.Cols}");
        if ((long)m * w.Rows > yLen)
            throw new ArgumentException($"Linear: y has {yLen} elements, expected m {m} x rows {w.Rows} = {(long)m * w.Rows}");
        if (biasLen != 0 && biasLen != w.Rows)
            throw new ArgumentException($"Linear: bias has {biasLen} elements, expected 0 or rows {w.Rows}");
    }

    public static int Norm(string op, int xLen, int yLen, int dim, int gammaLen, int betaLen)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"{op}: dim must be > 0");
        if (xLen % dim != 0) throw new ArgumentException($"{op}: x has {xLen} elements, not a multiple of dim {dim}");
        if (yLen < xLen) throw new ArgumentException($"{op}: y has {yLen} elements, x has {xLen}");
        if (gammaLen != 0 && gammaLen != dim) throw new ArgumentException($"{op}: gamma has {gammaLen} elements, expected 0 or dim {dim}");
        if (betaLen != 0 && betaLen != dim) throw new ArgumentException($"{op}: beta has {betaLen} elements, expected 0 or dim {dim}");
        return xLen / dim;
    }

    public static void Unary(string op, int xLen, int yLen)
    {
        if (yLen < xLen) throw new ArgumentException($"{op}: y has {yLen} elements, x has {xLen}");
    }

    public static void Binary(string op, int aLen, int bLen, int yLen)
    {
        if (aLen != bLen) throw new ArgumentException($"{op}: inputs have {aLen} and {bLen} elements");
        if (yLen < aLen) throw new ArgumentException($"{op}: y has {yLen} elements, inputs have {aLen}");
    }

    public static void Rope(int xLen, int tokens, int heads, int headDim, int positionsLen)
    {
        if (tokens < 0 || heads < 0 || headDim < 0) throw new ArgumentException($"Rope: negative size tokens {tokens}, heads {heads}, headDim {headDim}");
        if (headDim % 2 != 0) throw new ArgumentException($"Rope: headDim {headDim} must be even");
        if ((long)tokens * heads * headDim != xLen)
            throw new ArgumentException($"Rope: x has {xLen} elements, expected tokens {tokens} x heads {heads} x headDim {headDim}");
        if (positionsLen != tokens) throw new ArgumentException($"Rope: {positionsLen} positions for {tokens} tokens");
    }

    public static void Attention(int qLen_, int kLen_, int vLen_, int oLen_, int qLen, int kvLen, int nHeads, int nKvHeads, int headDim, int maskLen)
    {
        if (qLen < 0 || kvLen < 0 || nHeads <= 0 || nKvHeads <= 0 || headDim <= 0)
            throw new ArgumentException($"Attention: bad sizes qLen {qLen}, kvLen {kvLen}, nHeads {nHeads}, nKvHeads {nKvHeads}, headDim {headDim}");
        if (nHeads % nKvHeads != 0) throw new ArgumentException($"Attention: nHeads {nHeads} is not a multiple of nKvHeads {nKvHeads}");
        if ((long)qLen * nHeads * headDim != qLen_) throw new ArgumentException($"Attention: q has {qLen_} elements, expected [{qLen}, {nHeads}, {headDim}]");
        if ((long)kvLen * nKvHeads * headDim != kLen_) throw new ArgumentException($"Attention: k has {kLen_} elements, expected [{kvLen}, {nKvHeads}, {headDim}]");
        if ((long)kvLen * nKvHeads * headDim != vLen_) throw new ArgumentException($"Attention: v has {vLen_} elements, expected [{kvLen}, {nKvHeads}, {headDim}]");
        if ((long)qLen * nHeads * headDim > oLen_) throw new ArgumentException($"Attention: o has {oLen_} elements, expected [{qLen}, {nHeads}, {headDim}]");
        if (maskLen != 0 && (long)qLen * kvLen != maskLen) throw new ArgumentException($"Attention: mask has {maskLen} elements, expected 0 or [{qLen}, {kvLen}]");
        if (kvLen == 0 && qLen > 0) throw new ArgumentException("Attention: kvLen is 0 (softmax over nothing)");
    }

    public static void Embedding(in WeightMatrix table, ReadOnlySpan<long> ids, int yLen)
    {
        if (table.Tensor is null) throw new ArgumentException("Embedding: default(WeightMatrix) has no tensor");
        if ((long)ids.Length * table.Cols > yLen)
            throw new ArgumentException($"Embedding: y has {yLen} elements, expected {ids.Length} ids x {table.Cols}");
        for (int i = 0; i < ids.Length; i++)
            if ((ulong)ids[i] >= (ulong)table.Rows)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Embedding: ids[{i}] = {ids[i]} outside the table of {table.Rows} rows");
    }
}
