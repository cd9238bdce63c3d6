namespace SeeSharp.Engine.Quant;

/// <summary>
/// Portable panel kernels (no intrinsics; the path taken with DOTNET_EnableHWIntrinsic=0). Each computes, for the
/// 4 rows of one panel and one quantized activation row, the dot products before the per-row scale (Int8PerRow) or
/// with the block scales applied (blocked schemes). Pointers: <c>w</c> = the panel's first weight byte,
/// <c>sc</c> = the panel's first scale.
/// </summary>
internal static unsafe class ScalarQuantKernels
{
    // out4[r] = Σ_{128-blocks k} D[k] · Σ_{c in k} qx[c]·qw[r, c]
    public static void I8Row(sbyte* w, in ActRow a, int chunks, float* out4)
    {
        for (int r = 0; r < 4; r++)
        {
            float acc = 0;
            for (int k = 0; k < chunks; k += 2)
            {
                int s = 0;
                for (int ch = k; ch < k + 2; ch++)
                {
                    sbyte* wr = w + (ch * 4 + r) * 64;
                    sbyte* xq = a.Q + ch * 64;
                    for (int i = 0; i < 64; i++) s += xq[i] * wr[i];
                }
                acc += a.D[k / 2] * s;
            }
            out4[r] = acc;
        }
    }

    // out4[r] = Σ_{32-blocks b} dw[r, b]·D[b] · Σ_{c in b} qx[c]·qw[r, c]
    public static void I8B32(sbyte* w, float* sc, in ActRow a, int chunks, float* out4)
    {
        for (int r = 0; r < 4; r++)
        {
            float acc = 0;
            for (int ch = 0; ch < chunks; ch++)
            {
                for (int h = 0; h < 2; h++)
                {
                    sbyte* wr = w + (ch * 4 + r) * 64 + h * 32;
                    sbyte* xq = a.Q + ch * 64 + h * 32;
                    int s = 0;
                    for (int i = 0; i < 32; i++) s += xq[i] * wr[i];
                    acc += sc[(ch * 4 + r) * 2 + h] * a.D[ch * 2 + h] * s;
                }
            }
            out4[r] = acc;
        }
    }

    // out4[r] = Σ_{32-blocks j} dw[r, g(j)]·D[j] · Σ_{c in j} qx[c]·u[r, c]  −  Σ_g dw[r, g]·GroupOffset[g],  u = q + 8
    public static void I4(byte* w, float* sc, in ActRow a, int chunks, int groupSize, float* out4)
    {
        int groups = chunks * 128 / groupSize;
        for (int r = 0; r < 4; r++)
        {
            float acc = 0;
            for (int ch = 0; ch < chunks; ch++)
            {
                byte* wr = w + (ch * 4 + r) * 64;
                for (int j = 0; j < 4; j++)
                {
                    int s = 0;
                    for (int i = 0; i < 32; i++)
                    {
                        int u = j < 2 ? wr[j * 32 + i] & 0x0F : wr[(j - 2) * 32 + i] >> 4;
                        s += u * a.Q[ch * 128 + j * 32 + i];
                    }
                    int g = (ch * 128 + j * 32) / groupSize;
                    acc += sc[g * 4 + r] * a.D[ch * 4 + j] * s;
                }
            }
            float off = 0;
            for (int g = 0; g < groups; g++) off += sc[g * 4 + r] * a.GroupOffset[g];
            out4[r] = acc - off;
        }
    }
}
