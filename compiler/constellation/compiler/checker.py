"""Checker: resolution, types, options validation (LANGUAGE.md §3-§8).

CONTRACT (used by analysis.py and plan.py; owned by the checker work):

    check(decls: list[ast.Decl], registry: Registry, source: Source) -> CheckResult
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.diagnostics import Diagnostic
from constellation.compiler.options import CallOptions
from constellation.compiler.registry import Function, Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import Symbol, SymbolTable
from constellation.compiler.types import Type


@dataclass
class CheckResult:
    symbols: SymbolTable
    # canonical top-level value name -> its type (inputs and assignments; Error type allowed)
    binding_types: dict[str, Type] = field(default_factory=dict)
    # type alias name -> expanded type
    alias_types: dict[str, Type] = field(default_factory=dict)
    # id(expr node) -> inferred type, for every expression checked
    expr_types: dict[int, Type] = field(default_factory=dict)
    # id(ast.Var) -> the Symbol it resolved to (top-level value or a local)
    var_symbols: dict[int, Symbol] = field(default_factory=dict)
    # id(ast.Call) -> resolved registry function (calls that failed to resolve are absent)
    call_targets: dict[int, Function] = field(default_factory=dict)
    # id(ast.Call) -> validated options (every resolved call has an entry)
    call_options: dict[int, CallOptions] = field(default_factory=dict)
    # id(ast.Call) -> the call's static result type after options (on_error: wrap changes it)
    call_types: dict[int, Type] = field(default_factory=dict)
    # canonical assignments (id(ast.Assignment)); duplicates (E030) are excluded
    canonical: set[int] = field(default_factory=set)
    # names of bindings that are on a cycle or broken (Error type)
    error_bindings: set[str] = field(default_factory=set)
    # output names in order of first `out` (W006 duplicates dropped)
    outputs: list[str] = field(default_factory=list)
    # input name -> list of @example values (constant Python values, coerced to the input type)
    examples: dict[str, list[object]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def check(decls: list[ast.Decl], registry: Registry, source: Source) -> CheckResult:
    raise NotImplementedError("checker under construction")
