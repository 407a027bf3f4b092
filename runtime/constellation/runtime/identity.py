"""What makes two runs, two calls or two versions of a module the same: the hashes that run
records, the persistent cache and pipeline tests compare.

`plan_hash` is the one place that says what a plan's identity is: the hash of the executable
Plan's canonical JSON (plan_json.py) without its source positions, so that moving code or
adding a comment keeps a pipeline's identity and changing a call, an option, an edge, a type or
a signature does not.
"""

from __future__ import annotations

import hashlib
import inspect
import json

from constellation.compiler.plan_json import plan_to_json
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


# where the parts of a plan's JSON are in the source (a call's label holds its line)
_NODE_POSITIONS = ("span", "line", "column")
_IR_POSITIONS = frozenset({"span", "at", "label"})


def plan_hash(program) -> str:
    """The identity of a pipeline's plan (of an Analysis, or an executable Plan): the same for
    a re-run of an unchanged pipeline, different when a call, an option, an edge or a
    signature changed."""
    data = plan_to_json(plan_of(program))
    data.pop("line_starts")
    data["nodes"] = [{k: _without_positions(v) for k, v in n.items() if k not in _NODE_POSITIONS}
                     for n in data["nodes"]]
    return digest(json.dumps(data, sort_keys=True, ensure_ascii=False))[:16]


def _without_positions(x: object) -> object:
    """IR nodes (`{"k": kind, ...}`) without their offsets; constants as they are."""
    if isinstance(x, list):
        return [_without_positions(v) for v in x]
    if not isinstance(x, dict) or "k" not in x or x["k"] in ("Const", "type"):
        return x
    return {k: _without_positions(v) for k, v in x.items() if k not in _IR_POSITIONS}
