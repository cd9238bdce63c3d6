namespace SeeSharp.Nn;

/// <summary>
/// Default (unscaled) rotary position embedding, rotate_half convention, as transformers v4.45.2
/// <c>MistralRotaryEmbedding</c> + <c>apply_rotary_pos_emb</c> compute it in fp32:
/// inv_freq[i] = 1 / theta^(2i/d) (fp32), angle = fp32(position · inv_freq[i]), cos/sin of the fp32 angle, and
/// out = x·cos + rotate_half(x)·sin with rotate_half(x) = [-x₂, x₁] (first half / second half, not interleaved).
/// https://github.com/huggingface/transformers/blob/v4.45.2/src/transformers/models/mistral/modeling_mistral.py (MistralRotaryEmbedding, rotate_half, apply_rotary_pos_emb)
/// </summary>
public sealed class RotaryEmbedding
{
    private readonly float[] _invFreq; // [headDim / 2]

    /// <summary>Rotary tables for heads of <paramref name="headDim"/> (even) and base <paramref name="theta"/>.</summary>
    public RotaryEmbedding(int headDim, double theta)
    {
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "rotary head_dim must be even and > 0");
        if (!(theta > 0)) throw new ArgumentOutOfRangeException(nameof(theta), theta, "rope_theta must be > 0");
        HeadDim = headDim;
        _invFreq = new float[headDim / 2];
        for (var i = 0; i < _invFreq.Length; i++)
        {
            // torch: arange(0, d, 2, int64).float() / d   (fp32 division), base ** that (fp32 result), 1.0 / that (fp32)
            var exponent = (float)(2 * i) / headDim;
            var power = (float)Math.Pow(theta, exponent);
            _invFreq[i] = 1f / power;
        }
    }

    /// <summary>
    /// Rotary tables over precomputed fp32 inverse frequencies [headDim / 2] (the scaled rope variants: transformers'
    /// ROPE_INIT_FUNCTIONS change only inv_freq when their attention factor is 1).
    /// </summary>
    public RotaryEmbedding(float[] inverseFrequencies)
    {
        ArgumentNullException.ThrowIfNull(inverseFrequencies);
        if (inverseFrequencies.Length == 0) throw new ArgumentException("rotary: no inverse frequencies", nameof(inverseFrequencies));
        HeadDim = inverseFrequencies.Length * 2;
        _invFreq = (float[])inverseFrequencies.Clone();
    }

    /// <summary>Size of one head.</summary>
    public int HeadDim { get; }

    /// <summary>The fp32 inverse frequencies [HeadDim / 2].</summary>
    public ReadOnlySpan<float> InverseFrequencies => _invFreq;

    /// <summary>
    /// Rotates x[tokens, heads, HeadDim] in place; token t is at position <paramref name="positions"/>[t].
    /// </summary>
    public void Apply(Span<float> x, int tokens, int heads, ReadOnlySpan<long> positions)
    {
        var d = HeadDim;
        var half = d / 2;
        if (positions.Length < tokens || x.Length < (long)tokens * heads * d)
            throw new ArgumentException($"Rotary: x has {x.Length} elements and {positions.Length} positions, need [{tokens}, {heads}, {d}]");
        Span<float> cos = half <= 512 ? stackalloc float[half] : new float[half];
        Span<float> sin = half <= 512 ? stackalloc float[half] : new float[half];
        for (var t = 0; t < tokens; t++)
        {
            var pos = (float)positions[t]; // torch: position_ids.float()
            for (var i = 0; i < half; i++)
            {
                var angle = pos * _invFreq[i]; // fp32 product, as the [d/2,1]@[1,L] matmul
                cos[i] = MathF.Cos(angle);
                sin[i] = MathF.Sin(angle);
            }
            for (var h = 0; h < heads; h++)
            {
                var row = x.Slice((t * heads + h) * d, d);
                for (var i = 0; i < half; i++)
                {
                    var x1 = row[i];
                    var x2 = row[i + half];
                    // q*cos + rotate_half(q)*sin, each product rounded to fp32 before the sum (no FMA), as torch.
                    var p1 = x1 * cos[i];
                    var r1 = -x2 * sin[i];
                    var p2 = x2 * cos[i];
                    var r2 = x1 * sin[i];
                    row[i] = p1 + r1;
                    row[i + half] = p2 + r2;
                }
            }
        }
    }
}
