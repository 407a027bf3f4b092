"""What makes two runs, two calls or two versions of a module the same: the hashes that run
records, the persistent cache and pipeline tests compare.

`plan_hash` is the one place that says what a plan's identity is: the hash of the executable
Plan's canonical JSON (plan_json.py) without its source positions, so that moving code or
adding a comment keeps a pipeline's identity and changing a call, an option, an edge, a type or
a signature does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect

from constellation.compiler import planir as ir
from constellation.compiler import types as T
from constellation.compiler.registry_json import type_to_json
from constellation.compiler.registry import Function
from constellation.runtime import values
from constellation.runtime.evaluate import Closure
from constellation.runtime.inputs import plan_of

__all__ = ["args_hash", "args_json", "args_key", "code_version", "digest", "plan_hash",
           "value_hash"]


def digest(text: str) -> str:
    """SHA-256 of a text (canonical JSON), in hex: how values, arguments and plans are keyed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def value_hash(value: object) -> str:
    """SHA-256 of a value's canonical JSON (how large values are stored once)."""
    return digest(values.canonical_json(value))


def args_json(args: list) -> str:
    """A call's arguments as canonical JSON (lambdas by their text and captured values, as
    the cache keys them)."""
    text = values.scalar_list_json(args)  # most argument lists: no lambda, no record
    if text is not None:
        return text
    return values.canonical_json([a.cache_form() if type(a) is Closure else a for a in args])


def args_key(args: list) -> tuple[str, str]:
    """A call's arguments as canonical JSON and its hash."""
    text = args_json(args)
    return text, digest(text)


def args_hash(args: list) -> str:
    return digest(args_json(args))


_VERSIONS: dict[int, str] = {}  # id(impl) -> its code version (a module's code is fixed in a run)


def code_version(fn: Function) -> str:
    """A hash of the module function's source (its code, when the source cannot be read):
    a cache entry or a recorded call of an older version of the function does not count."""
    impl = fn.impl
    if impl is None:
        return ""
    known = _VERSIONS.get(id(impl))
    if known is None:
        user = inspect.unwrap(impl)
        try:
            text = inspect.getsource(user)
        except (OSError, TypeError):
            code = getattr(user, "__code__", None)
            text = repr((code.co_code, code.co_consts)) if code is not None else fn.qualified
        known = _VERSIONS[id(impl)] = digest(fn.signature() + "\n" + text)[:16]
    return known


_IR_POSITIONS = frozenset({"span", "at", "label"})  # where IR is in the source (a label: a line)
_IR_FIELDS: dict[type, tuple[str, ...]] = {}  # an IR class's fields but its positions
_HASHABLE: dict[type, bool] = {}  # a class's objects can be keys of `_by_value`


def _fields_but_positions(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in _IR_POSITIONS)


# `_IdentityWalk.code`'s shortcut writes these fields, in this order: only while they are the IR's
_CALL_OF_REFS = (_fields_but_positions(ir.Call) == ("fn", "args", "options", "result_t", "node")
                 and _fields_but_positions(ir.Ref) == ("node",))


def plan_hash(program) -> str:
    """The identity of a pipeline's plan (of an Analysis, or an executable Plan): the same for
    a re-run of an unchanged pipeline, different when a call, an option, an edge or a
    signature changed. The walk is the plan's own (not its JSON: every recorded run computes
    it); an object met again (a type, equal options) is written once and referred to after."""
    plan = plan_of(program)
    walk = _IdentityWalk()
    ref, code = walk.ref, walk.code
    nodes = [(n.id, n.kind, n.layer, tuple(n.names), tuple(n.deps), n.demand_driven,
              n.fallback_owner, n.fn, n.callee, n.pattern_bindings, ref(n.type), code(n.code))
             for n in plan.nodes]
    form = (list(plan.inputs), list(plan.outputs), sorted(plan.bindings.items()),
            [(f.qualified, f.signature) for f in plan.functions],
            values.canonical_json(plan.examples), walk.forms, nodes)
    return digest(repr(form))[:16]


_PLAIN = frozenset({str, int, bool, float, type(None)})


class _IdentityWalk:
    """IR as nested tuples and lists of plain values (repr is their text) without source
    positions; every object but plain values and sequences is a form of `forms`, referred to
    as `(index,)` (as pickle's memo does), so that what many nodes share is written once."""

    def __init__(self):
        self.forms: list[object] = []
        self._by_id: dict[int, int] = {}  # the plan holds every object it reaches: ids stable
        self._by_value: dict[object, int] = {}  # equal options of different calls

    def ref(self, x: object) -> object:
        t = type(x)
        if t in _PLAIN:
            return x
        if t is tuple or t is list:  # a list (a reference is a tuple)
            return [i if type(i) in _PLAIN else self.ref(i) for i in x]
        found = self._by_id.get(id(x))
        if found is not None:
            return found
        hashable = _HASHABLE.get(t)
        if hashable is None:  # most IR classes are not (slotted, mutable): no exception each
            hashable = _HASHABLE[t] = t.__hash__ is not None
        found = None
        if hashable:
            try:
                found = self._by_value.get(x)
            except TypeError:  # a frozen object holding a list
                hashable = False
        if found is not None:
            found = found[0]
        else:
            found = len(self.forms)
            self.forms.append(None)
            self.forms[found] = self._form(x, t)
            if hashable:
                self._by_value[x] = (found,)
        found = self._by_id[id(x)] = (found,)
        return found

    def code(self, x: object) -> object:
        """`ref` of a node's code; the commonest, a call of plan nodes' values (`Call` whose
        arguments are `Ref`s), written without the general walk's steps (the same forms, in
        the same order: test_plan_identity.py)."""
        if type(x) is not ir.Call or not _CALL_OF_REFS or id(x) in self._by_id:
            return self.ref(x)
        args = x.args
        if any(type(a) is not ir.Ref for a in args):
            return self.ref(x)
        forms, by_id = self.forms, self._by_id
        at = len(forms)
        forms.append(None)
        refs = []
        for a in args:
            found = by_id.get(id(a))
            if found is None:
                found = by_id[id(a)] = (len(forms),)
                forms.append(("Ref", a.node))
            refs.append(found)
        forms[at] = ("Call", x.fn, refs, self.ref(x.options), self.ref(x.result_t), x.node)
        found = by_id[id(x)] = (at,)
        return found

    def _form(self, x: object, t: type) -> object:
        names = _IR_FIELDS.get(t)
        if names is None:
            if isinstance(x, T.Type):
                return "type", repr(type_to_json(x))
            if t is ir.Const:  # plain JSON, whatever its record fields' order
                return "Const", values.canonical_json(x.value)
            if t is dict:
                return "dict", tuple(sorted((k, self.ref(v)) for k, v in x.items()))
            if not dataclasses.is_dataclass(x):
                return repr(x)
            names = _IR_FIELDS[t] = _fields_but_positions(t)
        return (t.__name__, *[v if type(v) in _PLAIN else self.ref(v)
                              for v in map(x.__getattribute__, names)])
