"""Generates jinja2-fuzz.json: random templates rendered by Python Jinja2 configured as transformers 4.45.2 does.
Two families with fixed seeds: whitespace control (trim_blocks/lstrip_blocks/-/+ around tags, comments, raw, loops)
and random expressions (operators, filters, tests, str/list/dict methods, subscripts) over a small context.
KNOWN_DIVERGENT lists case ids whose Python result cannot or need not be reproduced, with the reason; the C# test
skips exactly those. Run: python3 make_jinja2_fuzz.py  (Jinja2 3.1.x, CPython 3.11)."""
import copy
import json
import random

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson


def folds_a_slice(src):
    """Jinja's code generator evaluates constant output expressions at compile time, where a slice of a constant
    goes through environment.getitem (Undefined on failure); at run time a slice is a plain Python subscript that
    raises TypeError. The compile-time result is an artefact we do not copy."""
    from jinja2 import nodes
    try:
        tree = env.parse(src)
    except Exception:  # noqa: BLE001
        return False
    for node in tree.find_all(nodes.Getitem):
        if isinstance(node.arg, nodes.Slice):
            try:
                node.node.as_const()
                return True
            except Exception:  # noqa: BLE001
                pass
    return False

# ---- whitespace family ----
rnd = random.Random(1234)
texts = ["", " ", "  ", "\n", "\n\n", " \n", "\n  ", "\t", "a", " b ", "c\n", "\n d", " \t\n\t "]
def m(): return rnd.choice(["", "-", "+"])
def me(): return rnd.choice(["", "-"])
def block(depth):
    parts = []
    for _ in range(rnd.randint(1, 5)):
        k = rnd.randint(0, 9)
        parts.append(rnd.choice(texts))
        if k == 0: parts.append("{{%s 'x' %s}}" % (m(), me()))
        elif k == 1: parts.append("{#%s c %s#}" % (m(), m()))
        elif k == 2 and depth < 3: parts.append("{%%%s if true %s%%}" % (m(), m()) + block(depth+1) + "{%%%s endif %s%%}" % (m(), m()))
        elif k == 3 and depth < 3: parts.append("{%%%s for i in [1, 2] %s%%}" % (m(), m()) + block(depth+1) + "{%%%s endfor %s%%}" % (m(), m()))
        elif k == 4: parts.append("{%%%s set a = 1 %s%%}" % (m(), m()))
        elif k == 5: parts.append("{%%%s raw %s%%}" % (m(), me()) + rnd.choice(texts) + "{{ r }}" + rnd.choice(texts) + "{%%%s endraw %s%%}" % (m(), m()))
        elif k == 6 and depth < 3: parts.append("{%%%s if false %s%%}" % (m(), m()) + block(depth+1) + "{%%%s else %s%%}" % (m(), m()) + block(depth+1) + "{%%%s endif %s%%}" % (m(), m()))
        elif k == 7: parts.append("{{ i }}")
        parts.append(rnd.choice(texts))
    return "".join(parts)


# ---- expression family ----
atoms = ["0", "1", "-3", "2.5", "0.1", "1e-7", "3e15", "'ab'", "'A b'", "''", "'é🦙x'", "none", "true", "false", "[1, 'a']", "[]", "(1, 2)",
         "{'k': 'v', 'n': 2}", "{}", "x", "s", "l", "d", "n", "f", "'  pad '", "'a,b,,c'", "[3, 1, 2]", "['b', 'A', 'a']"]
ctx = {"s": "Hello, World", "l": [1, 2, 3], "d": {"a": 1, "b": [1, 2]}, "n": 7, "f": 0.5}
binops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">=", "in", "not in", "and", "or"]
filters = ["length", "upper", "lower", "title", "capitalize", "trim", "first", "last", "list", "string", "int", "float", "abs", "round", "tojson",
           "reverse", "sort", "unique", "join", "join(', ')", "default('D')", "d('x', true)", "sum", "min", "max", "wordcount", "center(9)",
           "replace('a', 'o')", "batch(2) | list", "map('string') | list", "select | list", "reject | list", "dictsort", "items | list", "e", "indent(2)", "truncate(5)", "float | round(1)"]
tests = ["defined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence", "boolean", "even", "odd", "true", "false", "lower", "upper", "divisibleby(2)", "eq 1", "in [1, 'ab']", "callable"]
methods = ["upper()", "lower()", "strip()", "split()", "split(',')", "title()", "capitalize()", "startswith('H')", "endswith('d')", "find('o')", "count('l')",
           "replace('l', 'L')", "keys() | list", "values() | list", "items() | list", "get('a')", "get('z', 0)", "isdigit()", "zfill(4)", "center(8, '*')", "rstrip('d')", "lstrip('H')", "index(2)", "count(1)", "join(['x','y'])", "splitlines()", "partition(',')", "format(1, 2)", "swapcase()", "isalpha()"]
def expr(d):
    k = rnd.randint(0, 9 if d < 3 else 0)
    if k <= 2: return rnd.choice(atoms)
    if k <= 4: return "(%s %s %s)" % (expr(d+1), rnd.choice(binops), expr(d+1))
    if k == 5: return "(%s | %s)" % (expr(d+1), rnd.choice(filters))
    if k == 6: return "(%s is %s%s)" % (expr(d+1), rnd.choice(["", "not "]), rnd.choice(tests))
    if k == 7: return "%s.%s" % (rnd.choice(["s", "l", "d", "'a b'", "'1,2'"]), rnd.choice(methods))
    if k == 8: return "%s[%s]" % (expr(d+1), rnd.choice(["0", "-1", "1:", "::-1", "'a'", "5", ":2", "1::2"]))
    return "(%s if %s else %s)" % (expr(d+1), expr(d+1), expr(d+1))


# ---- statement family: scoping, loops, macros, namespaces, set blocks ----
SEXPR = ["x", "y", "n", "l", "l[0]", "loop.index", "loop.length", "loop.first", "ns.a", "ns.b", "a", "b", "i", "k",
         "v", "(x + 1)", "(n * 2)", "(l | length)", "l[1:]", "(a ~ b)", "'q'", "1", "none", "d.a", "(i ~ x)", "varargs",
         "kwargs", "caller is defined", "l | select('odd') | list", "loop.previtem", "loop.nextitem", "(y or 'z')"]
STMTS = [
    "{{ $ }}", "{% set x = $ %}", "{% set y = $ %}", "{% set a, b = $, $ %}", "{% set ns.a = $ %}",
    "{% if $ %}<{{ $ }}>{% elif $ %}[{{ $ }}]{% else %}({{ $ }}){% endif %}",
    "{% for i in l %}#{ BODY }#{% endfor %}", "{% for i in l if i > 1 %}#{ BODY }#{% else %}E{% endfor %}",
    "{% for k, v in d.items() %}#{ BODY }#{% endfor %}", "{% for i in l %}{% if i == 2 %}{% continue %}{% endif %}#{ BODY }#{% if loop.index > 2 %}{% break %}{% endif %}{% endfor %}",
    "{% macro mac(p, q=$) %}#{ BODY }#{{ p }}{{ q }}{% endmacro %}{{ mac($) }}{{ mac($, q=$) }}",
    "{% set blk %}#{ BODY }#{% endset %}[{{ blk }}]", "{% with x = $ %}#{ BODY }#{% endwith %}",
    "{% macro w() %}({{ caller() }}){% endmacro %}{% call w() %}#{ BODY }#{% endcall %}",
    "{% filter upper %}#{ BODY }#{% endfilter %}",
]


def program(depth):
    out = []
    for _ in range(rnd.randint(1, 4)):
        st = rnd.choice(STMTS if depth < 2 else STMTS[:6])
        while "#{ BODY }#" in st:
            st = st.replace("#{ BODY }#", program(depth + 1), 1)
        while "$" in st:
            st = st.replace("$", rnd.choice(SEXPR), 1)
        out.append(st)
    return "".join(out)


STMT_CTX = {"x": 1, "n": 5, "l": [1, 2, 3], "d": {"a": "A", "b": "B"}}
PRELUDE = "{% set ns = namespace(a=0, b='b') %}"

KNOWN_DIVERGENT = {
    # str % Undefined: Python treats Undefined (it has __getitem__) as a mapping, so a format without fields passes.
    "expr1027": "'True' % Undefined succeeds in Python (Undefined looks like a mapping to printf formatting)",
    # escape returns markupsafe.Markup in Python; this engine has no autoescaping and returns str.
    "expr1071": "escape returns markupsafe.Markup (type name in the error message)",
    "expr1430": "escape returns markupsafe.Markup (list * Markup error message)",
}


def render(src, ctx, environment=None):
    try:
        return {"expected": (environment or env).from_string(src).render(**copy.deepcopy(ctx))}
    except Exception as e:  # noqa: BLE001 — the type name is part of the expectation
        return {"expected_error": f"{type(e).__name__}: {e}"}


def main():
    global rnd
    cases = []
    rnd = random.Random(1234)
    for n in range(1000):
        src = block(0)
        cases.append({"id": f"ws{n}", "template": src, "context": {}, **render(src, {})})
    rnd = random.Random(99)
    for n in range(1500):
        src = "{{ " + expr(0) + " }}"
        case = {"id": f"expr{n}", "template": src, "context": "expr", **render(src, ctx)}
        if folds_a_slice(src):
            KNOWN_DIVERGENT[case["id"]] = "slice of a constant folded at compile time (see folds_a_slice)"
        cases.append(case)
    rnd = random.Random(4242)
    for n in range(800):
        src = PRELUDE + program(0)
        cases.append({"id": f"stmt{n}", "template": src, "context": "stmt", **render(src, STMT_CTX)})
    for c in cases:
        # Output that prints an object address can never match.
        if " at 0x" in c.get("expected", ""):
            KNOWN_DIVERGENT.setdefault(c["id"], "prints a Python object address")
    doc = {"generator": f"make_jinja2_fuzz.py, Jinja2 {jinja2.__version__}", "contexts": {"expr": ctx, "stmt": STMT_CTX},
           "known_divergent": KNOWN_DIVERGENT, "cases": cases}
    with open("jinja2-fuzz.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
