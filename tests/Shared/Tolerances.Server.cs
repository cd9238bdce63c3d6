namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>
    /// Server load test: after a full GC the managed heap may exceed its pre-load baseline by at most this many bytes
    /// (pooled Kestrel buffers and JIT'd code legitimately stay; leaked requests, images or answers would not fit).
    /// </summary>
    public const long ServerHeapGrowthBytes = 24L << 20;
}
