using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeeSharp.Engine.Quant;

/// <summary>AVX2 panel kernels (vpmaddubsw + vpmaddwd on 32 bytes); the path taken with DOTNET_EnableAVX512F=0.
/// Same results as <see cref="ScalarQuantKernels"/> up to the order of fp32 additions.</summary>
internal static unsafe class Avx2QuantKernels
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot(Vector256<byte> ax, Vector256<sbyte> sg, sbyte* w, Vector256<short> ones)
    {
        var wv = Vector256.Load(w);
        var sw = (wv ^ sg) - sg;
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ax, sw), ones);
    }

    public static void I8Row(sbyte* w, in ActRow a, int chunks, float* out4)
    {
        var ones = Vector256.Create((short)1);
        for (int r = 0; r < 4; r++)
        {
            Vector256<float> f = default;
            for (int k = 0; k < chunks; k += 2)
            {
                Vector256<int> i = default;
                for (int h = 0; h < 4; h++)                          // 4 x 32 columns = one 128-block
                {
                    int c = k * 64 + h * 32;
                    sbyte* wr = w + ((k + h / 2) * 4 + r) * 64 + (h & 1) * 32;
                    i += Dot(Vector256.Load(a.Abs + c), Vector256.Load(a.Sign + c), wr, ones);
                }
                f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i), Vector256.Create(a.D[k >> 1]), f);
            }
            out4[r] = Vector256.Sum(f);
        }
    }

    public static void I8B32(sbyte* w, float* sc, in ActRow a, int chunks, float* out4)
    {
        var ones = Vector256.Create((short)1);
        for (int r = 0; r < 4; r++)
        {
            Vector256<float> f = default;
            for (int ch = 0; ch < chunks; ch++)
            {
                for (int h = 0; h < 2; h++)
                {
                    int c = ch * 64 + h * 32;
                    var i = Dot(Vector256.Load(a.Abs + c), Vector256.Load(a.Sign + c), w + (ch * 4 + r) * 64 + h * 32, ones);
                    f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i), Vector256.Create(sc[(ch * 4 + r) * 2 + h] * a.D[ch * 2 + h]), f);
                }
            }
            out4[r] = Vector256.Sum(f);
        }
    }

    public static void I4(byte* w, float* sc, in ActRow a, int chunks, int groupSize, float* out4)
    {
        var ones = Vector256.Create((short)1);
        var low = Vector256.Create((byte)0x0F);
        int groups = chunks * 128 / groupSize;
        for (int r = 0; r < 4; r++)
        {
            Vector256<float> f = default;
            for (int ch = 0; ch < chunks; ch++)
            {
                byte* wr = w + (ch * 4 + r) * 64;
                for (int h = 0; h < 2; h++)
                {
                    var v = Vector256.Load(wr + h * 32);
                    // low nibbles: 32-block h of the chunk; high nibbles: block h + 2
                    Block(v & low, ch, h, a, sc, groupSize, r, ones, ref f);
                    Block(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low, ch, h + 2, a, sc, groupSize, r, ones, ref f);
                }
            }
            float off = 0;
            for (int g = 0; g < groups; g++) off += sc[g * 4 + r] * a.GroupOffset[g];
            out4[r] = Vector256.Sum(f) - off;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(Vector256<byte> u, int ch, int j, in ActRow a, float* sc, int groupSize, int r, Vector256<short> ones, ref Vector256<float> f)
    {
        int c = ch * 128 + j * 32;
        var i = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, Vector256.Load(a.Q + c)), ones);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i), Vector256.Create(sc[c / groupSize * 4 + r] * a.D[ch * 4 + j]), f);
    }
}
