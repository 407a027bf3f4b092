"""The registry: function (module) signatures the checker resolves calls against (§7.1).

It is data only; implementations are plain Python callables attached to each entry and are
called by the runtime, never by the compiler. User modules are added through
`constellation.runtime.module`; the stdlib is built in (`stdlib.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from constellation.compiler.types import Type, type_str


class ModuleFailure(Exception):
    """A failure raised by a function on purpose; its message is shown to users as is."""


@dataclass(eq=False)
class Function:
    name: str  # simple name, may contain hyphens
    namespace: str | None  # dotted, e.g. "stdlib.math"; None for root-level functions
    params: tuple[tuple[str, Type], ...]
    result: Type
    impl: Callable[..., Any] | None = None
    doc: str = ""
    higher_order: bool = False  # filter/map/all/any: the runtime applies lambdas itself
    source_file: str | None = None  # where the Python definition lives (go-to-definition)
    source_line: int | None = None
    python_types: tuple[Any, ...] = ()  # declared Python parameter types (for cattrs)
    python_result: Any = None

    @property
    def qualified(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def signature(self) -> str:
        params = ", ".join(f"{n}: {type_str(t)}" for n, t in self.params)
        return f"{self.qualified}({params}) -> {type_str(self.result)}"


@dataclass
class Registry:
    functions: list[Function] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_qualified: dict[str, Function] = {}
        self._by_simple: dict[str, list[Function]] = {}
        self._namespaces: set[str] = set()
        for f in list(self.functions):
            self._index(f)

    def _index(self, f: Function) -> None:
        self._by_qualified[f.qualified] = f
        self._by_simple.setdefault(f.name, []).append(f)
        if f.namespace:
            parts = f.namespace.split(".")
            for i in range(1, len(parts) + 1):
                self._namespaces.add(".".join(parts[:i]))

    def add(self, f: Function) -> None:
        if f.qualified in self._by_qualified:
            old = self._by_qualified[f.qualified]
            self.functions.remove(old)
            self._by_simple[f.name].remove(old)
        self.functions.append(f)
        self._index(f)

    def extend(self, functions: list[Function]) -> "Registry":
        for f in functions:
            self.add(f)
        return self

    def merged(self, other: "Registry") -> "Registry":
        return Registry(list(self.functions)).extend(list(other.functions))

    def lookup(self, qualified: str) -> Function | None:
        return self._by_qualified.get(qualified)

    def by_simple_name(self, name: str) -> list[Function]:
        return list(self._by_simple.get(name, ()))

    def in_namespace(self, namespace: str | None) -> list[Function]:
        return [f for f in self.functions if f.namespace == namespace]

    @property
    def namespaces(self) -> set[str]:
        """Every function namespace and every prefix of one (§7.1)."""
        return set(self._namespaces)

    def is_namespace(self, path: str) -> bool:
        return path in self._namespaces
