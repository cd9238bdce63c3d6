namespace SeeSharp.Templates;

/// <summary>Recursive-descent parser with Jinja2's grammar and operator precedence.</summary>
internal sealed class Parser
{
    private readonly List<Token> _t;
    private readonly TemplateLimits _limits;
    private int _p;
    private int _depth;
    private int _loopDepth;

    private Parser(List<Token> tokens, TemplateLimits limits)
    {
        _t = tokens;
        _limits = limits;
    }

    public static List<Stmt> Parse(string source, TemplateLimits limits)
    {
        if (source.Length > limits.MaxSourceLength)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxSourceLength), $"template source has {source.Length} chars, more than {limits.MaxSourceLength}");
        var p = new Parser(Lexer.Tokenize(source), limits);
        var body = p.SubParse([], out _);
        return body;
    }

    private Token Cur => _t[_p];
    private Token Peek(int k = 1) => _t[Math.Min(_p + k, _t.Count - 1)];
    private Token Next() => _t[_p++];

    private static TemplateSyntaxException Error(string msg, Token at) => new(msg, at.Line, at.Column);

    private void Enter()
    {
        if (++_depth > _limits.MaxNestingDepth)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxNestingDepth), $"template nesting deeper than {_limits.MaxNestingDepth} at line {Cur.Line}, column {Cur.Column}");
    }

    private void Leave() => _depth--;

    private Token Expect(TokenKind kind, string? text, string what)
    {
        var tok = Cur;
        if (tok.Kind != kind || (text is not null && tok.Text != text))
            throw Error($"expected token {(what.StartsWith('\'') ? what : $"'{what}'")}, got {tok.Describe()}", tok);
        _p++;
        return tok;
    }

    private void ExpectBlockEnd() => Expect(TokenKind.BlockEnd, null, "end of statement block");

    private string ExpectName(string what) => Expect(TokenKind.Name, null, what).Text;

    // ---------------- statements ----------------

    /// <summary>Parses until a block tag whose name is in <paramref name="endTags"/>; leaves that name as the current token.</summary>
    private List<Stmt> SubParse(string[] endTags, out string endTag)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var tok = Cur;
            switch (tok.Kind)
            {
                case TokenKind.Data:
                    _p++;
                    body.Add(new TextStmt(tok.Text) { Line = tok.Line });
                    break;
                case TokenKind.VarBegin:
                {
                    _p++;
                    var e = ParseTuple(withCondExpr: true);
                    Expect(TokenKind.VarEnd, null, "end of print statement");
                    body.Add(new PrintStmt(e) { Line = tok.Line });
                    break;
                }
                case TokenKind.BlockBegin:
                {
                    _p++;
                    var name = Cur;
                    if (name.Kind != TokenKind.Name) throw Error($"expected a statement name, got {name.Describe()}", name);
                    if (Array.IndexOf(endTags, name.Text) >= 0)
                    {
                        endTag = name.Text;
                        _p++;
                        return body;
                    }
                    Enter();
                    body.Add(ParseStatement());
                    Leave();
                    break;
                }
                case TokenKind.Eof:
                    if (endTags.Length == 0)
                    {
                        endTag = "";
                        return body;
                    }
                    throw Error($"unexpected end of template; Jinja was looking for {string.Join(" or ", endTags.Select(t => $"'{t}'"))}", tok);
                default:
                    throw Error($"unexpected {tok.Describe()}", tok);
            }
        }
    }

    private Stmt ParseStatement()
    {
        var tok = Next();
        Stmt s = tok.Text switch
        {
            "if" => ParseIf(),
            "for" => ParseFor(),
            "set" => ParseSet(),
            "macro" => ParseMacro(),
            "call" => ParseCallBlock(),
            "filter" => ParseFilterBlock(),
            "with" => ParseWith(),
            "generation" => ParseGeneration(),
            "break" or "continue" => ParseLoopControl(tok),
            "extends" or "include" or "import" or "from" or "block" or "autoescape" or "do" =>
                throw Error($"tag '{tok.Text}' is not supported in chat templates (Jinja environment of transformers has no loader / 'do' extension)", tok),
            _ => throw Error($"Encountered unknown tag '{tok.Text}'.", tok),
        };
        s.Line = tok.Line;
        return s;
    }

    private Stmt ParseLoopControl(Token tok)
    {
        if (_loopDepth == 0) throw Error($"'{tok.Text}' outside of a loop", tok);
        ExpectBlockEnd();
        return tok.Text == "break" ? new BreakStmt() : new ContinueStmt();
    }

    private Stmt ParseIf()
    {
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt>? otherwise = null;
        var cond = ParseTuple(withCondExpr: false);
        ExpectBlockEnd();
        while (true)
        {
            var body = SubParse(["elif", "else", "endif"], out var end);
            branches.Add((cond, body));
            if (end == "elif")
            {
                cond = ParseTuple(withCondExpr: false);
                ExpectBlockEnd();
                continue;
            }
            if (end == "else")
            {
                ExpectBlockEnd();
                otherwise = SubParse(["endif"], out _);
            }
            ExpectBlockEnd();
            return new IfStmt(branches, otherwise);
        }
    }

    private Stmt ParseFor()
    {
        var target = ParseAssignTarget(allowNamespace: false, endName: "in");
        Expect(TokenKind.Name, "in", "'in'");
        var iter = ParseTuple(withCondExpr: false, endNames: ["recursive"]);
        Expr? filter = null;
        if (Cur.IsName("if"))
        {
            _p++;
            filter = ParseExpression(withCondExpr: true);
        }
        bool recursive = false;
        if (Cur.IsName("recursive"))
        {
            _p++;
            recursive = true;
        }
        ExpectBlockEnd();
        _loopDepth++;
        var body = SubParse(["endfor", "else"], out var end);
        _loopDepth--;
        List<Stmt>? otherwise = null;
        if (end == "else")
        {
            ExpectBlockEnd();
            otherwise = SubParse(["endfor"], out _);
        }
        ExpectBlockEnd();
        return new ForStmt(target, iter, filter, body, otherwise, recursive);
    }

    private Stmt ParseSet()
    {
        var target = ParseAssignTarget(allowNamespace: true, endName: null);
        if (Cur.IsOp("="))
        {
            _p++;
            var value = ParseTuple(withCondExpr: true);
            ExpectBlockEnd();
            return new SetStmt(target, value);
        }
        FilterExpr? filter = null;
        if (Cur.IsOp("|")) filter = ParseFilterChain();
        ExpectBlockEnd();
        var body = SubParse(["endset"], out _);
        ExpectBlockEnd();
        return new SetBlockStmt(target, filter, body);
    }

    private FilterExpr ParseFilterChain()
    {
        // "| a(x) | b" in a block set; "a(x) | b" in a filter block. The innermost filter gets Node = null.
        Expr? node = null;
        bool first = true;
        while (first || Cur.IsOp("|"))
        {
            if (Cur.IsOp("|")) _p++;
            first = false;
            node = ParseFilter(node);
        }
        return (FilterExpr)node!;
    }

    private FilterExpr ParseFilter(Expr? node)
    {
        var tok = Cur;
        string name = ExpectName("a filter name");
        while (Cur.IsOp(".") && Peek().Kind == TokenKind.Name)
        {
            _p++;
            name += "." + Next().Text;
        }
        if (!Filters.Names.Contains(name)) throw Error($"No filter named '{name}'.", tok);
        var args = Cur.IsOp("(") ? ParseCallArgs() : new CallArgs();
        return new FilterExpr(node, name, args) { Line = tok.Line };
    }

    private List<(string, Expr?)> ParseSignature()
    {
        var ps = new List<(string, Expr?)>();
        Expect(TokenKind.Op, "(", "'('");
        while (!Cur.IsOp(")"))
        {
            if (ps.Count > 0) Expect(TokenKind.Op, ",", "','");
            if (Cur.IsOp(")")) break;
            var tok = Cur;
            string n = ExpectName("a parameter name");
            if (ps.Any(x => x.Item1 == n)) throw Error($"duplicate parameter '{n}'", tok);
            Expr? def = null;
            if (Cur.IsOp("="))
            {
                _p++;
                def = ParseExpression(withCondExpr: true);
            }
            else if (ps.Count > 0 && ps[^1].Item2 is not null)
            {
                throw Error("non-default argument follows default argument", tok);
            }
            ps.Add((n, def));
        }
        _p++;
        return ps;
    }

    private Stmt ParseMacro()
    {
        string name = ExpectName("a macro name");
        var ps = ParseSignature();
        ExpectBlockEnd();
        int savedLoop = _loopDepth;
        _loopDepth = 0;
        var body = SubParse(["endmacro"], out _);
        _loopDepth = savedLoop;
        ExpectBlockEnd();
        return new MacroStmt(name, ps, body);
    }

    private Stmt ParseCallBlock()
    {
        var ps = Cur.IsOp("(") ? ParseSignature() : new List<(string, Expr?)>();
        var tok = Cur;
        var call = ParseExpression(withCondExpr: true) as CallExpr ?? throw Error("expected a call expression in the call block", tok);
        ExpectBlockEnd();
        int savedLoop = _loopDepth;
        _loopDepth = 0;
        var body = SubParse(["endcall"], out _);
        _loopDepth = savedLoop;
        ExpectBlockEnd();
        return new CallBlockStmt(call, ps, body);
    }

    private Stmt ParseFilterBlock()
    {
        var filter = ParseFilterChain();
        ExpectBlockEnd();
        var body = SubParse(["endfilter"], out _);
        ExpectBlockEnd();
        return new FilterBlockStmt(filter, body);
    }

    private Stmt ParseWith()
    {
        var assigns = new List<(Target, Expr)>();
        while (Cur.Kind != TokenKind.BlockEnd)
        {
            if (assigns.Count > 0) Expect(TokenKind.Op, ",", "','");
            var target = ParseAssignTarget(allowNamespace: false, endName: null);
            Expect(TokenKind.Op, "=", "'='");
            assigns.Add((target, ParseExpression(withCondExpr: true)));
        }
        ExpectBlockEnd();
        var body = SubParse(["endwith"], out _);
        ExpectBlockEnd();
        return new ScopeStmt(assigns, body);
    }

    private Stmt ParseGeneration()
    {
        // transformers' AssistantTracker extension: renders its body (and records assistant-token spans, unused here).
        ExpectBlockEnd();
        var body = SubParse(["endgeneration"], out _);
        ExpectBlockEnd();
        return new ScopeStmt([], body);
    }

    private Target ParseAssignTarget(bool allowNamespace, string? endName)
    {
        var tok = Cur;
        if (allowNamespace && tok.Kind == TokenKind.Name && Peek().IsOp("."))
        {
            _p += 2;
            string attr = ExpectName("an attribute name");
            return new NsAttrTarget(tok.Text, attr);
        }
        var items = new List<Target>();
        bool paren = false;
        if (Cur.IsOp("("))
        {
            paren = true;
            _p++;
        }
        bool trailingComma = false;
        while (true)
        {
            if (Cur.IsOp("("))
            {
                items.Add(ParseAssignTarget(false, null));
            }
            else
            {
                var nt = Cur;
                string name = ExpectName("an assignment target name");
                if (name is "true" or "false" or "none" or "True" or "False" or "None")
                    throw Error($"cannot assign to constant '{name}'", nt);
                items.Add(new NameTarget(name));
            }
            trailingComma = false;
            if (!Cur.IsOp(",")) break;
            _p++;
            trailingComma = true;
            if ((paren && Cur.IsOp(")")) || (endName is not null && Cur.IsName(endName)) || Cur.IsOp("=") || Cur.Kind == TokenKind.BlockEnd) break;
        }
        if (paren) Expect(TokenKind.Op, ")", "')'");
        // "x" and "(x)" are plain names; "x," and "a, b" are tuples to unpack.
        return items.Count == 1 && !trailingComma ? items[0] : new TupleTarget(items);
    }

    // ---------------- expressions ----------------

    private bool IsTupleEnd(string[]? endNames)
    {
        var c = Cur;
        if (c.Kind is TokenKind.VarEnd or TokenKind.BlockEnd or TokenKind.Eof) return true;
        if (c.IsOp(")")) return true;
        return endNames is not null && c.Kind == TokenKind.Name && Array.IndexOf(endNames, c.Text) >= 0;
    }

    private Expr ParseTuple(bool withCondExpr, string[]? endNames = null, bool explicitParens = false)
    {
        int line = Cur.Line;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Op, ",", "','");
            if (IsTupleEnd(endNames)) break;
            items.Add(ParseExpression(withCondExpr));
            if (Cur.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count > 0) return items[0];
            if (!explicitParens) throw Error($"Expected an expression, got {Cur.Describe()}", Cur);
        }
        return new TupleExpr(items) { Line = line };
    }

    private Expr ParseExpression(bool withCondExpr = true)
    {
        Enter();
        try
        {
            return withCondExpr ? ParseCondExpr() : ParseOr();
        }
        finally { Leave(); }
    }

    private Expr ParseCondExpr()
    {
        int line = Cur.Line;
        var e = ParseOr();
        while (Cur.IsName("if"))
        {
            _p++;
            var test = ParseOr();
            Expr? otherwise = null;
            if (Cur.IsName("else"))
            {
                _p++;
                otherwise = ParseCondExpr();
            }
            e = new CondExpr(test, e, otherwise) { Line = line };
        }
        return e;
    }

    private Expr ParseOr()
    {
        var e = ParseAnd();
        while (Cur.IsName("or"))
        {
            int line = Next().Line;
            e = new BinaryExpr("or", e, ParseAnd()) { Line = line };
        }
        return e;
    }

    private Expr ParseAnd()
    {
        var e = ParseNot();
        while (Cur.IsName("and"))
        {
            int line = Next().Line;
            e = new BinaryExpr("and", e, ParseNot()) { Line = line };
        }
        return e;
    }

    private Expr ParseNot()
    {
        if (Cur.IsName("not"))
        {
            int line = Next().Line;
            Enter();
            var operand = ParseNot();
            Leave();
            return new UnaryExpr("not", operand) { Line = line };
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Cur.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var c = Cur;
            if (c.Kind == TokenKind.Op && c.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                _p++;
                rest.Add((c.Text, ParseMath1()));
            }
            else if (c.IsName("in"))
            {
                _p++;
                rest.Add(("in", ParseMath1()));
            }
            else if (c.IsName("not") && Peek().IsName("in"))
            {
                _p += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest) { Line = line };
    }

    private Expr ParseMath1()
    {
        var e = ParseConcat();
        while (Cur.Kind == TokenKind.Op && Cur.Text is "+" or "-")
        {
            var op = Next();
            e = new BinaryExpr(op.Text, e, ParseConcat()) { Line = op.Line };
        }
        return e;
    }

    private Expr ParseConcat()
    {
        int line = Cur.Line;
        var e = ParseMath2();
        if (!Cur.IsOp("~")) return e;
        var parts = new List<Expr> { e };
        while (Cur.IsOp("~"))
        {
            _p++;
            parts.Add(ParseMath2());
        }
        return new ConcatExpr(parts) { Line = line };
    }

    private Expr ParseMath2()
    {
        var e = ParsePow();
        while (Cur.Kind == TokenKind.Op && Cur.Text is "*" or "/" or "//" or "%")
        {
            var op = Next();
            e = new BinaryExpr(op.Text, e, ParsePow()) { Line = op.Line };
        }
        return e;
    }

    private Expr ParsePow()
    {
        var e = ParseUnary(true);
        while (Cur.IsOp("**"))
        {
            var op = Next();
            e = new BinaryExpr("**", e, ParseUnary(true)) { Line = op.Line };
        }
        return e;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        try
        {
            var tok = Cur;
            Expr node;
            if (tok.IsOp("-") || tok.IsOp("+"))
            {
                _p++;
                node = new UnaryExpr(tok.Text, ParseUnary(false)) { Line = tok.Line };
            }
            else
            {
                node = ParsePrimary();
            }
            node = ParsePostfix(node);
            if (withFilter) node = ParseFilterExpr(node);
            return node;
        }
        finally { Leave(); }
    }

    private Expr ParsePrimary()
    {
        var tok = Cur;
        switch (tok.Kind)
        {
            case TokenKind.Name:
                _p++;
                return tok.Text switch
                {
                    "true" or "True" => new ConstExpr(true) { Line = tok.Line },
                    "false" or "False" => new ConstExpr(false) { Line = tok.Line },
                    "none" or "None" => new ConstExpr(null) { Line = tok.Line },
                    _ => new NameExpr(tok.Text) { Line = tok.Line },
                };
            case TokenKind.String:
            {
                _p++;
                string s = (string)tok.Value!;
                while (Cur.Kind == TokenKind.String) s += (string)Next().Value!;
                return new ConstExpr(s) { Line = tok.Line };
            }
            case TokenKind.Int:
            case TokenKind.Float:
                _p++;
                return new ConstExpr(tok.Value) { Line = tok.Line };
            case TokenKind.Op when tok.Text == "(":
            {
                _p++;
                var e = ParseTuple(withCondExpr: true, explicitParens: true);
                Expect(TokenKind.Op, ")", "')'");
                return e;
            }
            case TokenKind.Op when tok.Text == "[":
            {
                _p++;
                var items = new List<Expr>();
                while (!Cur.IsOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",", "','");
                    if (Cur.IsOp("]")) break;
                    items.Add(ParseExpression());
                }
                _p++;
                return new ListExpr(items) { Line = tok.Line };
            }
            case TokenKind.Op when tok.Text == "{":
            {
                _p++;
                var items = new List<(Expr, Expr)>();
                while (!Cur.IsOp("}"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",", "','");
                    if (Cur.IsOp("}")) break;
                    var k = ParseExpression();
                    Expect(TokenKind.Op, ":", "':'");
                    items.Add((k, ParseExpression()));
                }
                _p++;
                return new DictExpr(items) { Line = tok.Line };
            }
            default:
                throw Error($"unexpected {tok.Describe()}", tok);
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var tok = Cur;
            if (tok.IsOp("."))
            {
                _p++;
                var a = Cur;
                if (a.Kind == TokenKind.Name) { _p++; node = new AttrExpr(node, a.Text) { Line = tok.Line }; }
                else if (a.Kind == TokenKind.Int) { _p++; node = new ItemExpr(node, new ConstExpr(a.Value)) { Line = tok.Line }; }
                else throw Error($"expected an attribute name after '.', got {a.Describe()}", a);
            }
            else if (tok.IsOp("["))
            {
                _p++;
                var idx = ParseSubscript();
                Expect(TokenKind.Op, "]", "']'");
                node = new ItemExpr(node, idx) { Line = tok.Line };
            }
            else if (tok.IsOp("("))
            {
                node = new CallExpr(node, ParseCallArgs()) { Line = tok.Line };
            }
            else return node;
        }
    }

    private Expr ParseSubscript()
    {
        int line = Cur.Line;
        Expr? start = null, stop = null, step = null;
        if (!Cur.IsOp(":"))
        {
            start = ParseExpression();
            if (!Cur.IsOp(":")) return start;
        }
        _p++;
        if (!Cur.IsOp("]") && !Cur.IsOp(":")) stop = ParseExpression();
        if (Cur.IsOp(":"))
        {
            _p++;
            if (!Cur.IsOp("]")) step = ParseExpression();
        }
        return new SliceExpr(start, stop, step) { Line = line };
    }

    private CallArgs ParseCallArgs()
    {
        var open = Expect(TokenKind.Op, "(", "'('");
        var args = new CallArgs();
        bool first = true;
        while (!Cur.IsOp(")"))
        {
            if (!first) Expect(TokenKind.Op, ",", "','");
            first = false;
            if (Cur.IsOp(")")) break;
            if (Cur.IsOp("*"))
            {
                _p++;
                args.Star = ParseExpression();
            }
            else if (Cur.IsOp("**"))
            {
                _p++;
                args.StarStar = ParseExpression();
            }
            else if (Cur.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                string name = Next().Text;
                _p++;
                args.Keywords.Add((name, ParseExpression()));
            }
            else
            {
                if (args.Keywords.Count > 0) throw Error("positional argument follows keyword argument", Cur);
                args.Positional.Add(ParseExpression());
            }
        }
        if (Cur.Kind == TokenKind.Eof) throw Error("unclosed '('", open);
        _p++;
        return args;
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            var tok = Cur;
            if (tok.IsOp("|"))
            {
                _p++;
                node = ParseFilter(node);
            }
            else if (tok.IsName("is"))
            {
                _p++;
                bool negated = false;
                if (Cur.IsName("not")) { _p++; negated = true; }
                var nameTok = Cur;
                string name = ExpectName("a test name");
                while (Cur.IsOp(".") && Peek().Kind == TokenKind.Name)
                {
                    _p++;
                    name += "." + Next().Text;
                }
                if (!Tests.Names.Contains(name)) throw Error($"No test named '{name}'.", nameTok);
                CallArgs args;
                var c = Cur;
                if (c.IsOp("(")) args = ParseCallArgs();
                else if ((c.Kind is TokenKind.Name or TokenKind.String or TokenKind.Int or TokenKind.Float || c.IsOp("[") || c.IsOp("{"))
                         && !(c.Kind == TokenKind.Name && c.Text is "else" or "or" or "and"))
                {
                    if (c.IsName("is")) throw Error("You cannot chain multiple tests with is", c);
                    args = new CallArgs();
                    args.Positional.Add(ParsePostfix(ParsePrimary()));
                }
                else args = new CallArgs();
                node = new TestExpr(node, name, args, negated) { Line = nameTok.Line };
            }
            else if (tok.IsOp("("))
            {
                node = new CallExpr(node, ParseCallArgs()) { Line = tok.Line };
            }
            else return node;
        }
    }
}
