using System.Numerics;

namespace SeeSharp.Generation;

/// <summary>Chooses the next token from processed scores: greedy argmax, or a draw from their softmax.</summary>
public sealed class Sampler
{
    private readonly bool _sample;
    private ulong _s0, _s1, _s2, _s3; // xoshiro256** state

    /// <summary>A sampler for the given settings; with <see cref="GenerationSettings.Seed"/> the draws repeat exactly.</summary>
    public Sampler(GenerationSettings settings)
    {
        _sample = settings.DoSample;
        ulong seed = settings.Seed ?? (ulong)Random.Shared.NextInt64();
        _s0 = SplitMix(ref seed); _s1 = SplitMix(ref seed); _s2 = SplitMix(ref seed); _s3 = SplitMix(ref seed);
    }

    /// <summary>The next token for one row of processed scores.</summary>
    public int Next(ReadOnlySpan<float> scores)
    {
        if (!_sample) return LogitsProcessors.ArgMax(scores);
        var probs = LogitsProcessors.Softmax(scores);
        double u = NextDouble();
        double cumulative = 0;
        int lastPositive = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] <= 0f) continue;
            lastPositive = i;
            cumulative += probs[i];
            if (u < cumulative) return i;
        }
        return lastPositive; // rounding left u above the total mass
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
