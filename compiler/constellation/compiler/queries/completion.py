"""Completion: values, types, record fields after `.`, functions and namespaces (with
signature snippets), `use` paths, `with` option keys and values, annotations, keywords.

Items are plain values; the server turns them into LSP's. The program's own names are made
once per Analysis: a 10,000-line document has thousands, and a keystroke asks again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.options import ALL_OPTIONS
from constellation.compiler.queries import knowledge, reading
from constellation.compiler.queries.context import Context, completion_context
from constellation.compiler.queries.reading import cached
from constellation.compiler.registry import Function
from constellation.compiler.types import BUILTIN_TYPE_NAMES, OptionalT, RecordT, type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


class ItemKind(enum.Enum):
    KEYWORD = "keyword"
    MODULE = "module"  # a namespace
    PROPERTY = "property"  # an option key
    ENUM_MEMBER = "enum member"  # an option's word value
    VALUE = "value"  # another option value
    CLASS = "class"  # a built-in type
    STRUCT = "struct"  # a type alias
    FUNCTION = "function"
    VARIABLE = "variable"  # a binding
    FIELD = "field"  # an input, a record field


class Group(enum.IntEnum):
    """The order the general list is shown in: the program's names first."""
    VALUES = 0
    FUNCTIONS = 1
    NAMESPACES = 2
    KEYWORDS = 3


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    kind: ItemKind
    detail: str | None = None
    documentation: str | None = None
    insert_text: str | None = None
    snippet: bool | None = None  # insert_text is a snippet (`${1:name}` placeholders) or plain
    sort_text: str | None = None


@dataclass(frozen=True)
class Completions:
    items: list[Item]
    incomplete: bool = False  # cut to MAX_ITEMS: the client asks again as the word grows


MAX_ITEMS = 400
# Past this size a document is not analysed again just to type the name before a dot.
PLACEHOLDER_MAX_CHARS = 64_000
# Where a space alone opens the list: elsewhere it would pop up after every word.
SPACE_OPENS = frozenset({"option-key", "option-value", "type", "use"})


def complete(analysis: Analysis, offset: int, snippets: bool,
             after_space: bool = False) -> Completions:
    """The completions at `offset`; `after_space`: the client asks because a space was typed."""
    ctx = completion_context(analysis, offset)
    if after_space and ctx.kind not in SPACE_OPENS:
        return Completions([])
    if ctx.kind == "general":
        return with_values(analysis, ctx, _general_rest(analysis, snippets))
    if ctx.kind == "output":
        return with_values(analysis, ctx, [])  # `out` names a value, nothing else
    return narrowed(items_for(analysis, ctx, offset, snippets), ctx.word)


def with_values(analysis: Analysis, ctx: Context, others: list[Item]) -> Completions:
    """The program's names and `others`, narrowed as `narrowed` does; only the names shown
    are made into items (a 10,000-line document has thousands, and each keystroke makes a
    new Analysis)."""
    names = [name for name in reading.value_symbols(analysis) if name != ctx.head]
    if len(names) + len(others) <= MAX_ITEMS:
        return Completions([value_item(analysis, name) for name in names] + others)
    if ctx.word:
        first = ctx.word[0].lower()
        names = [name for name in names if first in name.lower()]
    return Completions(others + [value_item(analysis, name) for name in names[:MAX_ITEMS]],
                       incomplete=True)


def narrowed(items: list[Item], word: str) -> Completions:
    """Huge lists (thousands of bindings): the program's names are cut to those sharing the
    typed word's first letter, then to MAX_ITEMS; the list is marked incomplete so the client
    asks again as the word grows. Functions, namespaces and keywords always stay."""
    if len(items) <= MAX_ITEMS:
        return Completions(items)
    values = [i for i in items if (i.sort_text or "").startswith("0")]  # the program's own names
    others = [i for i in items if not (i.sort_text or "").startswith("0")]
    if word:
        first = word[0].lower()
        values = [i for i in values if first in i.label.lower()]
    return Completions(others + values[:MAX_ITEMS], incomplete=True)


def items_for(analysis: Analysis, ctx: Context, offset: int, snippets: bool) -> list[Item]:
    """The items of every context but the general one and `out` (`with_values`)."""
    if ctx.kind == "none":
        return []
    if ctx.kind == "annotation":
        return [Item(name, ItemKind.KEYWORD, documentation=doc)
                for name, doc in knowledge.ANNOTATION_DOCS.items()]
    if ctx.kind == "use":
        return namespace_items(analysis)
    if ctx.kind == "dotted":
        return dotted_items(analysis, ctx.head, snippets, offset - len(ctx.word))
    if ctx.kind == "option-key":
        return [Item(key, ItemKind.PROPERTY, "option", knowledge.OPTION_DOCS.get(key),
                     insert_text=key if key == "lazy" else f"{key}: ")
                for key in ALL_OPTIONS if key not in ctx.used_keys]
    if ctx.kind == "option-value":
        values = knowledge.OPTION_VALUES.get(ctx.head, [])
        docs = knowledge.VALUE_DOCS.get(ctx.head, {})
        return [Item(v, ItemKind.ENUM_MEMBER if v.isalpha() else ItemKind.VALUE,
                     f"{ctx.head} value", docs.get(v.split("(")[0]), sort_text=f"{i:03d}")
                for i, v in enumerate(values)]
    if ctx.kind == "type":
        return type_items(analysis)
    return []


def value_item(analysis: Analysis, name: str) -> Item:
    """The item of a top-level value, made once per analysis (kept on it)."""
    made = cached(analysis, "completion values", dict)
    item = made.get(name)
    if item is None:
        sym = reading.value_symbols(analysis)[name]
        t = reading.binding_type(analysis, name)
        item = made[name] = Item(
            name, ItemKind.VARIABLE if sym.kind == "binding" else ItemKind.FIELD,
            f"{'input' if sym.kind == 'input' else 'binding'}: {type_str(t) if t is not None else '?'}",
            sort_text=f"{Group.VALUES:d}{name}")
    return item


def type_items(analysis: Analysis) -> list[Item]:
    items = [Item(n, ItemKind.CLASS, "built-in type", knowledge.BUILTIN_TYPE_DOCS.get(n))
             for n in BUILTIN_TYPE_NAMES]
    for name in reading.type_symbols(analysis):
        t = reading.alias_type(analysis, name)
        items.append(Item(name, ItemKind.STRUCT,
                          f"type {name} = {type_str(t) if t is not None else '?'}"))
    return items


def function_item(fn: Function, label: str, snippets: bool) -> Item:
    if snippets:
        args = ", ".join(f"${{{i + 1}:{name}}}" for i, (name, _) in enumerate(fn.params))
        insert = f"{label}({args})"
    else:
        insert = label
    return Item(label, ItemKind.FUNCTION, fn.signature(), fn.doc or None, insert_text=insert,
                snippet=snippets, sort_text=f"{Group.FUNCTIONS:d}{label}")


def visible_functions(analysis: Analysis) -> list[tuple[str, Function]]:
    """(name to write, function): the simple name where it resolves uniquely (§7.3)."""
    registry = analysis.registry
    wildcard = reading.use_paths(analysis)
    out = []
    for fn in registry.functions:
        tier1 = [f for f in registry.by_simple_name(fn.name) if f.namespace is None or f.namespace in wildcard]
        everywhere = registry.by_simple_name(fn.name)
        unique = (len(tier1) == 1 and tier1[0] is fn) or (not tier1 and len(everywhere) == 1)
        if fn.namespace == "stdlib.bool":
            continue  # registered for tooling only: `and`/`or`/`not` are reserved words
        out.append((fn.name if unique else fn.qualified, fn))
    return out


def _general_rest(analysis: Analysis, snippets: bool) -> list[Item]:
    """Functions, namespaces and keywords of the general list (once per analysis)."""
    return cached(analysis, ("completion general", snippets),
                  lambda: _functions_namespaces_keywords(analysis, snippets))


def _functions_namespaces_keywords(analysis: Analysis, snippets: bool) -> list[Item]:
    items = [function_item(fn, label, snippets) for label, fn in visible_functions(analysis)]
    roots = sorted({ns.split(".")[0] for ns in analysis.registry.namespaces})
    items += [Item(r, ItemKind.MODULE, "namespace", sort_text=f"{Group.NAMESPACES:d}{r}")
              for r in roots]
    items += [Item(a, ItemKind.MODULE, "namespace alias", sort_text=f"{Group.NAMESPACES:d}{a}")
              for a in reading.alias_symbols(analysis)]
    items += [Item(k, ItemKind.KEYWORD, sort_text=f"{Group.KEYWORDS:d}{k}")
              for k in knowledge.KEYWORDS]
    return items


def namespace_items(analysis: Analysis) -> list[Item]:
    return [Item(ns, ItemKind.MODULE, f"{len(analysis.registry.in_namespace(ns))} function(s)")
            for ns in sorted(analysis.registry.namespaces)]


def dotted_items(analysis: Analysis, head: str, snippets: bool, dot_end: int) -> list[Item]:
    first, _, rest = head.partition(".")
    alias = reading.alias_symbols(analysis).get(first)
    if alias is not None and isinstance(alias.decl, ast.UseDecl):
        namespace = alias.decl.path_text + (f".{rest}" if rest else "")
    else:
        namespace = head
    if analysis.registry.is_namespace(namespace):
        return namespace_members(analysis, namespace, snippets)
    return field_items(analysis, head, dot_end)


def namespace_members(analysis: Analysis, namespace: str, snippets: bool) -> list[Item]:
    items = [function_item(fn, fn.name, snippets) for fn in analysis.registry.in_namespace(namespace)]
    depth = namespace.count(".") + 1
    subs = sorted({ns.split(".")[depth] for ns in analysis.registry.namespaces
                   if ns.startswith(namespace + ".")})
    items += [Item(s, ItemKind.MODULE, f"namespace {namespace}.{s}") for s in subs]
    return items


def field_items(analysis: Analysis, head: str, dot_end: int) -> list[Item]:
    """Fields of the record `head` names; `dot_end` is the offset just after its last dot."""
    parts = head.split(".")
    head_at = dot_end - 1 - len(head)
    t = _name_type(analysis, parts[0], head_at)
    if t is None and len(analysis.text) <= PLACEHOLDER_MAX_CHARS \
            and any(d.code == "E020" for d in analysis.diagnostics):
        # `(it) => it.` does not parse, so `it` is in no scope: analyse the text with a name
        # after the dot, as if the field were typed, to learn the type of `it` there
        from constellation.compiler.analysis import analyze

        text = analysis.text
        patched = analyze(text[:dot_end] + "x" + text[dot_end:], analysis.registry)
        t = _name_type(patched, parts[0], head_at)
    for part in parts[1:]:
        t = _field_type(t, part)
    if isinstance(t, OptionalT):
        t = t.elem
    if not isinstance(t, RecordT):
        return []
    return [Item(name, ItemKind.FIELD, type_str(ft)) for name, ft in t.fields]


def _name_type(analysis: Analysis, name: str, at: int):
    """The type of the value `name` written at `at`: the symbol resolved there (a lambda
    parameter or pattern binding in its own scope), else the top-level binding."""
    found = reading.symbol_at(analysis, at)
    if found is not None and found[1].name == name and not found[1].is_top_level_value:
        return found[1].type
    return reading.binding_type(analysis, name)


def _field_type(t, name: str):
    if isinstance(t, OptionalT):
        t = t.elem
    if isinstance(t, RecordT):
        return t.field_map.get(name)
    return None
