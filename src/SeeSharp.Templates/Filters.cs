using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SeeSharp.Templates;

/// <summary>Jinja2's built-in filters (3.1) with transformers' <c>tojson</c>.</summary>
internal static partial class Filters
{
    public static readonly HashSet<string> Names =
    [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower",
        "map", "max", "min", "pprint", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
        "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique",
        "upper", "wordcount",
    ];

    private static object? Arg(List<object?> args, List<KeyValuePair<string, object?>> kwargs, int i, string name, object? dflt)
    {
        foreach (var kv in kwargs) if (kv.Key == name) return kv.Value;
        return i < args.Count ? args[i] : dflt;
    }

    private static string SoftStr(object? v) => PyOps.Str(v);

    public static object? Apply(Interpreter it, string name, object? v, List<object?> args, List<KeyValuePair<string, object?>> kw)
    {
        it.ChargeSize(v);
        switch (name)
        {
            case "default":
            case "d":
            {
                bool boolean = PyOps.Truthy(Arg(args, kw, 1, "boolean", false));
                if (v is Undefined || (boolean && !PyOps.Truthy(v))) return Arg(args, kw, 0, "default_value", "");
                return v;
            }
            case "length":
            case "count":
                return (long)PyOps.Length(v);
            case "upper": return Methods.Upper(SoftStr(v));
            case "lower": return Methods.Lower(SoftStr(v));
            case "capitalize": return Methods.Capitalize(SoftStr(v));
            case "title": return JinjaTitle(SoftStr(v));
            case "trim": return Methods.Strip(SoftStr(v), Arg(args, kw, 0, "chars", null), true, true);
            case "replace":
            {
                var count = Arg(args, kw, 2, "count", null);
                return Methods.Replace(it, SoftStr(v), SoftStr(Arg(args, kw, 0, "old", "")), SoftStr(Arg(args, kw, 1, "new", "")), count is null ? -1 : PyOps.AsLong(count));
            }
            case "join":
            {
                string sep = SoftStr(Arg(args, kw, 0, "d", ""));
                var attr = Arg(args, kw, 1, "attribute", null);
                var items = PyOps.Iterate(v);
                it.Charge(items.Count);
                var sb = new StringBuilder();
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(sep);
                    sb.Append(SoftStr(attr is null ? items[i] : AttrPath(it, items[i], attr, null)));
                    it.CheckStringLength(sb.Length);
                }
                return sb.ToString();
            }
            case "first":
            {
                if (v is PyIterator pit) return pit.TryNext(out var nx) ? nx : new Undefined("first", null, "No first item, sequence was empty.", hasObj: false);
                var items = PyOps.Iterate(v);
                return items.Count > 0 ? items[0] : new Undefined("first", null, "No first item, sequence was empty.", hasObj: false);
            }
            case "last":
            {
                if (v is not (string or List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined or PyView))
                    throw PyOps.TypeError($"'{PyOps.TypeName(v)}' object is not reversible");
                var items = PyOps.Iterate(v);
                return items.Count > 0 ? items[^1] : new Undefined("last", null, "No last item, sequence was empty.", hasObj: false);
            }
            case "list":
            {
                if (v is string big) it.CheckListLength(big.Length);
                var items = PyOps.Iterate(v);
                it.CheckListLength(items.Count);
                it.Charge(items.Count / 16);
                return items;
            }
            case "string": return SoftStr(v);
            case "int": return ToInt(v, Arg(args, kw, 0, "default", 0L), PyOps.AsLong(Arg(args, kw, 1, "base", 10L)));
            case "float": return ToFloat(v, Arg(args, kw, 0, "default", 0.0));
            case "abs":
                return v switch
                {
                    long l => l == long.MinValue ? throw new TemplateException("OverflowError", "integer result does not fit in 64 bits") : (object)Math.Abs(l),
                    double d => (object)Math.Abs(d),
                    bool b => b ? 1L : 0L,
                    _ => throw PyOps.TypeError($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
                };
            case "round": return Round(v, PyOps.AsLong(Arg(args, kw, 0, "precision", 0L)), SoftStr(Arg(args, kw, 1, "method", "common")));
            case "tojson":
            {
                bool ascii = PyOps.Truthy(Arg(args, kw, 0, "ensure_ascii", false));
                var indent = Arg(args, kw, 1, "indent", null);
                var seps = Arg(args, kw, 2, "separators", null);
                bool sortKeys = PyOps.Truthy(Arg(args, kw, 3, "sort_keys", false));
                string itemSep = indent is null ? ", " : ",", keySep = ": ";
                if (seps is not null)
                {
                    var sp = PyOps.Iterate(seps);
                    if (sp.Count != 2 || sp[0] is not string a || sp[1] is not string b) throw PyOps.ValueError("separators must be a pair of strings");
                    itemSep = a;
                    keySep = b;
                }
                return it.CheckString(PyJson.Dumps(it, v, ascii, indent, itemSep, keySep, sortKeys));
            }
            case "items":
                return new PyIterator("generator", "do_items", () =>
                {
                    if (v is Undefined) return new List<object?>();
                    if (v is not OrderedDictionary<string, object?> d) throw PyOps.TypeError("Can only get item pairs from a mapping.");
                    it.Charge(d.Count);
                    return d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
                });
            case "map": return new PyIterator("generator", "sync_do_map", () => Map(it, v, args, kw));
            case "select": return new PyIterator("generator", "sync_do_select", () => SelectReject(it, v, args, kw, select: true, byAttr: false));
            case "reject": return new PyIterator("generator", "sync_do_reject", () => SelectReject(it, v, args, kw, select: false, byAttr: false));
            case "selectattr": return new PyIterator("generator", "sync_do_selectattr", () => SelectReject(it, v, args, kw, select: true, byAttr: true));
            case "rejectattr": return new PyIterator("generator", "sync_do_rejectattr", () => SelectReject(it, v, args, kw, select: false, byAttr: true));
            case "unique":
                return new PyIterator("generator", "sync_do_unique", () =>
            {
                bool cs = PyOps.Truthy(Arg(args, kw, 0, "case_sensitive", false));
                var attr = Arg(args, kw, 1, "attribute", null);
                var items = PyOps.Iterate(v);
                it.Charge(items.Count * 2);
                var seen = new HashSet<object>();
                var r = new List<object?>();
                foreach (var x in items)
                {
                    if (seen.Add(HashKey(SortKey(it, x, attr, cs)))) r.Add(x);
                }
                return r;
            });
            case "sort":
            {
                bool reverse = PyOps.Truthy(Arg(args, kw, 0, "reverse", false));
                bool cs = PyOps.Truthy(Arg(args, kw, 1, "case_sensitive", false));
                var attr = Arg(args, kw, 2, "attribute", null);
                var items = PyOps.Iterate(v);
                it.Charge(items.Count * 4);
                return SortBy(items, x => SortKey(it, x, attr, cs), reverse);
            }
            case "reverse":
            {
                if (v is string s) return it.Slice(s, null, null, -1L);
                if (v is PyIterator src)
                {
                    // reversed(generator) fails; Jinja falls back to list(value) reversed.
                    var all = src.TakeAll();
                    all.Reverse();
                    return all;
                }
                if (v is not (List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined or PyView))
                    throw new TemplateException("FilterArgumentError", "argument must be iterable");
                string kind = v switch { List<object?> => "list_reverseiterator", OrderedDictionary<string, object?> => "dict_reversekeyiterator", Undefined => "list_reverseiterator", _ => "reversed" };
                var items = PyOps.Iterate(v);
                items.Reverse();
                return new PyIterator(kind, "", () => items);
            }
            case "dictsort":
            {
                if (v is Undefined ud) throw ud.Fail();
                if (v is not OrderedDictionary<string, object?> d) throw new TemplateException("AttributeError", $"'{PyOps.TypeName(v)}' object has no attribute 'items'");
                bool cs = PyOps.Truthy(Arg(args, kw, 0, "case_sensitive", false));
                string by = SoftStr(Arg(args, kw, 1, "by", "key"));
                bool reverse = PyOps.Truthy(Arg(args, kw, 2, "reverse", false));
                int pos = by == "key" ? 0 : by == "value" ? 1 : throw new TemplateException("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
                var items = d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
                it.Charge(items.Count * 4);
                return SortBy(items, x => SortKey(it, ((PyTuple)x!).Items[pos], null, cs), reverse);
            }
            case "batch":
                return new PyIterator("generator", "do_batch", () =>
            {
                long n = PyOps.AsLong(Arg(args, kw, 0, "linecount", 1L));
                if (n <= 0) throw PyOps.ValueError("batch size must be positive");
                var fill = Arg(args, kw, 1, "fill_with", null);
                bool doFill = args.Count > 1 || kw.Any(k => k.Key == "fill_with");
                var items = PyOps.Iterate(v);
                it.Charge(items.Count);
                var r = new List<object?>();
                List<object?>? cur = null;
                foreach (var x in items)
                {
                    cur ??= new List<object?>();
                    cur.Add(x);
                    if (cur.Count == n) { r.Add(cur); cur = null; }
                }
                if (cur is not null)
                {
                    if (doFill && fill is not null) while (cur.Count < n) cur.Add(fill);
                    r.Add(cur);
                }
                return r;
            });
            case "slice":
                return new PyIterator("generator", "sync_do_slice", () =>
            {
                long n = PyOps.AsLong(Arg(args, kw, 0, "slices", 1L));
                if (n <= 0 || n > it.Limits.MaxListLength) throw PyOps.ValueError("slices must be positive");
                var fill = Arg(args, kw, 1, "fill_with", null);
                var seq = PyOps.Iterate(v);
                it.Charge(seq.Count + n);
                int length = seq.Count;
                long perSlice = length / n, withExtra = length % n;
                long offset = 0;
                var r = new List<object?>();
                for (long sn = 0; sn < n; sn++)
                {
                    long start = offset + sn * perSlice;
                    if (sn < withExtra) offset++;
                    long end = offset + (sn + 1) * perSlice;
                    var tmp = seq.Skip((int)start).Take((int)(end - start)).ToList();
                    if (fill is not null && sn >= withExtra) tmp.Add(fill);
                    r.Add(tmp);
                }
                return r;
            });
            case "indent":
            {
                var width = Arg(args, kw, 0, "width", 4L);
                string ind = width is string ws ? ws : new string(' ', (int)Math.Clamp(PyOps.AsLong(width), 0, 1024));
                bool first = PyOps.Truthy(Arg(args, kw, 1, "first", false));
                bool blank = PyOps.Truthy(Arg(args, kw, 2, "blank", false));
                // do_indent does `s += "\n"` on its argument as given: only strings (and Undefined) get through.
                if (v is Undefined uv) throw uv.Fail();
                if (v is List<object?>) throw new TemplateException("AttributeError", "'list' object has no attribute 'splitlines'");
                if (v is PyTuple) throw PyOps.TypeError("can only concatenate tuple (not \"str\") to tuple");
                if (v is not string) throw PyOps.TypeError($"unsupported operand type(s) for +=: '{PyOps.TypeName(v)}' and 'str'");
                string s = SoftStr(v) + "\n";
                var lines = SplitLinesNoEnds(s);
                it.Charge(lines.Count);
                string rv;
                if (blank) rv = string.Join("\n" + ind, lines);
                else
                {
                    rv = lines[0];
                    if (lines.Count > 1) rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? ind + l : l));
                }
                if (first) rv = ind + rv;
                return it.CheckString(rv);
            }
            case "center":
                return Methods.Pad(it, SoftStr(v), PyOps.AsLong(Arg(args, kw, 0, "width", 80L)), " ", "center");
            case "wordcount":
                return (long)WordRe().Matches(SoftStr(v)).Count;
            case "safe":
                return v;
            case "escape":
            case "e":
            case "forceescape":
                return Escape(SoftStr(v));
            case "striptags":
            {
                string s = CommentRe().Replace(SoftStr(v), "");
                s = TagRe().Replace(s, "");
                s = string.Join(" ", s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
                return System.Net.WebUtility.HtmlDecode(s);
            }
            case "truncate":
            {
                if (v is List<object?> or PyTuple or OrderedDictionary<string, object?>)
                {
                    // do_truncate works on anything with len(); a short collection comes back unchanged.
                    long len0 = PyOps.Length(v);
                    long lim = PyOps.AsLong(Arg(args, kw, 0, "length", 255L)) + PyOps.AsLong(Arg(args, kw, 3, "leeway", 5L) ?? 5L);
                    if (len0 <= lim) return v;
                    throw new TemplateException("AttributeError", $"'{PyOps.TypeName(v)}' object has no attribute 'rsplit'");
                }
                if (v is not (string or Undefined)) throw PyOps.TypeError($"object of type '{PyOps.TypeName(v)}' has no len()");
                string s = SoftStr(v);
                long length = PyOps.AsLong(Arg(args, kw, 0, "length", 255L));
                bool killwords = PyOps.Truthy(Arg(args, kw, 1, "killwords", false));
                string end = SoftStr(Arg(args, kw, 2, "end", "..."));
                long leeway = PyOps.AsLong(Arg(args, kw, 3, "leeway", 5L) ?? 5L);
                if (length < end.Length) throw new TemplateException("AssertionError", $"expected length >= {end.Length}, got {length}");
                if (PyOps.StrLen(s) <= length + leeway) return s;
                string head = (string)it.Slice(s, null, length - end.Length, null)!;
                if (killwords) return head + end;
                int sp = head.LastIndexOf(' ');
                return (sp >= 0 ? head[..sp] : head) + end;
            }
            case "min":
            case "max":
            {
                bool cs = PyOps.Truthy(Arg(args, kw, 0, "case_sensitive", false));
                var attr = Arg(args, kw, 1, "attribute", null);
                var items = PyOps.Iterate(v);
                it.Charge(items.Count);
                if (items.Count == 0) return new Undefined(name, null, "No aggregated item, sequence was empty.", hasObj: false);
                object? best = items[0];
                object? bestKey = SortKey(it, best, attr, cs);
                foreach (var x in items.Skip(1))
                {
                    var k = SortKey(it, x, attr, cs);
                    // Python's min asks item < best, max asks item > best.
                    int c = PyOps.Compare(k, bestKey, name == "min" ? "<" : ">");
                    if (name == "min" ? c < 0 && c != int.MinValue : c > 0) { best = x; bestKey = k; }
                }
                return best;
            }
            case "sum":
            {
                var attr = Arg(args, kw, 0, "attribute", null);
                object? acc = Arg(args, kw, 1, "start", 0L);
                var items = PyOps.Iterate(v);
                it.Charge(items.Count);
                foreach (var x in items) acc = Arith.Binary(it, "+", acc, attr is null ? x : AttrPath(it, x, attr, null));
                return acc;
            }
            case "groupby":
            {
                var attr = Arg(args, kw, 0, "attribute", null);
                var dflt = Arg(args, kw, 1, "default", null);
                bool cs = PyOps.Truthy(Arg(args, kw, 2, "case_sensitive", false));
                var items = PyOps.Iterate(v);
                it.Charge(items.Count * 4);
                var keyed = items.Select(x => (Item: x, Key: AttrPath(it, x, attr, dflt))).ToList();
                var sorted = SortBy(keyed.Select(k => (object?)new PyTuple([k.Key, k.Item])).ToList(), t => Fold(((PyTuple)t!).Items[0], cs), false);
                var r = new List<object?>();
                foreach (PyTuple t in sorted.Cast<PyTuple>())
                {
                    var key = t.Items[0];
                    if (r.Count > 0 && PyOps.Equals(Fold(((PyTuple)r[^1]!).Items[0], cs), Fold(key, cs)))
                        ((List<object?>)((PyTuple)r[^1]!).Items[1]!).Add(t.Items[1]);
                    else r.Add(new PyTuple([key, new List<object?> { t.Items[1] }], ["grouper", "list"]));
                }
                return r;
            }
            case "format":
            {
                string fmt = SoftStr(v);
                if (kw.Count > 0)
                {
                    var d = new OrderedDictionary<string, object?>();
                    foreach (var kv in kw) d[kv.Key] = kv.Value;
                    return Printf.Format(it, fmt, d);
                }
                return Printf.Format(it, fmt, new PyTuple(args.ToArray()));
            }
            case "attr":
            {
                // Jinja's sandboxed getattr on the Python object: methods only, never dict items.
                string attrName = SoftStr(Arg(args, kw, 0, "name", ""));
                if (v is Undefined u) throw u.Fail();
                if (v is Namespace ns) return ns.Attrs.TryGetValue(attrName, out var nv) ? nv : Undefined.NoAttribute(v, attrName);
                return Methods.IsMethod(v, attrName) ? Methods.Bind(v, attrName) : Undefined.NoAttribute(v, attrName);
            }
            case "pprint":
                return PyOps.Repr(v);
            default:
                throw new TemplateException("TemplateAssertionError", $"No filter named {PyOps.Repr(name)}.");
        }
    }

    private static List<string> SplitLinesNoEnds(string s)
    {
        var r = new List<string>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            int eol = c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2
                : c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029' ? 1 : 0;
            if (eol == 0) continue;
            r.Add(s[start..i]);
            i += eol - 1;
            start = i + 1;
        }
        if (start < s.Length) r.Add(s[start..]);
        return r;
    }

    public static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    /// <summary>Jinja's do_title: capitalize each word, words split at whitespace, '-', and opening brackets.</summary>
    private static string JinjaTitle(string s)
    {
        var parts = TitleSplitRe().Split(s);
        var sb = new StringBuilder();
        foreach (var p in parts)
        {
            if (p.Length == 0) continue;
            var cps = PyOps.CodePoints(p);
            sb.Append(Methods.Upper(PyOps.FromCodePoint(cps[0])));
            sb.Append(Methods.Lower(PyOps.FromCodePoints(cps.Skip(1))));
        }
        return sb.ToString();
    }

    private static readonly object NoneKey = new();

    /// <summary>A key that is equal exactly when Python's hash/eq would make two values the same set member.</summary>
    private static object HashKey(object? v, int depth = 0) => v switch
    {
        null => NoneKey,
        string s => s,
        bool b => b ? 1L : 0L,
        long l => l,
        double d => d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? (long)d : d,
        PyTuple t when depth > 128 => throw new TemplateLimitException(nameof(TemplateLimits.MaxValueDepth), "tuple nested deeper than 128 levels in unique"),
        PyTuple t => "\u0000tuple" + PyOps.Repr(new PyTuple(t.Items.Select(i => (object?)HashKey(i, depth + 1).ToString()).ToArray())),
        _ => throw PyOps.TypeError($"unhashable type: '{PyOps.TypeName(v)}'"),
    };

    private static object? Fold(object? v, bool caseSensitive) => !caseSensitive && v is string s ? Methods.Lower(s) : v;

    private static object? SortKey(Interpreter it, object? x, object? attr, bool caseSensitive)
    {
        if (attr is string a && a.Contains(','))
        {
            return new List<object?>(a.Split(',').Select(part => Fold(AttrPath(it, x, part.Trim(), null), caseSensitive)));
        }
        return Fold(attr is null ? x : AttrPath(it, x, attr, null), caseSensitive);
    }

    /// <summary>Stable merge sort with Python ordering; comparison errors (TypeError) propagate unchanged.</summary>
    private static List<object?> SortBy(List<object?> items, Func<object?, object?> key, bool reverse)
    {
        var keys = items.Select(key).ToArray();
        var idx = Enumerable.Range(0, items.Count).ToArray();
        var tmp = new int[idx.Length];
        bool Less(int a, int b)
        {
            // Python's sort only asks "<"; reverse=True sorts as if comparisons were flipped, keeping stability.
            int c = reverse ? PyOps.Compare(keys[b], keys[a], "<") : PyOps.Compare(keys[a], keys[b], "<");
            return c != int.MinValue && c < 0;
        }
        for (int width = 1; width < idx.Length; width *= 2)
        {
            for (int lo = 0; lo < idx.Length; lo += 2 * width)
            {
                int mid = Math.Min(lo + width, idx.Length), hi = Math.Min(lo + 2 * width, idx.Length);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi) tmp[k++] = Less(idx[j], idx[i]) ? idx[j++] : idx[i++];
                while (i < mid) tmp[k++] = idx[i++];
                while (j < hi) tmp[k++] = idx[j++];
            }
            (idx, tmp) = (tmp, idx);
        }
        return idx.Select(i => items[i]).ToList();
    }

    /// <summary>Jinja's make_attrgetter: dotted path, each part looked up with getitem (integers as indexes).</summary>
    public static object? AttrPath(Interpreter it, object? x, object? attr, object? dflt)
    {
        if (attr is long or bool) return it.GetItem(x, attr);
        string path = attr as string ?? throw PyOps.TypeError($"attribute must be a string, not {PyOps.TypeName(attr)}");
        object? cur = x;
        foreach (var part in path.Split('.'))
        {
            cur = it.GetItem(cur, long.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long idx) ? idx : part);
            if (cur is Undefined && dflt is not null) return dflt;
            if (cur is Undefined) break;
        }
        return cur;
    }

    private static List<object?> Map(Interpreter it, object? v, List<object?> args, List<KeyValuePair<string, object?>> kw)
    {
        // do_map / select / reject start with `if value:`: falsy inputs give nothing.
        var items = PyOps.Truthy(v) ? PyOps.Iterate(v) : [];
        it.Charge(items.Count);
        var attrKw = kw.FindIndex(k => k.Key == "attribute");
        if (attrKw >= 0)
        {
            var dflt = kw.FirstOrDefault(k => k.Key == "default").Value;
            return items.Select(x => AttrPath(it, x, kw[attrKw].Value, dflt)).ToList();
        }
        if (args.Count == 0) throw new TemplateException("FilterArgumentError", "map requires a filter argument");
        string filter = SoftStr(args[0]);
        var rest = args.Skip(1).ToList();
        return items.Select(x => Apply(it, filter, x, rest, kw)).ToList();
    }

    private static List<object?> SelectReject(Interpreter it, object? v, List<object?> args, List<KeyValuePair<string, object?>> kw, bool select, bool byAttr)
    {
        var items = PyOps.Truthy(v) ? PyOps.Iterate(v) : [];
        it.Charge(items.Count);
        int off = byAttr ? 1 : 0;
        object? attr = byAttr ? (args.Count > 0 ? args[0] : throw PyOps.TypeError("selectattr/rejectattr need an attribute name")) : null;
        string? test = args.Count > off ? SoftStr(args[off]) : null;
        var testArgs = args.Skip(off + 1).ToList();
        var r = new List<object?>();
        foreach (var x in items)
        {
            var val = byAttr ? AttrPath(it, x, attr, null) : x;
            bool ok = test is null ? PyOps.Truthy(val) : Tests.Apply(it, test, val, testArgs, kw);
            if (ok == select) r.Add(x);
        }
        return r;
    }

    private static object? ToInt(object? v, object? dflt, long radix)
    {
        switch (v)
        {
            case Undefined u: throw u.Fail();
            case long: return v;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Truncate(d) : dflt;
            case string s:
            {
                string t = s.Trim().Replace("_", "");
                try
                {
                    if (radix == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                    if (radix != 10 && t.Length > 0) return Convert.ToInt64(t.StartsWith("0x") || t.StartsWith("0o") || t.StartsWith("0b") ? t[2..] : t, (int)radix);
                }
                catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException) { }
                var f = ToFloat(s, null);
                return f is double fd ? ToInt(fd, dflt, 10) : dflt;
            }
            default: return dflt;
        }
    }

    private static object? ToFloat(object? v, object? dflt)
    {
        switch (v)
        {
            case Undefined u: throw u.Fail();
            case double: return v;
            case long l: return (double)l;
            case bool b: return b ? 1.0 : 0.0;
            case string s:
            {
                string t = s.Trim().Replace("_", "").ToLowerInvariant();
                if (t is "nan" or "+nan" or "-nan") return double.NaN;
                if (t is "inf" or "+inf" or "infinity" or "+infinity") return double.PositiveInfinity;
                if (t is "-inf" or "-infinity") return double.NegativeInfinity;
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : dflt;
            }
            default: return dflt;
        }
    }

    /// <summary>Jinja's round filter: Python's correctly-rounded round-half-even for 'common', floor/ceil otherwise.</summary>
    private static object? Round(object? v, long precision, string method)
    {
        if (!PyOps.IsNumber(v)) throw PyOps.TypeError($"type {PyOps.TypeName(v)} doesn't define __round__ method");
        if (method is not ("common" or "ceil" or "floor")) throw new TemplateException("FilterArgumentError", "method must be common, ceil or floor");
        if (v is long or bool)
        {
            long l = PyOps.AsLong(v);
            if (method != "common") return (double)l;
            return precision >= 0 ? l : (long)RoundHalfEven(l, (int)precision);
        }
        double d = PyOps.ToDouble(v);
        if (method == "floor") return Math.Floor(d * Math.Pow(10, precision)) / Math.Pow(10, precision);
        if (method == "ceil") return Math.Ceiling(d * Math.Pow(10, precision)) / Math.Pow(10, precision);
        return RoundHalfEven(d, (int)Math.Clamp(precision, -400, 400));
    }

    /// <summary>Python's round(x, n) for floats: exact decimal expansion, ties to even.</summary>
    private static double RoundHalfEven(double x, int n)
    {
        if (!double.IsFinite(x) || x == 0) return x;
        if (n > 330) return x;
        if (n < 0)
        {
            double p = Math.Pow(10, -n);
            double y = Math.Round(x / p, MidpointRounding.ToEven) * p;
            return y;
        }
        // Exact decimal digits of x (a double's expansion terminates within 1075 fractional digits).
        string s = Math.Abs(x).ToString("F1100", CultureInfo.InvariantCulture);
        int dot = s.IndexOf('.');
        string intPart = s[..dot];
        string frac = s[(dot + 1)..];
        string keep = intPart + frac[..n];
        char next = frac[n];
        bool restNonZero = frac.Skip(n + 1).Any(c => c != '0');
        var digits = System.Numerics.BigInteger.Parse(keep, CultureInfo.InvariantCulture);
        bool up = next > '5' || (next == '5' && (restNonZero || !digits.IsEven));
        if (up) digits += 1;
        string ds = digits.ToString(CultureInfo.InvariantCulture).PadLeft(n + 1, '0');
        string text = n > 0 ? ds[..^n] + "." + ds[^n..] : ds;
        double r = double.Parse(text, CultureInfo.InvariantCulture);
        return x < 0 ? -r : r;
    }

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRe();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex CommentRe();

    [GeneratedRegex(@"<.*?>", RegexOptions.Singleline)]
    private static partial Regex TagRe();

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex TitleSplitRe();
}

/// <summary>Jinja2's built-in tests.</summary>
internal static class Tests
{
    public static readonly HashSet<string> Names =
    [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "filter",
        "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt",
        "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test",
        "true", "undefined", "upper",
    ];

    public static bool Apply(Interpreter it, string name, object? v, List<object?> args, List<KeyValuePair<string, object?>> kw)
    {
        object? A(int i) => i < args.Count ? args[i] : kw.Count > i ? kw[i].Value : throw PyOps.TypeError($"test '{name}' is missing an argument");
        switch (name)
        {
            case "defined": return v is not Undefined;
            case "undefined": return v is Undefined;
            case "none": return v is null;
            case "boolean": return v is bool;
            case "true": return v is true;
            case "false": return v is false;
            case "string": return v is string;
            case "number": return v is long or double or bool;
            case "integer": return v is long;
            case "float": return v is double;
            case "mapping": return v is OrderedDictionary<string, object?>;
            case "sequence": return v is string or List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined;
            case "iterable": return v is string or List<object?> or PyTuple or OrderedDictionary<string, object?> or Undefined or PyIterator or PyView;
            case "callable": return v is PyCallable or Undefined; // Undefined defines __call__
            case "escaped": return false;
            case "filter": return v is string f && Filters.Names.Contains(f);
            case "test": return v is string t && Names.Contains(t);
            case "even": return Arith.Binary(it, "%", v is long or bool ? PyOps.AsLong(v) : v, 2L) is var m && PyOps.Equals(m, 0L);
            case "odd": return Arith.Binary(it, "%", v is long or bool ? PyOps.AsLong(v) : v, 2L) is var m2 && PyOps.Equals(m2, 1L);
            case "divisibleby": return PyOps.Equals(Arith.Binary(it, "%", v, A(0)), 0L);
            case "lower": { string s = PyOps.Str(v); return (bool)Methods.Call(it, s, "islower", [], [])!; }
            case "upper": { string s = PyOps.Str(v); return (bool)Methods.Call(it, s, "isupper", [], [])!; }
            case "eq" or "equalto" or "==": return PyOps.CompareOp("==", v, A(0));
            case "ne" or "!=": return PyOps.CompareOp("!=", v, A(0));
            case "lt" or "lessthan" or "<": return PyOps.CompareOp("<", v, A(0));
            case "le" or "<=": return PyOps.CompareOp("<=", v, A(0));
            case "gt" or "greaterthan" or ">": return PyOps.CompareOp(">", v, A(0));
            case "ge" or ">=": return PyOps.CompareOp(">=", v, A(0));
            case "in": return PyOps.Contains(A(0), v);
            case "sameas":
            {
                var o = A(0);
                if (v is null || o is null) return v is null && o is null;
                if (v is bool b1) return o is bool b2 && b1 == b2;
                if (v is long l1) return o is long l2 && l1 == l2 && l1 >= -5 && l1 <= 256;
                if (v is string s1) return o is string s2 && (ReferenceEquals(s1, s2) || (s1.Length <= 1 && s1 == s2));
                return ReferenceEquals(v, o);
            }
            default:
                throw new TemplateException("TemplateAssertionError", $"No test named {PyOps.Repr(name)}.");
        }
    }
}
