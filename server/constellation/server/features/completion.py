"""Completion: values, types, record fields after `.`, functions and namespaces (with
signature snippets), `use` paths, `with` option keys and values, annotations, keywords."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis, analyze
from constellation.compiler.options import ALL_OPTIONS
from constellation.compiler.registry import Function
from constellation.compiler.types import BUILTIN_TYPE_NAMES, OptionalT, RecordT, type_str
from constellation.server import knowledge
from constellation.server.context import completion_context

K = lsp.CompletionItemKind


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[".", "@", ":", " ", ","]))
    def completion(ls, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        offset = ls.positions(analysis).offset(params.position)
        snippets = _snippet_support(ls)
        items = complete(analysis, offset, snippets)
        ctx = completion_context(analysis.text, offset)
        if params.context is not None and params.context.trigger_character == " ":
            if ctx.kind not in ("option-key", "option-value", "type", "use"):
                items = []  # a space alone opens the list only where it helps
        return narrowed(items, ctx.word)


MAX_ITEMS = 400


def narrowed(items: list[lsp.CompletionItem], word: str) -> lsp.CompletionList:
    """Huge lists (thousands of bindings): the program's names are cut to those sharing the
    typed word's first letter, then to MAX_ITEMS; the list is marked incomplete so the client
    asks again as the word grows. Functions, namespaces and keywords always stay."""
    if len(items) <= MAX_ITEMS:
        return lsp.CompletionList(is_incomplete=False, items=items)
    values = [i for i in items if (i.sort_text or "").startswith("0")]  # the program's own names
    others = [i for i in items if not (i.sort_text or "").startswith("0")]
    if word:
        first = word[0].lower()
        values = [i for i in values if first in i.label.lower()]
    return lsp.CompletionList(is_incomplete=True, items=others + values[:MAX_ITEMS])


def _snippet_support(ls) -> bool:
    td = ls.client_capabilities.text_document
    c = td.completion if td else None
    item = c.completion_item if c else None
    return bool(item and item.snippet_support)


def complete(analysis: Analysis, offset: int, snippets: bool) -> list[lsp.CompletionItem]:
    ctx = completion_context(analysis.text, offset)
    if ctx.kind == "none":
        return []
    if ctx.kind == "annotation":
        return [lsp.CompletionItem(label=name, kind=K.Keyword, documentation=doc)
                for name, doc in knowledge.ANNOTATION_DOCS.items()]
    if ctx.kind == "use":
        return namespace_items(analysis)
    if ctx.kind == "dotted":
        return dotted_items(analysis, ctx.head, snippets, offset - len(ctx.word))
    if ctx.kind == "option-key":
        return [lsp.CompletionItem(label=key, kind=K.Property, detail="option",
                                   documentation=knowledge.OPTION_DOCS.get(key),
                                   insert_text=key if key == "lazy" else f"{key}: ")
                for key in ALL_OPTIONS if key not in ctx.used_keys]
    if ctx.kind == "option-value":
        values = knowledge.OPTION_VALUES.get(ctx.head, [])
        docs = knowledge.VALUE_DOCS.get(ctx.head, {})
        return [lsp.CompletionItem(label=v, kind=K.EnumMember if v.isalpha() else K.Value,
                                   detail=f"{ctx.head} value", documentation=docs.get(v.split("(")[0]),
                                   sort_text=f"{i:03d}")
                for i, v in enumerate(values)]
    if ctx.kind == "type":
        return type_items(analysis)
    if ctx.kind == "output":
        return value_items(analysis)  # `out` names a value, nothing else
    return general_items(analysis, snippets, ctx.head)


def value_items(analysis: Analysis, defining: str = "") -> list[lsp.CompletionItem]:
    items = []
    for name, sym in analysis.symbols.values.items():
        if name == defining:
            continue
        t = analysis.binding_types.get(name)
        items.append(lsp.CompletionItem(
            label=name, kind=K.Variable if sym.kind == "binding" else K.Field,
            detail=f"{'input' if sym.kind == 'input' else 'binding'}: {type_str(t) if t is not None else '?'}",
            sort_text=f"0{name}"))
    return items


def type_items(analysis: Analysis) -> list[lsp.CompletionItem]:
    items = [lsp.CompletionItem(label=n, kind=K.Class, detail="built-in type",
                                documentation=knowledge.BUILTIN_TYPE_DOCS.get(n)) for n in BUILTIN_TYPE_NAMES]
    for name in analysis.symbols.types:
        t = analysis.check.alias_types.get(name)
        items.append(lsp.CompletionItem(label=name, kind=K.Struct,
                                        detail=f"type {name} = {type_str(t) if t is not None else '?'}"))
    return items


def function_item(fn: Function, label: str, snippets: bool) -> lsp.CompletionItem:
    if snippets:
        args = ", ".join(f"${{{i + 1}:{name}}}" for i, (name, _) in enumerate(fn.params))
        insert, fmt = f"{label}({args})", lsp.InsertTextFormat.Snippet
    else:
        insert, fmt = label, lsp.InsertTextFormat.PlainText
    return lsp.CompletionItem(label=label, kind=K.Function, detail=fn.signature(),
                              documentation=fn.doc or None, insert_text=insert,
                              insert_text_format=fmt, sort_text=f"1{label}")


def visible_functions(analysis: Analysis) -> list[tuple[str, Function]]:
    """(name to write, function): the simple name where it resolves uniquely (§7.3)."""
    registry = analysis.registry
    wildcard = [d.path_text for d in analysis.decls if isinstance(d, ast.UseDecl) and d.alias is None]
    out = []
    for fn in registry.functions:
        tier1 = [f for f in registry.by_simple_name(fn.name) if f.namespace is None or f.namespace in wildcard]
        everywhere = registry.by_simple_name(fn.name)
        unique = (len(tier1) == 1 and tier1[0] is fn) or (not tier1 and len(everywhere) == 1)
        if fn.namespace == "stdlib.bool":
            continue  # registered for tooling only: `and`/`or`/`not` are reserved words
        out.append((fn.name if unique else fn.qualified, fn))
    return out


def general_items(analysis: Analysis, snippets: bool, defining: str = "") -> list[lsp.CompletionItem]:
    items = value_items(analysis, defining)
    items += [function_item(fn, label, snippets) for label, fn in visible_functions(analysis)]
    roots = sorted({ns.split(".")[0] for ns in analysis.registry.namespaces})
    items += [lsp.CompletionItem(label=r, kind=K.Module, detail="namespace", sort_text=f"2{r}") for r in roots]
    items += [lsp.CompletionItem(label=a, kind=K.Module, detail="namespace alias", sort_text=f"2{a}")
              for a in analysis.symbols.namespace_aliases]
    items += [lsp.CompletionItem(label=k, kind=K.Keyword, sort_text=f"3{k}") for k in knowledge.KEYWORDS]
    return items


def namespace_items(analysis: Analysis) -> list[lsp.CompletionItem]:
    return [lsp.CompletionItem(label=ns, kind=K.Module,
                               detail=f"{len(analysis.registry.in_namespace(ns))} function(s)")
            for ns in sorted(analysis.registry.namespaces)]


def dotted_items(analysis: Analysis, head: str, snippets: bool, dot_end: int
                 ) -> list[lsp.CompletionItem]:
    first, _, rest = head.partition(".")
    alias = analysis.symbols.namespace_aliases.get(first)
    if alias is not None and isinstance(alias.decl, ast.UseDecl):
        namespace = alias.decl.path_text + (f".{rest}" if rest else "")
    else:
        namespace = head
    if analysis.registry.is_namespace(namespace):
        return namespace_members(analysis, namespace, snippets)
    return field_items(analysis, head, dot_end)


def namespace_members(analysis: Analysis, namespace: str, snippets: bool) -> list[lsp.CompletionItem]:
    items = [function_item(fn, fn.name, snippets) for fn in analysis.registry.in_namespace(namespace)]
    depth = namespace.count(".") + 1
    subs = sorted({ns.split(".")[depth] for ns in analysis.registry.namespaces
                   if ns.startswith(namespace + ".")})
    items += [lsp.CompletionItem(label=s, kind=K.Module, detail=f"namespace {namespace}.{s}") for s in subs]
    return items


# Past this size a document is not analysed again just to type the name before a dot.
PLACEHOLDER_MAX_CHARS = 64_000


def field_items(analysis: Analysis, head: str, dot_end: int) -> list[lsp.CompletionItem]:
    """Fields of the record `head` names; `dot_end` is the offset just after its last dot."""
    parts = head.split(".")
    head_at = dot_end - 1 - len(head)
    t = _name_type(analysis, parts[0], head_at)
    if t is None and len(analysis.text) <= PLACEHOLDER_MAX_CHARS \
            and any(d.code == "E020" for d in analysis.diagnostics):
        # `(it) => it.` does not parse, so `it` is in no scope: analyse the text with a name
        # after the dot, as if the field were typed, to learn the type of `it` there
        text = analysis.text
        patched = analyze(text[:dot_end] + "x" + text[dot_end:], analysis.registry)
        t = _name_type(patched, parts[0], head_at)
    for part in parts[1:]:
        t = _field_type(t, part)
    if isinstance(t, OptionalT):
        t = t.elem
    if not isinstance(t, RecordT):
        return []
    return [lsp.CompletionItem(label=name, kind=K.Field, detail=type_str(ft)) for name, ft in t.fields]


def _name_type(analysis: Analysis, name: str, at: int):
    """The type of the value `name` written at `at`: the symbol resolved there (a lambda
    parameter or pattern binding in its own scope), else the top-level binding."""
    found = analysis.symbols.symbol_at(at)
    if found is not None and found[1].name == name and not found[1].is_top_level_value:
        return found[1].type
    return analysis.binding_types.get(name)


def _field_type(t, name: str):
    if isinstance(t, OptionalT):
        t = t.elem
    if isinstance(t, RecordT):
        return t.field_map.get(name)
    return None
