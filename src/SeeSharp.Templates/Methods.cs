using System.Globalization;
using System.Text;

namespace SeeSharp.Templates;

/// <summary>Methods of str, list, tuple and dict with Python semantics, under the ImmutableSandboxedEnvironment rules.</summary>
internal static class Methods
{
    private static readonly HashSet<string> StrMethods =
    [
        "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "ljust",
        "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        "zfill",
    ];
    private static readonly HashSet<string> ListMethods = ["append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"];
    private static readonly HashSet<string> TupleMethods = ["count", "index"];
    private static readonly HashSet<string> DictMethods = ["clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"];

    // jinja2.sandbox._mutable_spec: what ImmutableSandboxedEnvironment refuses to call.
    private static readonly HashSet<string> UnsafeList = ["append", "extend", "sort", "pop", "insert", "remove", "clear", "reverse"];
    private static readonly HashSet<string> UnsafeDict = ["clear", "pop", "popitem", "setdefault", "update"];

    public static bool IsMethod(object? obj, string name) => obj switch
    {
        string => StrMethods.Contains(name),
        List<object?> => ListMethods.Contains(name),
        PyTuple => TupleMethods.Contains(name),
        OrderedDictionary<string, object?> => DictMethods.Contains(name),
        _ => false,
    };

    public static object Bind(object? obj, string name)
    {
        bool unsafeCall = obj switch
        {
            List<object?> => UnsafeList.Contains(name),
            OrderedDictionary<string, object?> => UnsafeDict.Contains(name),
            _ => false,
        };
        if (unsafeCall)
            return new Undefined(name, obj, $"access to attribute {PyOps.Repr(name)} of {PyOps.Repr(PyOps.TypeName(obj))} object is unsafe.", hasObj: true, errorType: "SecurityError");
        return new BoundMethod(obj, name);
    }

    private static object? Arg(List<object?> args, List<KeyValuePair<string, object?>> kwargs, int i, string name, object? dflt)
    {
        if (i < args.Count) return args[i];
        foreach (var kv in kwargs) if (kv.Key == name) return kv.Value;
        return dflt;
    }

    private static string StrArg(object? v, string method)
    {
        if (v is string s) return s;
        if (v is Undefined u) throw u.Fail();
        throw PyOps.TypeError($"must be str, not {PyOps.TypeName(v)}");
    }

    public static object? Call(Interpreter it, object? target, string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        return target switch
        {
            string s => CallStr(it, s, name, args, kwargs),
            List<object?> l => CallList(it, l, name, args, kwargs),
            PyTuple t => CallSeq(it, t.Items, name, args),
            OrderedDictionary<string, object?> d => CallDict(it, d, name, args, kwargs),
            _ => throw PyOps.TypeError($"'{PyOps.TypeName(target)}' object has no method '{name}'"),
        };
    }

    // ---------------- str ----------------

    private static object? CallStr(Interpreter it, string s, string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        it.Charge(s.Length / 64);
        switch (name)
        {
            case "upper": return Upper(s);
            case "lower": return Lower(s);
            case "casefold": return Lower(s);
            case "capitalize": return Capitalize(s);
            case "title": return Title(s);
            case "swapcase": return PyOps.FromCodePoints(PyOps.CodePoints(s).Select(c => IsUpper(c) ? Rune.ToLowerInvariant(new Rune(c)).Value : IsLower(c) ? Rune.ToUpperInvariant(new Rune(c)).Value : c));
            case "strip": return Strip(s, Arg(args, kwargs, 0, "chars", null), true, true);
            case "lstrip": return Strip(s, Arg(args, kwargs, 0, "chars", null), true, false);
            case "rstrip": return Strip(s, Arg(args, kwargs, 0, "chars", null), false, true);
            case "split": return Split(it, s, Arg(args, kwargs, 0, "sep", null), (int)PyOps.AsLong(Arg(args, kwargs, 1, "maxsplit", -1L)));
            case "rsplit": return RSplit(it, s, Arg(args, kwargs, 0, "sep", null), (int)PyOps.AsLong(Arg(args, kwargs, 1, "maxsplit", -1L)));
            case "splitlines": return SplitLines(s, PyOps.Truthy(Arg(args, kwargs, 0, "keepends", false)));
            case "startswith":
            case "endswith":
            {
                var p = Arg(args, kwargs, 0, "prefix", null);
                string sub = s;
                if (args.Count > 1)
                {
                    var cps = PyOps.CodePoints(s);
                    long start = args[1] is null ? 0 : PyOps.AsLong(args[1]);
                    long end = args.Count > 2 && args[2] is not null ? PyOps.AsLong(args[2]) : cps.Length;
                    if (start < 0) start = Math.Max(0, start + cps.Length);
                    if (end < 0) end = Math.Max(0, end + cps.Length);
                    start = Math.Min(start, cps.Length);
                    end = Math.Min(end, cps.Length);
                    sub = start <= end ? PyOps.FromCodePoints(cps[(int)start..(int)end]) : "";
                    if (start > cps.Length) return false;
                }
                IEnumerable<object?> options = p is PyTuple t ? t.Items : [p];
                foreach (var o in options)
                {
                    if (o is not string os) throw PyOps.TypeError($"{name} first arg must be str or a tuple of str, not {PyOps.TypeName(o)}");
                    if (name == "startswith" ? sub.StartsWith(os, StringComparison.Ordinal) : sub.EndsWith(os, StringComparison.Ordinal)) return true;
                }
                return false;
            }
            case "replace":
            {
                string old = StrArg(Arg(args, kwargs, 0, "old", null), name), nw = StrArg(Arg(args, kwargs, 1, "new", null), name);
                long count = PyOps.AsLong(Arg(args, kwargs, 2, "count", -1L));
                return Replace(it, s, old, nw, count);
            }
            case "find": return (long)Find(s, StrArg(Arg(args, kwargs, 0, "sub", null), name), false);
            case "rfind": return (long)Find(s, StrArg(Arg(args, kwargs, 0, "sub", null), name), true);
            case "index":
            case "rindex":
            {
                int r = Find(s, StrArg(Arg(args, kwargs, 0, "sub", null), name), name == "rindex");
                if (r < 0) throw PyOps.ValueError("substring not found");
                return (long)r;
            }
            case "count":
            {
                string sub = StrArg(Arg(args, kwargs, 0, "sub", null), name);
                if (sub.Length == 0) return (long)PyOps.StrLen(s) + 1;
                long n = 0;
                for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
                return n;
            }
            case "join":
            {
                var items = PyOps.Iterate(Arg(args, kwargs, 0, "iterable", null));
                it.Charge(items.Count);
                var sb = new StringBuilder();
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(s);
                    if (items[i] is not string x) throw PyOps.TypeError($"sequence item {i}: expected str instance, {PyOps.TypeName(items[i])} found");
                    sb.Append(x);
                    it.CheckStringLength(sb.Length);
                }
                return sb.ToString();
            }
            case "format": return StrFormat.Format(it, s, args, kwargs);
            case "center":
            case "ljust":
            case "rjust":
            {
                long width = PyOps.AsLong(Arg(args, kwargs, 0, "width", 0L));
                string fill = args.Count > 1 ? StrArg(args[1], name) : " ";
                return Pad(it, s, width, fill, name);
            }
            case "zfill":
            {
                long width = PyOps.AsLong(Arg(args, kwargs, 0, "width", 0L));
                int len = PyOps.StrLen(s);
                if (width <= len) return s;
                it.CheckStringLength(width);
                int sign = s.Length > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
                return s[..sign] + new string('0', (int)(width - len)) + s[sign..];
            }
            case "partition":
            case "rpartition":
            {
                string sep = StrArg(Arg(args, kwargs, 0, "sep", null), name);
                if (sep.Length == 0) throw PyOps.ValueError("empty separator");
                int i = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                if (i < 0) return name == "partition" ? new PyTuple([s, "", ""]) : new PyTuple(["", "", s]);
                return new PyTuple([s[..i], sep, s[(i + sep.Length)..]]);
            }
            case "removeprefix":
            {
                string p = StrArg(Arg(args, kwargs, 0, "prefix", null), name);
                return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
            }
            case "removesuffix":
            {
                string p = StrArg(Arg(args, kwargs, 0, "suffix", null), name);
                return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s;
            }
            case "isdigit": return s.Length > 0 && PyOps.CodePoints(s).All(c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.DecimalDigitNumber || IsOtherDigit(c));
            case "isdecimal": return s.Length > 0 && PyOps.CodePoints(s).All(c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.DecimalDigitNumber);
            case "isnumeric": return s.Length > 0 && PyOps.CodePoints(s).All(c => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber);
            case "isalpha": return s.Length > 0 && PyOps.CodePoints(s).All(IsAlpha);
            case "isalnum": return s.Length > 0 && PyOps.CodePoints(s).All(c => IsAlpha(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber);
            case "isspace": return s.Length > 0 && s.All(c => PyOps.IsPySpace(c));
            case "isascii": return s.All(c => c < 128);
            case "islower": { var cps = PyOps.CodePoints(s); return cps.Any(IsLower) && !cps.Any(c => IsUpper(c) || IsTitle(c)); }
            case "isupper": { var cps = PyOps.CodePoints(s); return cps.Any(IsUpper) && !cps.Any(c => IsLower(c) || IsTitle(c)); }
            case "istitle": return s.Length > 0 && Title(s) == s && PyOps.CodePoints(s).Any(IsCased);
            default: throw PyOps.TypeError($"str.{name} is not supported");
        }
    }

    private static bool IsOtherDigit(int c) => c is >= 0x2070 and <= 0x2079 or 0xB2 or 0xB3 or 0xB9 or >= 0x2080 and <= 0x2089 or >= 0x2460 and <= 0x2468;
    private static bool IsAlpha(int c) => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;
    private static bool IsUpper(int c) => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.UppercaseLetter;
    private static bool IsLower(int c) => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.LowercaseLetter;
    private static bool IsTitle(int c) => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;
    private static bool IsCased(int c) => IsUpper(c) || IsLower(c) || IsTitle(c);

    private static int ToUpperCp(int c) => c >= 0xD800 && c <= 0xDFFF ? c : Rune.ToUpperInvariant(new Rune(c)).Value;
    // Title case differs from upper case only for a few digraphs (U+01C4..U+01F3); .NET has no title-case API.
    private static int ToTitleCp(int c) => c switch
    {
        0x1C4 or 0x1C5 or 0x1C6 => 0x1C5,
        0x1C7 or 0x1C8 or 0x1C9 => 0x1C8,
        0x1CA or 0x1CB or 0x1CC => 0x1CB,
        0x1F1 or 0x1F2 or 0x1F3 => 0x1F2,
        _ => ToUpperCp(c),
    };

    private static int ToLowerCp(int c) => c >= 0xD800 && c <= 0xDFFF ? c : Rune.ToLowerInvariant(new Rune(c)).Value;

    public static string Upper(string s) => MapCase(s, SpecialCasing.Upper, ToUpperCp);
    public static string Lower(string s) => s.Contains('\u03A3') ? LowerWithFinalSigma(s) : MapCase(s, SpecialCasing.Lower, ToLowerCp);

    /// <summary>Python's lower() maps a capital sigma that ends a word (cased letter before, none after) to 'ς'.</summary>
    private static string LowerWithFinalSigma(string s)
    {
        var cps = PyOps.CodePoints(s);
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < cps.Length; i++) AppendLower(sb, cps, i);
        return sb.ToString();
    }

    /// <summary>Lower-cases code point <paramref name="i"/> of <paramref name="cps"/>, with Final_Sigma context.</summary>
    private static void AppendLower(StringBuilder sb, int[] cps, int i)
    {
        if (cps[i] != 0x3A3)
        {
            AppendCase(sb, cps[i], SpecialCasing.Lower, ToLowerCp);
            return;
        }
        int b = i - 1;
        while (b >= 0 && IsCaseIgnorable(cps[b])) b--;
        int a = i + 1;
        while (a < cps.Length && IsCaseIgnorable(cps[a])) a++;
        bool final = b >= 0 && IsCased(cps[b]) && !(a < cps.Length && IsCased(cps[a]));
        sb.Append(final ? '\u03C2' : '\u03C3');
    }

    private static bool IsCaseIgnorable(int c) =>
        c is '\'' or '.' or ':' or 0xB7 or 0x2019 ||
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;

    private static string MapCase(string s, Dictionary<int, string> special, Func<int, int> simple)
    {
        bool plain = !PyOps.HasSurrogates(s);
        if (plain)
        {
            foreach (char c in s) if (c >= 0x80 && special.ContainsKey(c)) { plain = false; break; }
            if (plain) return ReferenceEquals(special, SpecialCasing.Upper) ? s.ToUpperInvariant() : s.ToLowerInvariant();
        }
        var sb = new StringBuilder(s.Length);
        foreach (int c in PyOps.CodePoints(s)) AppendCase(sb, c, special, simple);
        return sb.ToString();
    }

    private static void AppendCase(StringBuilder sb, int c, Dictionary<int, string> special, Func<int, int> simple)
    {
        if (special.TryGetValue(c, out var m)) sb.Append(m);
        else PyOps.AppendCodePoint(sb, simple(c));
    }

    /// <summary>Python's str.capitalize: first character upper (title) case, the rest lower case.</summary>
    public static string Capitalize(string s)
    {
        var cps = PyOps.CodePoints(s);
        if (cps.Length == 0) return s;
        var sb = new StringBuilder(s.Length);
        AppendCase(sb, cps[0], SpecialCasing.Title, ToTitleCp);
        for (int i = 1; i < cps.Length; i++) AppendLower(sb, cps, i);
        return sb.ToString();
    }

    /// <summary>Python's str.title: a cased character after an uncased one is upper-cased, others lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        var cps = PyOps.CodePoints(s);
        for (int i = 0; i < cps.Length; i++)
        {
            int c = cps[i];
            if (IsCased(c))
            {
                if (prevCased) AppendLower(sb, cps, i);
                else AppendCase(sb, c, SpecialCasing.Title, ToTitleCp);
                prevCased = true;
            }
            else
            {
                PyOps.AppendCodePoint(sb, c);
                prevCased = false;
            }
        }
        return sb.ToString();
    }

    public static string Strip(string s, object? chars, bool left, bool right)
    {
        if (chars is null)
        {
            int a = 0, b = s.Length;
            if (left) while (a < b && PyOps.IsPySpace(s[a])) a++;
            if (right) while (b > a && PyOps.IsPySpace(s[b - 1])) b--;
            return s[a..b];
        }
        string cs = StrArg(chars, "strip");
        var set = new HashSet<int>(PyOps.CodePoints(cs));
        var cps = PyOps.CodePoints(s);
        int i = 0, j = cps.Length;
        if (left) while (i < j && set.Contains(cps[i])) i++;
        if (right) while (j > i && set.Contains(cps[j - 1])) j--;
        return PyOps.FromCodePoints(cps[i..j]);
    }

    public static List<object?> Split(Interpreter it, string s, object? sep, int maxsplit)
    {
        var r = new List<object?>();
        if (sep is null)
        {
            int i = 0, n = s.Length;
            while (true)
            {
                while (i < n && PyOps.IsPySpace(s[i])) i++;
                if (i >= n) break;
                if (maxsplit >= 0 && r.Count == maxsplit)
                {
                    r.Add(s[i..]);
                    break;
                }
                int j = i;
                while (j < n && !PyOps.IsPySpace(s[j])) j++;
                r.Add(s[i..j]);
                it.Charge(1);
                i = j;
            }
        }
        else
        {
            string sp = StrArg(sep, "split");
            if (sp.Length == 0) throw PyOps.ValueError("empty separator");
            int start = 0;
            while (maxsplit < 0 || r.Count < maxsplit)
            {
                int k = s.IndexOf(sp, start, StringComparison.Ordinal);
                if (k < 0) break;
                r.Add(s[start..k]);
                it.Charge(1);
                start = k + sp.Length;
            }
            r.Add(s[start..]);
        }
        it.Charge(r.Count);
        return r;
    }

    private static List<object?> RSplit(Interpreter it, string s, object? sep, int maxsplit)
    {
        if (maxsplit < 0) return Split(it, s, sep, maxsplit);
        var r = new List<object?>();
        if (sep is null)
        {
            int e = s.Length;
            while (true)
            {
                while (e > 0 && PyOps.IsPySpace(s[e - 1])) e--;
                if (e <= 0) break;
                if (r.Count == maxsplit)
                {
                    r.Add(s[..e]);
                    break;
                }
                int j = e;
                while (j > 0 && !PyOps.IsPySpace(s[j - 1])) j--;
                r.Add(s[j..e]);
                e = j;
            }
        }
        else
        {
            string sp = StrArg(sep, "rsplit");
            if (sp.Length == 0) throw PyOps.ValueError("empty separator");
            int end = s.Length;
            while (r.Count < maxsplit)
            {
                int k = end - sp.Length < 0 ? -1 : s.LastIndexOf(sp, end - 1, end, StringComparison.Ordinal);
                if (k < 0 || k + sp.Length > end) break;
                r.Add(s[(k + sp.Length)..end]);
                end = k;
            }
            r.Add(s[..end]);
        }
        r.Reverse();
        it.Charge(r.Count);
        return r;
    }

    private static List<object?> SplitLines(string s, bool keepends)
    {
        var r = new List<object?>();
        int i = 0, start = 0;
        while (i < s.Length)
        {
            char c = s[i];
            int eol = c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2
                : c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029' ? 1 : 0;
            if (eol == 0) { i++; continue; }
            r.Add(keepends ? s[start..(i + eol)] : s[start..i]);
            i += eol;
            start = i;
        }
        if (start < s.Length) r.Add(s[start..]);
        return r;
    }

    public static string Replace(Interpreter it, string s, string old, string nw, long count)
    {
        if (count == 0) return s;
        var sb = new StringBuilder();
        if (old.Length == 0)
        {
            // Python inserts `new` between every character (and at both ends).
            var cps = PyOps.CodePoints(s);
            long done = 0;
            for (int i = 0; i <= cps.Length; i++)
            {
                if (count < 0 || done < count) { sb.Append(nw); done++; }
                if (i < cps.Length) PyOps.AppendCodePoint(sb, cps[i]);
                it.CheckStringLength(sb.Length);
            }
            return sb.ToString();
        }
        int start = 0;
        long n = 0;
        while (count < 0 || n < count)
        {
            int k = s.IndexOf(old, start, StringComparison.Ordinal);
            if (k < 0) break;
            sb.Append(s, start, k - start).Append(nw);
            it.CheckStringLength(sb.Length);
            start = k + old.Length;
            n++;
        }
        sb.Append(s, start, s.Length - start);
        return it.CheckString(sb.ToString());
    }

    private static int Find(string s, string sub, bool last)
    {
        int k = last ? s.LastIndexOf(sub, StringComparison.Ordinal) : s.IndexOf(sub, StringComparison.Ordinal);
        if (k < 0) return -1;
        return PyOps.StrLen(s[..k]);
    }

    public static string Pad(Interpreter it, string s, long width, string fill, string how)
    {
        if (PyOps.StrLen(fill) != 1) throw PyOps.TypeError("The fill character must be exactly one character long");
        int len = PyOps.StrLen(s);
        if (width <= len) return s;
        it.CheckStringLength(width * fill.Length);
        long total = width - len;
        long left = how switch
        {
            "ljust" => 0,
            "rjust" => total,
            _ => total / 2 + (total & width & 1),
        };
        var sb = new StringBuilder();
        for (long i = 0; i < left; i++) sb.Append(fill);
        sb.Append(s);
        for (long i = 0; i < total - left; i++) sb.Append(fill);
        return sb.ToString();
    }

    // ---------------- list / tuple ----------------

    private static object? CallSeq(Interpreter it, IList<object?> items, string name, List<object?> args)
    {
        it.Charge(items.Count / 16);
        switch (name)
        {
            case "count":
            {
                if (args.Count != 1) throw PyOps.TypeError($"count() takes exactly one argument ({args.Count} given)");
                return (long)items.Count(x => PyOps.Equals(x, args[0]));
            }
            case "index":
            {
                if (args.Count < 1) throw PyOps.TypeError("index expected at least 1 argument, got 0");
                for (int i = 0; i < items.Count; i++) if (PyOps.Equals(items[i], args[0])) return (long)i;
                throw PyOps.ValueError(items is object?[] ? "tuple.index(x): x not in tuple" : $"{PyOps.Repr(args[0])} is not in list");
            }
            default: throw PyOps.TypeError($"'{name}' is not supported");
        }
    }

    private static object? CallList(Interpreter it, List<object?> l, string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        switch (name)
        {
            case "copy": it.Charge(l.Count / 16); return new List<object?>(l);
            default: return CallSeq(it, l, name, args);
        }
    }

    // ---------------- dict ----------------

    private static object? CallDict(Interpreter it, OrderedDictionary<string, object?> d, string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        switch (name)
        {
            case "get":
            {
                if (args.Count < 1) throw PyOps.TypeError("get expected at least 1 argument, got 0");
                var dflt = args.Count > 1 ? args[1] : null;
                return args[0] is string k && d.TryGetValue(k, out var v) ? v : dflt;
            }
            case "items":
                it.Charge(d.Count);
                return new PyView("dict_items", d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList());
            case "keys":
                it.Charge(d.Count / 16);
                return new PyView("dict_keys", d.Keys.Cast<object?>().ToList());
            case "values":
                it.Charge(d.Count / 16);
                return new PyView("dict_values", d.Values.ToList());
            case "copy":
            {
                it.Charge(d.Count / 16);
                var c = new OrderedDictionary<string, object?>();
                foreach (var kv in d) c[kv.Key] = kv.Value;
                return c;
            }
            default: throw PyOps.TypeError($"dict.{name} is not supported");
        }
    }
}
