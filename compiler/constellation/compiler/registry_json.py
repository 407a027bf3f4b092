"""A registry as JSON data, and back: `cst modules --json` and the language server's child process.

Types are serialised structurally (a tagged object per type constructor), so reading them back
never parses type text. Implementations do not cross: functions come back with `impl=None`.
"""

from __future__ import annotations

from typing import Any

from constellation.compiler import types as T
from constellation.compiler.registry import Function, Registry

FORMAT_VERSION = 1


class RegistryFormatError(ValueError):
    """The data is not a registry written by `registry_to_json`."""


def type_to_json(t: T.Type) -> dict[str, Any]:
    if isinstance(t, T.Prim):
        return {"kind": "prim", "name": t.name}
    if isinstance(t, T.RecordT):
        return {"kind": "record",
                "fields": [{"name": n, "type": type_to_json(ft)} for n, ft in t.fields]}
    if isinstance(t, T.ListT):
        return {"kind": "list", "elem": type_to_json(t.elem)}
    if isinstance(t, T.OptionalT):
        return {"kind": "optional", "elem": type_to_json(t.elem)}
    if isinstance(t, T.MapT):
        return {"kind": "map", "value": type_to_json(t.value)}
    if isinstance(t, T.UnionT):
        return {"kind": "union", "members": [type_to_json(m) for m in t.members]}
    if isinstance(t, T.FunctionT):
        return {"kind": "function", "params": [type_to_json(p) for p in t.params],
                "result": type_to_json(t.result)}
    if isinstance(t, T.TypeVar):
        return {"kind": "var", "name": t.name}
    if t is T.NOTHING:
        return {"kind": "nothing"}
    if t is T.ERROR:
        return {"kind": "error"}
    raise TypeError(f"not a type: {t!r}")


def _need(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict) or key not in data or not isinstance(data[key], kind):
        raise RegistryFormatError(f"{where}: expected a '{key}' entry")
    return data[key]


def type_from_json(data: Any, where: str = "type") -> T.Type:
    kind = _need(data, "kind", str, where)
    if kind == "prim":
        name = _need(data, "name", str, where)
        if name not in T.PRIMITIVES:
            raise RegistryFormatError(f"{where}: unknown primitive type '{name}'")
        return T.PRIMITIVES[name]
    if kind == "record":
        fields = _need(data, "fields", list, where)
        return T.record([(_need(f, "name", str, where), type_from_json(f.get("type"), where))
                         for f in fields])
    if kind == "list":
        return T.ListT(type_from_json(data.get("elem"), where))
    if kind == "optional":
        return T.optional(type_from_json(data.get("elem"), where))
    if kind == "map":
        return T.MapT(type_from_json(data.get("value"), where))
    if kind == "union":
        members = _need(data, "members", list, where)
        return T.union([type_from_json(m, where) for m in members])
    if kind == "function":
        params = _need(data, "params", list, where)
        return T.FunctionT(tuple(type_from_json(p, where) for p in params),
                           type_from_json(data.get("result"), where))
    if kind == "var":
        return T.TypeVar(_need(data, "name", str, where))
    if kind == "nothing":
        return T.NOTHING
    if kind == "error":
        return T.ERROR
    raise RegistryFormatError(f"{where}: unknown type kind '{kind}'")


def function_to_json(f: Function) -> dict[str, Any]:
    return {
        "name": f.name,
        "namespace": f.namespace,
        "qualified": f.qualified,
        "signature": f.signature(),
        "params": [{"name": n, "type": type_to_json(t)} for n, t in f.params],
        "result": type_to_json(f.result),
        "doc": f.doc,
        "higher_order": f.higher_order,
        "source_file": f.source_file,
        "source_line": f.source_line,
    }


def function_from_json(data: Any) -> Function:
    name = _need(data, "name", str, "function")
    where = f"function '{name}'"
    namespace = data.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise RegistryFormatError(f"{where}: 'namespace' must be a string or null")
    params = tuple((_need(p, "name", str, where), type_from_json(p.get("type"), where))
                   for p in _need(data, "params", list, where))
    line = data.get("source_line")
    return Function(name=name, namespace=namespace, params=params,
                    result=type_from_json(data.get("result"), where),
                    doc=str(data.get("doc") or ""), higher_order=bool(data.get("higher_order")),
                    source_file=data.get("source_file"),
                    source_line=line if isinstance(line, int) else None)


def registry_to_json(registry: Registry) -> dict[str, Any]:
    return {"version": FORMAT_VERSION,
            "functions": [function_to_json(f) for f in registry.functions]}


def registry_from_json(data: Any) -> Registry:
    """A registry of signatures (every `impl` is None); raises RegistryFormatError."""
    functions = _need(data, "functions", list, "registry")
    return Registry([function_from_json(f) for f in functions])
