"""The type universe of LANGUAGE.md §4: representation, constructors and printing.

Types are immutable and hashable. Equality is structural (§4.3): records ignore field order,
unions are member sets. Subtyping, lub and friends live in `typeops`.
"""

from __future__ import annotations

from dataclasses import dataclass

from constellation.compiler.vocabulary import BUILTIN_TYPE_NAMES  # noqa: F401  (re-exported)


class Type:
    __slots__ = ()

    def __str__(self) -> str:  # pragma: no cover - overridden
        return type_str(self)


@dataclass(frozen=True, slots=True)
class Prim(Type):
    name: str  # "String" | "Int" | "Float" | "Boolean"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, eq=False)
class RecordT(Type):
    fields: tuple[tuple[str, Type], ...]  # in written order (kept for printing and values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordT) and dict(self.fields) == dict(other.fields)

    def __hash__(self) -> int:
        return hash(("record", frozenset(self.fields)))

    @property
    def field_map(self) -> dict[str, Type]:
        return dict(self.fields)

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True)
class ListT(Type):
    elem: Type

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True)
class OptionalT(Type):
    elem: Type

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True)
class MapT(Type):
    value: Type  # keys are always String

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True, eq=False)
class UnionT(Type):
    members: tuple[Type, ...]  # flattened, no duplicates, >= 2 members

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnionT) and set(self.members) == set(other.members)

    def __hash__(self) -> int:
        return hash(("union", frozenset(self.members)))

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True)
class FunctionT(Type):
    params: tuple[Type, ...]
    result: Type

    def __str__(self) -> str:
        return type_str(self)


@dataclass(frozen=True, slots=True)
class TypeVar(Type):
    name: str  # "T", "U"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class _Special(Type):
    name: str

    def __reduce__(self):  # Nothing and Error stay singletons through pickle (`t is ERROR`)
        return (_special, (self.name,))

    def __str__(self) -> str:
        return self.name


STRING = Prim("String")
INT = Prim("Int")
FLOAT = Prim("Float")
BOOLEAN = Prim("Boolean")
NOTHING = _Special("Nothing")
ERROR = _Special("Error")  # never printed in a diagnostic (§4.2)



def _special(name: str) -> _Special:
    return NOTHING if name == NOTHING.name else ERROR


PRIMITIVES = {"String": STRING, "Int": INT, "Float": FLOAT, "Boolean": BOOLEAN}


def optional(t: Type) -> Type:
    """`Optional<Optional<T>>` normalises to `Optional<T>`; Error stays Error."""
    if t is ERROR or isinstance(t, OptionalT):
        return t
    return OptionalT(t)


def union(members: list[Type] | tuple[Type, ...]) -> Type:
    """Flattened union without duplicates; a single member collapses to itself."""
    flat: list[Type] = []
    for m in members:
        for x in (m.members if isinstance(m, UnionT) else (m,)):
            if x not in flat:
                flat.append(x)
    if len(flat) == 1:
        return flat[0]
    return UnionT(tuple(flat))


def record(fields: list[tuple[str, Type]] | tuple[tuple[str, Type], ...]) -> RecordT:
    return RecordT(tuple(fields))


def type_str(t: Type) -> str:
    """Printing rules of §4.2 (aliases are already expanded in the representation)."""
    if isinstance(t, (Prim, TypeVar, _Special)):
        return t.name
    if isinstance(t, RecordT):
        if not t.fields:
            return "{}"
        return "{ " + ", ".join(f"{k}: {type_str(v)}" for k, v in t.fields) + " }"
    if isinstance(t, ListT):
        return f"List<{type_str(t.elem)}>"
    if isinstance(t, OptionalT):
        return f"Optional<{type_str(t.elem)}>"
    if isinstance(t, MapT):
        return f"Map<String, {type_str(t.value)}>"
    if isinstance(t, UnionT):
        return " | ".join(sorted(type_str(m) for m in t.members))
    if isinstance(t, FunctionT):
        return "(" + ", ".join(type_str(p) for p in t.params) + f") => {type_str(t.result)}"
    raise TypeError(f"not a type: {t!r}")


def union_members_sorted(t: Type) -> list[Type]:
    """Members in printing order (used for zero values and coercion tie-breaks)."""
    members = t.members if isinstance(t, UnionT) else (t,)
    return sorted(members, key=type_str)
