"""The evaluable form of a Plan's expressions: a small IR of plain data (docs/plan.md).

`lowering.py` turns each checked expression into these nodes; the runtime evaluates them and
reads nothing else of the compiler. Every node is a slotted dataclass of constants, other IR
nodes, types, plan node ids and source offsets (`at`: errors become line:col through the
plan's line index), so a Plan pickles as it is and `plan_json.py` writes it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from constellation.compiler.types import Type


@dataclass(frozen=True, slots=True)
class FnRef:
    """A function by registry identity: re-resolved against the running process's registry,
    which must hold a function of this name and signature."""

    qualified: str
    signature: str  # Function.signature(): `ns.F(x: Int) -> String`
    name: str
    higher_order: bool = False


@dataclass(frozen=True, slots=True)
class Span:
    """Offsets of the source text the node was lowered from (`start` is what errors show)."""

    start: int
    end: int


@dataclass(slots=True)
class Const:
    value: object


@dataclass(slots=True)
class Ref:
    """The value of plan node `node` (a top-level binding, an input or a call node)."""

    node: int


@dataclass(slots=True)
class Local:
    """A lambda parameter or a pattern binding of an enclosing match case."""

    name: str
    at: int


@dataclass(slots=True)
class Text:
    """An interpolated string: parts[0] e0 parts[1] e1 ... (len(parts) == len(exprs) + 1)."""

    parts: tuple[str, ...]
    exprs: tuple


@dataclass(slots=True)
class ListOf:
    items: tuple
    type: Type | None


@dataclass(slots=True)
class RecordOf:
    names: tuple[str, ...]
    items: tuple
    type: Type | None


@dataclass(slots=True)
class Field:
    target: object
    name: str
    at: int  # the '.'


@dataclass(slots=True)
class Project:
    target: object
    names: tuple[str, ...]
    at: int


@dataclass(slots=True)
class Unary:
    op: str  # "-" | "not"
    operand: object
    at: int


@dataclass(slots=True)
class Binary:
    op: str  # + - * / == != < > <= >= and or ??
    left: object
    right: object
    at: int  # the operator
    type: Type | None  # its static type: Int or Float arithmetic, the shape of a merge or ??


@dataclass(slots=True)
class Guard:
    expr: object
    cond: object
    type: Type | None


@dataclass(slots=True)
class If:
    cond: object
    then: object
    else_: object
    type: Type | None


@dataclass(slots=True)
class Branch:
    arms: tuple  # ((condition, value), ...)
    otherwise: object
    type: Type | None


@dataclass(slots=True)
class Case:
    """`kind` "wildcard", "record" (binds `names`) or "type" (`is` `tested`)."""

    kind: str
    names: tuple[str, ...]
    tested: Type | None
    local_types: tuple  # the type of each of `names` (None: unknown)
    body: object


@dataclass(slots=True)
class Match:
    subject: object
    cases: tuple[Case, ...]
    at: int  # the `match` keyword
    type: Type | None


@dataclass(slots=True)
class Lambda:
    params: tuple[str, ...]
    param_types: tuple  # Type per parameter (None: unknown)
    body: object
    captures: tuple[tuple[str, int], ...]  # the top-level values it reads: (name, node id)
    calls: tuple[str, ...]  # the qualified functions its calls resolve to (its cache form)
    text: str  # its source text: with the captured values, what a cache key hashes


@dataclass(slots=True)
class Call:
    """A function call. `node`: the plan node it is (None inside a lambda body, where calls
    are run as they are reached). `fn`: an index into `Plan.functions`."""

    fn: int
    args: tuple
    options: object  # CallOptions, its fallback lowered to IR
    result_t: Type  # the declared return type R, instantiated, before on_error: wrap
    span: Span
    node: int | None
    label: str  # what messages call it: `the call of 'F' ('x', line 3)`


KINDS = {cls.__name__: cls for cls in (
    Const, Ref, Local, Text, ListOf, RecordOf, Field, Project, Unary, Binary, Guard, If,
    Branch, Case, Match, Lambda, Call)}
