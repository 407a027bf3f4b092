"""Inlay hints: `layer 1 · with GetOrders, GetPreferences` after each binding that calls
modules, optional `: Type` after binding names, and each binding's value and duration after a
run. Each kind is switched by `inlayHints.layers` / `.types` / `.values`."""

from __future__ import annotations

import json

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.types import type_str
from constellation.server.layers import binding_layer, call_label

MAX_NAMES = 3
MAX_VALUE_CHARS = 60


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


def canonical_assignments(analysis: Analysis):
    for decl in analysis.decls:
        if isinstance(decl, ast.Assignment) and id(decl) in analysis.check.canonical:
            yield decl


def binding_hints(settings, analysis: Analysis, decl: ast.Assignment, run, pos) -> list[lsp.InlayHint]:
    name = decl.name.text
    hints = []
    if settings.inlay_types:
        t = analysis.binding_types.get(name)
        if t is not None and str(t) != "Error":
            hints.append(lsp.InlayHint(position=pos.position(decl.name.span.end), label=f": {type_str(t)}",
                                       kind=lsp.InlayHintKind.Type))
    # the layer and, after a run, the value share one hint at the end of the line: two hints at
    # one position are drawn with no space between them ("layer 1= [1, 2]")
    labels = []
    if settings.inlay_layers:
        labels.append(layer_label(analysis, name))
    if settings.inlay_values and run is not None and name in run.values:
        labels.append(value_label(run, name))
    labels = [label for label in labels if label]
    if labels:
        hints.append(lsp.InlayHint(position=pos.position(decl.span.end), label="  ".join(labels),
                                   padding_left=True))
    return hints


def layer_label(analysis: Analysis, name: str) -> str | None:
    info = binding_layer(analysis, name, limit=MAX_NAMES + 1)
    if info is None or not info.runnable:
        return None
    label = f"layer {info.layer}"
    names = [call_label(node) for node in info.others[:MAX_NAMES]]
    if names:
        label += " · with " + ", ".join(names)
        if info.other_count > len(names):
            label += f" +{info.other_count - len(names)} more"
    return label


def value_label(run, name: str) -> str:
    text = json.dumps(run.values[name], ensure_ascii=False)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    duration = run.durations.get(name)
    return f"= {text}" + (f" · {duration:.0f} ms" if isinstance(duration, (int, float)) else "")
