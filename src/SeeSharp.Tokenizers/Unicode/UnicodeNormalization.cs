using System.Text;

namespace SeeSharp.Tokenizers.Unicode;

/// <summary>
/// Unicode normalization (NFC, NFD, NFKC, NFKD) from our own tables (UnicodeNormalizationData.g.cs), so results do
/// not depend on ICU or on InvariantGlobalization: full decomposition, canonical ordering, then canonical composition
/// (UAX #15), with Hangul syllables handled algorithmically.
/// </summary>
internal static partial class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    // Built on first use, after the generated arrays of the other partial file are initialized.
    private static class Tables
    {
        public static readonly Dictionary<int, byte> Ccc = BuildCcc();
        public static readonly Dictionary<int, (int Start, int NfdLen, int NfkdLen)> Decomp = BuildDecomp();
        public static readonly Dictionary<long, int> Compose = BuildPairs();
        public static readonly HashSet<int> Seconds = BuildSeconds();
        // starters (ccc 0) whose NFD or NFKD begins with a non-starter, e.g. U+0F81 -> U+0F71 U+0F80
        public static readonly HashSet<int> NonStarterDecomp = BuildNonStarterDecomp();
        public static readonly Lazy<bool[]> StableC = new(() => BuildStable(NormalizationForm.FormC));
        public static readonly Lazy<bool[]> StableD = new(() => BuildStable(NormalizationForm.FormD));
        public static readonly Lazy<bool[]> StableKC = new(() => BuildStable(NormalizationForm.FormKC));
        public static readonly Lazy<bool[]> StableKD = new(() => BuildStable(NormalizationForm.FormKD));
    }

    private static HashSet<int> BuildNonStarterDecomp()
    {
        var h = new HashSet<int>();
        foreach (var (cp, d) in Tables.Decomp)
            if ((d.NfdLen > 0 && CombiningClass(s_decomp[d.Start]) != 0) || (d.NfkdLen > 0 && CombiningClass(s_decomp[d.Start + d.NfdLen]) != 0))
                h.Add(cp);
        return h;
    }

    private static HashSet<int> BuildSeconds()
    {
        var h = new HashSet<int>();
        for (int i = 1; i < s_pairs.Length; i += 3) h.Add(s_pairs[i]);
        return h;
    }

    private static Dictionary<int, byte> BuildCcc()
    {
        var d = new Dictionary<int, byte>(s_ccc.Length / 2);
        for (int i = 0; i < s_ccc.Length; i += 2) d[s_ccc[i]] = (byte)s_ccc[i + 1];
        return d;
    }

    private static Dictionary<int, (int, int, int)> BuildDecomp()
    {
        var d = new Dictionary<int, (int, int, int)>();
        for (int i = 0; i < s_decomp.Length;)
        {
            int cp = s_decomp[i], a = s_decomp[i + 1], b = s_decomp[i + 2];
            d[cp] = (i + 3, a, b);
            i += 3 + a + b;
        }
        return d;
    }

    private static Dictionary<long, int> BuildPairs()
    {
        var d = new Dictionary<long, int>(s_pairs.Length / 3);
        for (int i = 0; i < s_pairs.Length; i += 3) d[((long)s_pairs[i] << 21) | (uint)s_pairs[i + 1]] = s_pairs[i + 2];
        return d;
    }

    public static int CombiningClass(int cp) => Tables.Ccc.TryGetValue(cp, out var c) ? c : 0;

    /// <summary>
    /// True when <paramref name="cp"/> may change together with the scalar before it: a non-starter, or the second
    /// scalar of a canonical composition (incl. Hangul medial vowels and final consonants). Text can be normalized
    /// piece by piece between scalars for which this is false.
    /// </summary>
    public static bool IsContinuation(int cp) =>
        CombiningClass(cp) != 0 || cp is >= VBase and < VBase + VCount or > TBase and < TBase + TCount || Tables.Seconds.Contains(cp)
        || Tables.NonStarterDecomp.Contains(cp);

    /// <summary>Quick check: a BMP char that every normalization form leaves alone when its neighbours are also stable.</summary>
    public static bool IsStable(char c, NormalizationForm form) => form switch
    {
        NormalizationForm.FormC => Tables.StableC.Value[c],
        NormalizationForm.FormD => Tables.StableD.Value[c],
        NormalizationForm.FormKC => Tables.StableKC.Value[c],
        _ => Tables.StableKD.Value[c],
    };

    private static bool[] BuildStable(NormalizationForm form)
    {
        bool compat = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        var composites = new HashSet<int>();
        for (int i = 2; i < s_pairs.Length; i += 3) composites.Add(s_pairs[i]);
        var t = new bool[0x10000];
        for (int c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue; // surrogates: always the slow path
            if (IsContinuation(c)) continue;
            if (c is >= SBase and < SBase + SCount) { t[c] = compose; continue; }
            if (Tables.Decomp.TryGetValue(c, out var d))
            {
                bool canon = d.NfdLen != 1 || s_decomp[d.Start] != c;
                bool compatDiffers = d.NfkdLen != d.NfdLen || !s_decomp.AsSpan(d.Start, d.NfdLen).SequenceEqual(s_decomp.AsSpan(d.Start + d.NfdLen, d.NfkdLen));
                if (compat && compatDiffers) continue;
                if (canon && !(compose && composites.Contains(c))) continue;
            }
            t[c] = true;
        }
        return t;
    }

    public static string Normalize(string s, NormalizationForm form)
    {
        bool compat = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        // quick check: pure ASCII is invariant under every form
        bool ascii = true;
        foreach (var c in s) if (c >= 0x80) { ascii = false; break; }
        if (ascii) return s;

        var cps = new List<int>(s.Length);
        for (int i = 0; i < s.Length;)
        {
            int cp = NormalizedString.ScalarAt(s, i);
            i += NormalizedString.ScalarLen(s, i);
            Decompose(cp, compat, cps);
        }
        // canonical ordering: stable sort of each run of non-starters by combining class
        for (int i = 0; i < cps.Count; i++)
        {
            if (CombiningClass(cps[i]) == 0) continue;
            int j = i;
            while (j < cps.Count && CombiningClass(cps[j]) != 0) j++;
            if (j - i > 1)
            {
                var run = cps.GetRange(i, j - i).Select((c, k) => (c, k)).OrderBy(x => CombiningClass(x.c)).ThenBy(x => x.k).Select(x => x.c).ToList();
                for (int k = 0; k < run.Count; k++) cps[i + k] = run[k];
            }
            i = j;
        }
        if (compose) cps = Compose(cps);
        var sb = new StringBuilder(cps.Count);
        foreach (var cp in cps)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    private static void Decompose(int cp, bool compat, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int si = cp - SBase;
            into.Add(LBase + si / NCount);
            into.Add(VBase + si % NCount / TCount);
            if (si % TCount != 0) into.Add(TBase + si % TCount);
            return;
        }
        if (Tables.Decomp.TryGetValue(cp, out var d))
        {
            int start = compat ? d.Start + d.NfdLen : d.Start;
            int len = compat ? d.NfkdLen : d.NfdLen;
            for (int k = 0; k < len; k++) into.Add(s_decomp[start + k]);
            return;
        }
        into.Add(cp);
    }

    private static int ComposePair(int a, int b)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
            return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
            return a + (b - TBase);
        return Tables.Compose.TryGetValue(((long)a << 21) | (uint)b, out var c) ? c : -1;
    }

    private static List<int> Compose(List<int> cps)
    {
        var result = new List<int>(cps.Count);
        int starter = -1, lastCcc = -1; // lastCcc: class of the last char kept after the starter (-1: none)
        foreach (var c in cps)
        {
            int cc = CombiningClass(c);
            if (starter >= 0 && (lastCcc == -1 || (lastCcc != 0 && lastCcc < cc)))
            {
                int comp = ComposePair(result[starter], c);
                if (comp >= 0) { result[starter] = comp; continue; }
            }
            if (cc == 0) { starter = result.Count; lastCcc = -1; }
            else lastCcc = cc;
            result.Add(c);
        }
        return result;
    }
}
