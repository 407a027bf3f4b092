"""Checker: resolution, types, options validation (LANGUAGE.md §3-§8).

CONTRACT (used by analysis.py and plan.py; owned by the checker work):

    check(decls: list[ast.Decl], registry: Registry, source: Source,
          memo: CheckMemo | None = None) -> CheckResult

`memo` (checkmemo.py, kept on the document's ParseCache by analysis.py) lets a re-check replay
unchanged assignments; the result is the same with or without it.

Phases (§3.5): declarations and name spaces (E030), `use` paths, type aliases in dependency
order (E031 for alias cycles), input types, value bindings in dependency order (E031 for
cycles), duplicate right-hand sides, `out` declarations and annotations. Every problem is
reported once; anything typed Error (§5.1) never causes a diagnostic.

The checker is split by concern: `checking/resolution.py` (declarations, name spaces, what
names and calls resolve to, the order of bindings and aliases and their cycles),
`checking/inference.py` (the types of expressions) and `optioncheck.py` (`with` options); this
module holds the result, the phases, inputs, outputs and annotations, and the per-assignment
record and replay of `checkmemo.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.checking.inference import Inference
from constellation.compiler.checking.resolution import (  # noqa: F401 - the checker's API
    Resolution, free_references, strongly_connected,
)
from constellation.compiler.checkmemo import TABLE_OF_KIND, CheckMemo, DeclRecord, materialize
from constellation.compiler.consteval import NotConstant, evaluate_constant, is_constant
from constellation.compiler.diagnostics import Diagnostic, DiagnosticBag, Fix, Related, TextEdit
from constellation.compiler.diagnostics import sort_key
from constellation.compiler.optioncheck import OptionChecker
from constellation.compiler.options import CallOptions
from constellation.compiler.registry import Function, Registry
from constellation.compiler.source import Source
from constellation.compiler.symbols import Symbol, SymbolTable
from constellation.compiler.typeops import TypeResolver, is_subtype
from constellation.compiler.types import BUILTIN_TYPE_NAMES, ERROR, Type
from constellation.compiler.values import coerce

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
    # canonical assignment names, dependencies first (the plan builds nodes in this order)
    value_order: list[str] = field(default_factory=list)
    # output names in order of first `out` (W006 duplicates dropped)
    outputs: list[str] = field(default_factory=list)
    # input name -> list of @example values (constant Python values, coerced to the input type)
    examples: dict[str, list[object]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def check(decls: list[ast.Decl], registry: Registry, source: Source,
          memo: CheckMemo | None = None) -> CheckResult:
    """`memo` (optional) carries per-declaration results from the previous check of the same
    document; results are identical with or without it."""
    checker = _Checker(decls, registry, source, memo)
    try:
        return checker.run()
    finally:
        # its helpers (resolver, option checker) point back at it: dropping its state breaks
        # those cycles, so an analysis is freed by reference counting alone (see gcpause.py)
        vars(checker).clear()




class _Checker(Resolution, Inference):
    def __init__(self, decls: list[ast.Decl], registry: Registry, source: Source,
                 memo: CheckMemo | None = None):
        self.decls = decls
        self.memo = memo
        self.records: dict[int, DeclRecord] = {}  # this check's records (become memo.records)
        self.deps: dict | None = None  # facts read by the assignment being recorded
        self.env: tuple = ()
        self.free_refs: dict[int, tuple[ast.Decl, list]] = {}  # become memo.free_refs
        # a document's first check records nothing (a cold analysis stays as fast as without
        # a memo); later checks record every assignment for the next one to replay
        self.recording = memo is not None and memo.warm
        if memo is not None:
            memo.rechecked, memo.reused, memo.warm = [], 0, True
        self.registry = registry
        self.source = source
        self.bag = DiagnosticBag()
        self.result = CheckResult(SymbolTable())
        self.symbols = self.result.symbols
        self.value_decls: dict[str, ast.Decl] = {}  # canonical (first) value binding per name
        self.type_decls: dict[str, ast.Decl] = {}  # canonical alias declarations
        self.duplicates: list[ast.Decl] = []
        self.wildcards: list[str] = []
        self.alias_targets: dict[str, str | None] = {}  # `use p as m`: m -> p (None: bad path)
        self.options = OptionChecker(self)
        self._function_suggestions: dict[str, list[str]] | None = None
        self.resolver = TypeResolver(self._alias_type, self._report, self._alias_ref,
                                     self._type_suggestion)

    # -- reporting --------------------------------------------------------------------------
    def _report(self, code: str, message: str, span: ast.Span, *, related=(), fixes=()) -> None:
        self.bag.add(code, message, span, related=related, fixes=fixes)

    def pos(self, offset: int) -> str:
        return self.source.format_pos(offset)

    def text(self, span: ast.Span) -> str:
        return self.source.text[span.start:span.end]

    def guarded(self, decl: ast.Decl | None, action, *args) -> None:
        """Run one declaration's checks; an exception becomes E900 on that declaration (on the
        whole file for the file-wide phases, `decl` None)."""
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - any bug must surface as a diagnostic
            detail = f"{type(exc).__name__}: {exc}".rstrip(".") if str(exc) else type(exc).__name__
            span = decl.span if decl is not None else ast.Span(0, len(self.source.text))
            self._report("E900", f"Internal error: {detail}. This is a bug in the implementation, "
                                 "not in the pipeline.", span)

    # -- driver -----------------------------------------------------------------------------
    def run(self) -> CheckResult:
        for decl in self.decls:
            self.guarded(decl, self.declare, decl)
        for decl in self.decls:
            if isinstance(decl, ast.UseDecl):
                self.guarded(decl, self.check_use, decl)
        self.guarded(None, self.check_aliases)
        for decl in self.decls:
            if isinstance(decl, ast.InputDecl):
                self.guarded(decl, self.check_input, decl)
        self.guarded(None, self.check_values)
        for decl in self.duplicates:
            self.guarded(decl, self.check_duplicate, decl)
        seen_outputs: dict[str, ast.OutputDecl] = {}
        for decl in self.decls:
            if isinstance(decl, ast.OutputDecl):
                self.guarded(decl, self.check_output, decl, seen_outputs)
        for decl in self.decls:
            if isinstance(decl, ast.InputDecl):
                self.guarded(decl, self.check_input_annotations, decl)
        self.symbols.finish()
        self.result.diagnostics = sorted(self.bag.items, key=sort_key)
        if self.memo is not None:
            self.memo.records = self.records
            self.memo.materialized = False
            self.memo.free_refs = self.free_refs
            self.memo.environment = (list(self.wildcards), dict(self.alias_targets),
                                     dict(self.type_decls))
            self.memo.registry = self.registry
        return self.result


    # -- inputs -----------------------------------------------------------------------------
    def check_input(self, decl: ast.InputDecl) -> None:
        t = self.resolver.resolve(decl.type)
        if self.value_decls.get(decl.name.text) is decl:
            self.set_binding_type(decl.name.text, t)

    def set_binding_type(self, name: str, t: Type) -> None:
        self.result.binding_types[name] = t
        sym = self.symbols.values.get(name)
        if sym is not None:
            sym.type = t


    # -- incremental re-checking (checkmemo.py) ---------------------------------------------
    def record_assignment(self, decl: ast.Assignment, *, keep_diagnostics: bool = False) -> None:
        """Check an assignment, recording what it produced and the facts it read.

        A declaration with diagnostics gets no record (it is always checked again), unless
        `keep_diagnostics`: the quick path's scratch check reads its record either way."""
        if self.memo is not None:
            self.memo.rechecked.append(decl.name.text)
        if not self.recording:
            self.guarded(decl, self.check_assignment, decl)
            return
        r, s = self.result, self.symbols
        # every table only grows while one declaration is checked: its share is a tail
        tables = (r.expr_types, r.var_symbols, r.call_targets, r.call_options, r.call_types)
        starts = [len(t) for t in tables]
        occurrences, locals_, diagnostics = len(s.occurrences), len(s.locals), len(self.bag.items)
        self.deps = {}
        try:
            self.guarded(decl, self.check_assignment, decl)
        finally:
            deps, self.deps = self.deps, None
        if len(self.bag.items) > diagnostics and not keep_diagnostics:
            return  # diagnostics: always checked again
        self.records[id(decl)] = DeclRecord(
            decl, self.env, r.binding_types.get(decl.name.text, ERROR), deps,
            s.occurrences[occurrences:], s.locals[locals_:], tables,
            tuple(zip(starts, [len(t) for t in tables])))

    def replay_assignment(self, decl: ast.Assignment) -> bool:
        """Reuse the previous check of an unchanged assignment whose inputs are unchanged."""
        memo = self.memo
        if memo is None or not memo.records:
            return False
        rec = memo.records.get(id(decl))
        if rec is None or rec.decl is not decl or rec.env != self.env:
            return False
        if not memo.materialized:
            materialize(memo.records.values())
            memo.materialized = True
        values, types = self.symbols.values, self.result.binding_types
        for (space, name), t in rec.deps.items():
            if space == "v":
                if name not in values or not same_type(types.get(name, ERROR), t):
                    return False
            else:
                now = self.result.alias_types.get(name, ERROR) if name in self.type_decls \
                    else None
                if not (now is t or (now is not None and t is not None and same_type(now, t))):
                    return False
        r, s = self.result, self.symbols
        r.expr_types.update(rec.expr_types)
        tables = {"values": values, "types": s.types, "namespace_aliases": s.namespace_aliases}
        var_symbols = r.var_symbols
        for i, sym in rec.var_symbols.items():
            var_symbols[i] = values[sym.name] if sym.is_top_level_value else sym
        r.call_targets.update(rec.call_targets)
        r.call_options.update(rec.call_options)
        r.call_types.update(rec.call_types)
        occurrences = s.occurrences
        for span, sym in rec.occurrences:
            table = TABLE_OF_KIND.get(sym.kind)
            if table is None:
                occurrences.append((span, sym))  # a local: its references are its own
            else:
                now = tables[table][sym.name]
                occurrences.append((span, now))
                now.references.append(span)
        s.locals.extend(rec.locals)
        self.set_binding_type(decl.name.text, rec.binding_type)
        self.records[id(decl)] = rec
        memo.reused += 1
        return True

    def check_assignment(self, decl: ast.Assignment) -> None:
        self.set_binding_type(decl.name.text, self.infer(decl.expr, {}))

    def check_duplicate(self, decl: ast.Decl) -> None:
        """A duplicate is not part of the program, but its own errors are reported (§3.2)."""
        if isinstance(decl, ast.Assignment):
            self.infer(decl.expr, {})
        elif isinstance(decl, ast.InputDecl):
            self.resolver.resolve(decl.type)
        elif isinstance(decl, ast.TypeDecl):
            self.resolver.resolve(decl.type)

    # -- outputs and annotations (§3.4) -----------------------------------------------------
    def check_output(self, decl: ast.OutputDecl, seen: dict[str, ast.OutputDecl]) -> None:
        for ann in decl.annotations:
            self.deployment_annotation(ann)
        name = decl.name.text
        sym = self.symbols.values.get(name)
        if sym is None:
            if name in self.type_decls or name in BUILTIN_TYPE_NAMES:
                self._report("E001", f"'{name}' is a type, not a value", decl.name.span)
            else:
                self.undefined_variable(decl.name, {})
            return
        self.symbols.add_occurrence(decl.name.span, sym)
        if name in seen:
            first = seen[name]
            self._report("W006", f"Output '{name}' is already declared at "
                                 f"{self.pos(first.span.start)}", decl.name.span,
                         related=(Related(first.name.span, f"'{name}' is first declared here"),),
                         fixes=(Fix("Remove the duplicate output",
                                    (TextEdit(self.line_removal(_with_annotations(decl)), ""),)),))
            return
        seen[name] = decl
        self.result.outputs.append(name)

    def line_removal(self, span: ast.Span) -> ast.Span:
        """The span plus the whitespace before it (to delete a declaration cleanly)."""
        start = span.start
        text = self.source.text
        while start > 0 and text[start - 1] in " \t\r\n":
            start -= 1
        return ast.Span(start, span.end)

    def deployment_annotation(self, ann: ast.Annotation) -> None:
        if ann.name.text in ("source", "sink"):
            end = ann.span.end
            text = self.source.text
            while end < len(text) and text[end] in " \t\r\n":
                end += 1
            self._report("W004", f"'@{ann.name.text}' is ignored by this runtime", ann.span,
                         fixes=(Fix(f"Remove '@{ann.name.text}'",
                                    (TextEdit(ast.Span(ann.span.start, end), ""),)),))

    def check_input_annotations(self, decl: ast.InputDecl) -> None:
        canonical = self.value_decls.get(decl.name.text) is decl
        input_type = self.result.binding_types.get(decl.name.text, ERROR) if canonical else ERROR
        for ann in decl.annotations:
            if ann.name.text != "example":
                self.deployment_annotation(ann)
                continue
            if not ann.args:
                continue
            value = ann.args[0]
            if not is_constant(value):
                self._report("E015", "An @example value must be a constant (no variables or "
                                     "function calls)", value.span)
                continue
            t = self.check(value, input_type, {})
            if not canonical or not is_subtype(t, input_type):
                continue
            try:
                constant = evaluate_constant(value)
            except NotConstant:
                continue
            self.result.examples.setdefault(decl.name.text, []).append(coerce(constant, input_type))



def same_type(a: Type, b: Type) -> bool:
    """Identical types, field order included (RecordT equality ignores the order, but the
    order shows in messages and in merged records)."""
    return a is b or (type(a) is type(b) and repr(a) == repr(b))



def _with_annotations(decl: ast.OutputDecl) -> ast.Span:
    """A declaration's span including the annotations attached before it."""
    start = min([decl.span.start] + [a.span.start for a in decl.annotations])
    return ast.Span(start, decl.span.end)

