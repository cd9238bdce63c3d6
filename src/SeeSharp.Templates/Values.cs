using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeeSharp.Templates;

/// <summary>A Python tuple: immutable, printed as <c>(a, b)</c>.</summary>
internal sealed class PyTuple(object?[] items, string[]? fieldNames = null)
{
    public readonly object?[] Items = items;
    /// <summary>Set for named tuples (groupby's <c>grouper</c>/<c>list</c>), readable as attributes.</summary>
    public readonly string[]? FieldNames = fieldNames;
    public int Count => Items.Length;
}

/// <summary>
/// A one-shot Python iterator: what Jinja's map/select/reject/selectattr/rejectattr/unique/batch/slice/items
/// filters (generators) and reverse (reversed(...)) return. Truthy even when empty, no len(), not subscriptable,
/// exhausted once iterated. Its items are produced on first use, so errors surface when Python's would.
/// </summary>
internal sealed class PyIterator(string typeName, string reprName, Func<List<object?>> producer)
{
    private List<object?>? _items;
    private int _pos;

    public string TypeName => typeName;
    public string ReprName => reprName;

    private List<object?> Items => _items ??= producer();

    public List<object?> TakeAll()
    {
        var items = Items;
        var rest = items.GetRange(_pos, items.Count - _pos);
        _pos = items.Count;
        return rest;
    }

    public bool TryNext(out object? value)
    {
        var items = Items;
        if (_pos < items.Count)
        {
            value = items[_pos++];
            return true;
        }
        value = null;
        return false;
    }
}

/// <summary>A dict view (<c>dict_items</c>, <c>dict_keys</c>, <c>dict_values</c>): sized, re-iterable, not subscriptable.</summary>
internal sealed class PyView(string typeName, List<object?> items)
{
    public string TypeName => typeName;
    public List<object?> Items => items;
}

/// <summary>Jinja's <c>namespace(...)</c>: the one object whose attributes <c>{% set ns.x = ... %}</c> may change.</summary>
internal sealed class Namespace
{
    public readonly OrderedDictionary<string, object?> Attrs = new();
}

/// <summary>
/// Jinja's default <c>Undefined</c>: prints as empty, is falsy, iterates as empty; most other uses raise
/// (<c>UndefinedError</c>, or <c>SecurityError</c> for a blocked attribute).
/// </summary>
internal sealed class Undefined
{
    public static readonly Undefined Plain = new(null, null, null, hasObj: false);

    private readonly bool _hasObj;

    public Undefined(string? name, object? obj, string? hint, bool hasObj, string errorType = "UndefinedError")
    {
        Name = name;
        Obj = obj;
        Hint = hint;
        _hasObj = hasObj;
        ErrorType = errorType;
    }

    public string? Name { get; }
    public object? Obj { get; }
    public string? Hint { get; }
    public string ErrorType { get; }

    public static Undefined Missing(string name) => new(name, null, null, hasObj: false);
    public static Undefined NoAttribute(object? obj, string name) => new(name, obj, null, hasObj: true);

    public string Message
    {
        get
        {
            if (Hint is not null) return Hint;
            if (!_hasObj) return Name is null ? "value is undefined" : $"{PyOps.Repr(Name)} is undefined";
            return $"{PyOps.Repr(PyOps.ObjectTypeRepr(Obj))} has no attribute {PyOps.Repr(Name)}";
        }
    }

    public TemplateException Fail() => new(ErrorType, Message);
}

/// <summary>Anything callable from a template: macros, bound methods, global functions.</summary>
internal abstract class PyCallable
{
    public abstract string Name { get; }
    public abstract object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs);
}

internal sealed class BuiltinFunction(string name, Func<Interpreter, List<object?>, List<KeyValuePair<string, object?>>, object?> fn) : PyCallable
{
    public override string Name => name;
    public override object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs) => fn(it, args, kwargs);
}

internal sealed class BoundMethod(object? target, string name) : PyCallable
{
    public object? Target => target;
    public override string Name => name;
    public override object? Call(Interpreter it, List<object?> args, List<KeyValuePair<string, object?>> kwargs) => Methods.Call(it, target, name, args, kwargs);
}

/// <summary>Converts host values (CLR primitives, collections, System.Text.Json) into template values, copying.</summary>
public static class TemplateValues
{
    /// <summary>
    /// Converts a JSON element into template values: objects become ordered dicts, arrays lists, integers
    /// <see cref="long"/> (other numbers <see cref="double"/>), strings, booleans and null.
    /// </summary>
    public static object? FromJson(JsonElement element) => FromJson(element, 0);

    /// <summary>Converts a <see cref="JsonNode"/> (null for JSON null) like <see cref="FromJson(JsonElement)"/>.</summary>
    public static object? FromJson(JsonNode? node) => node is null ? null : FromJson(JsonSerializer.SerializeToElement(node), 0);

    /// <summary>Parses JSON text into template values.</summary>
    public static object? ParseJson(string json)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        return FromJson(doc.RootElement, 0);
    }

    /// <summary>Converts a JSON object into a template context.</summary>
    public static IReadOnlyDictionary<string, object?> ContextFromJson(JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new ArgumentException($"a template context must be a JSON object, got {obj.ValueKind}", nameof(obj));
        var d = new Dictionary<string, object?>();
        foreach (var p in obj.EnumerateObject()) d[p.Name] = FromJson(p.Value, 1);
        return d;
    }

    private const int MaxJsonDepth = 200;

    private static object? FromJson(JsonElement e, int depth)
    {
        if (depth > MaxJsonDepth) throw new ArgumentException($"JSON value nested deeper than {MaxJsonDepth} levels");
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return e.GetString();
            case JsonValueKind.Number:
            {
                string raw = e.GetRawText();
                bool isInt = raw.IndexOfAny(['.', 'e', 'E']) < 0;
                if (isInt && e.TryGetInt64(out long l)) return l;
                return e.GetDouble();
            }
            case JsonValueKind.Array:
            {
                var list = new List<object?>(e.GetArrayLength());
                foreach (var x in e.EnumerateArray()) list.Add(FromJson(x, depth + 1));
                return list;
            }
            case JsonValueKind.Object:
            {
                var d = new OrderedDictionary<string, object?>();
                foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value, depth + 1);
                return d;
            }
            default:
                throw new ArgumentException($"unsupported JSON value kind {e.ValueKind}");
        }
    }

    /// <summary>
    /// Converts a host value into the template value model: null, bool, long, double, string, list, ordered dict
    /// (string keys). Integers of any CLR width become long, float/double/decimal become double, any
    /// <see cref="IDictionary"/> or string-keyed dictionary becomes a dict, any other enumerable a list, and
    /// <see cref="JsonElement"/>/<see cref="JsonNode"/> are converted. Other types are rejected (no reflection).
    /// </summary>
    public static object? FromHost(object? value) => FromHost(value, 0);

    internal static object? FromHost(object? value, int depth)
    {
        if (depth > MaxJsonDepth) throw new ArgumentException($"context value nested deeper than {MaxJsonDepth} levels");
        switch (value)
        {
            case null: return null;
            case string s: return s;
            case bool b: return b;
            case long l: return l;
            case int i: return (long)i;
            case short sh: return (long)sh;
            case byte by: return (long)by;
            case sbyte sb: return (long)sb;
            case ushort us: return (long)us;
            case uint ui: return (long)ui;
            case ulong ul: return ul <= long.MaxValue ? (long)ul : throw new ArgumentException($"integer {ul} exceeds the 64-bit range of template integers");
            case double d: return d;
            case float f: return (double)f;
            case decimal m: return (double)m;
            case char c: return c.ToString();
            case JsonElement je: return FromJson(je, depth);
            case JsonNode jn: return FromJson(JsonSerializer.SerializeToElement(jn), depth);
            case PyTuple or Namespace or Undefined or PyCallable or PyIterator or PyView: return value;
            case IEnumerable<KeyValuePair<string, object?>> kvs:
            {
                var d = new OrderedDictionary<string, object?>();
                foreach (var kv in kvs) d[kv.Key] = FromHost(kv.Value, depth + 1);
                return d;
            }
            case IDictionary dict:
            {
                var d = new OrderedDictionary<string, object?>();
                foreach (DictionaryEntry kv in dict)
                {
                    if (kv.Key is not string key) throw new ArgumentException($"dictionary key {kv.Key} of type {kv.Key?.GetType().Name} is not a string; template dicts have string keys");
                    d[key] = FromHost(kv.Value, depth + 1);
                }
                return d;
            }
            case IEnumerable seq:
            {
                var list = new List<object?>();
                foreach (var x in seq) list.Add(FromHost(x, depth + 1));
                return list;
            }
            default:
                throw new ArgumentException($"values of type {value.GetType().FullName} cannot be passed to a template (allowed: null, bool, integers, floating point, string, lists, string-keyed dictionaries, JSON)");
        }
    }
}
