using SeeSharp.Generation;
using SeeSharp.Testing;

namespace SeeSharp.Tests.Generation;

// Compares each processor with distributions computed by hand from transformers' definitions
// (generation/logits_process.py, v4.45.2). Tolerance: Tolerances.Generation.HandComputed.
public class LogitsProcessorTests
{
    private static readonly float NegInf = float.NegativeInfinity;

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce()
    {
        float[] s = [2f, -2f, 1f, 4f];
        LogitsProcessors.RepetitionPenalty(s, [0, 1, 1, 0], 2f);
        Assert.Equal([1f, -4f, 1f, 4f], s);
    }

    [Fact]
    public void TemperatureDividesScores()
    {
        float[] s = [1f, 2f, -3f];
        LogitsProcessors.Temperature(s, 0.5f);
        Assert.Equal([2f, 4f, -6f], s);
    }

    [Fact]
    public void TopKKeepsTiesAtTheCut()
    {
        float[] s = [1f, 3f, 2f, 3f, 0f];
        LogitsProcessors.TopK(s, 2);
        Assert.Equal([NegInf, 3f, NegInf, 3f, NegInf], s);
        float[] t = [1f, 3f, 2f, 2f];
        LogitsProcessors.TopK(t, 2);
        Assert.Equal([NegInf, 3f, 2f, 2f], t); // the 2nd largest is 2: both 2s stay
    }

    [Fact]
    public void TopPRemovesTheLeastLikelyMassUpToOneMinusP()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05 (logits = log p). top_p 0.75: ascending cumsum 0.05, 0.20, 0.50, 1.0;
        // removed where cumsum <= 0.25 -> the 0.05 and 0.15 tokens.
        float[] p = [0.5f, 0.3f, 0.15f, 0.05f];
        var s = p.Select(x => MathF.Log(x)).ToArray();
        LogitsProcessors.TopP(s, 0.75f);
        Assert.Equal(MathF.Log(0.5f), s[0], Tolerances.Generation.HandComputed);
        Assert.Equal(MathF.Log(0.3f), s[1], Tolerances.Generation.HandComputed);
        Assert.Equal(NegInf, s[2]);
        Assert.Equal(NegInf, s[3]);
    }

    [Fact]
    public void TopPAlwaysKeepsTheBestToken()
    {
        float[] s = [10f, 0f, 0f];
        LogitsProcessors.TopP(s, 0.01f);
        Assert.Equal([10f, NegInf, NegInf], s);
    }

    [Fact]
    public void MinPScalesTheThresholdByTheTopProbability()
    {
        // p = 0.5, 0.3, 0.15, 0.05; min_p 0.35 -> threshold 0.175: keep 0.5 and 0.3.
        float[] p = [0.5f, 0.3f, 0.15f, 0.05f];
        var s = p.Select(x => MathF.Log(x)).ToArray();
        LogitsProcessors.MinP(s, 0.35f);
        Assert.True(float.IsFinite(s[0]) && float.IsFinite(s[1]));
        Assert.Equal(NegInf, s[2]);
        Assert.Equal(NegInf, s[3]);
    }

    [Fact]
    public void BadWordsBanSingleTokensAndCompletedPrefixes()
    {
        var s = new float[6];
        LogitsProcessors.BanBadWords(s, [1, 2, 3], [[4], [3, 5], [2, 1]], eos: [0]);
        Assert.Equal([0f, 0f, 0f, 0f, NegInf, NegInf], s);
    }

    [Fact]
    public void BadWordsEqualToEosAreIgnored()
    {
        var s = new float[3];
        LogitsProcessors.BanBadWords(s, [], [[2]], eos: [2]);
        Assert.Equal([0f, 0f, 0f], s);
    }

    [Fact]
    public void MinNewTokensBansEosUntilReached()
    {
        var settings = new GenerationSettings { MinNewTokens = 2, EosTokenIds = [1], MaxNewTokens = 5 };
        var s = new float[3];
        LogitsProcessors.Apply(settings, s, [], newTokens: 1);
        Assert.Equal(NegInf, s[1]);
        var t = new float[3];
        LogitsProcessors.Apply(settings, t, [], newTokens: 2);
        Assert.Equal(0f, t[1]);
    }

    [Fact]
    public void SamplingFollowsTheDistribution()
    {
        // 20000 draws from p = (0.6, 0.3, 0.1): each frequency within 4 standard deviations (a property of any fair draw).
        var settings = new GenerationSettings { DoSample = true, Seed = 7, MaxNewTokens = 1 };
        var sampler = new Sampler(settings);
        float[] s = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var counts = new int[3];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[sampler.Next(s)]++;
        double[] p = [0.6, 0.3, 0.1];
        for (int i = 0; i < 3; i++)
            Assert.InRange(counts[i] / (double)n, p[i] - 4 * Math.Sqrt(p[i] * (1 - p[i]) / n), p[i] + 4 * Math.Sqrt(p[i] * (1 - p[i]) / n));
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var settings = new GenerationSettings { DoSample = true, Seed = 42, MaxNewTokens = 1 };
        float[] s = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f];
        var a = new Sampler(settings); var b = new Sampler(settings);
        var da = Enumerable.Range(0, 100).Select(_ => a.Next(s)).ToArray();
        var db = Enumerable.Range(0, 100).Select(_ => b.Next(s)).ToArray();
        Assert.Equal(da, db);
        Assert.True(da.Distinct().Count() > 1);
    }

    [Fact]
    public void ResolveTakesOptionsOverConfigOverDefaults()
    {
        var config = new GenerationConfig { EosTokenId = [2, 450], BadWordsIds = [[448], [449]], TopK = 50 };
        var s = config.Resolve(new GenerationOptions { MaxNewTokens = 7, TopK = 3 }, promptLength: 10);
        Assert.Equal(7, s.MaxNewTokens);
        Assert.Equal(3, s.TopK);
        Assert.Equal([2, 450], s.EosTokenIds);
        Assert.Equal(2, s.PadTokenId); // transformers: pad defaults to the first eos
        Assert.Equal(10, config.Resolve(null, promptLength: 10).MaxNewTokens); // max_length 20 - 10
        Assert.Equal(1, config.Resolve(null, promptLength: 30).MaxNewTokens); // transformers still generates one token
        Assert.Throws<ArgumentException>(() => config.Resolve(new GenerationOptions { DoSample = true, Temperature = 0 }, 1));
    }
}
