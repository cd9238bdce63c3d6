"""Generates jinja2-probes.json: small templates rendered by Python Jinja2 configured as transformers 4.45.2 does
(ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]), tojson with
ensure_ascii=False, raise_exception). Run: python3 make_jinja2_probes.py  (Jinja2 3.1.x)."""
import json
import jinja2
from jinja2.ext import loopcontrols
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
# strftime_now on a fixed instant (the C# tests use the same: 2025-07-10 12:00, local time = UTC).
env.globals["strftime_now"] = lambda fmt: __import__("datetime").datetime(2025, 7, 10, 12, 0, 0).strftime(fmt)

MSGS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi 🦙 there"}]},
    {"role": "assistant", "content": "Hello!", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 2, "a": [1, 2.5]}}}]},
]

PROBES = {
    # printing
    "floats": "{{ [0.1, 1/3, 2/3, 1e16, 1e15, 123456789012345678.0, 1e-4, 1.5e-5, -2.0, 3.0e300, 0.000123] }}",
    "float_arith": "{{ 0.1 + 0.2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % -3 }}|{{ -7 % 3 }}|{{ 7.5 // 2 }}|{{ -7.5 % 2 }}|{{ 2 ** -1 }}|{{ 2 ** 0.5 }}|{{ 2 ** 3 ** 2 }}",
    "int_ops": "{{ 5 - 7 }}|{{ true + 1 }}|{{ 3 * 1.0 }}|{{ 1 / 1 }}|{{ 10 / 3 }}|{{ -5 }}|{{ +5 }}|{{ -(3) }}",
    "str_repr": "{{ ['a\"b', \"it's\", 'both\\'\"', 'nl\\n', 'tab\\t', 'bs\\\\', '\\x01', 'é', '🦙', '\\u200b'] }}",
    "tuple_print": "{{ (1,) }}|{{ (1, 'a') }}|{{ () }}|{{ {'a': (1, 2)} }}|{{ [[], {}] }}",
    "concat_types": "{{ 1 ~ 2.5 ~ none ~ true ~ [1] ~ {'a': 1} }}",
    "print_tuple_expr": "{{ 1, 2 }}",
    # comparisons
    "compare_mixed": "{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ (1, 2) == (1, 2) }}{{ [1] == (1,) }}{{ none == none }}{{ 2 > 1.5 }}{{ 'a' != 'a' }}",
    "compare_dict": "{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }}",
    "in_ops": "{{ 1 in [1.0] }}{{ 'a' in ['a'] }}{{ 'k' in {'k': 1} }}{{ 'x' not in ['y'] }}{{ 2 in (1, 2) }}",
    "cond_expr": "{{ 'y' if 1 else 'n' }}|{{ 'y' if 0 else 'n' }}|{{ 'y' if 0 }}|{{ 1 if none else 2 if false else 3 }}",
    "and_or_values": "{{ 0 or '' or 'x' }}|{{ 1 and 2 }}|{{ [] and 1 }}|{{ none or none }}",
    "not_precedence": "{{ not 1 == 2 }}|{{ not true and false }}|{{ not (true and false) }}",
    # strings
    "str_methods1": "{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ '  a  b '.split() }}|{{ ' a b c '.split(None, 1) }}|{{ ' a b c '.rsplit(None, 1) }}",
    "str_methods2": "{{ 'hello'.find('l') }}|{{ 'hello'.rfind('l') }}|{{ 'hello'.find('z') }}|{{ 'hello'.index('e') }}|{{ 'hello'.count('l') }}|{{ 'a🦙b'.find('b') }}",
    "str_methods3": "{{ 'x'.center(5, '*') }}|{{ 'ab'.center(5) }}|{{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}",
    "str_methods4": "{{ 'a-b-c'.partition('-') }}|{{ 'a-b-c'.rpartition('-') }}|{{ 'abc'.partition('x') }}",
    "str_methods5": "{{ 'Hello World'.swapcase() }}|{{ 'hello world'.title() }}|{{ \"they're bill's 1st\".title() }}|{{ 'ÉCOLE'.lower() }}|{{ 'straße'.upper() }}",
    "final_sigma": "{{ 'ΟΔΟΣ ΣΑΣ Σ ΑΣ.'.lower() }}|{{ 'ΟΔΟΣ' | lower }}|{{ 'ΟΔΟΣ' | capitalize }}|{{ 'ΟΔΟΣ'.title() }}",
    "str_methods6": "{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.endswith(('c',)) }}|{{ 'abc'.startswith('b', 1) }}|{{ 'abc'.removeprefix('a') }}|{{ 'abc'.removesuffix('c') }}",
    "str_methods7": "{{ '123'.isdigit() }}{{ 'abc'.isalpha() }}{{ ' \\t'.isspace() }}{{ 'Abc'.islower() }}{{ 'ABC'.isupper() }}{{ 'a1'.isalnum() }}{{ ''.isdigit() }}{{ 'Ab Cd'.istitle() }}",
    "str_methods8": "{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'a\\nb\\n'.splitlines(true) }}|{{ 'x'.join(['a', 'b', 'c']) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'ab'.replace('', '-') }}",
    "str_format": "{{ '{} and {}'.format('a', 1) }}|{{ '{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='x') }}|{{ '{:>5}|{:<4}|{:^6}|{:.2f}|{:05d}|{!r}'.format('a', 'b', 'c', 3.14159, 42, 'q') }}",
    "percent_format": "{{ '%5.2f|%-4d|%03d|%s|%r|%x|%e|%g|%%' % (3.14159, 7, 5, [1], 'a', 255, 12345.678, 0.0001) }}|{{ '%(a)s-%(b)d' % {'a': 'x', 'b': 2} }}|{{ '%s' % 'solo' }}",
    "string_index_slice": "{{ 'abcdef'[-1] }}|{{ 'abcdef'[::2] }}|{{ 'abcdef'[4:1:-1] }}|{{ 'abcdef'[10:] }}|{{ 'a🦙b'[1] }}|{{ 'a🦙b'[::-1] }}|{{ 'abc'[5] }}|",
    "list_index_slice": "{{ [1,2,3][-1] }}|{{ [1,2,3][::-1] }}|{{ [1,2,3][1:] }}|{{ [1,2,3][:-1] }}|{{ [1,2,3][5] }}|{{ (1,2,3)[1:] }}",
    "string_mult": "{{ 'ab' * 3 }}|{{ 3 * 'ab' }}|{{ [1] * 3 }}|{{ 'x' * 0 }}|{{ 'x' * -1 }}",
    # filters
    "f_default": "{{ none | default('d') }}|{{ undefined_var | d('u') }}|{{ 0 | d('z', true) }}|{{ false | default('f') }}",
    "f_length": "{{ 'abc' | length }}{{ [1,2] | count }}{{ {'a': 1} | length }}{{ undefined_var | length }}",
    "f_join": "{{ [1, 2, 3] | join }}|{{ [1, 2, 3] | join(', ') }}|{{ [{'a': 'x'}, {'a': 'y'}] | join('-', attribute='a') }}|{{ 'abc' | join('.') }}",
    "f_first_last": "{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }}{{ 'abc' | first }}{{ 'abc' | last }}{{ [] | first }}",
    "f_list_string": "{{ 'ab' | list }}|{{ {'a': 1, 'b': 2} | list }}|{{ 12 | string }}|{{ none | string }}|{{ [1, 'a'] | string }}",
    "f_int_float": "{{ '42' | int }}|{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ '3.9' | int }}|{{ 3.9 | int }}|{{ '0x1A' | int(0, 16) }}|{{ '2.5' | float }}|{{ 'y' | float }}|{{ 2 | float }}|{{ true | int }}",
    "f_round": "{{ 2.675 | round(2) }}|{{ 0.5 | round }}|{{ 1.5 | round }}|{{ -2.5 | round }}|{{ 3.7 | round(0, 'floor') }}|{{ 3.2 | round(0, 'ceil') }}|{{ 1234.5678 | round(-2) }}|{{ 3 | round }}|{{ 3 | round(1, 'floor') }}",
    "f_abs": "{{ -3 | abs }}|{{ -2.5 | abs }}|{{ 3 | abs }}",
    "f_tojson": "{{ messages | tojson }}",
    "f_tojson_opts": "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ [1, {'x': 'y'}] | tojson(separators=(',', ':')) }}|{{ 'é' | tojson(ensure_ascii=true) }}|{{ [] | tojson(indent=2) }}|{{ {'a': {}} | tojson(indent=2) }}",
    "f_tojson_ctrl": "{{ 'a\\x01\\u2028\\b\\f' | tojson }}|{{ 1e100 | tojson }}|{{ -0.0 | tojson }}|{{ 5 | tojson }}|{{ none | tojson }}|{{ (1, 2) | tojson }}",
    "f_items_dictsort": "{{ {'b': 1, 'A': 2, 'a': 0} | dictsort }}|{{ {'b': 1, 'A': 2, 'a': 0} | dictsort(true) }}|{{ {'x': 2, 'y': 1} | dictsort(by='value') }}|{{ {'x': 2, 'y': 1} | dictsort(reverse=true) }}|{{ {'k': 'v'} | items | list }}",
    "f_map": "{{ messages | map(attribute='role') | list }}|{{ ['a', 'B'] | map('upper') | join }}|{{ [{'a': 1}, {}] | map(attribute='a', default=0) | list }}|{{ ['1', '2'] | map('int') | sum }}",
    "f_select": "{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}|{{ [0, 1, '', 'a', none] | select | list }}|{{ [1, 5, 9] | select('gt', 4) | list }}|{{ [1, 2] | select('in', [2, 3]) | list }}",
    "f_selectattr": "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | join(',') }}|{{ messages | selectattr('tool_calls') | list | length }}|{{ messages | selectattr('tool_calls', 'defined') | map(attribute='role') | first }}",
    "f_unique_sort": "{{ ['b', 'A', 'a', 'B', 'c'] | unique | list }}|{{ ['b', 'A', 'a'] | unique(true) | list }}|{{ ['b', 'A', 'a', 'C'] | sort }}|{{ ['b', 'A', 'a', 'C'] | sort(case_sensitive=true) }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') }}",
    "f_reverse": "{{ 'abc' | reverse }}|{{ [1, 2, 3] | reverse | list }}",
    "f_batch_slice": "{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3, 4, 5] | batch(2, 'x') | list }}|{{ [1, 2, 3, 4, 5] | slice(2) | list }}|{{ [1, 2, 3, 4, 5] | slice(3, 0) | list }}",
    "f_indent": "[{{ 'a\\nb\\n\\nc' | indent }}]|[{{ 'a\\nb' | indent(2, true) }}]|[{{ 'a\\n\\nb' | indent(2, blank=true) }}]|[{{ 'x\\ny' | indent('> ') }}]",
    "f_center_wordcount": "[{{ 'ab' | center(7) }}]|{{ 'one two, three!' | wordcount }}",
    "f_escape_striptags": "{{ '<a href=\"x\">T&amp;C</a>' | striptags }}|{{ '<\\'\"&>' | e }}|{{ '<b>' | safe }}|{{ '<b>' | escape | length }}",
    "f_truncate": "{{ 'hello world foo bar baz qux' | truncate(12) }}|{{ 'hello world foo bar baz qux' | truncate(12, true) }}|{{ 'short' | truncate(3) }}|{{ 'hello world foo bar' | truncate(9, false, '..', 0) }}",
    "f_min_max_sum": "{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}{{ ['b', 'A'] | min }}{{ ['b', 'A'] | max(case_sensitive=true) }}|{{ [1, 2.5] | sum }}|{{ [{'v': 1}, {'v': 2}] | sum(attribute='v') }}|{{ [[1], [2]] | sum(start=[]) }}",
    "f_groupby": "{% for g in [{'k': 'b', 'v': 1}, {'k': 'a', 'v': 2}, {'k': 'b', 'v': 3}] | groupby('k') %}{{ g.grouper }}={{ g.list | map(attribute='v') | join }};{% endfor %}",
    "f_title_capitalize": "{{ 'hello-world foo(bar) [x]y' | title }}|{{ \"it's o'neil\" | title }}|{{ 'ÉTÉ' | capitalize }}|{{ none | upper }}|{{ 5 | lower }}",
    "f_replace_trim": "{{ 'aXbXc' | replace('X', '-') }}|{{ 'aXbXc' | replace('X', '-', 1) }}|[{{ '  x  ' | trim }}]|[{{ 'xxaxx' | trim('x') }}]",
    "f_format": "{{ '%s=%d' | format('a', 1) }}|{{ '%(x)s' | format(x=5) }}",
    "f_attr": "{{ {'a': 1} | attr('a') }}|{{ messages[0] | attr('role') }}",
    "filter_chain_block": "{% filter replace('a', 'b') | upper %}aaa{% endfilter %}",
    # tests
    "tests1": "{{ 3 is divisibleby 3 }}{{ 4 is even }}{{ 3 is odd }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ true is boolean }}{{ 1 is integer }}{{ 1.0 is float }}{{ 1.0 is number }}{{ true is number }}{{ true is integer }}",
    "tests2": "{{ range is callable }}{{ 'a' is callable }}{{ {} is sequence }}{{ 1 is iterable }}{{ x is iterable }}{{ none is sameas none }}{{ 1 is sameas 1 }}{{ [] is sameas [] }}{{ 'a' is in 'abc' }}",
    "tests3": "{{ 1 is eq 1 }}{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 1 is le 1 }}{{ 2 is gt 1 }}{{ 2 is ge 3 }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ none is true }}{{ false is false }}",
    "tests_not": "{{ x is not defined }}{{ 1 is not none }}{{ 1 is not string }}{{ not x is defined }}",
    # statements
    "for_else": "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}",
    "for_filter_loop": "{% for x in range(10) if x is odd %}{{ loop.index }}:{{ x }}{{ ',' if not loop.last }}{% endfor %}|",
    "for_dict": "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}|{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}",
    "for_unpack": "{% for a, b in [(1, 2), [3, 4], 'xy'] %}{{ a }}{{ b }};{% endfor %}",
    "for_cycle_changed": "{% for x in [1, 1, 2, 3, 3] %}{{ loop.cycle('a', 'b') }}{% if loop.changed(x) %}!{% endif %}{{ loop.revindex0 }}{{ loop.depth }}{% endfor %}",
    "for_nested_loop": "{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}",
    "loop_break_else": "{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% else %}E{% endfor %}",
    "set_tuple": "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, %}{{ c }}",
    "set_block": "{% set x %}  A {{ 1 + 1 }}\n{% endset %}[{{ x }}]{% set y | upper %}b{% endset %}{{ y }}",
    "set_scope_if": "{% set v = 1 %}{% if true %}{% set v = 2 %}{% endif %}{{ v }}",
    "loop_scope_outer_read": "{% set v = 'out' %}{% for i in [1] %}{{ v }}{% set v = 'in' %}{{ v }}{% endfor %}{{ v }}",
    "namespace_init": "{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}{{ ns.c }}|{% set n2 = namespace({'k': 2}) %}{{ n2.k }}",
    "macro_varargs": "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}",
    "macro_defaults_ref": "{% macro m(a, b=a * 2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(2) }}|{{ m(b=1, a=3) }}",
    "err_macro_missing_param": "{% macro m(a, b=a * 2) %}{{ a }}-{{ b }}{% endmacro %}{{ m() }}",
    "macro_missing_param_prints_empty": "{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}",
    "err_macro_too_many": "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
    "err_macro_unknown_kw": "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, b=2) }}",
    "err_macro_call_without_caller": "{% macro m() %}x{% endmacro %}{% call m() %}body{% endcall %}",
    "macro_kwargs_only": "{% macro m() %}{{ kwargs }}{% endmacro %}{{ m(z=1) }}",
    "err_macro_dup_arg": "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}",
    "macro_caller": "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %}{% call(x) wrap('i') %}{% endcall %}",
    "macro_caller_args": "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}[{{ item }}]{% endcall %}",
    "macro_scope": "{% set g = 'G' %}{% macro m() %}{{ g }}{% set g = 'L' %}{{ g }}{% endmacro %}{{ m() }}{{ g }}",
    "with_stmt": "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}",
    "raw_block": "{% raw %}{{ not rendered }}{% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}  |",
    "comments_ws": "a {# c #} b\n  {# line comment #}\nc{#- strip -#}  d",
    "ws_mixed": "x\n  {%- if true %}\n    y\n  {% endif -%}\n  z\n{{- ' w ' -}}\n  q {%+ if true %}k{% endif %}",
    "ws_lstrip_var": "  {{ 'v' }}\n  {% if true %}b{% endif %}\n\t{% if true %}\nc\n\t{% endif %}\nd",
    "ws_plus_trim": "{% if true +%}\nA{% endif +%}\nB",
    "crlf": "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n",
    "dict_methods": "{{ {'a': 1}.keys() | list }}|{{ {'a': 1}.values() | list }}|{{ {'a': 1}.items() | list }}|{{ {'a': 1}.get('b') }}|{{ {'a': 1, 'b': 2}.copy() }}",
    "recursive_loop": "{% for n in tree recursive %}{{ loop.depth }}{{ n.name }}{% if n.kids %}[{{ loop(n.kids) }}]{% endif %}{{ ',' if not loop.last }}{% endfor %}",
    "recursive_loop_filter_else": "{% for n in tree if n.name != 'b' recursive %}{{ n.name }}{{ loop.depth0 }}({{ loop(n.kids or []) }}){% else %}-{% endfor %}",
    "err_call_nonrecursive_loop": "{% for n in tree %}{{ loop(n.kids) }}{% endfor %}",
    "cycler": "{% set c = cycler('a', 'b', 'c') %}{{ c.next() }}{{ c.next() }}{{ c.current }}{% set _ = c.reset() %}{{ c.next() }}{{ c.items }}",
    "object_reprs": "{% set ns = namespace(a=1, b=[1]) %}{{ ns }}|{% macro m() %}{% endmacro %}{{ m }}|{% for x in [1, 2] %}{{ loop }}{% endfor %}",
    "dict_views": "{{ d.items() }}|{{ d.keys() }}|{{ d.values() }}|{{ d.items() | length }}|{{ ('a', 1) in d.items() }}|{{ 'a' in d.keys() }}|{{ d.keys()[0] }}|{{ {}.items() }}|{% if {}.items() %}T{% else %}F{% endif %}|{{ d.items() is sequence }}|{{ d.items() | list }}",
    "err_view_tojson": "{{ d.items() | tojson }}",
    "generators": "{% if [] | select %}truthy{% endif %}|{{ [1, 2] | map('string') | first }}|{% set g = [1, 2] | select %}{{ g | list }}{{ g | list }}|{{ [3, 1] | reverse | list }}",
    "err_generator_len": "{{ [1] | select | length }}",
    "dict_key_vs_method": "{{ {'items': 5}['items'] }}|{{ {'keys': 1}.keys() | list }}|{{ {'x': 1}['get'] is callable }}",
    "list_methods": "{{ [1, 2, 1].count(1) }}|{{ [1, 2].index(2) }}|{{ (1, 2).index(2) }}|{{ [1, 2].copy() }}",
    "range_forms": "{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(5, 0, -2) | list }}|{{ range(0) | list }}",
    "dict_global": "{{ dict(a=1, b='x') }}|{{ dict([('k', 1)]) }}",
    "joiner": "{% set j = joiner('|') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}",
    "undefined_ops": "{{ x }}|{{ x | default('d') }}|{{ x == none }}|{{ x is none }}|{% for i in x %}never{% endfor %}|{{ x ~ 'y' }}|{{ x | list }}|{{ x is iterable }}",
    "dict_attr_fallback": "{{ messages[1].content[0].type }}|{{ messages[2].tool_calls[0].function.arguments | tojson }}|{{ messages[0].nope is defined }}|{{ messages[5] is defined }}",
    "string_escapes": "{{ '\\x41\\u00e9\\U0001F999\\101\\s\\q' }}|{{ \"a\" 'b' \"c\" }}",
    "numbers_lex": "{{ 1_000 }}|{{ 1_0.5 }}|{{ 0x10 }}|{{ 0o17 }}|{{ 0b101 }}|{{ 1E3 }}|{{ 2.5e-3 }}|{{ 12.0 }}",
    "attr_int": "{{ [10, 20].1 }}|{{ messages.0.role }}",
    "err_concat_precedence": "{{ 'a' ~ 1 + 2 }}",
    "chained_filters_tests": "{{ messages | length > 2 and messages[0].role == 'system' }}|{{ -1 | abs + 1 }}|{{ 'a' ~ (1 + 2) }}|{{ 1 + 2 ~ 'a' }}",
    "err_last_undefined": "{{ nope | last }}",
    "whitespace_output_newlines": "{% for m in messages %}\n{{ m.role }}\n{% endfor %}\n",
    # errors
    "err_undefined_call": "{{ foo() }}",
    "err_undefined_attr": "{{ foo.bar }}",
    "err_undefined_add": "{{ foo + 1 }}",
    "err_none_attr_call": "{{ none.foo() }}",
    "err_str_plus_int": "{{ 'a' + 1 }}",
    "err_int_plus_str": "{{ 1 + 'a' }}",
    "err_list_plus_str": "{{ [1] + 'a' }}",
    "err_compare": "{{ 1 < 'a' }}",
    "err_div_zero": "{{ 1 / 0 }}",
    "err_floordiv_zero": "{{ 1 // 0 }}",
    "err_mod_zero": "{{ 1 % 0 }}",
    "err_unpack": "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
    "err_unpack_few": "{% set a, b = [1] %}",
    "err_dict_update": "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "err_list_extend": "{{ [].extend([1]) }}",
    "err_not_callable": "{{ 'abc'() }}",
    "err_ns_set": "{% set x = 1 %}{% set x.a = 2 %}",
    "err_join_types": "{{ ','.join([1, 2]) }}",
    "err_raise_in_macro": "{% macro m() %}{{ raise_exception('in macro') }}{% endmacro %}{{ m() }}",
    "err_split_empty": "{{ 'a'.split('') }}",
    "err_list_index_value": "{{ [1].index(5) }}",
    "err_str_index": "{{ 'abc'.index('z') }}",
    "err_pop_empty": "{% set l = [] %}{{ l.pop() }}",
    "err_in_int": "{{ 1 in 5 }}",
    "err_iter_int": "{% for x in 5 %}{% endfor %}",
    "err_len_int": "{{ 5 | length }}",
    "err_first_undefined": "{{ nope | first }}",
    "err_tojson_undefined": "{{ nope | tojson }}",
    "err_format_args": "{{ '%s %s' % ('a',) }}",
    "err_neg_str": "{{ -'a' }}",
    "err_mul_str_str": "{{ 'a' * 'b' }}",
}


HERMES_TOOLS = """{%- macro json_to_python_type(json_spec) %}
{%- set basic_type_map = {
    "string": "str",
    "number": "float",
    "integer": "int",
    "boolean": "bool"
} %}

{%- if basic_type_map[json_spec.type] is defined %}
    {{- basic_type_map[json_spec.type] }}
{%- elif json_spec.type == "array" %}
    {{- "list[" +  json_to_python_type(json_spec|items) + "]"}}
{%- elif json_spec.type == "object" %}
    {%- if json_spec.additionalProperties is defined %}
        {{- "dict[str, " + json_to_python_type(json_spec.additionalProperties) + ']'}}
    {%- else %}
        {{- "dict" }}
    {%- endif %}
{%- elif json_spec.type is iterable %}
    {{- "Union[" }}
    {%- for t in json_spec.type %}
      {{- json_to_python_type({"type": t}) }}
      {%- if not loop.last %}
        {{- "," }}
    {%- endif %}
    {%- endfor %}
    {{- "]" }}
{%- else %}
    {{- "Any" }}
{%- endif %}
{%- endmacro %}


{{- bos_token }}
{{- '<|im_start|>system\\n' }}
{{- "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags. " }}
{{- "You may call one or more functions to assist with the user query. Here are the available tools: <tools> " }}
{%- for tool in tools %}
    {%- if tool.function is defined %}
        {%- set tool = tool.function %}
    {%- endif %}
    {{- '{"type": "function", "function": ' }}
    {{- '{"name": "' + tool.name + '", ' }}
    {{- '"description": "' + tool.name + '(' }}
    {%- for param_name, param_fields in tool.parameters.properties|items %}
        {{- param_name + ": " + json_to_python_type(param_fields) }}
        {%- if not loop.last %}
            {{- ", " }}
        {%- endif %}
    {%- endfor %}
    {{- ")" }}
    {%- if tool.return is defined %}
        {{- " -> " + json_to_python_type(tool.return) }}
    {%- endif %}
    {{- " - " + tool.description + "\\n\\n" }}
    {%- for param_name, param_fields in tool.parameters.properties|items %}
        {%- if loop.first %}
            {{- "    Args:\\n" }}
        {%- endif %}
        {{- "        " + param_name + "(" + json_to_python_type(param_fields) + "): " + param_fields.description|trim }}
    {%- endfor %}
    {%- if tool.return is defined and tool.return.description is defined %}
        {{- "\\n    Returns:\\n        " + tool.return.description }}
    {%- endif %}
    {{- '"' }}
    {{- ', "parameters": ' }}
    {%- if tool.parameters.properties | length == 0 %}
        {{- "{}" }}
    {%- else %}
        {{- tool.parameters|tojson }}
    {%- endif %}
    {{- "}" }}
    {%- if not loop.last %}
        {{- "\\n" }}
    {%- endif %}
{%- endfor %}
{{- " </tools>" }}
{%- for message in messages %}
    {%- if message.role == "user" or message.role == "system" or (message.role == "assistant" and message.tool_calls is not defined) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
    {%- for tool_call in message.tool_calls %}
       {{- '\\n<tool_call>\\n' }}           {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '{' }}
            {{- '"name": "' }}
            {{- tool_call.name }}
            {{- '"' }}
            {{- ', '}}
            {%- if tool_call.arguments is defined %}
                {{- '"arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments|tojson }}
                {%- endif %}
            {%- endif %}
            {{- '}' }}
            {{- '\\n</tool_call>' }}
    {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.previtem and loop.previtem.role != "tool" %}
            {{- '<|im_start|>tool\\n' }}
        {%- endif %}
        {{- '<tool_response>\\n' }}
        {{- message.content }}
        {%- if not loop.last %}
            {{- '\\n</tool_response>\\n' }}
        {%- else %}
            {{- '\\n</tool_response>' }}
        {%- endif %}
        {%- if not loop.last and loop.nextitem.role != "tool" %}
            {{- '<|im_end|>' }}
        {%- elif loop.last %}
            {{- '<|im_end|>' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

DATE_MATH = """{%- set today = strftime_now("%Y-%m-%d") %}
{%- set default_system_message = "You are a helpful assistant. Today is " + today + "." %}
{%- set yesterday_day = today.split('-')[2] | int - 1 %}
{%- set yesterday_month = today.split('-')[1] | int %}
{%- if yesterday_day == 0 %}{%- set yesterday_month = yesterday_month - 1 %}{%- endif %}
{{- bos_token }}{{- '[SYSTEM_PROMPT]' + default_system_message + ' Yesterday was day ' ~ yesterday_day ~ ' of month ' ~ '%02d' % yesterday_month ~ ' (' ~ strftime_now('%A %B %-d' if false else '%A %B %d') ~ ').[/SYSTEM_PROMPT]' }}
{%- for message in messages %}
    {%- if message['content'] is string %}
        {{- '[INST]' + message['content'] + '[/INST]' if message['role'] == 'user' else message['content'] + eos_token }}
    {%- else %}
        {%- for block in message['content'] %}
            {%- if block['type'] == 'text' %}{{- block['text'] }}
            {%- elif block['type'] in ['image', 'image_url'] %}{{- '[IMG]' }}
            {%- else %}{{- raise_exception('Only text and image blocks are supported in message content!') }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
{%- endfor %}
"""

TOOLS_SCHEMA = [
    {"type": "function", "function": {"name": "get_weather", "description": "Get the weather.", "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": " The city name "},
        "days": {"type": "integer", "description": "Days ahead"},
        "units": {"type": ["string", "integer"], "description": "Unit system"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"},
        "extra": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Extra"}}, "required": ["city"]},
        "return": {"type": "string", "description": "Forecast text"}}},
    {"name": "noop", "description": "Does nothing.", "parameters": {"type": "object", "properties": {}}},
]
HERMES_CONVO = [
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}, {"name": "noop", "arguments": "{}"}]},
    {"role": "tool", "content": "21C"},
    {"role": "tool", "content": "ok"},
    {"role": "assistant", "content": "It is 21C."},
]

LLAMA31 = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

GEMMA = """{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"""

MISTRAL = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

DEEPSEEK = """{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}{{'\\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"""

PHI3 = """{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"""

INDENTED = """{% macro render(m) -%}
    <{{ m.role }}>
    {%- if m.content is string %}
        {{ m.content }}
    {%- else %}
        {% for part in m.content -%}
            [{{ part.type }}]
        {%- endfor %}
    {% endif -%}
{%- endmacro %}
{% for m in messages %}
  {{ render(m) }}
  {# comment line #}
{% endfor %}
   {%+ if true %}kept{% endif %}
"""

TEXT_CONVO = [
    {"role": "system", "content": "  You are helpful.  "},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "<think>\\nhmm\\n</think>\\n\\nHello"},
    {"role": "user", "content": "Weather?"},
]
TOOL_CONVO = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "°C"}}}]},
    {"role": "tool", "content": {"temp": 21.5, "sky": "clear"}},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}

REAL = [
    ("llama31_text", LLAMA31, {"messages": TEXT_CONVO, "add_generation_prompt": True, **TOKENS}),
    ("llama31_tools", LLAMA31, {"messages": TOOL_CONVO, "tools": TOOLS, "add_generation_prompt": True, **TOKENS}),
    ("llama31_tools_sys", LLAMA31, {"messages": [{"role": "system", "content": "S"}] + TOOL_CONVO, "tools": TOOLS, "tools_in_user_message": False, "add_generation_prompt": False, **TOKENS}),
    ("gemma_ok", GEMMA, {"messages": TEXT_CONVO[1:], "add_generation_prompt": True, **TOKENS}),
    ("gemma_sys_error", GEMMA, {"messages": TEXT_CONVO, "add_generation_prompt": True, **TOKENS}),
    ("mistral_ok", MISTRAL, {"messages": TEXT_CONVO[:3], **TOKENS}),
    ("mistral_alternation_error", MISTRAL, {"messages": TEXT_CONVO[1:2] * 2, **TOKENS}),
    ("deepseek", DEEPSEEK, {"messages": TEXT_CONVO, "add_generation_prompt": True, **TOKENS}),
    ("phi3", PHI3, {"messages": TEXT_CONVO, "add_generation_prompt": False, **TOKENS}),
    ("indented_macros", INDENTED, {"messages": MSGS}),
    ("hermes_tools", HERMES_TOOLS, {"messages": HERMES_CONVO, "tools": TOOLS_SCHEMA, "add_generation_prompt": True, **TOKENS}),
    ("date_math_vlm", DATE_MATH, {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url"}]}, {"role": "assistant", "content": "A cat."}, {"role": "user", "content": "Thanks"}], **TOKENS}),
    ("date_math_bad_block", DATE_MATH, {"messages": [{"role": "user", "content": [{"type": "audio"}]}], **TOKENS}),
]


def main():
    out = []
    ctx = {"messages": MSGS, "d": {"a": 1, "b": [2]},
           "tree": [{"name": "a", "kids": [{"name": "b", "kids": [{"name": "c"}]}, {"name": "d"}]}, {"name": "e"}]}
    for name, src in PROBES.items():
        case = {"id": name, "template": src, "context": ctx}
        try:
            case["expected"] = env.from_string(src).render(**ctx)
        except Exception as e:  # noqa: BLE001 — the type name is part of the expectation
            case["expected_error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    for name, src, rctx in REAL:
        case = {"id": "real_" + name, "template": src, "context": rctx}
        try:
            case["expected"] = env.from_string(src).render(**rctx)
        except Exception as e:  # noqa: BLE001
            case["expected_error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    with open("jinja2-probes.json", "w", encoding="utf-8") as f:
        json.dump({"generator": f"make_jinja2_probes.py, Jinja2 {jinja2.__version__}", "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
