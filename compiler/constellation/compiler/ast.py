"""AST of a .cst file: typed nodes with precise spans.

Spans are half-open ranges of code-point offsets into the document text (LANGUAGE.md §1.1);
`source.Source` converts them to 1-based line:column and to LSP UTF-16 positions.
Nodes are plain (non-frozen) dataclasses compared by identity: analysis tables are keyed by
`id(node)` or by the node object itself, so two textually equal calls stay two DAG nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int

    def contains(self, offset: int) -> bool:
        return self.start <= offset < self.end or (self.start == self.end == offset)

    def shifted(self, delta: int) -> "Span":
        return Span(self.start + delta, self.end + delta)

    def cover(self, other: "Span") -> "Span":
        return Span(min(self.start, other.start), max(self.end, other.end))


@dataclass(eq=False, slots=True)
class Name:
    """An identifier (or a reserved word used as a field name) with its span."""

    text: str
    span: Span


# ---------------------------------------------------------------------------------------------
# Type expressions


@dataclass(eq=False, slots=True)
class TypeName:
    """`Int`, `List<Int>`, `Map<String, V>`, an alias name."""

    name: Name
    args: list["TypeExpr"]
    span: Span


@dataclass(eq=False, slots=True)
class RecordTypeExpr:
    fields: list[tuple[Name, "TypeExpr"]]
    span: Span


@dataclass(eq=False, slots=True)
class MergeTypeExpr:
    left: "TypeExpr"
    right: "TypeExpr"
    span: Span


@dataclass(eq=False, slots=True)
class UnionTypeExpr:
    members: list["TypeExpr"]
    span: Span


TypeExpr = Union[TypeName, RecordTypeExpr, MergeTypeExpr, UnionTypeExpr]


# ---------------------------------------------------------------------------------------------
# Expressions


@dataclass(eq=False, slots=True)
class Var:
    name: Name
    span: Span


@dataclass(eq=False, slots=True)
class Literal:
    """Int, Float, String (without interpolation) or Boolean constant."""

    value: int | float | str | bool
    kind: str  # "Int" | "Float" | "String" | "Boolean"
    span: Span


@dataclass(eq=False, slots=True)
class Interpolation:
    parts: list[str]  # n+1 literal parts (already unescaped)
    exprs: list["Expr"]  # n embedded expressions, spans in document coordinates
    span: Span


@dataclass(eq=False, slots=True)
class ListLit:
    items: list["Expr"]
    span: Span


@dataclass(eq=False, slots=True)
class RecordLit:
    fields: list[tuple[Name, "Expr"]]
    span: Span


@dataclass(eq=False, slots=True)
class FieldAccess:
    target: "Expr"
    field: Name
    dot_span: Span  # the '.', so E007's span `.f` is Span(dot, field.span.end)
    span: Span

    @property
    def dot(self) -> int:
        return self.dot_span.start


@dataclass(eq=False, slots=True)
class Projection:
    target: "Expr"
    fields: list[Name]
    brace: bool  # r{a, b} (True) or r[a, b] (False)
    span: Span


@dataclass(eq=False, slots=True)
class Unary:
    op: str  # "-" | "not"
    operand: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class Binary:
    """Arithmetic, comparison, `and`, `or` and `??`."""

    op: str  # + - * / == != < > <= >= and or ??
    left: "Expr"
    right: "Expr"
    op_span: Span
    span: Span


@dataclass(eq=False, slots=True)
class Guard:
    """`expr when cond`."""

    expr: "Expr"
    cond: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class If:
    cond: "Expr"
    then: "Expr"
    else_: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class Branch:
    arms: list[tuple["Expr", "Expr"]]  # (condition, value)
    otherwise: "Expr"
    span: Span  # keyword through closing brace


@dataclass(eq=False, slots=True)
class RecordPattern:
    fields: list[Name]
    span: Span


@dataclass(eq=False, slots=True)
class TypePattern:
    type_name: Name  # `is N`
    span: Span


@dataclass(eq=False, slots=True)
class WildcardPattern:
    span: Span


Pattern = Union[RecordPattern, TypePattern, WildcardPattern]


@dataclass(eq=False, slots=True)
class Case:
    pattern: Pattern
    body: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class Match:
    subject: "Expr"
    cases: list[Case]
    keyword: Span  # the `match` keyword; E015's span is keyword.cover(subject.span)
    span: Span


@dataclass(eq=False, slots=True)
class Param:
    name: Name
    type: TypeExpr | None
    span: Span


@dataclass(eq=False, slots=True)
class Lambda:
    params: list[Param]
    body: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class OptValue:
    """A non-fallback option value as written (validated per key by the checker, §6.3).

    kind: "int" (a whole number, possibly negative), "float", "suffixed" (`5s`, `1.5s`, `3x`),
    "rate" (`5/1s`), "string", "bool", "word" (an identifier), "call" (`tumbling(5s)`).
    """

    kind: str
    text: str  # exactly as written, e.g. "-1", "5min", "10/1s", "exponential"
    span: Span
    args: list["OptValue"] = field(default_factory=list)  # for kind == "call"


@dataclass(eq=False, slots=True)
class Option:
    """One `key: value` of a `with` clause; bare `lazy` has value None."""

    key: Name
    value: OptValue | None = None  # every key but fallback
    fallback: "Expr | None" = None  # only for key "fallback"
    span: Span = Span(0, 0)


@dataclass(eq=False, slots=True)
class Call:
    """A module call `ns.f(args) with options`. `name` are the dotted parts as written."""

    name: list[Name]
    args: list["Expr"]
    options: list[Option]
    span: Span  # name through ')' or through the last option

    @property
    def name_span(self) -> Span:
        return self.name[0].span.cover(self.name[-1].span)

    @property
    def qualified(self) -> str:
        return ".".join(n.text for n in self.name)


Expr = Union[
    Var, Literal, Interpolation, ListLit, RecordLit, FieldAccess, Projection, Unary, Binary,
    Guard, If, Branch, Match, Lambda, Call,
]


# ---------------------------------------------------------------------------------------------
# Declarations


@dataclass(eq=False, slots=True)
class Annotation:
    """`@example(e)`, `@source("c", k: e)`, `@sink(...)`."""

    name: Name  # "example" | "source" | "sink" (span covers the name after '@')
    args: list["Expr"]
    kwargs: list[tuple[Name, "Expr"]]
    span: Span  # '@' through ')'


@dataclass(eq=False, slots=True)
class TypeDecl:
    name: Name
    type: TypeExpr
    span: Span


@dataclass(eq=False, slots=True)
class InputDecl:
    name: Name
    type: TypeExpr
    annotations: list[Annotation]
    span: Span


@dataclass(eq=False, slots=True)
class OutputDecl:
    name: Name
    annotations: list[Annotation]
    span: Span


@dataclass(eq=False, slots=True)
class UseDecl:
    path: list[Name]
    alias: Name | None
    span: Span

    @property
    def path_text(self) -> str:
        return ".".join(n.text for n in self.path)

    @property
    def path_span(self) -> Span:
        return self.path[0].span.cover(self.path[-1].span)


@dataclass(eq=False, slots=True)
class Assignment:
    name: Name
    expr: Expr
    span: Span


@dataclass(eq=False, slots=True)
class BrokenDecl:
    """A declaration dropped by syntax-error recovery (§2.6).

    If its head was `IDENT =`, `in IDENT` or `type IDENT`, `name` is that name and `space`
    says which name space ("value" or "type"): the name is declared with the Error type.
    """

    name: Name | None
    space: str | None  # "value" | "type" | None
    span: Span


Decl = Union[TypeDecl, InputDecl, OutputDecl, UseDecl, Assignment, BrokenDecl]


_NODE_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = (Span, Name, str, int, float, bool, type(None))


def _node_fields(cls: type) -> tuple[str, ...]:
    """Slots of a node class that can hold child nodes (computed once per class)."""
    fields = _NODE_FIELDS.get(cls)
    if fields is None:
        fields = tuple(getattr(cls, "__slots__", ()))
        _NODE_FIELDS[cls] = fields
    return fields


def children(node: object) -> list[object]:
    """Direct AST children of a node, in source order (for generic walks)."""
    out: list[object] = []
    for name in _node_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, _LEAVES):
            continue
        if isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, tuple):  # (Name, Expr) pairs of records
                    out.extend(x for x in item if not isinstance(x, _LEAVES))
                elif not isinstance(item, _LEAVES):
                    out.append(item)
        elif hasattr(value, "__slots__"):
            out.append(value)
    return out


def walk(node: object):
    """Pre-order iteration over a node and all its descendants (iterative: no recursion
    limit on deeply nested input)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


# Fast paths for the hot expression walks (plan building): the child expressions of each
# expression kind, without the generic slot scan of `children`.
_SUBEXPRESSIONS = {
    Var: lambda n: (),
    Literal: lambda n: (),
    Binary: lambda n: (n.left, n.right),
    Unary: lambda n: (n.operand,),
    FieldAccess: lambda n: (n.target,),
    Projection: lambda n: (n.target,),
    Guard: lambda n: (n.expr, n.cond),
    If: lambda n: (n.cond, n.then, n.else_),
    Branch: lambda n: [x for arm in n.arms for x in arm] + [n.otherwise],
    ListLit: lambda n: n.items,
    RecordLit: lambda n: [v for _, v in n.fields],
    Interpolation: lambda n: n.exprs,
    Match: lambda n: [n.subject] + [c.body for c in n.cases],
}


def subexpressions(node: object):
    """Child expressions of an expression (patterns, names and option values excluded for the
    common kinds; calls and lambdas fall back to `children`)."""
    get = _SUBEXPRESSIONS.get(type(node))
    return get(node) if get is not None else children(node)
