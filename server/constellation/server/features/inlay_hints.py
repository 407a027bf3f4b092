"""Inlay hints: `layer 1 · beside GetOrders, GetPreferences` after each binding that calls
modules and has a layer (short enough for VS Code's default maximum length; the tooltip names
every call), optional `: Type` after binding names, and after a run each binding's value in a
hint of its own (its duration in the tooltip). Each kind is switched by `inlayHints.layers` /
`.types` / `.values`."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.types import type_str
from constellation.server.layers import binding_layer, counted, layer_text
from constellation.server.views import canonical_assignments, duration_text, value_text

MAX_NAMES = 3  # functions named in a layer hint before "and N more"
HINT_CHARS = 43  # VS Code's default editor.inlayHints.maximumLength: it cuts longer hints
TOOLTIP_NAMES = 30
# A value hint holds the whole value up to this many characters (editors cut long hints
# themselves: VS Code at `editor.inlayHints.maximumLength`, 43 by default; the tooltip then
# has it); beyond, the start of it and how much is left out.
MAX_VALUE_CHARS = 400
MAX_TOOLTIP_CHARS = 4000


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT,
                    lsp.InlayHintOptions(resolve_provider=False))
    def inlay_hints(ls, params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        wanted = pos.span(params.range)
        run = ls.documents.state(uri).run
        hints: list[lsp.InlayHint] = []
        for decl in canonical_assignments(analysis):
            if decl.span.end < wanted.start or decl.span.start > wanted.end:
                continue
            hints += binding_hints(ls.settings, analysis, decl, run, pos)
        return hints


def binding_hints(settings, analysis: Analysis, decl: ast.Assignment, run, pos) -> list[lsp.InlayHint]:
    name = decl.name.text
    hints = []
    if settings.inlay_types:
        t = analysis.binding_types.get(name)
        if t is not None and str(t) != "Error":
            hints.append(lsp.InlayHint(position=pos.position(decl.name.span.end), label=f": {type_str(t)}",
                                       kind=lsp.InlayHintKind.Type))
    end = pos.position(decl.span.end)
    value = value_hint(run, name, end) if settings.inlay_values and run is not None \
        and name in run.values else None
    # VS Code's maximum length counts all the hints of a line together: beside a value the
    # layer hint is only `layer N` (its tooltip still names the calls), so the value shows
    layer = layer_hint(analysis, name, end, brief=value is not None) \
        if settings.inlay_layers else None
    if layer is not None:
        # two hints at one place: padding on both sides of the gap, so that every client
        # draws a space between them (without it: "layer 1= [1, 2]")
        layer.padding_right = value is not None
        hints.append(layer)
    if value is not None:
        hints.append(value)
    return hints


def layer_hint(analysis: Analysis, name: str, position: lsp.Position,
               brief: bool = False) -> lsp.InlayHint | None:
    info = binding_layer(analysis, name, limit=max(MAX_NAMES, TOOLTIP_NAMES))
    if info is None or not info.runnable:
        return None
    label = f"layer {info.layer}"
    tooltip = f"{layer_text(info.layer, info.depth)}: "
    if info.others:
        if not brief:
            label = short_label(label, info)
        tooltip += f"runs in parallel with {_calls(info.other_count)}: " + counted(info.others)
        left = info.other_count - info.shown_count
        if left:
            tooltip += f" and {left} more"
    else:
        tooltip += "no other call runs in this layer"
    return lsp.InlayHint(position=position, label=label, padding_left=True, tooltip=tooltip)


def short_label(label: str, info) -> str:
    """`layer 1 · beside GetOrders, GetPreferences`: as many of the other functions as fit in
    HINT_CHARS (at most MAX_NAMES), or only how many calls there are."""
    for k in range(min(MAX_NAMES, len(info.others)), 0, -1):
        shown = info.others[:k]
        text = f"{label} · beside {counted(shown)}"
        left = info.other_count - sum(count for _, count in shown)
        if left:
            text += f" and {left} more"
        if len(text) <= HINT_CHARS:
            return text
    return f"{label} · beside {_calls(info.other_count)}"


def _calls(n: int) -> str:
    return f"{n} other call" + ("" if n == 1 else "s")


def value_hint(run, name: str, position: lsp.Position) -> lsp.InlayHint:
    value = run.values[name]
    duration = duration_text(run.durations.get(name))
    tooltip = f"{name} took {duration} in the last run" if duration else f"{name} in the last run"
    tooltip += ":\n" + value_text(value, MAX_TOOLTIP_CHARS, indent=2)
    return lsp.InlayHint(position=position, label="= " + value_text(value, MAX_VALUE_CHARS),
                         padding_left=True, tooltip=tooltip)
