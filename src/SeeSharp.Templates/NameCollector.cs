namespace SeeSharp.Templates;

/// <summary>Names a macro body reads (Jinja's find_undeclared for <c>caller</c>, <c>varargs</c>, <c>kwargs</c>).</summary>
internal static class NameCollector
{
    public static HashSet<string> Collect(List<Stmt> body)
    {
        var names = new HashSet<string>();
        var stmts = new Stack<Stmt>(body);
        var exprs = new Stack<Expr>();
        while (stmts.Count > 0 || exprs.Count > 0)
        {
            if (exprs.Count > 0)
            {
                VisitExpr(exprs.Pop(), names, exprs);
                continue;
            }
            switch (stmts.Pop())
            {
                case PrintStmt p: exprs.Push(p.Expr); break;
                case IfStmt i:
                    foreach (var (c, b) in i.Branches) { exprs.Push(c); PushAll(stmts, b); }
                    PushAll(stmts, i.Else);
                    break;
                case ForStmt f:
                    exprs.Push(f.Iter);
                    if (f.Filter is not null) exprs.Push(f.Filter);
                    PushAll(stmts, f.Body);
                    PushAll(stmts, f.Else);
                    break;
                case SetStmt s: exprs.Push(s.Value); break;
                case SetBlockStmt sb:
                    if (sb.Filter is not null) exprs.Push(sb.Filter);
                    PushAll(stmts, sb.Body);
                    break;
                case MacroStmt m:
                    foreach (var (_, d) in m.Params) if (d is not null) exprs.Push(d);
                    PushAll(stmts, m.Body);
                    break;
                case CallBlockStmt c:
                    exprs.Push(c.Call);
                    PushAll(stmts, c.Body);
                    break;
                case FilterBlockStmt fb:
                    exprs.Push(fb.Filter);
                    PushAll(stmts, fb.Body);
                    break;
                case ScopeStmt w:
                    foreach (var (_, v) in w.Assignments) exprs.Push(v);
                    PushAll(stmts, w.Body);
                    break;
            }
        }
        return names;
    }

    private static void PushAll(Stack<Stmt> stack, List<Stmt>? body)
    {
        if (body is null) return;
        foreach (var s in body) stack.Push(s);
    }

    private static void PushArgs(Stack<Expr> exprs, CallArgs a)
    {
        foreach (var p in a.Positional) exprs.Push(p);
        foreach (var (_, v) in a.Keywords) exprs.Push(v);
        if (a.Star is not null) exprs.Push(a.Star);
        if (a.StarStar is not null) exprs.Push(a.StarStar);
    }

    private static void VisitExpr(Expr e, HashSet<string> names, Stack<Expr> exprs)
    {
        switch (e)
        {
            case NameExpr n: names.Add(n.Name); break;
            case ListExpr l: foreach (var x in l.Items) exprs.Push(x); break;
            case TupleExpr t: foreach (var x in t.Items) exprs.Push(x); break;
            case DictExpr d: foreach (var (k, v) in d.Items) { exprs.Push(k); exprs.Push(v); } break;
            case AttrExpr a: exprs.Push(a.Obj); break;
            case ItemExpr i: exprs.Push(i.Obj); exprs.Push(i.Index); break;
            case SliceExpr s:
                if (s.Start is not null) exprs.Push(s.Start);
                if (s.Stop is not null) exprs.Push(s.Stop);
                if (s.Step is not null) exprs.Push(s.Step);
                break;
            case CallExpr c: exprs.Push(c.Fn); PushArgs(exprs, c.Args); break;
            case FilterExpr f:
                if (f.Node is not null) exprs.Push(f.Node);
                PushArgs(exprs, f.Args);
                break;
            case TestExpr t: exprs.Push(t.Node); PushArgs(exprs, t.Args); break;
            case UnaryExpr u: exprs.Push(u.Operand); break;
            case BinaryExpr b: exprs.Push(b.Left); exprs.Push(b.Right); break;
            case ConcatExpr c: foreach (var p in c.Parts) exprs.Push(p); break;
            case CompareExpr c: exprs.Push(c.First); foreach (var (_, o) in c.Rest) exprs.Push(o); break;
            case CondExpr c:
                exprs.Push(c.Test);
                exprs.Push(c.Then);
                if (c.Else is not null) exprs.Push(c.Else);
                break;
        }
    }
}
