"""Inlay hints: `layer 1 · beside GetOrders, GetPreferences` after each binding that calls
modules and has a layer (short enough for VS Code's default maximum length; the tooltip names
every call), optional `: Type` after binding names, and after a run each binding's value in a
hint of its own (its duration in the tooltip). Each kind is switched by `inlayHints.layers` /
`.types` / `.values`."""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from constellation.compiler import ast
from constellation.compiler.queries import reading
from constellation.compiler.queries.bindings import canonical_assignments
from constellation.compiler.queries.layers import binding_layer, counted, layer_text
from constellation.compiler.queries.reading import cached
from constellation.compiler.queries.runvalues import duration_text, value_text
from constellation.compiler.types import type_str

if TYPE_CHECKING:  # the compiler is imported when a document is analysed, not before
    from constellation.compiler.analysis import Analysis

MAX_NAMES = 3  # functions named in a layer hint before "and N more"
HINT_CHARS = 43  # VS Code's default editor.inlayHints.maximumLength: it cuts longer hints
TOOLTIP_NAMES = 30
# A value hint holds the whole value up to this many characters (editors cut long hints
# themselves: VS Code at `editor.inlayHints.maximumLength`, 43 by default; the tooltip then
# has it); beyond, the start of it and how much is left out.
MAX_VALUE_CHARS = 400
MAX_TOOLTIP_CHARS = 4000


class HintKind(enum.Enum):
    TYPE = "type"
    LAYER = "layer"
    VALUE = "value"


@dataclass(frozen=True)
class Hint:
    offset: int  # where it is drawn
    label: str
    kind: HintKind
    tooltip: str | None = None
    padding_left: bool = False
    padding_right: bool | None = None


@dataclass(frozen=True)
class Shown:
    """Which kinds of hint the user wants (`inlayHints.types` / `.values` / `.layers`)."""
    types: bool = False
    values: bool = True
    layers: bool = True


def hints_in(analysis: Analysis, start: int, end: int, shown: Shown, run=None) -> list[Hint]:
    """The hints of the bindings that overlap start..end (the visible range): found by
    bisection, so a screen of a 10,000-line document costs what a screen costs."""
    decls = canonical_assignments(analysis)
    ends = cached(analysis, "canonical assignment ends",
                  lambda: [reading.span_of(analysis, d).end for d in decls])
    hints: list[Hint] = []
    for i in range(bisect.bisect_left(ends, start), len(decls)):
        decl = decls[i]
        if reading.span_of(analysis, decl).start > end:
            break
        hints += binding_hints(shown, analysis, decl, run)
    return hints


def binding_hints(shown: Shown, analysis: Analysis, decl: ast.Assignment, run) -> list[Hint]:
    name = decl.name.text
    hints = []
    if shown.types:
        t = reading.binding_type(analysis, name)
        if t is not None and str(t) != "Error":
            hints.append(Hint(reading.span_of(analysis, decl.name).end, f": {type_str(t)}",
                              HintKind.TYPE))
    end = reading.span_of(analysis, decl).end
    value = value_hint(run, name, end) if shown.values and run is not None \
        and name in run.values else None
    # VS Code's maximum length counts all the hints of a line together: beside a value the
    # layer hint is only `layer N` (its tooltip still names the calls), so the value shows
    layer = layer_hint(analysis, name, end, brief=value is not None) if shown.layers else None
    if layer is not None:
        # two hints at one place: padding on both sides of the gap, so that every client
        # draws a space between them (without it: "layer 1= [1, 2]")
        hints.append(replace(layer, padding_right=value is not None))
    if value is not None:
        hints.append(value)
    return hints


def layer_hint(analysis: Analysis, name: str, offset: int, brief: bool = False) -> Hint | None:
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
    return Hint(offset, label, HintKind.LAYER, tooltip, padding_left=True)


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


def value_hint(run, name: str, offset: int) -> Hint:
    value = run.values[name]
    duration = duration_text(run.durations.get(name))
    tooltip = f"{name} took {duration} in the last run" if duration else f"{name} in the last run"
    tooltip += ":\n" + value_text(value, MAX_TOOLTIP_CHARS, indent=2)
    return Hint(offset, "= " + value_text(value, MAX_VALUE_CHARS), HintKind.VALUE, tooltip,
                padding_left=True)
