using System.Globalization;
using System.Text;

namespace SeeSharp.Templates;

internal enum TokenKind { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof }

internal readonly record struct Token(TokenKind Kind, string Text, int Line, int Column, object? Value = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;
    public bool IsOp(string text) => Kind == TokenKind.Op && Text == text;
    public bool IsName(string text) => Kind == TokenKind.Name && Text == text;

    public string Describe() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.VarEnd => "end of print statement",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.Data => "template data",
        TokenKind.String => "string",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Jinja2's lexer with transformers' settings: trim_blocks (one newline after a block or comment tag is dropped),
/// lstrip_blocks (spaces and tabs from the start of a line up to a block or comment tag are dropped),
/// <c>-</c>/<c>+</c> whitespace control, comments, raw blocks, no trailing newline (keep_trailing_newline=False),
/// newlines normalised to <c>\n</c>.
/// </summary>
internal sealed class Lexer
{
    private readonly string _src;
    private readonly List<Token> _tokens = new();
    private readonly int[] _lineStarts;

    private Lexer(string src)
    {
        _src = src;
        var starts = new List<int> { 0 };
        for (int i = 0; i < src.Length; i++) if (src[i] == '\n') starts.Add(i + 1);
        _lineStarts = starts.ToArray();
    }

    public static List<Token> Tokenize(string source)
    {
        // Newline normalisation and keep_trailing_newline=False, exactly as Jinja does it on the whole source.
        string src = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (src.EndsWith('\n')) src = src[..^1];
        var lexer = new Lexer(src);
        lexer.Run();
        return lexer._tokens;
    }

    private (int Line, int Col) Pos(int offset)
    {
        int lo = Array.BinarySearch(_lineStarts, offset);
        if (lo < 0) lo = ~lo - 1;
        return (lo + 1, offset - _lineStarts[lo] + 1);
    }

    private TemplateSyntaxException Error(string msg, int offset)
    {
        var (l, c) = Pos(offset);
        return new TemplateSyntaxException(msg, l, c);
    }

    private void Add(TokenKind kind, string text, int offset, object? value = null)
    {
        var (l, c) = Pos(offset);
        _tokens.Add(new Token(kind, text, l, c, value));
    }

    // Python's str.isspace / re's \s (what Jinja's rstrip and lstrip_blocks use): Unicode whitespace plus \x1c-\x1f.
    private static bool IsPyWhite(char c) => PyOps.IsPySpace(c);

    private void Run()
    {
        int pos = 0;
        bool lineStarting = true;
        while (pos < _src.Length)
        {
            int open = FindOpen(pos);
            if (open < 0)
            {
                Add(TokenKind.Data, _src[pos..], pos);
                break;
            }
            char kind = _src[open + 1]; // '{', '%' or '#'
            char sign = open + 2 < _src.Length && (_src[open + 2] == '-' || _src[open + 2] == '+') ? _src[open + 2] : '\0';
            string text = _src[pos..open];
            if (sign == '-')
            {
                text = text.TrimEnd(PyWhitespace);
            }
            else if (sign != '+' && kind != '{')
            {
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.Length && AllWhite(text, lpos)) text = text[..lpos];
            }
            if (text.Length > 0) Add(TokenKind.Data, text, pos);
            int after = open + 2 + (sign != '\0' ? 1 : 0);

            if (kind == '#')
            {
                int close = _src.IndexOf("#}", after, StringComparison.Ordinal);
                if (close < 0) throw Error("Missing end of comment tag", open);
                bool minus = close > after && _src[close - 1] == '-';
                bool plus = close > after && _src[close - 1] == '+';
                pos = close + 2;
                pos = AfterTagEnd(pos, minus, plus);
                lineStarting = pos > 0 && _src[pos - 1] == '\n';
                continue;
            }

            if (kind == '%' && TryRaw(after, out int rawEnd))
            {
                pos = rawEnd;
                lineStarting = pos > 0 && _src[pos - 1] == '\n';
                continue;
            }

            Add(kind == '%' ? TokenKind.BlockBegin : TokenKind.VarBegin, _src[open..after], open);
            pos = LexTag(after, kind == '%', open);
            lineStarting = pos > 0 && _src[pos - 1] == '\n';
        }
        Add(TokenKind.Eof, "", _src.Length);
    }

    private static readonly char[] PyWhitespace =
        Enumerable.Range(0, 0x3001).Select(i => (char)i).Where(IsPyWhite).ToArray();

    private static bool AllWhite(string s, int from)
    {
        for (int i = from; i < s.Length; i++) if (!IsPyWhite(s[i])) return false;
        return true;
    }

    private int FindOpen(int pos)
    {
        while (true)
        {
            int i = _src.IndexOf('{', pos);
            if (i < 0 || i + 1 >= _src.Length) return -1;
            char n = _src[i + 1];
            if (n == '{' || n == '%' || n == '#') return i;
            pos = i + 1;
        }
    }

    /// <summary>Position after a closing tag: trim_blocks drops one newline; '-' drops all whitespace; '+' keeps all.</summary>
    private int AfterTagEnd(int pos, bool minus, bool plus, bool isBlock = true)
    {
        if (minus)
        {
            while (pos < _src.Length && IsPyWhite(_src[pos])) pos++;
        }
        else if (!plus && isBlock && pos < _src.Length && _src[pos] == '\n')
        {
            pos++;
        }
        return pos;
    }

    private int SkipSpaces(int p)
    {
        while (p < _src.Length && IsPyWhite(_src[p])) p++;
        return p;
    }

    private bool MatchWord(int p, string word, out int end)
    {
        end = p;
        if (string.CompareOrdinal(_src, p, word, 0, word.Length) != 0) return false;
        int q = p + word.Length;
        if (q < _src.Length && (char.IsLetterOrDigit(_src[q]) || _src[q] == '_')) return false;
        end = q;
        return true;
    }

    /// <summary><c>{% raw %}...{% endraw %}</c>: the body is emitted verbatim as data.</summary>
    private bool TryRaw(int after, out int end)
    {
        end = 0;
        int p = SkipSpaces(after);
        if (!MatchWord(p, "raw", out p)) return false;
        p = SkipSpaces(p);
        bool minus = false;
        if (p < _src.Length && _src[p] == '-') { minus = true; p++; }
        if (string.CompareOrdinal(_src, p, "%}", 0, 2) != 0) return false;
        p += 2;
        if (minus) p = SkipSpaces(p); // Jinja: "{% raw -%}" strips; "{% raw %}" keeps the newline (no trim_blocks here)
        int bodyStart = p;
        int search = p;
        while (true)
        {
            int open = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (open < 0) throw Error("Missing end of raw directive", after);
            int q = open + 2;
            char sign = q < _src.Length && (_src[q] == '-' || _src[q] == '+') ? _src[q] : '\0';
            if (sign != '\0') q++;
            q = SkipSpaces(q);
            if (!MatchWord(q, "endraw", out q)) { search = open + 2; continue; }
            q = SkipSpaces(q);
            char endSign = '\0';
            if (q < _src.Length && (_src[q] == '-' || _src[q] == '+')) { endSign = _src[q]; q++; }
            if (string.CompareOrdinal(_src, q, "%}", 0, 2) != 0) { search = open + 2; continue; }
            string body = _src[bodyStart..open];
            if (sign == '-') body = body.TrimEnd(PyWhitespace);
            else if (sign != '+')
            {
                int lpos = body.LastIndexOf('\n') + 1;
                if (lpos > 0 && lpos < body.Length && AllWhite(body, lpos)) body = body[..lpos];
            }
            if (body.Length > 0) Add(TokenKind.Data, body, bodyStart);
            end = AfterTagEnd(q + 2, endSign == '-', endSign == '+');
            return true;
        }
    }

    private static readonly string[] Ops2 = ["//", "**", "==", "!=", "<=", ">="];
    private const string Ops1 = "+-/*%~[](){}<>=.:|,;";

    /// <summary>Tokenises the inside of a <c>{{ }}</c> or <c>{% %}</c> tag; returns the position after its end.</summary>
    private int LexTag(int p, bool block, int tagStart)
    {
        int depth = 0;
        while (true)
        {
            p = SkipSpaces(p);
            if (p >= _src.Length) throw Error(block ? "Unexpected end of template; the block tag was never closed" : "Unexpected end of template; the print tag was never closed", tagStart);
            if (depth == 0)
            {
                if (block)
                {
                    if (At(p, "-%}")) { Add(TokenKind.BlockEnd, "-%}", p); return AfterTagEnd(p + 3, true, false); }
                    if (At(p, "+%}")) { Add(TokenKind.BlockEnd, "+%}", p); return AfterTagEnd(p + 3, false, true); }
                    if (At(p, "%}")) { Add(TokenKind.BlockEnd, "%}", p); return AfterTagEnd(p + 2, false, false); }
                }
                else
                {
                    if (At(p, "-}}")) { Add(TokenKind.VarEnd, "-}}", p); return AfterTagEnd(p + 3, true, false, isBlock: false); }
                    if (At(p, "}}")) { Add(TokenKind.VarEnd, "}}", p); return p + 2; }
                }
            }
            char c = _src[p];
            if (char.IsLetter(c) || c == '_')
            {
                int s = p;
                while (p < _src.Length && (char.IsLetterOrDigit(_src[p]) || _src[p] == '_')) p++;
                Add(TokenKind.Name, _src[s..p], s);
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                p = LexNumber(p);
                continue;
            }
            if (c == '\'' || c == '"')
            {
                p = LexString(p);
                continue;
            }
            string? op = null;
            foreach (var o in Ops2) if (At(p, o)) { op = o; break; }
            if (op is null && Ops1.IndexOf(c) >= 0) op = c.ToString();
            if (op is null) throw Error($"unexpected char '{c}' at {p}", p);
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}")
            {
                if (depth == 0) throw Error($"unexpected '{op}'", p);
                depth--;
            }
            Add(TokenKind.Op, op, p);
            p += op.Length;
        }
    }

    private bool At(int p, string s) => string.CompareOrdinal(_src, p, s, 0, s.Length) == 0;

    private int LexNumber(int p)
    {
        int s = p;
        if (_src[p] == '0' && p + 1 < _src.Length && "xXoObB".IndexOf(_src[p + 1]) >= 0)
        {
            int radix = char.ToLowerInvariant(_src[p + 1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            p += 2;
            long v = 0;
            int digits = 0;
            while (p < _src.Length && (Uri.IsHexDigit(_src[p]) || _src[p] == '_'))
            {
                if (_src[p] != '_')
                {
                    int d = Convert.ToInt32(_src[p].ToString(), 16);
                    if (d >= radix) break;
                    if (v > (long.MaxValue - d) / radix) throw Error($"integer literal {_src[s..(p + 1)]}... is out of the supported 64-bit range", s);
                    v = v * radix + d;
                    digits++;
                }
                p++;
            }
            if (digits == 0) throw Error("invalid integer literal", s);
            Add(TokenKind.Int, _src[s..p], s, v);
            return p;
        }
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1])))) p++;
        bool isFloat = false;
        if (p + 1 < _src.Length && _src[p] == '.' && char.IsAsciiDigit(_src[p + 1]) && (s == 0 || _src[s - 1] != '.'))
        {
            isFloat = true;
            p++;
            while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1])))) p++;
        }
        if (p < _src.Length && (_src[p] == 'e' || _src[p] == 'E'))
        {
            int q = p + 1;
            if (q < _src.Length && (_src[q] == '+' || _src[q] == '-')) q++;
            if (q < _src.Length && char.IsAsciiDigit(_src[q]))
            {
                isFloat = true;
                p = q;
                while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || _src[p] == '_')) p++;
            }
        }
        string text = _src[s..p].Replace("_", "");
        if (isFloat)
        {
            Add(TokenKind.Float, text, s, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }
        else
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                throw Error($"integer literal {text} is out of the supported 64-bit range", s);
            Add(TokenKind.Int, text, s, v);
        }
        return p;
    }

    /// <summary>A string literal, unescaped like Python's "unicode-escape" codec (unknown escapes stay verbatim).</summary>
    private int LexString(int p)
    {
        int s = p;
        char q = _src[p++];
        var sb = new StringBuilder();
        while (true)
        {
            if (p >= _src.Length) throw Error("unexpected end of string", s);
            char c = _src[p];
            if (c == q) { p++; break; }
            if (c != '\\') { sb.Append(c); p++; continue; }
            if (p + 1 >= _src.Length) throw Error("unexpected end of string", s);
            char e = _src[p + 1];
            p += 2;
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case >= '0' and <= '7':
                {
                    int v = e - '0';
                    for (int k = 0; k < 2 && p < _src.Length && _src[p] >= '0' && _src[p] <= '7'; k++) v = v * 8 + (_src[p++] - '0');
                    sb.Append((char)v);
                    break;
                }
                case 'x': p = HexEscape(sb, p, 2, s); break;
                case 'u': p = HexEscape(sb, p, 4, s); break;
                case 'U': p = HexEscape(sb, p, 8, s); break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        Add(TokenKind.String, _src[s..p], s, sb.ToString());
        return p;
    }

    private int HexEscape(StringBuilder sb, int p, int n, int s)
    {
        if (p + n > _src.Length) throw Error("truncated \\x/\\u escape in string literal", s);
        string hex = _src.Substring(p, n);
        if (!int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp) || cp > 0x10FFFF || hex.Any(ch => !Uri.IsHexDigit(ch)))
            throw Error($"invalid escape \\{(n == 2 ? 'x' : n == 4 ? 'u' : 'U')}{hex} in string literal", s);
        if (cp >= 0xD800 && cp <= 0xDFFF) sb.Append((char)cp);
        else sb.Append(char.ConvertFromUtf32(cp));
        return p + n;
    }
}
