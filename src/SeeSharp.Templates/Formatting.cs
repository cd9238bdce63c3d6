using System.Globalization;
using System.Text;

namespace SeeSharp.Templates;

/// <summary>Python's <c>str.format</c> (positional, keyword, attribute/index fields, !r/!s, format specs).</summary>
internal static class StrFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Format(Interpreter it, string fmt, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c == '{')
            {
                if (i + 1 < fmt.Length && fmt[i + 1] == '{') { sb.Append('{'); i++; continue; }
                int close = fmt.IndexOf('}', i);
                if (close < 0) throw PyOps.ValueError("Single '{' encountered in format string");
                string field = fmt[(i + 1)..close];
                i = close;
                string? spec = null, conv = null;
                int colon = field.IndexOf(':');
                if (colon >= 0) { spec = field[(colon + 1)..]; field = field[..colon]; }
                int bang = field.IndexOf('!');
                if (bang >= 0) { conv = field[(bang + 1)..]; field = field[..bang]; }
                int end = 0;
                while (end < field.Length && field[end] != '.' && field[end] != '[') end++;
                string head = field[..end];
                object? value;
                if (head.Length == 0)
                {
                    if (auto >= args.Count) throw new TemplateException("IndexError", $"Replacement index {auto} out of range for positional args tuple");
                    value = args[auto++];
                }
                else if (int.TryParse(head, NumberStyles.None, Inv, out int idx))
                {
                    if (idx >= args.Count) throw new TemplateException("IndexError", $"Replacement index {idx} out of range for positional args tuple");
                    value = args[idx];
                }
                else
                {
                    var kv = kwargs.FindIndex(k => k.Key == head);
                    if (kv < 0) throw new TemplateException("KeyError", PyOps.Repr(head));
                    value = kwargs[kv].Value;
                }
                string rest = field[end..];
                while (rest.Length > 0)
                {
                    if (rest[0] == '.')
                    {
                        int e = 1;
                        while (e < rest.Length && rest[e] != '.' && rest[e] != '[') e++;
                        value = it.GetAttr(value, rest[1..e]);
                        rest = rest[e..];
                    }
                    else
                    {
                        int e = rest.IndexOf(']');
                        if (e < 0) throw PyOps.ValueError("Missing ']' in format string");
                        string key = rest[1..e];
                        value = it.GetItem(value, long.TryParse(key, NumberStyles.None, Inv, out long ki) ? ki : key);
                        rest = rest[(e + 1)..];
                    }
                }
                if (conv == "r") value = PyOps.Repr(value);
                else if (conv == "s") value = PyOps.Str(value);
                sb.Append(FormatSpec(value, spec ?? ""));
                it.CheckStringLength(sb.Length);
            }
            else if (c == '}')
            {
                if (i + 1 < fmt.Length && fmt[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw PyOps.ValueError("Single '}' encountered in format string");
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Python's format(value, spec): [[fill]align][sign][#][0][width][,][.precision][type].</summary>
    public static string FormatSpec(object? value, string spec)
    {
        if (value is Undefined u && spec.Length > 0) throw u.Fail();
        int p = 0;
        char fill = ' ';
        char align = '\0';
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=') { fill = spec[0]; align = spec[1]; p = 2; }
        else if (spec.Length >= 1 && spec[0] is '<' or '>' or '^' or '=') { align = spec[0]; p = 1; }
        char sign = '-';
        if (p < spec.Length && spec[p] is '+' or '-' or ' ') sign = spec[p++];
        bool alt = false;
        if (p < spec.Length && spec[p] == '#') { alt = true; p++; }
        if (p < spec.Length && spec[p] == '0' && align == '\0') { fill = '0'; align = '='; p++; }
        int ws = p;
        while (p < spec.Length && char.IsAsciiDigit(spec[p])) p++;
        int width = p > ws ? int.Parse(spec[ws..p], Inv) : 0;
        bool comma = false;
        if (p < spec.Length && spec[p] is ',' or '_') { comma = true; p++; }
        int? prec = null;
        if (p < spec.Length && spec[p] == '.')
        {
            int ps = ++p;
            while (p < spec.Length && char.IsAsciiDigit(spec[p])) p++;
            prec = int.Parse(spec[ps..p], Inv);
        }
        char type = p < spec.Length ? spec[p] : '\0';
        string body;
        bool numeric = PyOps.IsNumber(value) && value is not bool || (value is bool && type != '\0');
        if (value is string s)
        {
            body = prec is not null && s.Length > prec ? s[..prec.Value] : s;
            if (align == '\0') align = '<';
        }
        else if (numeric)
        {
            double d = PyOps.ToDouble(value);
            if (type == '\0' && value is long or bool) type = 'd';
            switch (type)
            {
                case 'd': body = Math.Abs(PyOps.AsLong(value)).ToString(comma ? "#,0" : "0", Inv); break;
                case 'x': body = Convert.ToString(Math.Abs(PyOps.AsLong(value)), 16); if (alt) body = "0x" + body; break;
                case 'X': body = Convert.ToString(Math.Abs(PyOps.AsLong(value)), 16).ToUpperInvariant(); if (alt) body = "0X" + body; break;
                case 'b': body = Convert.ToString(Math.Abs(PyOps.AsLong(value)), 2); if (alt) body = "0b" + body; break;
                case 'o': body = Convert.ToString(Math.Abs(PyOps.AsLong(value)), 8); if (alt) body = "0o" + body; break;
                case '%': body = FloatFormat.Format(Math.Abs(d) * 100, 'f', prec ?? 6, alt) + "%"; break;
                case '\0':
                    body = prec is null ? PyOps.FloatRepr(Math.Abs(d)) : FloatFormat.Format(Math.Abs(d), 'g', prec.Value, alt);
                    break;
                default: body = FloatFormat.Format(Math.Abs(d), type, prec ?? 6, alt); break;
            }
            bool neg = d < 0 || (d == 0 && double.IsNegative(d) && value is double);
            string signStr = neg ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
            if (align == '\0') align = '>';
            if (align == '=')
            {
                int padN = width - signStr.Length - body.Length;
                return signStr + (padN > 0 ? new string(fill, padN) : "") + body;
            }
            body = signStr + body;
        }
        else
        {
            body = PyOps.Str(value);
            if (align == '\0') align = '<';
        }
        int pad = width - PyOps.StrLen(body);
        if (pad <= 0) return body;
        return align switch
        {
            '<' => body + new string(fill, pad),
            '>' or '=' => new string(fill, pad) + body,
            _ => new string(fill, pad / 2) + body + new string(fill, pad - pad / 2),
        };
    }
}

/// <summary>Python's <c>datetime.strftime</c> in the C locale.</summary>
internal static class Strftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTime t, string fmt)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c != '%' || i + 1 >= fmt.Length) { sb.Append(c); continue; }
            char f = fmt[++i];
            if (f == '-' && i + 1 < fmt.Length)
            {
                // glibc extension (Python on Linux): "%-d" drops the zero padding.
                string padded = Format(t, "%" + fmt[++i]);
                string trimmed = padded.TrimStart('0');
                sb.Append(trimmed.Length == 0 && padded.Length > 0 ? "0" : trimmed);
                continue;
            }
            switch (f)
            {
                case 'a': sb.Append(Days[(int)t.DayOfWeek][..3]); break;
                case 'A': sb.Append(Days[(int)t.DayOfWeek]); break;
                case 'w': sb.Append((int)t.DayOfWeek); break;
                case 'u': sb.Append(t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek); break;
                case 'd': sb.Append(t.Day.ToString("00", inv)); break;
                case 'e': sb.Append(t.Day.ToString(inv).PadLeft(2)); break;
                case 'b': case 'h': sb.Append(Months[t.Month - 1][..3]); break;
                case 'B': sb.Append(Months[t.Month - 1]); break;
                case 'm': sb.Append(t.Month.ToString("00", inv)); break;
                case 'y': sb.Append((t.Year % 100).ToString("00", inv)); break;
                case 'Y': sb.Append(t.Year.ToString(inv)); break;
                case 'H': sb.Append(t.Hour.ToString("00", inv)); break;
                case 'I': sb.Append((t.Hour % 12 == 0 ? 12 : t.Hour % 12).ToString("00", inv)); break;
                case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                case 'M': sb.Append(t.Minute.ToString("00", inv)); break;
                case 'S': sb.Append(t.Second.ToString("00", inv)); break;
                case 'f': sb.Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv)); break;
                case 'j': sb.Append(t.DayOfYear.ToString("000", inv)); break;
                case 'z': case 'Z': break;
                case 'D': sb.Append(Format(t, "%m/%d/%y")); break;
                case 'F': sb.Append(Format(t, "%Y-%m-%d")); break;
                case 'T': sb.Append(Format(t, "%H:%M:%S")); break;
                case 'c': sb.Append(Format(t, "%a %b %e %H:%M:%S %Y")); break;
                case 'x': sb.Append(Format(t, "%m/%d/%y")); break;
                case 'X': sb.Append(Format(t, "%H:%M:%S")); break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%').Append(f); break;
            }
        }
        return sb.ToString();
    }
}

/// <summary>Python's <c>json.dumps</c> as transformers' <c>tojson</c> calls it (ensure_ascii=False by default).</summary>
internal static class PyJson
{
    public static string Dumps(Interpreter it, object? value, bool ensureAscii, object? indent, string itemSep, string keySep, bool sortKeys)
    {
        string? ind = indent switch
        {
            null => null,
            long n => new string(' ', (int)Math.Clamp(n, 0, 64)),
            string s => s,
            _ => throw PyOps.TypeError($"indent must be an int or str, not {PyOps.TypeName(indent)}"),
        };
        var sb = new StringBuilder();
        Write(it, sb, value, ensureAscii, ind, itemSep, keySep, sortKeys, 0);
        return sb.ToString();
    }

    private static void Write(Interpreter it, StringBuilder sb, object? v, bool ascii, string? ind, string itemSep, string keySep, bool sort, int depth)
    {
        if (depth > it.Limits.MaxValueDepth) throw new TemplateLimitException(nameof(TemplateLimits.MaxValueDepth), $"value nested deeper than {it.Limits.MaxValueDepth} levels in tojson");
        it.CheckStringLength(sb.Length);
        switch (v)
        {
            case null: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyOps.FloatRepr(d));
                return;
            case string s: WriteString(sb, s, ascii); return;
            case List<object?> or PyTuple:
            {
                IList<object?> items = v is PyTuple t ? t.Items : (List<object?>)v;
                it.Charge(items.Count);
                if (items.Count == 0) { sb.Append("[]"); return; }
                sb.Append('[');
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, ind, depth + 1);
                    Write(it, sb, items[i], ascii, ind, itemSep, keySep, sort, depth + 1);
                }
                NewLine(sb, ind, depth);
                sb.Append(']');
                return;
            }
            case OrderedDictionary<string, object?> dict:
            {
                it.Charge(dict.Count);
                if (dict.Count == 0) { sb.Append("{}"); return; }
                IEnumerable<KeyValuePair<string, object?>> pairs = dict;
                if (sort) pairs = dict.OrderBy(kv => kv.Key, Comparer<string>.Create(PyOps.CompareCodePoints));
                sb.Append('{');
                bool first = true;
                foreach (var kv in pairs)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(sb, ind, depth + 1);
                    WriteString(sb, kv.Key, ascii);
                    sb.Append(keySep);
                    Write(it, sb, kv.Value, ascii, ind, itemSep, keySep, sort, depth + 1);
                }
                NewLine(sb, ind, depth);
                sb.Append('}');
                return;
            }
            case Undefined: throw PyOps.TypeError("Object of type Undefined is not JSON serializable");
            default: throw PyOps.TypeError($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
        }
    }

    private static void NewLine(StringBuilder sb, string? ind, int depth)
    {
        if (ind is null) return;
        sb.Append('\n');
        for (int i = 0; i < depth; i++) sb.Append(ind);
    }

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
