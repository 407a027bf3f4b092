"""Operations on types (LANGUAGE.md §4): subtyping, lub, record merge, generics, type
expressions.

Types are the immutable values of `types.py`; nothing here reports diagnostics except
`TypeResolver`, which turns type expressions into types and reports E003/E012/E015/E030
through a callback.
"""

from __future__ import annotations

from typing import Callable

from constellation.compiler import ast
from constellation.compiler.diagnostics import Fix, TextEdit
from constellation.compiler.suggest import did_you_mean
from constellation.compiler.types import (
    ERROR, FLOAT, INT, NOTHING, PRIMITIVES, STRING, FunctionT, ListT,
    MapT, OptionalT, Prim, RecordT, Type, TypeVar, UnionT, optional, record, type_str, union,
)
from constellation.compiler.vocabulary import BUILTIN_TYPE_ARITY

# ---------------------------------------------------------------------------------------------
# Subtyping and equality (§4.3)


def is_subtype(s: Type, t: Type) -> bool:
    """`s <: t`. Checks involving Error always succeed."""
    if s is ERROR or t is ERROR or s is NOTHING or s == t:
        return True
    if isinstance(s, UnionT):
        return all(is_subtype(m, t) for m in s.members)
    if isinstance(t, UnionT):
        return any(is_subtype(s, m) for m in t.members)
    if isinstance(t, OptionalT):
        if isinstance(s, OptionalT):
            return is_subtype(s.elem, t.elem)
        return is_subtype(s, t.elem)
    if isinstance(s, Prim) and isinstance(t, Prim):
        return s == INT and t == FLOAT
    if isinstance(s, ListT) and isinstance(t, ListT):
        return is_subtype(s.elem, t.elem)
    if isinstance(s, MapT) and isinstance(t, MapT):
        return is_subtype(s.value, t.value)
    if isinstance(s, RecordT) and isinstance(t, RecordT):
        have = s.field_map
        return all(name in have and is_subtype(have[name], ft) for name, ft in t.fields)
    if isinstance(s, FunctionT) and isinstance(t, FunctionT):
        return (len(s.params) == len(t.params)
                and all(is_subtype(b, a) for a, b in zip(s.params, t.params))
                and is_subtype(s.result, t.result))
    return False


def any_part(t: Type, pred) -> bool:
    """Whether `pred` holds for `t` or any type inside it (elements, fields, members...)."""
    if pred(t):
        return True
    if isinstance(t, (ListT, OptionalT)):
        return any_part(t.elem, pred)
    if isinstance(t, MapT):
        return any_part(t.value, pred)
    if isinstance(t, RecordT):
        return any(any_part(ft, pred) for _, ft in t.fields)
    if isinstance(t, UnionT):
        return any(any_part(m, pred) for m in t.members)
    if isinstance(t, FunctionT):
        return any(any_part(p, pred) for p in t.params) or any_part(t.result, pred)
    return False


def contains_error(t: Type) -> bool:
    return any_part(t, lambda x: x is ERROR)


# ---------------------------------------------------------------------------------------------
# lub and commonType (§4.4)


def lub(a: Type, b: Type) -> Type:
    """Least upper bound; anything joined with Error stays Error (no diagnostics follow)."""
    if a is ERROR or b is ERROR:
        return ERROR
    if is_subtype(a, b):
        return b
    if is_subtype(b, a):
        return a
    return union([a, b])


def common_type(types: list[Type]) -> Type:
    result: Type = NOTHING
    for t in types:
        result = lub(result, t)
    return result


# ---------------------------------------------------------------------------------------------
# Classification helpers used by the operators of §5


def is_numeric(t: Type) -> bool:
    return is_subtype(t, FLOAT)


def is_int(t: Type) -> bool:
    return is_subtype(t, INT)


def is_record_shaped(t: Type) -> bool:
    return isinstance(t, RecordT) or (isinstance(t, ListT) and isinstance(t.elem, RecordT))


def merge(left: Type, right: Type) -> Type | None:
    """Record merge table of §4.6; None when the operands are not mergeable (E012)."""
    if left is ERROR or right is ERROR:
        return ERROR
    if isinstance(left, RecordT) and isinstance(right, RecordT):
        return merge_records(left, right)
    left_elem = left.elem if isinstance(left, ListT) and isinstance(left.elem, RecordT) else None
    right_elem = right.elem if isinstance(right, ListT) and isinstance(right.elem, RecordT) else None
    if left_elem is not None and right_elem is not None:
        return ListT(merge_records(left_elem, right_elem))
    if left_elem is not None and isinstance(right, RecordT):
        return ListT(merge_records(left_elem, right))
    if isinstance(left, RecordT) and right_elem is not None:
        return ListT(merge_records(left, right_elem))
    return None


def merge_records(left: RecordT, right: RecordT) -> RecordT:
    """Right-biased union; order: left's fields, then right's new fields."""
    right_map = right.field_map
    fields = [(name, right_map.get(name, t)) for name, t in left.fields]
    seen = {name for name, _ in left.fields}
    fields += [(name, t) for name, t in right.fields if name not in seen]
    return record(fields)


def merge_error_message(left: Type, right: Type) -> str:
    return (f"Cannot merge {type_str(left)} + {type_str(right)}\n"
            "'+' merges records, lists of records, or a list of records with a record")


# ---------------------------------------------------------------------------------------------
# Generics (§7.4)


def has_type_var(t: Type) -> bool:
    return any_part(t, lambda x: isinstance(x, TypeVar))


def collect(param: Type, arg: Type, found: dict[str, list[Type]]) -> bool:
    """Match `arg` structurally against `param`, collecting a type per variable position.

    Returns False on a shape mismatch (`List<T>` against `Int`)."""
    if arg is ERROR or not has_type_var(param):
        return True
    if isinstance(param, TypeVar):
        found.setdefault(param.name, []).append(arg)
        return True
    if arg is NOTHING:
        return True
    if isinstance(param, ListT):
        return isinstance(arg, ListT) and collect(param.elem, arg.elem, found)
    if isinstance(param, MapT):
        return isinstance(arg, MapT) and collect(param.value, arg.value, found)
    if isinstance(param, OptionalT):
        inner = arg.elem if isinstance(arg, OptionalT) else arg
        return collect(param.elem, inner, found)
    if isinstance(param, RecordT):
        if not isinstance(arg, RecordT):
            return False
        have = arg.field_map
        return all(collect(ft, have[name], found) for name, ft in param.fields if name in have)
    if isinstance(param, FunctionT):  # only a lambda fits (lambdas do not come here)
        return isinstance(arg, FunctionT)
    return True  # unions: checked by subtyping afterwards


def substitute(t: Type, binding: dict[str, Type], default: Type | None = None) -> Type:
    """Replace type variables; unbound ones become `default` (or stay when it is None)."""
    if isinstance(t, TypeVar):
        if t.name in binding:
            return binding[t.name]
        return t if default is None else default
    if isinstance(t, ListT):
        return ListT(substitute(t.elem, binding, default))
    if isinstance(t, OptionalT):
        return optional(substitute(t.elem, binding, default))
    if isinstance(t, MapT):
        return MapT(substitute(t.value, binding, default))
    if isinstance(t, RecordT):
        return record([(n, substitute(ft, binding, default)) for n, ft in t.fields])
    if isinstance(t, UnionT):
        return union([substitute(m, binding, default) for m in t.members])
    if isinstance(t, FunctionT):
        return FunctionT(tuple(substitute(p, binding, default) for p in t.params),
                         substitute(t.result, binding, default))
    return t


def wrap_result(t: Type) -> Type:
    """The type of a call with `on_error: wrap` (§6.4)."""
    return record([("value", optional(t)), ("error", optional(STRING))])


# ---------------------------------------------------------------------------------------------
# Type expressions (§4.1)

Report = Callable[..., None]  # report(code, message, span, fixes=(), related=())
_ARITY = BUILTIN_TYPE_ARITY


class TypeResolver:
    """Turns type expressions into types.

    `aliases(name)` returns the expanded type of a declared alias (ERROR for a broken or cyclic
    one) or None when no alias of that name exists; `on_alias_ref(name, span)` records a
    reference for the symbol table; `suggest(name)` yields the did-you-mean suffix."""

    def __init__(self, aliases: Callable[[str], Type | None], report: Report,
                 on_alias_ref: Callable[[str, ast.Span], None] = lambda n, s: None,
                 suggest: Callable[[str], list[str]] = lambda n: []):
        self.aliases = aliases
        self.report = report
        self.on_alias_ref = on_alias_ref
        self.suggest = suggest

    def resolve(self, texpr: ast.TypeExpr) -> Type:
        if isinstance(texpr, ast.TypeName):
            return self._name(texpr)
        if isinstance(texpr, ast.RecordTypeExpr):
            return self._record(texpr)
        if isinstance(texpr, ast.MergeTypeExpr):
            left, right = self.resolve(texpr.left), self.resolve(texpr.right)
            merged = merge(left, right)
            if merged is None:
                self.report("E012", merge_error_message(left, right), texpr.span)
                return ERROR
            return merged
        if isinstance(texpr, ast.UnionTypeExpr):
            members = [self.resolve(m) for m in texpr.members]
            return ERROR if ERROR in members else union(members)
        raise TypeError(f"not a type expression: {texpr!r}")

    def _record(self, texpr: ast.RecordTypeExpr) -> Type:
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for name, ftexpr in texpr.fields:
            ft = self.resolve(ftexpr)
            if name.text in seen:
                self.report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            fields.append((name.text, ft))
        return record(fields)

    def _name(self, texpr: ast.TypeName) -> Type:
        name = texpr.name.text
        args = [self.resolve(a) for a in texpr.args]
        alias = self.aliases(name)
        if alias is not None:
            self.on_alias_ref(name, texpr.name.span)
            if texpr.args:
                self.report("E003", f"Type '{name}' does not take type arguments", texpr.span)
                return ERROR
            return alias
        if name in PRIMITIVES:
            if texpr.args:
                self.report("E003", f"Type '{name}' does not take type arguments", texpr.span)
                return ERROR
            return PRIMITIVES[name]
        if name in _ARITY:
            return self._parameterised(texpr, name, args)
        names = self.suggest(name)  # §8.3: built-in types and aliases
        if texpr.args:  # `Optinal<Int>`: the types that take arguments (not `String<Int>`)
            names = [n for n in names if n in _ARITY]
        fixes = tuple(Fix(f"Change to '{n}'", (TextEdit(texpr.name.span, n),)) for n in names)
        self.report("E003", f"Undefined type '{name}'{did_you_mean(names)}", texpr.span,
                    fixes=fixes)
        return ERROR

    def _parameterised(self, texpr: ast.TypeName, name: str, args: list[Type]) -> Type:
        want = _ARITY[name]
        noun = "type argument" if want == 1 else "type arguments"
        if not args:
            self.report("E003", f"Type '{name}' needs {want} {noun}", texpr.span)
            return ERROR
        if len(args) != want:
            self.report("E003", f"Type '{name}' expects {want} {noun}, got {len(args)}",
                        texpr.span)
            return ERROR
        if ERROR in args and name != "Map":
            return ERROR
        if name == "Optional":
            return optional(args[0])
        if name == "Map":
            key, value = args
            if key is not ERROR and key != STRING:
                self.report("E015", f"Map keys must be String, got {type_str(key)}",
                            texpr.args[0].span)
                return ERROR
            return ERROR if ERROR in args else MapT(value)
        return ListT(args[0])


def type_names_in(texpr: ast.TypeExpr) -> list[ast.Name]:
    """Every name used in a type expression, in source order (alias dependency edges)."""
    out: list[ast.Name] = []
    stack: list[ast.TypeExpr] = [texpr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.TypeName):
            out.append(node.name)
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.RecordTypeExpr):
            stack.extend(reversed([t for _, t in node.fields]))
        elif isinstance(node, ast.MergeTypeExpr):
            stack.extend([node.right, node.left])
        elif isinstance(node, ast.UnionTypeExpr):
            stack.extend(reversed(node.members))
    return out

