namespace SeeSharp.Testing;

internal static partial class Tolerances
{
    /// <summary>
    /// Server load tests: after a full GC the managed heap may exceed its post-warm-up baseline by at most this many
    /// bytes. Pools legitimately keep some of what a load allocated (ArrayPool's per-thread buckets hold ~2 MiB arrays
    /// rented by JsonDocument for 1.5 MiB image requests; Kestrel's pinned blocks); measured growth was 2-30 MiB.
    /// A leak of the measured round's request bodies alone (48 x ~1.5 MiB = 72 MiB) would not fit.
    /// </summary>
    public const long ServerHeapGrowthBytes = 48L << 20;
}
