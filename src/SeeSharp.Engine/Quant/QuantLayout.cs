namespace SeeSharp.Engine.Quant;

/// <summary>
/// Where each quantized value and scale lives (the layout test pins these formulas).
/// <para>Rows are grouped in panels of <see cref="PanelRows"/> = 4 (rows padded with zero rows to a multiple of 4).
/// Columns are padded with zeros to a multiple of <see cref="ColumnPad"/>, and cut into chunks of
/// <see cref="ChunkCols"/> columns that occupy <see cref="ChunkBytes"/> = 64 bytes per row. The weight stream is
/// <c>qweight[panel][chunk][rowInPanel][64 bytes]</c>: a GEMV over a range of panels reads one sequential stream
/// (PERF.md: one stream per thread reached the read bandwidth; row-major int8 rows did not).</para>
/// <list type="bullet">
/// <item>Int8PerRow: chunk = 64 columns, one sbyte each; <c>scales[rowPadded]</c>; columns padded to 128
/// (the activation block).</item>
/// <item>Int8Block32: chunk = 64 columns = 2 blocks of 32; <c>scales[panel][chunk][rowInPanel][2]</c>; columns padded to 64.</item>
/// <item>Int4Group: chunk = 128 columns in 64 bytes: byte i holds column i in its low nibble and column 64 + i in its
/// high nibble, each as q + 8 in [0, 15]; <c>scales[panel][group][rowInPanel]</c>; columns padded to 128.</item>
/// </list>
/// </summary>
public static class QuantLayout
{
    /// <summary>Rows per panel.</summary>
    public const int PanelRows = 4;
    /// <summary>Bytes of one row in one chunk.</summary>
    public const int ChunkBytes = 64;
    /// <summary>Activation block of <see cref="QuantScheme.Int8PerRow"/>.</summary>
    public const int RowActivationBlock = 128;
    /// <summary>Activation block of the blocked schemes (ggml's QK8_0).</summary>
    public const int BlockActivationBlock = 32;

    /// <summary>Columns per chunk.</summary>
    public static int ChunkCols(QuantScheme s) => s == QuantScheme.Int4Group ? 128 : 64;

    /// <summary>Columns are padded to a multiple of this.</summary>
    public static int ColumnPad(QuantScheme s) => s == QuantScheme.Int8Block32 ? 64 : 128;

    /// <summary>Activation quantization block size.</summary>
    public static int ActivationBlock(QuantScheme s) => s == QuantScheme.Int8PerRow ? RowActivationBlock : BlockActivationBlock;

    /// <summary>Byte offset in qweight of row <paramref name="r"/>, column <paramref name="c"/> (for Int4Group, the
    /// byte whose low nibble (c % 128 &lt; 64) or high nibble holds the value).</summary>
    public static long WeightByteOffset(QuantScheme s, int colsPadded, int r, int c)
    {
        int chunkCols = ChunkCols(s);
        long chunks = colsPadded / chunkCols;
        int panel = r / PanelRows, rin = r % PanelRows, chunk = c / chunkCols, cin = c % chunkCols;
        if (s == QuantScheme.Int4Group) cin %= 64;
        return ((panel * chunks + chunk) * PanelRows + rin) * ChunkBytes + cin;
    }

    /// <summary>Index in scales of the scale that applies to row <paramref name="r"/>, column <paramref name="c"/>.</summary>
    public static long ScaleIndex(QuantScheme s, int groupSize, int colsPadded, int r, int c)
    {
        int panel = r / PanelRows, rin = r % PanelRows;
        switch (s)
        {
            case QuantScheme.Int8PerRow:
                return r;
            case QuantScheme.Int8Block32:
            {
                long chunks = colsPadded / 64;
                return ((panel * chunks + c / 64) * PanelRows + rin) * 2 + (c % 64) / 32;
            }
            default:
            {
                long groups = colsPadded / groupSize;
                return (panel * groups + c / groupSize) * PanelRows + rin;
            }
        }
    }

    /// <summary>Rounds <paramref name="n"/> up to a multiple of <paramref name="m"/>.</summary>
    internal static int RoundUp(int n, int m) => checked((n + m - 1) / m * m);
}
