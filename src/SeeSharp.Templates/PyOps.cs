using System.Globalization;
using System.Text;

namespace SeeSharp.Templates;

/// <summary>Python semantics for the template value model: printing, truth, equality, ordering, arithmetic.</summary>
internal static class PyOps
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static TemplateException TypeError(string msg) => new("TypeError", msg);
    public static TemplateException ValueError(string msg) => new("ValueError", msg);

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        OrderedDictionary<string, object?> => "dict",
        Namespace => "Namespace",
        Undefined => "Undefined",
        PyIterator it => it.TypeName,
        PyView view => view.TypeName,
        Macro => "Macro",
        LoopContext => "LoopContext",
        Cycler => "Cycler",
        BoundMethod => "builtin_function_or_method",
        PyCallable => "function",
        _ => v.GetType().Name,
    };

    public static string ObjectTypeRepr(object? v) => v switch
    {
        null => "None",
        Namespace => "jinja2.utils.Namespace object",
        Undefined => "jinja2.runtime.Undefined object",
        Macro => "jinja2.runtime.Macro object",
        _ => TypeName(v) + " object",
    };

    // ---------------- truth / identity ----------------

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0.0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Count > 0,
        OrderedDictionary<string, object?> d => d.Count > 0,
        PyView view => view.Items.Count > 0,
        Undefined => false,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw TypeError($"must be real number, not {TypeName(v)}"),
    };

    // ---------------- code points ----------------

    public static bool HasSurrogates(string s)
    {
        foreach (char c in s) if (char.IsSurrogate(c)) return true;
        return false;
    }

    public static int[] CodePoints(string s)
    {
        var r = new List<int>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                r.Add(char.ConvertToUtf32(s[i], s[i + 1]));
                i++;
            }
            else r.Add(s[i]);
        }
        return r.ToArray();
    }

    public static string FromCodePoint(int cp) => cp >= 0x10000 ? char.ConvertFromUtf32(cp) : ((char)cp).ToString();

    public static string FromCodePoints(IEnumerable<int> cps)
    {
        var sb = new StringBuilder();
        foreach (int cp in cps) AppendCodePoint(sb, cp);
        return sb.ToString();
    }

    public static void AppendCodePoint(StringBuilder sb, int cp)
    {
        if (cp >= 0x10000) sb.Append(char.ConvertFromUtf32(cp));
        else sb.Append((char)cp);
    }

    public static int StrLen(string s) => HasSurrogates(s) ? CodePoints(s).Length : s.Length;

    public static bool IsPySpace(int c) => c is >= 0x1c and <= 0x1f || (c < 0x10000 && char.IsWhiteSpace((char)c));

    // ---------------- printing ----------------

    public static string Str(object? v) => v switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(v),
    };

    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private const int MaxReprDepth = 128;

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > MaxReprDepth) throw new TemplateLimitException(nameof(TemplateLimits.MaxValueDepth), $"value nested deeper than {MaxReprDepth} levels while printing");
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(Inv)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: AppendStrRepr(sb, s); break;
            case List<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, list[i], depth + 1);
                }
                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                for (int i = 0; i < t.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, t.Items[i], depth + 1);
                }
                if (t.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case OrderedDictionary<string, object?> d:
            {
                sb.Append('{');
                bool first = true;
                foreach (var kv in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStrRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            }
            case Undefined: sb.Append("Undefined"); break;
            case PyView view:
                sb.Append(view.TypeName).Append("([");
                for (int i = 0; i < view.Items.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, view.Items[i], depth + 1);
                }
                sb.Append("])");
                break;
            case PyIterator pit: sb.Append('<').Append(pit.TypeName).Append(" object").Append(pit.ReprName.Length > 0 ? " " + pit.ReprName : "").Append('>'); break;
            case Namespace ns:
            {
                var d = new OrderedDictionary<string, object?>();
                foreach (var kv in ns.Attrs) d[kv.Key] = kv.Value;
                sb.Append("<Namespace ");
                AppendRepr(sb, d, depth + 1);
                sb.Append('>');
                break;
            }
            case Cycler: sb.Append("<Cycler>"); break;
            case LoopContext loop: sb.Append("<LoopContext ").Append(loop.Index0 + 1).Append('/').Append(loop.Items.Count).Append('>'); break;
            case Macro m: sb.Append("<Macro '").Append(m.Name).Append("'>"); break;
            case BoundMethod bm: sb.Append("<built-in method ").Append(bm.Name).Append(" of ").Append(TypeName(bm.Target)).Append(" object>"); break;
            case PyCallable c: sb.Append("<function ").Append(c.Name).Append('>'); break;
            default: sb.Append(v); break;
        }
    }

    public static string StrRepr(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendStrRepr(sb, s);
        return sb.ToString();
    }

    private static void AppendStrRepr(StringBuilder sb, string s)
    {
        char q = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(q);
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(s[i], s[i + 1]);
                i++;
            }
            if (cp == q || cp == '\\') sb.Append('\\').Append((char)cp);
            else if (cp == '\t') sb.Append("\\t");
            else if (cp == '\n') sb.Append("\\n");
            else if (cp == '\r') sb.Append("\\r");
            else if (cp < 0x20 || cp == 0x7f) sb.Append("\\x").Append(cp.ToString("x2", Inv));
            else if (cp < 0x7f) sb.Append((char)cp);
            else if (IsPrintable(cp)) AppendCodePoint(sb, cp);
            else if (cp < 0x100) sb.Append("\\x").Append(cp.ToString("x2", Inv));
            else if (cp < 0x10000) sb.Append("\\u").Append(cp.ToString("x4", Inv));
            else sb.Append("\\U").Append(cp.ToString("x8", Inv));
        }
        sb.Append(q);
    }

    private static bool IsPrintable(int cp)
    {
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
            UnicodeCategory.SpaceSeparator => cp == ' ',
            _ => true,
        };
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var (neg, digits, decpt) = ShortestDigits(d);
        var sb = new StringBuilder();
        if (neg) sb.Append('-');
        if (decpt <= -4 || decpt > 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", Inv));
        }
        else if (decpt <= 0)
        {
            sb.Append("0.").Append('0', -decpt).Append(digits);
        }
        else if (decpt >= digits.Length)
        {
            sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        }
        return sb.ToString();
    }

    /// <summary>Shortest round-trip decimal digits of a finite non-zero double: value = 0.DIGITS × 10^decpt.</summary>
    public static (bool Negative, string Digits, int DecPt) ShortestDigits(double d)
    {
        // "R" gives the shortest round-trip string; parse its digits and exponent.
        string s = Math.Abs(d).ToString("R", Inv);
        int exp = 0;
        int ei = s.IndexOfAny(['E', 'e']);
        if (ei >= 0)
        {
            exp = int.Parse(s[(ei + 1)..], NumberStyles.AllowLeadingSign, Inv);
            s = s[..ei];
        }
        int dot = s.IndexOf('.');
        string intPart = dot >= 0 ? s[..dot] : s;
        string frac = dot >= 0 ? s[(dot + 1)..] : "";
        string all = intPart + frac;
        int decpt = intPart.Length + exp;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') { lead++; decpt--; }
        all = all[lead..].TrimEnd('0');
        if (all.Length == 0) all = "0";
        return (double.IsNegative(d), all, decpt);
    }

    // ---------------- equality and ordering ----------------

    public static new bool Equals(object? a, object? b) => PyEq(a, b, 0);

    private static bool PyEq(object? a, object? b, int depth)
    {
        if (depth > MaxReprDepth) throw new TemplateLimitException(nameof(TemplateLimits.MaxValueDepth), "value nested too deeply to compare");
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return AsLong(a) == AsLong(b);
        }
        switch (a)
        {
            case null: return b is null;
            case string sa: return b is string sb && sa == sb;
            case List<object?> la:
            {
                if (b is not List<object?> lb || la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++) if (!PyEq(la[i], lb[i], depth + 1)) return false;
                return true;
            }
            case PyTuple ta:
            {
                if (b is not PyTuple tb || ta.Count != tb.Count) return false;
                for (int i = 0; i < ta.Count; i++) if (!PyEq(ta.Items[i], tb.Items[i], depth + 1)) return false;
                return true;
            }
            case OrderedDictionary<string, object?> da:
            {
                if (b is not OrderedDictionary<string, object?> db || da.Count != db.Count) return false;
                foreach (var kv in da)
                {
                    if (!db.TryGetValue(kv.Key, out var vb) || !PyEq(kv.Value, vb, depth + 1)) return false;
                }
                return true;
            }
            case Undefined: return b is Undefined;
            case BoundMethod ma: return b is BoundMethod mb && ma.Name == mb.Name && ReferenceEquals(ma.Target, mb.Target);
            default: return ReferenceEquals(a, b);
        }
    }

    public static long AsLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw TypeError($"'{TypeName(v)}' object cannot be interpreted as an integer"),
    };

    public static int Compare(object? a, object? b, string op)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                double x = ToDouble(a), y = ToDouble(b);
                if (double.IsNaN(x) || double.IsNaN(y)) return int.MinValue; // all orderings false
                return x.CompareTo(y);
            }
            return AsLong(a).CompareTo(AsLong(b));
        }
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if (a is List<object?> la && b is List<object?> lb) return CompareSeq(la, lb, op);
        if (a is PyTuple ta && b is PyTuple tb) return CompareSeq(ta.Items, tb.Items, op);
        throw TypeError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static int CompareCodePoints(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = CharExtensions.ConvertToUtf32OrChar(a, ref i);
            int cb = CharExtensions.ConvertToUtf32OrChar(b, ref j);
            if (ca != cb) return ca < cb ? -1 : 1;
        }
        if (i < a.Length) return 1;
        return j < b.Length ? -1 : 0;
    }

    private static int CompareSeq(IList<object?> a, IList<object?> b, string op)
    {
        int n = Math.Min(a.Count, b.Count);
        for (int i = 0; i < n; i++)
        {
            if (!Equals(a[i], b[i])) return Compare(a[i], b[i], op);
        }
        return a.Count.CompareTo(b.Count);
    }

    public static bool CompareOp(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==": return Equals(a, b);
            case "!=": return !Equals(a, b);
            case "in": return Contains(b, a);
            case "notin": return !Contains(b, a);
        }
        int c = Compare(a, b, op);
        if (c == int.MinValue) return false;
        return op switch
        {
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            ">=" => c >= 0,
            _ => throw new InvalidOperationException(op),
        };
    }

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is string sub) return s.Contains(sub, StringComparison.Ordinal);
                throw TypeError($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case List<object?> l:
                foreach (var x in l) if (Equals(x, item)) return true;
                return false;
            case PyTuple t:
                foreach (var x in t.Items) if (Equals(x, item)) return true;
                return false;
            case OrderedDictionary<string, object?> d:
                if (item is string k) return d.ContainsKey(k);
                if (item is List<object?> or OrderedDictionary<string, object?>) throw TypeError($"unhashable type: '{TypeName(item)}'");
                return false;
            case Undefined:
                return false;
            case PyIterator pit:
                foreach (var x in pit.TakeAll()) if (Equals(x, item)) return true;
                return false;
            case PyView view:
                foreach (var x in view.Items) if (Equals(x, item)) return true;
                return false;
            default:
                throw TypeError($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    // ---------------- iteration ----------------

    public static List<object?> Iterate(object? v)
    {
        switch (v)
        {
            case List<object?> l: return new List<object?>(l);
            case PyTuple t: return new List<object?>(t.Items);
            case OrderedDictionary<string, object?> d: return d.Keys.Cast<object?>().ToList();
            case string s:
            {
                var r = new List<object?>(s.Length);
                if (!HasSurrogates(s)) foreach (char c in s) r.Add(c.ToString());
                else foreach (int cp in CodePoints(s)) r.Add(FromCodePoint(cp));
                return r;
            }
            case Undefined: return new List<object?>();
            case PyIterator pit: return pit.TakeAll();
            case PyView view: return new List<object?>(view.Items);
            default: throw TypeError($"'{TypeName(v)}' object is not iterable");
        }
    }

    public static int Length(object? v) => v switch
    {
        string s => StrLen(s),
        List<object?> l => l.Count,
        PyTuple t => t.Count,
        OrderedDictionary<string, object?> d => d.Count,
        PyView view => view.Items.Count,
        Undefined => 0,
        _ => throw TypeError($"object of type '{TypeName(v)}' has no len()"),
    };
}

internal static class CharExtensions
{
    /// <summary>Reads the code point at <paramref name="i"/> and advances past it.</summary>
    public static int ConvertToUtf32OrChar(string s, ref int i)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            int cp = char.ConvertToUtf32(c, s[i + 1]);
            i += 2;
            return cp;
        }
        i++;
        return c;
    }
}
