"""User modules: the `@module` decorator and module loading (from `constellation.toml`, which
`constellation.compiler.project` finds and reads).

A module is a plain Python function whose signature (from its type hints) becomes a registry
entry. Values cross the boundary as JSON-shaped data (LANGUAGE.md §10.4); a cattrs converter
turns them into the declared Python types and the result back into JSON-shaped values.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs
import cattrs
from cattrs.strategies import configure_union_passthrough

from constellation.compiler import types as T
from constellation.compiler.project import ProjectConfig
from constellation.compiler.registry import Function, ModuleFailure, Registry

__all__ = [
    "module", "ModuleSignatureError", "ModuleArgumentError", "ModuleLoadError",
    "python_type_to_cst", "load_modules", "load_registry", "load_config_registry",
    "base_registry",
]

_MARK = "__constellation_function__"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*\Z")
_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*(\.[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*)*\Z")
_SUPPORTED = ("str, int, float, bool, list[T], dict[str, T], T | None, unions of these, "
              "and dataclass / TypedDict / attrs classes")

_PRIMITIVES: dict[Any, T.Type] = {str: T.STRING, int: T.INT, float: T.FLOAT, bool: T.BOOLEAN}


class ModuleSignatureError(TypeError):
    """A decorated function whose hints cannot be expressed as a Constellation signature."""


class ModuleArgumentError(TypeError):
    """A value handed to a module does not fit the declared Python type."""


class ModuleLoadError(Exception):
    """One or more configured module files or packages could not be loaded."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# Type hints -> Constellation types


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _is_record_class(tp: Any) -> bool:
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or attrs.has(tp)
                                     or _is_typeddict(tp))


def _record_fields(cls: type) -> list[tuple[str, Any]]:
    """Declared fields in declaration order, with resolved hints."""
    try:
        hints = typing.get_type_hints(cls)
        if attrs.has(cls):
            attrs.resolve_types(cls)
    except Exception as exc:  # a forward reference that does not resolve
        raise TypeError(f"record class {cls.__qualname__} whose hints cannot be resolved "
                        f"({type(exc).__name__}: {exc})") from None
    if dataclasses.is_dataclass(cls):
        return [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
    if attrs.has(cls):
        return [(a.name, a.type) for a in attrs.fields(cls)]
    return list(hints.items())  # TypedDict: annotations are in declaration order


def _hint_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def python_type_to_cst(tp: Any, _seen: tuple[type, ...] = ()) -> T.Type:
    """The Constellation type of a Python type hint; raises TypeError naming what is unsupported."""
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, typing.List) and len(args) == 1:
        return T.ListT(python_type_to_cst(args[0], _seen))
    if origin in (dict, typing.Dict) and len(args) == 2:
        if args[0] is not str:
            raise TypeError(f"a dict key of type '{_hint_name(args[0])}' (dict keys must be str)")
        return T.MapT(python_type_to_cst(args[1], _seen))
    if origin in (typing.Union, types.UnionType):
        return _union_type(args, _seen)
    if _is_record_class(tp):
        if tp in _seen:
            raise TypeError(f"a record class {tp.__qualname__} that refers to itself")
        seen = _seen + (tp,)
        return T.record([(name, python_type_to_cst(h, seen)) for name, h in _record_fields(tp)])
    raise TypeError(f"an unsupported type hint '{_hint_name(tp)}'")


def _union_type(args: tuple[Any, ...], seen: tuple[type, ...]) -> T.Type:
    members = [a for a in args if a is not type(None)]
    inner = T.union([python_type_to_cst(a, seen) for a in members])
    return T.optional(inner) if len(members) < len(args) else inner


# ---------------------------------------------------------------------------------------------
# Value conversion (cattrs)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    # Unions of primitives arrive untagged (§10.4): let matching values through as they are.
    configure_union_passthrough(typing.Union[str, int, float, bool, None], converter)
    return converter


CONVERTER = _make_converter()


def to_json_value(value: Any, cst_type: T.Type) -> Any:
    """A JSON-shaped value for `cst_type`; records become dicts in declared field order."""
    plain = CONVERTER.unstructure(value)
    return _normalise(plain, cst_type)


def _normalise(value: Any, t: T.Type) -> Any:
    if value is None:
        return None
    if isinstance(t, T.OptionalT):
        return _normalise(value, t.elem)
    if isinstance(t, T.RecordT) and isinstance(value, dict):
        return {k: _normalise(value.get(k), ft) for k, ft in t.fields}
    if isinstance(t, T.ListT) and isinstance(value, (list, tuple)):
        return [_normalise(v, t.elem) for v in value]
    if isinstance(t, T.MapT) and isinstance(value, dict):
        return {k: _normalise(v, t.value) for k, v in value.items()}
    if t == T.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _structure_args(fn: Function, args: tuple[Any, ...]) -> list[Any]:
    out = []
    for (pname, _), hint, value in zip(fn.params, fn.python_types, args):
        try:
            out.append(CONVERTER.structure(value, hint))
        except Exception as exc:  # cattrs raises several exception classes
            raise ModuleArgumentError(
                f"Argument '{pname}' of '{fn.qualified}' does not fit {_hint_name(hint)}: "
                f"{_short_error(exc)}") from None
    return out


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError) and exc.exceptions:
        return _short_error(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}"


def _result_value(fn: Function, result: Any) -> Any:
    """The JSON-shaped result; one that breaks the declared type fails the call with a
    sentence (otherwise the wrong value would surface far away, in some later operator)."""
    from constellation.runtime.values import conforms

    problem = ""
    try:
        value = to_json_value(result, fn.result)
        if conforms(value, fn.result):
            return value
    except Exception as exc:  # cattrs cannot unstructure it at all
        problem = f" ({type(exc).__name__}: {exc})"
    shown = repr(result)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    raise ModuleFailure(f"'{fn.qualified}' returned {shown}, which does not fit its declared "
                        f"type {T.type_str(fn.result)}{problem}")


def _make_adapter(fn: Function, user_fn: Callable[..., Any]) -> Callable[..., Any]:
    """The registry `impl`: JSON-shaped positional args in, JSON-shaped result out."""
    if inspect.iscoroutinefunction(user_fn):
        @functools.wraps(user_fn)
        async def async_adapter(*args: Any) -> Any:
            return _result_value(fn, await user_fn(*_structure_args(fn, args)))
        return async_adapter

    @functools.wraps(user_fn)
    def adapter(*args: Any) -> Any:
        return _result_value(fn, user_fn(*_structure_args(fn, args)))
    return adapter


# ---------------------------------------------------------------------------------------------
# The decorator


def _where(user_fn: Callable[..., Any]) -> tuple[str | None, int | None]:
    """File and line of the `def` itself (not of its first decorator), for go-to-definition."""
    try:
        file = inspect.getsourcefile(user_fn)
        lines, first = inspect.getsourcelines(user_fn)
        offset = next((i for i, text in enumerate(lines)
                       if re.match(r"\s*(async\s+)?def\b", text)), 0)
        return file, first + offset
    except (OSError, TypeError):
        code = getattr(user_fn, "__code__", None)
        return (code.co_filename, code.co_firstlineno) if code else (None, None)


def build_function(user_fn: Callable[..., Any], name: str | None = None,
                   namespace: str | None = None) -> Function:
    """The registry entry for `user_fn` (raises ModuleSignatureError with a sentence)."""
    fname = name or user_fn.__name__
    source_file, source_line = _where(user_fn)
    where = f" ({source_file}:{source_line})" if source_file else ""

    def fail(detail: str) -> ModuleSignatureError:
        return ModuleSignatureError(f"Cannot declare module '{fname}'{where}: {detail}")

    if not _IDENT.match(fname):
        raise fail(f"'{fname}' is not a valid function name")
    if namespace is not None and not _NAMESPACE.match(namespace):
        raise fail(f"'{namespace}' is not a valid namespace")
    try:
        hints = typing.get_type_hints(user_fn)
    except Exception as exc:
        raise fail(f"its type hints cannot be resolved ({type(exc).__name__}: {exc})") from None
    params, py_types = [], []
    for p in inspect.signature(user_fn).parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise fail(f"parameter '{p.name}' must be a plain positional parameter")
        if p.name not in hints:
            raise fail(f"parameter '{p.name}' has no type hint")
        try:
            params.append((p.name, python_type_to_cst(hints[p.name])))
        except TypeError as exc:
            raise fail(f"parameter '{p.name}' has {exc}; supported: {_SUPPORTED}") from None
        py_types.append(hints[p.name])
    if "return" not in hints or hints["return"] is type(None):
        raise fail("the return type hint is missing (a module must return a value)")
    try:
        result = python_type_to_cst(hints["return"])
    except TypeError as exc:
        raise fail(f"the return type has {exc}; supported: {_SUPPORTED}") from None
    fn = Function(name=fname, namespace=namespace, params=tuple(params), result=result,
                  doc=inspect.cleandoc(user_fn.__doc__ or ""), source_file=source_file,
                  source_line=source_line, python_types=tuple(py_types),
                  python_result=hints["return"])
    fn.impl = _make_adapter(fn, user_fn)
    return fn


def module(fn: Callable[..., Any] | None = None, *, name: str | None = None,
           namespace: str | None = None) -> Any:
    """Declare a Python function as a Constellation module: `@module` or `@module(name=..)`.

    The function itself is returned unchanged (still callable from Python); its registry entry
    is attached as `__constellation_function__` and found when its module is loaded.
    """
    def decorate(user_fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(user_fn, _MARK, build_function(user_fn, name, namespace))
        return user_fn

    return decorate(fn) if fn is not None else decorate


def functions_of(py_module: types.ModuleType) -> list[Function]:
    """Registry entries of the decorated functions reachable as attributes of `py_module`."""
    found: list[Function] = []
    for value in list(vars(py_module).values()):
        entry = getattr(value, _MARK, None)
        if isinstance(entry, Function) and entry not in found:
            found.append(entry)
    return found


# ---------------------------------------------------------------------------------------------
# Loading (constellation.compiler.project finds and reads constellation.toml)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


_FILE_MODULES: dict[Path, tuple[float, types.ModuleType]] = {}


def _import_file(path: Path) -> types.ModuleType:
    mtime = path.stat().st_mtime
    cached = _FILE_MODULES.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    # A plain (undotted) name: the file is imported like a script, not as part of a package.
    name = "_cst_module_" + re.sub(r"\W", "_", str(path.with_suffix("")))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not a Python file: {path}")
    py_module = importlib.util.module_from_spec(spec)
    sys.modules[name] = py_module  # dataclasses and typing look classes up through sys.modules
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # sibling helper imports, as for a script
    try:
        spec.loader.exec_module(py_module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _FILE_MODULES[path] = (mtime, py_module)
    return py_module


def _import_error_sentence(shown: str, exc: BaseException, file: Path | None) -> str:
    detail = f"{type(exc).__name__}: {exc}"
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        detail, line = f"{type(exc).__name__}: {exc.msg}", exc.lineno
    elif file is not None:
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == file:
                line = frame.lineno
    return f"{shown}: cannot import: {detail}" + (f" (line {line})" if line else "")


def _load_spec(spec: str, base_dir: Path) -> tuple[list[Function], str | None]:
    if _is_file_spec(spec):
        path = (base_dir / spec).resolve()
        shown = _display(path)
        if not path.is_file():
            return [], f"{shown}: module file not found"
        try:
            return functions_of(_import_file(path)), None
        except ModuleSignatureError as exc:
            return [], f"{shown}: {exc}"
        except Exception as exc:
            return [], _import_error_sentence(shown, exc, path)
    if str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))  # packages beside constellation.toml
    try:
        return functions_of(importlib.import_module(spec)), None
    except ModuleSignatureError as exc:
        return [], f"{spec}: {exc}"
    except Exception as exc:
        return [], _import_error_sentence(spec, exc, None)


def load_modules(specs: Iterable[str], base_dir: str | os.PathLike[str],
                 seen: dict[str, Function] | None = None) -> tuple[list[Function], list[str]]:
    """Functions declared in the given modules, and one error sentence per failed module.
    A name declared by two different functions is an error (the first one stays): otherwise
    the later would silently replace the other. `seen` carries the names across calls."""
    functions: list[Function] = []
    errors: list[str] = []
    seen = {} if seen is None else seen
    base = Path(base_dir).resolve()
    for spec in specs:
        found, error = _load_spec(spec, base)
        if error:
            errors.append(error)
        for fn in found:
            first = seen.setdefault(fn.qualified, fn)
            if first is fn or _same_definition(first, fn):
                functions.append(fn)
            else:
                errors.append(f"{_declared_at(fn)}: '{fn.qualified}' is already defined in "
                              f"{_declared_at(first)}; rename one of them or give it a namespace "
                              "(@module(namespace=...))")
    return functions, errors


def _same_definition(a: Function, b: Function) -> bool:
    """The same function reached twice (a module listed in constellation.toml and --modules)."""
    return a.source_file is not None and (a.source_file, a.source_line) == (b.source_file,
                                                                              b.source_line)


def _declared_at(fn: Function) -> str:
    if fn.source_file is None:
        return "a module"
    shown = _display(Path(fn.source_file))
    return f"{shown} (line {fn.source_line})" if fn.source_line else shown


def base_registry() -> Registry:
    """A fresh registry holding the standard library."""
    try:
        from constellation.compiler.stdlib import stdlib_registry
    except ImportError:  # the stdlib module is not there yet: start empty
        return Registry()
    return Registry(list(stdlib_registry().functions))


def load_registry(specs: Iterable[str], base_dir: str | os.PathLike[str]) -> Registry:
    """The stdlib plus every function of `specs`; raises ModuleLoadError on any failure."""
    functions, errors = load_modules(specs, base_dir)
    if errors:
        raise ModuleLoadError(errors)
    return base_registry().extend(functions)


def load_config_registry(cst_path: str | os.PathLike[str], extra_modules: Iterable[str] = ()
                         ) -> tuple[Registry, list[str]]:
    """The registry seen from `cst_path`: stdlib, its constellation.toml modules, and
    `extra_modules` (resolved from the current directory, like a `--modules` option)."""
    registry = base_registry()
    errors: list[str] = []
    seen: dict[str, Function] = {}
    config = ProjectConfig.find(cst_path)
    if config is not None:
        errors += config.errors
        functions, load_errors = load_modules(config.modules, config.folder, seen)
        registry.extend(functions)
        errors += load_errors
    functions, load_errors = load_modules(extra_modules, Path.cwd(), seen)
    registry.extend(functions)
    errors += load_errors
    return registry, errors
