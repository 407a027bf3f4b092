"""Hover: bindings (type, layer, calls running alongside, producing module, the last run's
value and duration), module names (signature, docstring, layer of the call), inputs (type,
@example), types, options, as markdown (`plaintext` undoes it for a client that does not
prefer markdown)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.options import parse_duration_ms
from constellation.compiler.queries import knowledge, reading
from constellation.compiler.queries.layers import binding_layer, counted, layer_text, no_layer_reason
from constellation.compiler.queries.runvalues import duration_text, value_text
from constellation.compiler.registry import Function
from constellation.compiler.types import type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis


HOVER_NAMES = 12  # functions named in a binding's hover before "and N more"
HOVER_VALUE_CHARS = 4000


_FENCE = re.compile(r"^(`{3,})[^\n`]*\n(.*?)\n\1$", re.S | re.M)
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`\n]+)`")


def plaintext(markdown: str) -> str:
    """The hover's markdown as plain text: code blocks without their fences, `code` and
    **bold** without their marks. Only the markup this module writes is undone; code blocks
    are kept as written (a value may contain `**`)."""
    out, at = [], 0
    for m in _FENCE.finditer(markdown):
        out.append(_INLINE.sub(lambda x: x.group(1) or x.group(2), markdown[at:m.start()]))
        out.append(m.group(2))
        at = m.end()
    out.append(_INLINE.sub(lambda x: x.group(1) or x.group(2), markdown[at:]))
    return "".join(out)


def hover_at(analysis: Analysis, offset: int, run=None) -> tuple[ast.Span, str] | None:
    hit = reading.symbol_at(analysis, offset)
    if hit is not None:
        span, sym = hit
        text = symbol_hover(analysis, sym, run)
        if text:
            return span, text
    for node in reversed(reading.nodes_at(analysis, offset)):
        found = node_hover(analysis, node, offset)
        if found is not None:
            return found
    return None


def code(text: str, language: str = "constellation") -> str:
    # a fence longer than any run of backticks in the text (a value may hold some)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def symbol_hover(analysis: Analysis, sym, run=None) -> str | None:
    if sym.kind == "input":
        return input_hover(analysis, sym, run)
    if sym.kind == "binding":
        return binding_hover(analysis, sym.name, run)
    if sym.kind == "type":
        expanded = reading.alias_type(analysis, sym.name)
        return code(f"type {sym.name} = {type_str(expanded) if expanded is not None else '?'}")
    if sym.kind == "namespace-alias":
        decl = sym.decl
        path = decl.path_text if isinstance(decl, ast.UseDecl) else "?"
        return code(f"use {path} as {sym.name}") + "\n\n" + namespace_listing(analysis, path)
    t = sym.type
    return code(f"{sym.name}: {type_str(t)}" if t is not None else sym.name) + f"\n\n{sym.kind}"


def input_hover(analysis: Analysis, sym, run=None) -> str:
    t = reading.binding_type(analysis, sym.name)
    parts = [code(f"in {sym.name}: {type_str(t) if t is not None else '?'}"), "input (available before layer 1)"]
    examples = reading.examples(analysis, sym.name)
    if examples:
        parts.append("@example: " + ", ".join(f"`{_json(v)}`" for v in examples))
    parts += last_run(run, sym.name)
    return "\n\n".join(parts)


def _json(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def binding_hover(analysis: Analysis, name: str, run=None) -> str:
    t = reading.binding_type(analysis, name)
    parts = [code(f"{name}: {type_str(t) if t is not None else '?'}")]
    info = binding_layer(analysis, name, limit=HOVER_NAMES)
    if info is None:
        return "\n\n".join(parts + last_run(run, name))
    if info.layer is None:
        parts.append(f"**no layer**: it cannot run, since {no_layer_reason(analysis, info.node)}")
    elif info.node.kind == "module" or info.calls:
        line = f"**{layer_text(info.layer, info.depth)}**"
        if info.others:
            line += " · runs alongside " + counted(info.others, lambda label: f"`{label}`")
            if info.other_count > info.shown_count:
                line += f" and {info.other_count - info.shown_count} more"
        else:
            line += " · no other call runs in this layer"
        parts.append(line)
        if info.producers:
            parts.append("produced by " + ", ".join(f"`{m}`" for m in info.producers))
    elif info.node.kind == "constant":
        parts.append("constant (known before layer 1)")
    else:
        parts.append(f"computed inline after layer {info.layer} (no module call)")
    return "\n\n".join(parts + last_run(run, name))


def last_run(run, name: str) -> list[str]:
    """The value and duration of `name` in the document's last run, if it computed it."""
    if run is None or name not in run.values:
        return []
    duration = duration_text(run.durations.get(name))
    head = "last run" + (f": {duration}" if duration else "")
    return [head, code(value_text(run.values[name], HOVER_VALUE_CHARS, indent=2), "json")]


def node_hover(analysis: Analysis, node: object, offset: int) -> tuple[ast.Span, str] | None:
    def covering(span: ast.Span) -> ast.Span | None:  # the span in the text, if it covers offset
        span = reading.absolute(analysis, span)
        return span if span.start <= offset <= span.end else None

    if isinstance(node, ast.Call) and (at := covering(node.name_span)) is not None:
        fn = reading.call_target(analysis, node)
        if fn is not None:
            return at, function_hover(analysis, fn, node)
        return None
    if isinstance(node, ast.Call):
        for opt in node.options:
            found = option_hover(opt, covering)
            if found is not None:
                return found
    if isinstance(node, ast.Option):
        return option_hover(node, covering)
    if isinstance(node, ast.TypeName) and (at := covering(node.name.span)) is not None:
        return at, type_name_hover(analysis, node.name.text)
    if isinstance(node, ast.Annotation) and (at := covering(node.name.span)) is not None:
        doc = knowledge.ANNOTATION_DOCS.get(node.name.text)
        return (at, doc) if doc else None
    if isinstance(node, ast.UseDecl) and node.path and (at := covering(node.path_span)) is not None:
        return at, code(f"use {node.path_text}") + "\n\n" + namespace_listing(analysis, node.path_text)
    return None


def function_hover(analysis: Analysis, fn: Function, call: ast.Call) -> str:
    parts = [code(fn.signature())]
    if fn.doc:
        parts.append(fn.doc.strip())
    node = reading.call_node(analysis, call)
    if node is not None:
        layer = reading.layer_of(analysis, node)
        if layer is None:
            parts.append(f"this call: **no layer**: it cannot run, since "
                         f"{no_layer_reason(analysis, node)}")
            return "\n\n".join(parts)
        text = f"this call: **{layer_text(layer, reading.depth(analysis))}**"
        if node.demand_driven:
            text += " (runs only when its value is demanded)"
        parts.append(text)
    return "\n\n".join(parts)


def option_hover(opt: ast.Option, covering) -> tuple[ast.Span, str] | None:
    """`covering(span)`: the span in the text when it covers the offset hovered, else None."""
    key = opt.key.text
    if (at := covering(opt.key.span)) is not None:
        doc = knowledge.OPTION_DOCS.get(key)
        return (at, f"**{key}** — {doc}") if doc else None
    value = opt.value
    if value is not None and (at := covering(value.span)) is not None:
        return at, option_value_text(key, value)
    return None


def option_value_text(key: str, value: ast.OptValue) -> str:
    word = value.text.split("(")[0]
    doc = knowledge.VALUE_DOCS.get(key, {}).get(word)
    if doc:
        return f"`{key}: {value.text}` — {doc}"
    ms = parse_duration_ms(value.text)
    if ms is not None:
        return f"`{key}: {value.text}` — {ms:,} ms"
    if value.kind == "rate" and "/" in value.text:
        n, per = value.text.split("/", 1)
        return f"`{key}: {value.text}` — at most {n} calls per {per}"
    return f"`{key}: {value.text}` — {knowledge.OPTION_DOCS.get(key, 'option value')}"


def type_name_hover(analysis: Analysis, name: str) -> str:
    alias = reading.alias_type(analysis, name)
    if alias is not None:
        return code(f"type {name} = {type_str(alias)}")
    doc = knowledge.BUILTIN_TYPE_DOCS.get(name)
    return code(name) + (f"\n\nbuilt-in type: {doc}" if doc else "")


def namespace_listing(analysis: Analysis, path: str) -> str:
    functions = analysis.registry.in_namespace(path)
    if not functions:
        return f"namespace `{path}`"
    lines = [f"namespace `{path}`: {len(functions)} function(s)"]
    lines += [f"- `{f.signature()}`" for f in sorted(functions, key=lambda f: f.name)[:30]]
    return "\n".join(lines)
