using System.Runtime.CompilerServices;
using System.Text;

namespace SeeSharp.Templates;

internal sealed class Scope(Scope? parent)
{
    // Loop scopes hold one or two names (target, loop): keep those inline, spill to a dictionary after that.
    private string? _n0, _n1;
    private object? _v0, _v1;
    private Dictionary<string, object?>? _vars;
    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._n0 == name) { value = s._v0; return true; }
            if (s._n1 == name) { value = s._v1; return true; }
            if (s._vars is not null && s._vars.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }

    public void Set(string name, object? value)
    {
        if (_n0 is null || _n0 == name) { _n0 = name; _v0 = value; return; }
        if (_n1 is null || _n1 == name) { _n1 = name; _v1 = value; return; }
        (_vars ??= new Dictionary<string, object?>())[name] = value;
    }
}

/// <summary>Render output with the <see cref="TemplateLimits.MaxOutputLength"/> check.</summary>
internal sealed class Output(Interpreter it)
{
    private readonly StringBuilder _sb = new();

    public void Append(string s)
    {
        int max = it.Limits.MaxOutputLength;
        if (_sb.Length + s.Length > max)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxOutputLength), $"rendered output would exceed {max} chars");
        it.ChargeChars(s.Length);
        _sb.Append(s);
    }

    public override string ToString() => _sb.ToString();
}

internal enum Flow { Normal, Break, Continue }

/// <summary>Jinja's <c>loop</c> object.</summary>
internal sealed class LoopContext(List<object?> items, int depth, Func<object?, string>? recurse) : PyCallable
{
    public readonly List<object?> Items = items;
    public int Index0;
    public object? LastChanged = Undefined.Plain;

    public override string Name => "loop";

    /// <summary><c>loop(children)</c> inside a <c>recursive</c> loop renders the loop body over <c>children</c> one level deeper.</summary>
    public override object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        if (recurse is null) throw PyOps.TypeError("The loop must have the 'recursive' marker to be called recursively.");
        if (args.Count != 1) throw PyOps.TypeError($"loop() takes exactly one argument ({args.Count} given)");
        return recurse(args[0]);
    }

    public object? Get(string name) => name switch
    {
        "index" => (long)(Index0 + 1),
        "index0" => (long)Index0,
        "revindex" => (long)(Items.Count - Index0),
        "revindex0" => (long)(Items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == Items.Count - 1,
        "length" => (long)Items.Count,
        "depth" => (long)depth,
        "depth0" => (long)(depth - 1),
        "previtem" => Index0 > 0 ? Items[Index0 - 1] : new Undefined("previtem", null, "there is no previous item", hasObj: false),
        "nextitem" => Index0 + 1 < Items.Count ? Items[Index0 + 1] : new Undefined("nextitem", null, "there is no next item", hasObj: false),
        "cycle" => new BuiltinFunction("cycle", (it, args, kw) =>
        {
            if (args.Count == 0) throw PyOps.TypeError("no items for cycling given");
            return args[Index0 % args.Count];
        }),
        "changed" => new BuiltinFunction("changed", (it, args, kw) =>
        {
            var v = new PyTuple(args.ToArray());
            if (LastChanged is PyTuple prev && PyOps.Equals(prev, v)) return false;
            LastChanged = v;
            return true;
        }),
        _ => Undefined.NoAttribute(this, name),
    };
}

/// <summary>Jinja's <c>cycler(*items)</c>: <c>next()</c>, <c>current</c>, <c>reset()</c>.</summary>
internal sealed class Cycler(object?[] items)
{
    private int _pos;

    public object? Get(string name) => name switch
    {
        "current" => items[_pos],
        "items" => new PyTuple(items),
        "next" => new BuiltinFunction("next", (it, a, k) =>
        {
            var v = items[_pos];
            _pos = (_pos + 1) % items.Length;
            return v;
        }),
        "reset" => new BuiltinFunction("reset", (it, a, k) =>
        {
            _pos = 0;
            return null;
        }),
        _ => Undefined.NoAttribute(this, name),
    };
}

internal sealed class Macro(MacroStmt def, Scope closure, string? nameOverride = null) : PyCallable
{
    public override string Name => nameOverride ?? def.Name;

    public override object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs) =>
        it.CallMacro(this, def.Params, def.Body, def.BodyNames, closure, args, kwargs);
}

internal sealed class CallerMacro(CallBlockStmt def, Scope closure) : PyCallable
{
    public override string Name => "caller";

    public override object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs) =>
        it.CallMacro(this, def.Params, def.Body, def.BodyNames, closure, args, kwargs);
}

/// <summary>Tree-walking evaluator. Recursion depth is bounded by the parser's nesting limit and <see cref="TemplateLimits.MaxCallDepth"/>.</summary>
internal sealed partial class Interpreter
{
    public readonly TemplateLimits Limits;
    private readonly TimeProvider _clock;
    private long _iterations;
    private int _callDepth;

    private readonly Dictionary<List<Stmt>, string[]> _frameLocals;

    public Interpreter(TemplateLimits limits, TimeProvider clock, Dictionary<List<Stmt>, string[]> frameLocals)
    {
        Limits = limits;
        _clock = clock;
        _frameLocals = frameLocals;
    }

    /// <summary>Marks the frame-local names of a frame body as not yet assigned (see <see cref="FrameAnalysis"/>).</summary>
    private void EnterFrame(List<Stmt> body, Scope scope)
    {
        if (_frameLocals.TryGetValue(body, out var names))
            foreach (var n in names) scope.Set(n, FrameAnalysis.MissingMarker);
    }

    public string Render(List<Stmt> body, IReadOnlyDictionary<string, object?> context)
    {
        var globals = new Scope(null);
        foreach (var (name, fn) in Globals()) globals.Set(name, fn);
        var root = new Scope(globals);
        foreach (var kv in context) root.Set(kv.Key, TemplateValues.FromHost(kv.Value));
        var output = new Output(this);
        EnterFrame(body, root);
        try
        {
            ExecBlock(body, root, output);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateLimitException(nameof(TemplateLimits.MaxCallDepth), "template recursion exhausted the execution stack");
        }
        return output.ToString();
    }

    public void Charge(long n)
    {
        _iterations += n;
        if (_iterations > Limits.MaxIterations)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxIterations), $"template did more than {Limits.MaxIterations} loop iterations / item visits");
    }

    /// <summary>Work proportional to text size: 64 chars copied or scanned count as one step.</summary>
    public void ChargeChars(long n)
    {
        if (n >= 64) Charge(n >> 6);
    }

    /// <summary>Work of touching a value in O(size): strings by chars, collections by items.</summary>
    public void ChargeSize(object? v)
    {
        switch (v)
        {
            case string s: ChargeChars(s.Length); break;
            case List<object?> l: Charge(l.Count >> 4); break;
            case PyTuple t: Charge(t.Count >> 4); break;
            case OrderedDictionary<string, object?> d: Charge(d.Count >> 4); break;
        }
    }

    public string CheckString(string s)
    {
        if (s.Length > Limits.MaxStringLength)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxStringLength), $"string of {s.Length} chars exceeds {Limits.MaxStringLength}");
        ChargeChars(s.Length);
        return s;
    }

    public void CheckStringLength(long n)
    {
        if (n > Limits.MaxStringLength)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxStringLength), $"string of {n} chars would exceed {Limits.MaxStringLength}");
        ChargeChars(n);
    }

    public void CheckListLength(long n)
    {
        if (n > Limits.MaxListLength)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxListLength), $"list of {n} items would exceed {Limits.MaxListLength}");
    }

    // ---------------- statements ----------------

    private Flow ExecBlock(List<Stmt> body, Scope scope, Output output)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        foreach (var stmt in body)
        {
            Flow f;
            try
            {
                f = Exec(stmt, scope, output);
            }
            catch (TemplateException ex) when (ex.Line == 0 && ex is not TemplateSyntaxException)
            {
                ex.Line = stmt.Line;
                throw;
            }
            if (f != Flow.Normal) return f;
        }
        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt, Scope scope, Output output)
    {
        switch (stmt)
        {
            case TextStmt t:
                output.Append(t.Text);
                return Flow.Normal;
            case PrintStmt p:
                output.Append(PyOps.Str(Eval(p.Expr, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (cond, body) in i.Branches)
                {
                    if (PyOps.Truthy(Eval(cond, scope))) return ExecBlock(body, scope, output);
                }
                return i.Else is null ? Flow.Normal : ExecBlock(i.Else, scope, output);
            case ForStmt f:
                ExecFor(f, scope, output);
                return Flow.Normal;
            case SetStmt s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStmt sb:
            {
                var inner = new Output(this);
                var frame = new Scope(scope);
                EnterFrame(sb.Body, frame);
                ExecBlock(sb.Body, frame, inner);
                object? value = inner.ToString();
                if (sb.Filter is not null) value = ApplyFilterChain(sb.Filter, value, scope);
                Assign(sb.Target, value, scope);
                return Flow.Normal;
            }
            case BreakStmt: return Flow.Break;
            case ContinueStmt: return Flow.Continue;
            case MacroStmt m:
                scope.Set(m.Name, new Macro(m, scope));
                return Flow.Normal;
            case CallBlockStmt c:
            {
                var caller = new CallerMacro(c, scope);
                var fn = Eval(c.Call.Fn, scope);
                var (args, kwargs) = EvalArgs(c.Call.Args, scope);
                kwargs.Add(new("caller", caller));
                output.Append(PyOps.Str(CallValue(fn, args, kwargs)));
                return Flow.Normal;
            }
            case FilterBlockStmt fb:
            {
                var inner = new Output(this);
                var frame = new Scope(scope);
                EnterFrame(fb.Body, frame);
                ExecBlock(fb.Body, frame, inner);
                output.Append(PyOps.Str(ApplyFilterChain(fb.Filter, inner.ToString(), scope)));
                return Flow.Normal;
            }
            case ScopeStmt w:
            {
                var inner = new Scope(scope);
                EnterFrame(w.Body, inner);
                foreach (var (target, value) in w.Assignments) Assign(target, Eval(value, scope), inner);
                return ExecBlock(w.Body, inner, output);
            }
            default:
                throw new InvalidOperationException($"unknown statement {stmt.GetType().Name}");
        }
    }

    private object? ApplyFilterChain(FilterExpr filter, object? value, Scope scope)
    {
        // The innermost FilterExpr (Node == null) receives the value.
        var chain = new List<FilterExpr>();
        for (Expr? e = filter; e is FilterExpr fe; e = fe.Node) chain.Add(fe);
        chain.Reverse();
        foreach (var fe in chain)
        {
            var (args, kwargs) = EvalArgs(fe.Args, scope);
            value = Filters.Apply(this, fe.Name, value, args, kwargs);
        }
        return value;
    }

    private void ExecFor(ForStmt f, Scope scope, Output output) => RunLoop(f, Eval(f.Iter, scope), scope, output, depth: 1);

    private void RunLoop(ForStmt f, object? iterable, Scope scope, Output output, int depth)
    {
        if (iterable is string big && big.Length > Limits.MaxListLength) CheckListLength(big.Length);
        var items = PyOps.Iterate(iterable);
        Charge(items.Count / 16);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                Charge(1);
                var s = new Scope(scope);
                Assign(f.Target, item, s);
                if (PyOps.Truthy(Eval(f.Filter, s))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            if (f.Else is not null)
            {
                var elseFrame = new Scope(scope);
                EnterFrame(f.Else, elseFrame);
                ExecBlock(f.Else, elseFrame, output);
            }
            return;
        }
        Func<object?, string>? recurse = null;
        if (f.Recursive)
        {
            recurse = children =>
            {
                // Each level is a call: bounded by MaxCallDepth like macros (a namespace can make cyclic data).
                if (_callDepth >= Limits.MaxCallDepth)
                    throw new TemplateLimitException(nameof(TemplateLimits.MaxCallDepth), $"recursive loop nested deeper than {Limits.MaxCallDepth}");
                RuntimeHelpers.EnsureSufficientExecutionStack();
                _callDepth++;
                try
                {
                    var inner = new Output(this);
                    RunLoop(f, children, scope, inner, depth + 1);
                    return inner.ToString();
                }
                finally
                {
                    _callDepth--;
                }
            };
        }
        var loop = new LoopContext(items, depth, recurse);
        for (int i = 0; i < items.Count; i++)
        {
            Charge(1);
            loop.Index0 = i;
            var s = new Scope(scope);
            EnterFrame(f.Body, s);
            Assign(f.Target, items[i], s);
            s.Set("loop", loop);
            var flow = ExecBlock(f.Body, s, output);
            if (flow == Flow.Break) break;
        }
    }

    private void Assign(Target target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget n:
                scope.Set(n.Name, value);
                break;
            case NsAttrTarget a:
            {
                if (!scope.TryGet(a.Name, out var ns) || ns is not Namespace nsObj)  // a frame's MissingMarker is not a Namespace either
                    throw new TemplateException("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
                nsObj.Attrs[a.Attr] = value;
                break;
            }
            case TupleTarget t:
            {
                if (value is Undefined u) throw u.Fail();
                var items = PyOps.Iterate(value);
                if (items.Count < t.Items.Count) throw PyOps.ValueError($"not enough values to unpack (expected {t.Items.Count}, got {items.Count})");
                if (items.Count > t.Items.Count) throw PyOps.ValueError($"too many values to unpack (expected {t.Items.Count})");
                for (int i = 0; i < items.Count; i++) Assign(t.Items[i], items[i], scope);
                break;
            }
        }
    }

    internal object? CallMacro(PyCallable self, List<(string Name, Expr? Default)> ps, List<Stmt> body, HashSet<string> bodyNames, Scope closure,
        List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        // jinja2.runtime.Macro.__call__: extra arguments only when the body reads varargs / kwargs / caller.
        bool catchVarargs = bodyNames.Contains("varargs"), catchKwargs = bodyNames.Contains("kwargs"), usesCaller = bodyNames.Contains("caller");
        var leftover = kwargs.Where(kv => ps.FindIndex(p => p.Name == kv.Key) is var pi && (pi < 0 || pi < args.Count)).Select(kv => kv.Key).ToList();
        if (usesCaller) leftover.Remove("caller");
        if (!catchKwargs && leftover.Count > 0)
        {
            if (leftover.Contains("caller"))
                throw PyOps.TypeError($"macro {PyOps.Repr(self.Name)} was invoked with two values for the special caller argument. This is most likely a bug.");
            throw PyOps.TypeError($"macro {PyOps.Repr(self.Name)} takes no keyword argument {PyOps.Repr(leftover[0])}");
        }
        if (args.Count > ps.Count && !catchVarargs)
            throw PyOps.TypeError($"macro {PyOps.Repr(self.Name)} takes not more than {ps.Count} argument(s)");
        if (_callDepth >= Limits.MaxCallDepth)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxCallDepth), $"macro calls nested deeper than {Limits.MaxCallDepth} (macro '{self.Name}')");
        RuntimeHelpers.EnsureSufficientExecutionStack();
        Charge(1);
        _callDepth++;
        try
        {
            var s = new Scope(closure);
            EnterFrame(body, s);
            if (usesCaller) s.Set("caller", new Undefined("caller", null, "No caller defined", hasObj: false));
            var extraKw = new OrderedDictionary<string, object?>();
            var bound = new bool[ps.Count];
            for (int i = 0; i < ps.Count && i < args.Count; i++)
            {
                s.Set(ps[i].Name, args[i]);
                bound[i] = true;
            }
            if (catchVarargs) s.Set("varargs", new PyTuple(args.Count > ps.Count ? args.Skip(ps.Count).ToArray() : []));
            foreach (var kv in kwargs)
            {
                int idx = ps.FindIndex(p => p.Name == kv.Key);
                if (idx >= 0)
                {
                    if (bound[idx]) extraKw[kv.Key] = kv.Value;
                    else s.Set(kv.Key, kv.Value);
                    bound[idx] = true;
                }
                else if (kv.Key == "caller") s.Set("caller", kv.Value);
                else extraKw[kv.Key] = kv.Value;
            }
            if (catchKwargs) s.Set("kwargs", extraKw);
            for (int i = 0; i < ps.Count; i++)
            {
                if (bound[i]) continue;
                s.Set(ps[i].Name, ps[i].Default is null
                    ? new Undefined(ps[i].Name, null, $"parameter {PyOps.Repr(ps[i].Name)} was not provided", hasObj: false)
                    : Eval(ps[i].Default!, s));
            }
            var output = new Output(this);
            ExecBlock(body, s, output);
            return output.ToString();
        }
        finally
        {
            _callDepth--;
        }
    }

    // ---------------- expressions ----------------

    public object? Eval(Expr e, Scope scope)
    {
        switch (e)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n:
                return scope.TryGet(n.Name, out var v) && !ReferenceEquals(v, FrameAnalysis.MissingMarker) ? v : Undefined.Missing(n.Name);
            case ListExpr l:
            {
                var list = new List<object?>(l.Items.Count);
                foreach (var x in l.Items) list.Add(Eval(x, scope));
                return list;
            }
            case TupleExpr t:
            {
                var arr = new object?[t.Items.Count];
                for (int i = 0; i < arr.Length; i++) arr[i] = Eval(t.Items[i], scope);
                return new PyTuple(arr);
            }
            case DictExpr d:
            {
                var dict = new OrderedDictionary<string, object?>();
                foreach (var (k, val) in d.Items)
                {
                    var key = Eval(k, scope);
                    if (key is not string ks)
                        throw PyOps.TypeError($"dict keys must be strings in this engine, got {PyOps.TypeName(key)} {PyOps.Repr(key)}");
                    dict[ks] = Eval(val, scope);
                }
                return dict;
            }
            case AttrExpr a: return GetAttr(Eval(a.Obj, scope), a.Name);
            case ItemExpr it:
            {
                var obj = Eval(it.Obj, scope);
                if (it.Index is SliceExpr sl)
                {
                    return Slice(obj, sl.Start is null ? null : Eval(sl.Start, scope), sl.Stop is null ? null : Eval(sl.Stop, scope), sl.Step is null ? null : Eval(sl.Step, scope));
                }
                return GetItem(obj, Eval(it.Index, scope));
            }
            case SliceExpr:
                throw PyOps.TypeError("slice outside of a subscript");
            case CallExpr call:
            {
                RuntimeHelpers.EnsureSufficientExecutionStack();
                var fn = Eval(call.Fn, scope);
                var (args, kwargs) = EvalArgs(call.Args, scope);
                return CallValue(fn, args, kwargs);
            }
            case FilterExpr f:
            {
                var value = f.Node is null ? null : Eval(f.Node, scope);
                var (args, kwargs) = EvalArgs(f.Args, scope);
                return Filters.Apply(this, f.Name, value, args, kwargs);
            }
            case TestExpr t:
            {
                var value = Eval(t.Node, scope);
                var (args, kwargs) = EvalArgs(t.Args, scope);
                bool r = Tests.Apply(this, t.Name, value, args, kwargs);
                return t.Negated ? !r : r;
            }
            case UnaryExpr u:
            {
                var operand = Eval(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !PyOps.Truthy(operand),
                    "-" => Arith.Neg(operand),
                    _ => Arith.Pos(operand),
                };
            }
            case BinaryExpr b:
            {
                if (b.Op == "and")
                {
                    var l = Eval(b.Left, scope);
                    return PyOps.Truthy(l) ? Eval(b.Right, scope) : l;
                }
                if (b.Op == "or")
                {
                    var l = Eval(b.Left, scope);
                    return PyOps.Truthy(l) ? l : Eval(b.Right, scope);
                }
                return Arith.Binary(this, b.Op, Eval(b.Left, scope), Eval(b.Right, scope));
            }
            case ConcatExpr c:
            {
                var sb = new StringBuilder();
                foreach (var p in c.Parts)
                {
                    sb.Append(PyOps.Str(Eval(p, scope)));
                    CheckStringLength(sb.Length);
                }
                return sb.ToString();
            }
            case CompareExpr c:
            {
                var left = Eval(c.First, scope);
                foreach (var (op, operandExpr) in c.Rest)
                {
                    var right = Eval(operandExpr, scope);
                    ChargeSize(right);
                    if (op is "==" or "!=") ChargeSize(left);
                    if (!PyOps.CompareOp(op, left, right)) return false;
                    left = right;
                }
                return true;
            }
            case CondExpr c:
                if (PyOps.Truthy(Eval(c.Test, scope))) return Eval(c.Then, scope);
                return c.Else is null ? Undefined.Plain : Eval(c.Else, scope);
            default:
                throw new InvalidOperationException($"unknown expression {e.GetType().Name}");
        }
    }

    public (List<object?> Args, List<KeyValuePair<string, object?>> Kwargs) EvalArgs(CallArgs a, Scope scope)
    {
        var args = new List<object?>(a.Positional.Count);
        foreach (var x in a.Positional) args.Add(Eval(x, scope));
        if (a.Star is not null) args.AddRange(PyOps.Iterate(Eval(a.Star, scope)));
        var kwargs = new List<KeyValuePair<string, object?>>(a.Keywords.Count);
        foreach (var (name, value) in a.Keywords) kwargs.Add(new(name, Eval(value, scope)));
        if (a.StarStar is not null)
        {
            var d = Eval(a.StarStar, scope);
            if (d is not OrderedDictionary<string, object?> dict) throw PyOps.TypeError($"argument after ** must be a mapping, not {PyOps.TypeName(d)}");
            foreach (var kv in dict) kwargs.Add(kv);
        }
        return (args, kwargs);
    }

    public object? CallValue(object? fn, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        if (fn is PyCallable c) return c.Call(this, args, kwargs);
        if (fn is Undefined u) throw u.Fail();
        throw PyOps.TypeError($"'{PyOps.TypeName(fn)}' object is not callable");
    }

    // ---------------- attribute and item access (Jinja's sandboxed getattr / getitem) ----------------

    public object? GetAttr(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case OrderedDictionary<string, object?> d:
                if (Methods.IsMethod(obj, name)) return Methods.Bind(obj, name);
                return d.TryGetValue(name, out var v) ? v : Undefined.NoAttribute(obj, name);
            case Namespace ns:
                return ns.Attrs.TryGetValue(name, out var nv) ? nv : Undefined.NoAttribute(obj, name);
            case LoopContext loop:
                return loop.Get(name);
            case Cycler cy:
                return cy.Get(name);
            case PyTuple { FieldNames: not null } nt when Array.IndexOf(nt.FieldNames, name) >= 0:
                return nt.Items[Array.IndexOf(nt.FieldNames, name)];
            default:
                if (Methods.IsMethod(obj, name)) return Methods.Bind(obj, name);
                return Undefined.NoAttribute(obj, name);
        }
    }

    public object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case OrderedDictionary<string, object?> d:
                if (key is string ks)
                {
                    if (d.TryGetValue(ks, out var found)) return found;
                    return GetAttr(obj, ks);
                }
                return NoElement(obj, key);
            case List<object?> or PyTuple or string when key is long or bool:
            {
                long i = PyOps.AsLong(key);
                if (obj is string s)
                {
                    if (!PyOps.HasSurrogates(s))
                    {
                        if (i < 0) i += s.Length;
                        return i >= 0 && i < s.Length ? s[(int)i].ToString() : NoElement(obj, key);
                    }
                    ChargeChars(s.Length);
                    var cps = PyOps.CodePoints(s);
                    if (i < 0) i += cps.Length;
                    return i >= 0 && i < cps.Length ? PyOps.FromCodePoint(cps[i]) : NoElement(obj, key);
                }
                IList<object?> list = obj is PyTuple t ? t.Items : (List<object?>)obj;
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : NoElement(obj, key);
            }
            case Namespace or LoopContext when key is string ka:
                return GetAttr(obj, ka);
            default:
                if (key is string name) return GetAttr(obj, name);
                return NoElement(obj, key);
        }
    }

    // jinja2.runtime.Undefined._undefined_message for a non-string key: the type is not quoted, the key is repr'd.
    private static Undefined NoElement(object? obj, object? key) =>
        new(PyOps.Repr(key), obj, $"{PyOps.ObjectTypeRepr(obj)} has no element {PyOps.Repr(key)}", hasObj: true);

    public object? Slice(object? obj, object? start, object? stop, object? step)
    {
        if (obj is Undefined u) throw u.Fail();
        long? St(object? v) => v is null or Undefined ? null : PyOps.AsLong(v);
        long? a = St(start), b = St(stop), c = St(step);
        switch (obj)
        {
            case string s:
            {
                if (!PyOps.HasSurrogates(s))
                {
                    var idx = SliceIndices(s.Length, a, b, c);
                    if (c is null or 1) return idx.Count == 0 ? "" : s.Substring(idx[0], idx.Count);
                    var sb = new StringBuilder(idx.Count);
                    foreach (int i in idx) sb.Append(s[i]);
                    return sb.ToString();
                }
                var cps = PyOps.CodePoints(s);
                return PyOps.FromCodePoints(SliceIndices(cps.Length, a, b, c).Select(i => cps[i]));
            }
            case List<object?> l:
                return SliceIndices(l.Count, a, b, c).Select(i => l[i]).ToList();
            case PyTuple t:
                return new PyTuple(SliceIndices(t.Count, a, b, c).Select(i => t.Items[i]).ToArray());
            case OrderedDictionary<string, object?>:
                throw PyOps.TypeError("unhashable type: 'slice'");
            default:
                // Jinja compiles slices to a plain Python subscript (no getitem fallback to Undefined).
                throw PyOps.TypeError($"'{PyOps.TypeName(obj)}' object is not subscriptable");
        }
    }

    /// <summary>Python's slice.indices + range.</summary>
    private List<int> SliceIndices(int len, long? start, long? stop, long? step)
    {
        long st = step ?? 1;
        if (st == 0) throw PyOps.ValueError("slice step cannot be zero");
        long lo, hi;
        if (st > 0)
        {
            lo = start is null ? 0 : start < 0 ? Math.Max(0, start.Value + len) : Math.Min(start.Value, len);
            hi = stop is null ? len : stop < 0 ? Math.Max(0, stop.Value + len) : Math.Min(stop.Value, len);
        }
        else
        {
            lo = start is null ? len - 1 : start < 0 ? Math.Max(-1, start.Value + len) : Math.Min(start.Value, len - 1);
            hi = stop is null ? -1 : stop < 0 ? Math.Max(-1, stop.Value + len) : Math.Min(stop.Value, len - 1);
        }
        var r = new List<int>();
        if (st > 0) for (long i = lo; i < hi; i += st) r.Add((int)i);
        else for (long i = lo; i > hi; i += st) r.Add((int)i);
        Charge(r.Count / 16);
        return r;
    }

    // ---------------- globals ----------------

    private IEnumerable<(string, object?)> Globals()
    {
        yield return ("range", new BuiltinFunction("range", (it, args, kw) => it.Range(args)));
        yield return ("dict", new BuiltinFunction("dict", (it, args, kw) =>
        {
            var d = new OrderedDictionary<string, object?>();
            if (args.Count > 1) throw PyOps.TypeError($"dict expected at most 1 argument, got {args.Count}");
            if (args.Count == 1)
            {
                if (args[0] is OrderedDictionary<string, object?> src) foreach (var kv in src) d[kv.Key] = kv.Value;
                else foreach (var pair in PyOps.Iterate(args[0]))
                {
                    var p = PyOps.Iterate(pair);
                    if (p.Count != 2) throw PyOps.ValueError($"dictionary update sequence element has length {p.Count}; 2 is required");
                    d[p[0] as string ?? throw PyOps.TypeError("dict keys must be strings in this engine")] = p[1];
                }
            }
            foreach (var kv in kw) d[kv.Key] = kv.Value;
            return d;
        }));
        yield return ("namespace", new BuiltinFunction("namespace", (it, args, kw) =>
        {
            var ns = new Namespace();
            foreach (var a in args)
            {
                if (a is not OrderedDictionary<string, object?> d) throw PyOps.TypeError($"namespace() positional argument must be a dict, not {PyOps.TypeName(a)}");
                foreach (var kv in d) ns.Attrs[kv.Key] = kv.Value;
            }
            foreach (var kv in kw) ns.Attrs[kv.Key] = kv.Value;
            return ns;
        }));
        yield return ("raise_exception", new BuiltinFunction("raise_exception", (it, args, kw) =>
            throw new TemplateException("TemplateError", args.Count > 0 ? PyOps.Str(args[0]) : "")));
        yield return ("strftime_now", new BuiltinFunction("strftime_now", (it, args, kw) =>
        {
            if (args.Count != 1 || args[0] is not string fmt) throw PyOps.TypeError("strftime_now() takes one format string");
            return Strftime.Format(_clock.GetLocalNow().DateTime, fmt);
        }));
        yield return ("cycler", new BuiltinFunction("cycler", (it, args, kw) =>
        {
            if (args.Count == 0) throw PyOps.TypeError("at least one item has to be provided");
            return new Cycler(args.ToArray());
        }));
        yield return ("joiner", new BuiltinFunction("joiner", (it, args, kw) =>
        {
            string sep = args.Count > 0 ? PyOps.Str(args[0]) : kw.Count > 0 ? PyOps.Str(kw[0].Value) : ", ";
            bool used = false;
            return new BuiltinFunction("joiner", (it2, a2, k2) =>
            {
                if (!used) { used = true; return ""; }
                return sep;
            });
        }));
    }

    private List<object?> Range(List<object?> args)
    {
        long start = 0, stop, step = 1;
        foreach (var a in args) if (a is not (long or bool)) throw PyOps.TypeError($"'{PyOps.TypeName(a)}' object cannot be interpreted as an integer");
        switch (args.Count)
        {
            case 1: stop = PyOps.AsLong(args[0]); break;
            case 2: start = PyOps.AsLong(args[0]); stop = PyOps.AsLong(args[1]); break;
            case 3: start = PyOps.AsLong(args[0]); stop = PyOps.AsLong(args[1]); step = PyOps.AsLong(args[2]); break;
            default: throw PyOps.TypeError($"range expected 1 to 3 arguments, got {args.Count}");
        }
        if (step == 0) throw PyOps.ValueError("range() arg 3 must not be zero");
        Int128 count = step > 0
            ? (stop > start ? ((Int128)stop - start + step - 1) / step : 0)
            : (start > stop ? ((Int128)start - stop - step - 1) / -step : 0);
        if (count > Limits.MaxRangeLength)
            throw new TemplateLimitException(nameof(TemplateLimits.MaxRangeLength), $"Range too big. The sandbox blocks ranges larger than {Limits.MaxRangeLength} (asked for {count})");
        Charge((long)count / 16);
        var r = new List<object?>((int)count);
        for (long i = 0, v = start; i < (long)count; i++, v += step) r.Add(v);
        return r;
    }
}
