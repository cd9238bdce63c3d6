namespace SeeSharp.Templates;

// ---- expressions ----
internal abstract class Expr { public int Line; }
internal sealed class ConstExpr(object? value) : Expr { public readonly object? Value = value; }
internal sealed class NameExpr(string name) : Expr { public readonly string Name = name; }
internal sealed class ListExpr(List<Expr> items) : Expr { public readonly List<Expr> Items = items; }
internal sealed class TupleExpr(List<Expr> items) : Expr { public readonly List<Expr> Items = items; }
internal sealed class DictExpr(List<(Expr Key, Expr Value)> items) : Expr { public readonly List<(Expr Key, Expr Value)> Items = items; }
internal sealed class AttrExpr(Expr obj, string name) : Expr { public readonly Expr Obj = obj; public readonly string Name = name; }
internal sealed class ItemExpr(Expr obj, Expr index) : Expr { public readonly Expr Obj = obj; public readonly Expr Index = index; }
internal sealed class SliceExpr(Expr? start, Expr? stop, Expr? step) : Expr { public readonly Expr? Start = start, Stop = stop, Step = step; }

internal sealed class CallArgs
{
    public List<Expr> Positional { get; } = new();
    public List<(string Name, Expr Value)> Keywords { get; } = new();
    public Expr? Star { get; set; }
    public Expr? StarStar { get; set; }
}

internal sealed class CallExpr(Expr fn, CallArgs args) : Expr { public readonly Expr Fn = fn; public readonly CallArgs Args = args; }
/// <summary><c>node | name(args)</c>; <c>Node</c> is null for the body of a filter block.</summary>
internal sealed class FilterExpr(Expr? node, string name, CallArgs args) : Expr { public Expr? Node = node; public readonly string Name = name; public readonly CallArgs Args = args; }
internal sealed class TestExpr(Expr node, string name, CallArgs args, bool negated) : Expr { public readonly Expr Node = node; public readonly string Name = name; public readonly CallArgs Args = args; public readonly bool Negated = negated; }
internal sealed class UnaryExpr(string op, Expr operand) : Expr { public readonly string Op = op; public readonly Expr Operand = operand; }
internal sealed class BinaryExpr(string op, Expr left, Expr right) : Expr { public readonly string Op = op; public readonly Expr Left = left, Right = right; }
internal sealed class ConcatExpr(List<Expr> parts) : Expr { public readonly List<Expr> Parts = parts; }
internal sealed class CompareExpr(Expr first, List<(string Op, Expr Operand)> rest) : Expr { public readonly Expr First = first; public readonly List<(string Op, Expr Operand)> Rest = rest; }
internal sealed class CondExpr(Expr test, Expr then, Expr? otherwise) : Expr { public readonly Expr Test = test, Then = then; public readonly Expr? Else = otherwise; }

// ---- assignment targets ----
internal abstract class Target { }
internal sealed class NameTarget(string name) : Target { public readonly string Name = name; }
internal sealed class TupleTarget(List<Target> items) : Target { public readonly List<Target> Items = items; }
internal sealed class NsAttrTarget(string name, string attr) : Target { public readonly string Name = name; public readonly string Attr = attr; }

// ---- statements ----
internal abstract class Stmt { public int Line; }
internal sealed class TextStmt(string text) : Stmt { public readonly string Text = text; }
internal sealed class PrintStmt(Expr expr) : Stmt { public readonly Expr Expr = expr; }
internal sealed class IfStmt(List<(Expr Cond, List<Stmt> Body)> branches, List<Stmt>? otherwise) : Stmt
{
    public readonly List<(Expr Cond, List<Stmt> Body)> Branches = branches;
    public readonly List<Stmt>? Else = otherwise;
}
internal sealed class ForStmt(Target target, Expr iter, Expr? filter, List<Stmt> body, List<Stmt>? otherwise, bool recursive) : Stmt
{
    public readonly Target Target = target;
    public readonly Expr Iter = iter;
    public readonly Expr? Filter = filter;
    public readonly List<Stmt> Body = body;
    public readonly List<Stmt>? Else = otherwise;
    public readonly bool Recursive = recursive;
}
internal sealed class SetStmt(Target target, Expr value) : Stmt { public readonly Target Target = target; public readonly Expr Value = value; }
internal sealed class SetBlockStmt(Target target, FilterExpr? filter, List<Stmt> body) : Stmt
{
    public readonly Target Target = target;
    public readonly FilterExpr? Filter = filter;
    public readonly List<Stmt> Body = body;
}
internal sealed class BreakStmt : Stmt { }
internal sealed class ContinueStmt : Stmt { }
internal sealed class MacroStmt(string name, List<(string Name, Expr? Default)> parameters, List<Stmt> body) : Stmt
{
    public readonly string Name = name;
    public readonly List<(string Name, Expr? Default)> Params = parameters;
    public readonly List<Stmt> Body = body;
    /// <summary>Names the body reads; decides whether extra positional / keyword / caller arguments are accepted.</summary>
    public readonly HashSet<string> BodyNames = NameCollector.Collect(body);
}
internal sealed class CallBlockStmt(CallExpr call, List<(string Name, Expr? Default)> parameters, List<Stmt> body) : Stmt
{
    public readonly CallExpr Call = call;
    public readonly List<(string Name, Expr? Default)> Params = parameters;
    public readonly List<Stmt> Body = body;
    public readonly HashSet<string> BodyNames = NameCollector.Collect(body);
}
internal sealed class FilterBlockStmt(FilterExpr filter, List<Stmt> body) : Stmt { public readonly FilterExpr Filter = filter; public readonly List<Stmt> Body = body; }
internal sealed class ScopeStmt(List<(Target Target, Expr Value)> assignments, List<Stmt> body) : Stmt
{
    public readonly List<(Target Target, Expr Value)> Assignments = assignments;
    public readonly List<Stmt> Body = body;
}
