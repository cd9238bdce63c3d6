namespace SeeSharp.Templates;

/// <summary>
/// Jinja's frame-local variables (compiler/idtracking.py): in each frame (template root, loop body, macro body,
/// call/filter/set/with block) a name that is assigned in the frame before the frame itself reads it, and that no
/// enclosing frame mentions, starts out <em>missing</em> — even when the context has a value of that name. Nested
/// frames that read it before the assignment runs see Undefined. Names assigned in only some branches of an
/// <c>if</c> keep reading through to the outer value.
/// </summary>
internal static class FrameAnalysis
{
    /// <summary>Marker a scope holds for a frame-local name that has not been assigned yet.</summary>
    public static readonly object MissingMarker = new();

    /// <summary>For each frame body (by reference): the names to mark missing when the frame is entered.</summary>
    public static Dictionary<List<Stmt>, string[]> Analyze(List<Stmt> root)
    {
        var result = new Dictionary<List<Stmt>, string[]>(ReferenceEqualityComparer.Instance);
        AnalyzeFrame(root, [], [], [], result);
        return result;
    }

    private sealed class FrameState
    {
        public HashSet<string> Refs = new();
        public HashSet<string> Undef = new();
        public HashSet<string> Stores = new();

        public FrameState Copy() => new() { Refs = new(Refs), Undef = new(Undef), Stores = new(Stores) };
    }

    private readonly record struct Nested(List<Stmt> Body, string[] Params, List<Expr> PreLoads);

    private static void AnalyzeFrame(List<Stmt> body, string[] parameters, List<Expr> preLoads, List<HashSet<string>> outer,
        Dictionary<List<Stmt>, string[]> result)
    {
        var st = new FrameState();
        foreach (var p in parameters) { st.Refs.Add(p); st.Stores.Add(p); }
        var nested = new List<Nested>();
        foreach (var e in preLoads) Loads(e, st);
        Walk(body, st, outer, nested);
        if (st.Undef.Count > 0) result[body] = st.Undef.ToArray();
        var chain = new List<HashSet<string>>(outer) { st.Refs };
        foreach (var n in nested) AnalyzeFrame(n.Body, n.Params, n.PreLoads, chain, result);
    }

    private static bool OuterDeclares(List<HashSet<string>> outer, string name)
    {
        foreach (var refs in outer) if (refs.Contains(name)) return true;
        return false;
    }

    private static void Store(string name, FrameState st, List<HashSet<string>> outer)
    {
        st.Stores.Add(name);
        if (st.Refs.Add(name) && !OuterDeclares(outer, name)) st.Undef.Add(name);
    }

    private static void StoreTarget(Target t, FrameState st, List<HashSet<string>> outer)
    {
        switch (t)
        {
            case NameTarget n: Store(n.Name, st, outer); break;
            case TupleTarget tt: foreach (var x in tt.Items) StoreTarget(x, st, outer); break;
            case NsAttrTarget a: st.Refs.Add(a.Name); break;
        }
    }

    private static void TargetNames(Target t, List<string> names)
    {
        switch (t)
        {
            case NameTarget n: names.Add(n.Name); break;
            case TupleTarget tt: foreach (var x in tt.Items) TargetNames(x, names); break;
        }
    }

    private static void Loads(Expr? e, FrameState st)
    {
        if (e is null) return;
        var names = NameCollector.Collect([new PrintStmt(e)]);
        foreach (var n in names) st.Refs.Add(n);
    }

    private static void LoadArgs(CallArgs a, FrameState st)
    {
        foreach (var p in a.Positional) Loads(p, st);
        foreach (var (_, v) in a.Keywords) Loads(v, st);
        Loads(a.Star, st);
        Loads(a.StarStar, st);
    }

    private static void Walk(List<Stmt> body, FrameState st, List<HashSet<string>> outer, List<Nested> nested)
    {
        foreach (var s in body)
        {
            switch (s)
            {
                case PrintStmt p: Loads(p.Expr, st); break;
                case SetStmt set:
                    Loads(set.Value, st);
                    StoreTarget(set.Target, st, outer);
                    break;
                case IfStmt i: WalkIf(i, 0, st, outer, nested); break;
                case ForStmt f:
                {
                    Loads(f.Iter, st);
                    var ps = new List<string> { "loop" };
                    TargetNames(f.Target, ps);
                    nested.Add(new Nested(f.Body, ps.ToArray(), f.Filter is null ? [] : [f.Filter]));
                    if (f.Else is not null) nested.Add(new Nested(f.Else, [], []));
                    break;
                }
                case SetBlockStmt sb:
                    StoreTarget(sb.Target, st, outer);
                    if (sb.Filter is not null) for (Expr? e = sb.Filter; e is FilterExpr fe; e = fe.Node) LoadArgs(fe.Args, st);
                    nested.Add(new Nested(sb.Body, [], []));
                    break;
                case MacroStmt m:
                    Store(m.Name, st, outer);
                    nested.Add(new Nested(m.Body, [.. m.Params.Select(p => p.Name), "varargs", "kwargs", "caller"],
                        m.Params.Where(p => p.Default is not null).Select(p => p.Default!).ToList()));
                    break;
                case CallBlockStmt c:
                    Loads(c.Call, st);
                    nested.Add(new Nested(c.Body, [.. c.Params.Select(p => p.Name), "varargs", "kwargs", "caller"],
                        c.Params.Where(p => p.Default is not null).Select(p => p.Default!).ToList()));
                    break;
                case FilterBlockStmt fb:
                    for (Expr? e = fb.Filter; e is FilterExpr fe; e = fe.Node) LoadArgs(fe.Args, st);
                    nested.Add(new Nested(fb.Body, [], []));
                    break;
                case ScopeStmt w:
                {
                    foreach (var (_, v) in w.Assignments) Loads(v, st);
                    var ps = new List<string>();
                    foreach (var (t, _) in w.Assignments) TargetNames(t, ps);
                    nested.Add(new Nested(w.Body, ps.ToArray(), []));
                    break;
                }
            }
        }
    }

    /// <summary>
    /// visit_If + branch_update. Jinja parses <c>if/elif/else</c> as If(test, body, elif_=[If...], else_): three
    /// branches (body, all elifs, else), each starting from the state before the if; names stored in only some
    /// branches read through to the outer value.
    /// </summary>
    private static void WalkIf(IfStmt i, int from, FrameState st, List<HashSet<string>> outer, List<Nested> nested)
    {
        Loads(i.Branches[from].Cond, st);
        var before = st.Copy();

        var b0 = before.Copy();
        Walk(i.Branches[from].Body, b0, outer, nested);

        var b1 = before.Copy();
        var b2 = before.Copy();
        if (from == 0)
        {
            for (int k = 1; k < i.Branches.Count; k++) WalkIf(i, k, b1, outer, nested);
            if (i.Else is not null) Walk(i.Else, b2, outer, nested);
        }

        FrameState[] branches = [b0, b1, b2];
        var newStores = new Dictionary<string, int>();
        foreach (var b in branches)
            foreach (var n in b.Stores)
                if (!before.Stores.Contains(n)) newStores[n] = newStores.GetValueOrDefault(n) + 1;
        foreach (var b in branches)
        {
            st.Refs.UnionWith(b.Refs);
            st.Stores.UnionWith(b.Stores);
            st.Undef.UnionWith(b.Undef);
        }
        foreach (var (name, count) in newStores)
            if (count < branches.Length) st.Undef.Remove(name);
    }
}
