using System.Globalization;
using System.Text;

namespace SeeSharp.Templates;

/// <summary>Python arithmetic on long/double/bool, str and list operators, with the interpreter's size limits.</summary>
internal static class Arith
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static TemplateException Overflow() =>
        new("OverflowError", "integer result does not fit in 64 bits (Python would switch to a big integer; this engine does not)");

    private static TemplateException Unsupported(string op, object? a, object? b) =>
        PyOps.TypeError($"unsupported operand type(s) for {(op == "**" ? "** or pow()" : op)}: '{PyOps.TypeName(a)}' and '{PyOps.TypeName(b)}'");

    public static object? Neg(object? v) => v switch
    {
        long l => l == long.MinValue ? throw Overflow() : (object)(-l),
        double d => (object)(-d),
        bool b => b ? -1L : 0L,
        Undefined u => throw u.Fail(),
        _ => throw PyOps.TypeError($"bad operand type for unary -: '{PyOps.TypeName(v)}'"),
    };

    public static object? Pos(object? v) => v switch
    {
        long or double => v,
        bool b => (object)(b ? 1L : 0L),
        Undefined u => throw u.Fail(),
        _ => throw PyOps.TypeError($"bad operand type for unary +: '{PyOps.TypeName(v)}'"),
    };

    public static object? Binary(Interpreter it, string op, object? a, object? b)
    {
        // str % x formats even when x is Undefined (Python treats anything with __getitem__ as a mapping argument).
        if (op == "%" && a is string fmt0) return Printf.Format(it, fmt0, b);
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        bool na = PyOps.IsNumber(a), nb = PyOps.IsNumber(b);
        if (na && nb)
        {
            if (a is double || b is double || op == "/") return FloatOp(op, PyOps.ToDouble(a), PyOps.ToDouble(b), a is double || b is double);
            return IntOp(op, PyOps.AsLong(a), PyOps.AsLong(b));
        }
        switch (op)
        {
            case "+":
                if (a is string sa)
                {
                    if (b is string sb)
                    {
                        it.CheckStringLength((long)sa.Length + sb.Length);
                        return sa + sb;
                    }
                    throw PyOps.TypeError($"can only concatenate str (not \"{PyOps.TypeName(b)}\") to str");
                }
                if (a is List<object?> la)
                {
                    if (b is List<object?> lb)
                    {
                        it.CheckListLength((long)la.Count + lb.Count);
                        var r = new List<object?>(la.Count + lb.Count);
                        r.AddRange(la);
                        r.AddRange(lb);
                        it.Charge(r.Count / 16);
                        return r;
                    }
                    throw PyOps.TypeError($"can only concatenate list (not \"{PyOps.TypeName(b)}\") to list");
                }
                if (a is PyTuple ta)
                {
                    if (b is PyTuple tb)
                    {
                        it.CheckListLength((long)ta.Count + tb.Count);
                        return new PyTuple([.. ta.Items, .. tb.Items]);
                    }
                    throw PyOps.TypeError($"can only concatenate tuple (not \"{PyOps.TypeName(b)}\") to tuple");
                }
                break;
            case "*":
                if ((a is string || a is List<object?> || a is PyTuple) && b is long or bool) return Repeat(it, a, PyOps.AsLong(b));
                if ((b is string || b is List<object?> || b is PyTuple) && a is long or bool) return Repeat(it, b, PyOps.AsLong(a));
                if (a is string or List<object?> or PyTuple) throw PyOps.TypeError($"can't multiply sequence by non-int of type '{PyOps.TypeName(b)}'");
                if (b is string or List<object?> or PyTuple) throw PyOps.TypeError($"can't multiply sequence by non-int of type '{PyOps.TypeName(a)}'");
                break;
            case "%":
                if (a is string fmt) return Printf.Format(it, fmt, b);
                break;
        }
        throw Unsupported(op, a, b);
    }

    private static object Repeat(Interpreter it, object seq, long n)
    {
        if (n <= 0) return seq is string ? "" : seq is PyTuple ? new PyTuple([]) : new List<object?>();
        switch (seq)
        {
            case string s:
            {
                it.CheckStringLength(s.Length * n);
                var sb = new StringBuilder((int)(s.Length * n));
                for (long i = 0; i < n; i++) sb.Append(s);
                return sb.ToString();
            }
            case List<object?> l:
            {
                it.CheckListLength(l.Count * n);
                it.Charge(l.Count * n / 16);
                var r = new List<object?>((int)(l.Count * n));
                for (long i = 0; i < n; i++) r.AddRange(l);
                return r;
            }
            default:
            {
                var t = (PyTuple)seq;
                it.CheckListLength(t.Count * n);
                var r = new List<object?>();
                for (long i = 0; i < n; i++) r.AddRange(t.Items);
                return new PyTuple(r.ToArray());
            }
        }
    }

    private static object IntOp(string op, long a, long b)
    {
        try
        {
            switch (op)
            {
                case "+": return checked(a + b);
                case "-": return checked(a - b);
                case "*": return checked(a * b);
                case "//":
                {
                    if (b == 0) throw new TemplateException("ZeroDivisionError", "integer division or modulo by zero");
                    if (a == long.MinValue && b == -1) throw Overflow();
                    long q = a / b;
                    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
                    return q;
                }
                case "%":
                {
                    if (b == 0) throw new TemplateException("ZeroDivisionError", "integer modulo by zero");
                    if (b == -1) return 0L;
                    long m = a % b;
                    if (m != 0 && ((m < 0) != (b < 0))) m += b;
                    return m;
                }
                case "**":
                {
                    if (b < 0) return FloatOp("**", a, b, false);
                    long r = 1, x = a, e = b;
                    while (e > 0)
                    {
                        if ((e & 1) != 0) r = checked(r * x);
                        e >>= 1;
                        if (e > 0) x = checked(x * x);
                    }
                    return r;
                }
            }
        }
        catch (OverflowException)
        {
            throw Overflow();
        }
        throw new InvalidOperationException(op);
    }

    private static object FloatOp(string op, double a, double b, bool anyFloat)
    {
        switch (op)
        {
            case "+": return a + b;
            case "-": return a - b;
            case "*": return a * b;
            case "/":
                if (b == 0) throw new TemplateException("ZeroDivisionError", anyFloat ? "float division by zero" : "division by zero");
                return a / b;
            case "//":
            {
                if (b == 0) throw new TemplateException("ZeroDivisionError", "float floor division by zero");
                return PyDivMod(a, b).Div;
            }
            case "%":
            {
                if (b == 0) throw new TemplateException("ZeroDivisionError", "float modulo");
                return PyDivMod(a, b).Mod;
            }
            case "**":
                if (a == 0 && b < 0) throw new TemplateException("ZeroDivisionError", "0.0 cannot be raised to a negative power");
                if (a < 0 && b != Math.Floor(b)) throw PyOps.ValueError("complex results are not supported");
                double p = Math.Pow(a, b);
                if (double.IsInfinity(p) && double.IsFinite(a) && double.IsFinite(b)) throw new TemplateException("OverflowError", "(34, 'Numerical result out of range')");
                return p;
        }
        throw new InvalidOperationException(op);
    }

    /// <summary>CPython's float divmod.</summary>
    private static (double Div, double Mod) PyDivMod(double vx, double wx)
    {
        double mod = vx % wx;
        double div = (vx - mod) / wx;
        if (mod != 0)
        {
            if ((wx < 0) != (mod < 0))
            {
                mod += wx;
                div -= 1.0;
            }
        }
        else mod = Math.CopySign(0.0, wx);
        double floordiv;
        if (div != 0)
        {
            floordiv = Math.Floor(div);
            if (div - floordiv > 0.5) floordiv += 1.0;
        }
        else floordiv = Math.CopySign(0.0, vx / wx);
        return (floordiv, mod);
    }
}

/// <summary>Python's printf-style <c>str % args</c>.</summary>
internal static class Printf
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Format(Interpreter it, string fmt, object? arg)
    {
        var sb = new StringBuilder();
        object?[] args = arg is PyTuple t ? t.Items : [arg];
        var dict = arg as OrderedDictionary<string, object?>;
        int ai = 0;
        bool usedDict = false;
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= fmt.Length) throw PyOps.ValueError("incomplete format");
            object? value;
            string? key = null;
            if (fmt[i] == '(')
            {
                int close = fmt.IndexOf(')', i);
                if (close < 0) throw PyOps.ValueError("incomplete format key");
                key = fmt[(i + 1)..close];
                i = close + 1;
            }
            string flags = "";
            while (i < fmt.Length && "-+ #0".IndexOf(fmt[i]) >= 0) flags += fmt[i++];
            int? width = null, prec = null;
            int ws = i;
            if (i < fmt.Length && fmt[i] == '*') { width = (int)PyOps.AsLong(args[ai++]); i++; }
            else
            {
                while (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
                if (i > ws) width = int.Parse(fmt[ws..i], Inv);
            }
            if (i < fmt.Length && fmt[i] == '.')
            {
                i++;
                int ps = i;
                while (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
                prec = i > ps ? int.Parse(fmt[ps..i], Inv) : 0;
            }
            while (i < fmt.Length && "hlL".IndexOf(fmt[i]) >= 0) i++;
            if (i >= fmt.Length) throw PyOps.ValueError("incomplete format");
            char conv = fmt[i];
            if (conv == '%') { sb.Append('%'); continue; }
            if (key is not null)
            {
                if (dict is null) throw PyOps.TypeError("format requires a mapping");
                if (!dict.TryGetValue(key, out value)) throw new TemplateException("KeyError", PyOps.Repr(key));
                usedDict = true;
            }
            else
            {
                if (ai >= args.Length) throw PyOps.TypeError("not enough arguments for format string");
                value = args[ai++];
            }
            if (value is Undefined u && conv is not ('s' or 'r' or 'a')) throw u.Fail();
            string body = conv switch
            {
                's' => PyOps.Str(value),
                'r' or 'a' => PyOps.Repr(value),
                'd' or 'i' or 'u' => IntText(value, flags),
                'x' => Radix(value, 16, false, flags),
                'X' => Radix(value, 16, true, flags),
                'o' => Radix(value, 8, false, flags),
                'f' or 'F' or 'e' or 'E' or 'g' or 'G' => FloatFormat.Format(PyOps.ToDouble(Num(value)), conv, prec ?? 6, flags.Contains('#')),
                'c' => value is string cs ? cs : PyOps.FromCodePoint((int)PyOps.AsLong(value)),
                _ => throw PyOps.ValueError($"unsupported format character '{conv}' (0x{(int)conv:x}) at index {i}"),
            };
            if (conv is 's' or 'r' or 'a' && prec is not null && body.Length > prec) body = body[..prec.Value];
            if (conv is 'd' or 'i' or 'u' or 'f' or 'F' or 'e' or 'E' or 'g' or 'G' or 'x' or 'X' or 'o')
            {
                if (!body.StartsWith('-'))
                {
                    if (flags.Contains('+')) body = "+" + body;
                    else if (flags.Contains(' ')) body = " " + body;
                }
            }
            if (width is not null && body.Length < width)
            {
                if (flags.Contains('-')) body = body.PadRight(width.Value);
                else if (flags.Contains('0') && conv is not ('s' or 'r' or 'a' or 'c'))
                {
                    int signLen = body.Length > 0 && (body[0] is '-' or '+' or ' ') ? 1 : 0;
                    body = body[..signLen] + new string('0', width.Value - body.Length) + body[signLen..];
                }
                else body = body.PadLeft(width.Value);
            }
            sb.Append(body);
            it.CheckStringLength(sb.Length);
        }
        // PyUnicode_Format: a non-tuple argument with __getitem__ (list, dict, Undefined) is a "mapping", and unused
        // mapping arguments are not an error.
        bool mappingLike = arg is List<object?> or OrderedDictionary<string, object?> or Undefined;
        if (!usedDict && !mappingLike && ai < args.Length) throw PyOps.TypeError("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static object? Num(object? v) => PyOps.IsNumber(v) ? v : throw PyOps.TypeError($"must be real number, not {PyOps.TypeName(v)}");

    private static string IntText(object? v, string flags)
    {
        if (v is double d) return ((long)Math.Truncate(d)).ToString(Inv);
        if (v is long or bool) return PyOps.AsLong(v).ToString(Inv);
        throw PyOps.TypeError($"%d format: a real number is required, not {PyOps.TypeName(v)}");
    }

    private static string Radix(object? v, int radix, bool upper, string flags)
    {
        long n = v is long or bool ? PyOps.AsLong(v) : throw PyOps.TypeError($"%x format: an integer is required, not {PyOps.TypeName(v)}");
        string s = Convert.ToString(Math.Abs(n), radix);
        if (upper) s = s.ToUpperInvariant();
        if (flags.Contains('#')) s = (radix == 16 ? (upper ? "0X" : "0x") : "0o") + s;
        return n < 0 ? "-" + s : s;
    }
}

/// <summary>Python's fixed / exponent / general float formatting (%f, %e, %g and format specs).</summary>
internal static class FloatFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Format(double d, char conv, int prec, bool alt)
    {
        if (double.IsNaN(d)) return char.IsUpper(conv) ? "NAN" : "nan";
        if (double.IsInfinity(d)) return (d < 0 ? "-" : "") + (char.IsUpper(conv) ? "INF" : "inf");
        switch (conv)
        {
            case 'f':
            case 'F':
                return d.ToString("F" + prec, Inv);
            case 'e':
            case 'E':
            {
                string s = d.ToString((conv == 'e' ? "e" : "E") + prec, Inv); // e.g. 1.500000e+003
                return FixExponent(s);
            }
            default:
            {
                // %g: precision P (0 -> 1); exponent X from %e formatting; fixed if -4 <= X < P.
                int p = prec == 0 ? 1 : prec;
                if (d == 0) return alt ? "0." + new string('0', p - 1) : (double.IsNegative(d) ? "-0" : "0");
                string es = d.ToString("e" + (p - 1), Inv);
                int x = int.Parse(es[(es.IndexOf('e') + 1)..], Inv);
                string r;
                if (x >= -4 && x < p) r = d.ToString("F" + Math.Max(0, p - 1 - x), Inv);
                else r = FixExponent(es);
                if (!alt)
                {
                    int epos = r.IndexOf('e');
                    string mant = epos >= 0 ? r[..epos] : r;
                    string exp = epos >= 0 ? r[epos..] : "";
                    if (mant.Contains('.')) mant = mant.TrimEnd('0').TrimEnd('.');
                    r = mant + exp;
                }
                return conv == 'G' ? r.ToUpperInvariant() : r;
            }
        }
    }

    private static string FixExponent(string s)
    {
        int e = s.IndexOfAny(['e', 'E']);
        string mant = s[..e];
        char ec = s[e];
        int exp = int.Parse(s[(e + 1)..], Inv);
        return mant + ec + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", Inv);
    }
}
