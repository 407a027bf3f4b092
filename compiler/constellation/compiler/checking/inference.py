"""Inference: the type of every expression (LANGUAGE.md §5, §7.4)."""

from __future__ import annotations

import dataclasses

from constellation.compiler import ast
from constellation.compiler.diagnostics import Fix, TextEdit
from constellation.compiler.registry import Function
from constellation.compiler.suggest import suggest
from constellation.compiler.symbols import Symbol
from constellation.compiler.typeops import (
    collect, common_type, contains_error, has_type_var, is_int, is_numeric, is_record_shaped,
    is_subtype, lub, merge, merge_error_message, substitute,
)
from constellation.compiler.types import (
    BOOLEAN, ERROR, FLOAT, INT, NOTHING, PRIMITIVES, STRING, FunctionT, ListT, OptionalT, Prim,
    RecordT, Type, TypeVar, UnionT, optional, record, type_str, union,
)



ARITHMETIC = frozenset("+-*/")
ORDERING = frozenset(("<", ">", "<=", ">="))
LAMBDA_MISUSE = ("A lambda can only be passed to a function that expects one, such as filter, "
                 "map, all or any")




class Inference:
    """Types of expressions (§5): inference and checking modes, operators, match, lambdas
    and calls (§5.13, §7.4). Mixed into the checker."""

    # =========================================================================================
    # Expressions (§5)

    def infer(self, e: ast.Expr, scope: dict[str, Symbol]) -> Type:
        t = _INFER[type(e)](self, e, scope)
        self.result.expr_types[id(e)] = t
        return t

    def check(self, e: ast.Expr, expected: Type, scope: dict[str, Symbol],
              context: str = "") -> Type:
        """Checking mode (§5.15)."""
        if expected is ERROR:
            return self.infer(e, scope)
        target = expected.elem if isinstance(expected, OptionalT) else expected
        if isinstance(e, ast.ListLit) and isinstance(target, ListT):
            for item in e.items:
                self.check(item, target.elem, scope, context)
            t: Type = target
        elif isinstance(e, ast.RecordLit) and isinstance(target, RecordT):
            t = self.check_record(e, target, scope, context)
        elif isinstance(e, ast.If):
            self.condition(e.cond, scope)
            t = lub(self.check(e.then, expected, scope, context),
                    self.check(e.else_, expected, scope, context))
        elif isinstance(e, ast.Branch):
            for cond, _ in e.arms:
                self.condition(cond, scope)
            t = common_type([self.check(v, expected, scope, context) for _, v in e.arms]
                            + [self.check(e.otherwise, expected, scope, context)])
        elif isinstance(e, ast.Match):
            t = self.match(e, scope, lambda body, sc: self.check(body, expected, sc, context))
        else:
            t = self.infer(e, scope)
            if t is ERROR:
                self.note_wanted(e, expected)
            self.require(e, t, expected, context)
            return t
        self.result.expr_types[id(e)] = t
        return t

    def note_wanted(self, e: ast.Expr, wanted: Type) -> None:
        """An undefined name used where a `wanted` value goes: its E001 (just reported) carries
        the type, so that declaring the name as an input fixes the use."""
        if not isinstance(e, ast.Var) or id(e) in self.result.var_symbols or wanted is ERROR \
                or has_type_var(wanted):
            return
        items = self.bag.items
        for i in range(len(items) - 1, max(-1, len(items) - 4), -1):
            if items[i].code == "E001" and items[i].span == e.name.span:
                items[i] = dataclasses.replace(items[i], expected_type=wanted)
                return

    def require(self, e: ast.Expr, t: Type, expected: Type, context: str = "") -> bool:
        if is_subtype(t, expected):
            return True
        suffix = f" ({context})" if context else ""
        self._report("E010", f"Type mismatch: expected {type_str(expected)}, got {type_str(t)}"
                             f"{suffix}", e.span)
        return False

    def check_record(self, e: ast.RecordLit, target: RecordT, scope, context: str) -> Type:
        wanted = target.field_map
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for name, value in e.fields:
            if name.text in wanted:
                ft = self.check(value, wanted[name.text], scope, context)
            else:
                ft = self.infer(value, scope)
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            fields.append((name.text, ft))
        missing = [n for n, _ in target.fields if n not in seen]
        if missing:
            self._report("E015", "Record literal is missing field(s): " + ", ".join(missing),
                         e.span)
        return record(fields)

    def condition(self, cond: ast.Expr, scope) -> None:
        self.require(cond, self.infer(cond, scope), BOOLEAN)

    # -- names and literals (§5.2) ----------------------------------------------------------
    def _var(self, e: ast.Var, scope) -> Type:
        name = e.name.text
        sym = scope.get(name) or self.symbols.values.get(name)
        if sym is None:
            self.undefined_variable(e.name, scope)
            return ERROR
        self.result.var_symbols[id(e)] = sym
        self.symbols.add_occurrence(e.name.span, sym)
        if sym.is_top_level_value:
            t = self.result.binding_types.get(name, ERROR)
            if self.deps is not None:
                self.deps.setdefault(("v", name), t)
            return t
        return sym.type or ERROR


    def _literal(self, e: ast.Literal, scope) -> Type:
        return PRIMITIVES[e.kind]

    def _interpolation(self, e: ast.Interpolation, scope) -> Type:
        for part in e.exprs:
            self.infer(part, scope)
        return STRING

    # -- list and record literals (§5.3) ----------------------------------------------------
    def _list(self, e: ast.ListLit, scope) -> Type:
        return ListT(common_type([self.infer(item, scope) for item in e.items]))

    def _record(self, e: ast.RecordLit, scope) -> Type:
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        for name, value in e.fields:
            t = self.infer(value, scope)
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            fields.append((name.text, t))
        return record(fields)

    # -- field access and projection (§5.11) ------------------------------------------------
    def _record_hint(self, what: str, t: Type) -> str:
        message = f"{what} requires a record, got {type_str(t)}"
        if isinstance(t, OptionalT):
            message += "; unwrap it first with ??"
        elif isinstance(t, UnionT):
            message += "; use match to handle each case"
        return message

    def _record_target(self, target: ast.Expr, scope, what: str):
        """(record type, lifted over a list) of the target of a field access or projection;
        None (reported as E015 when it is not a record) when there is nothing to read from."""
        source = self.infer(target, scope)
        if source is ERROR or source is NOTHING:
            return None
        rec, lifted = _record_of(source)
        if rec is None:
            self._report("E015", self._record_hint(what, source), target.span)
            return None
        return rec, lifted

    def _field_access(self, e: ast.FieldAccess, scope) -> Type:
        target = self._record_target(e.target, scope, "Field access")
        if target is None:
            return ERROR
        rec, lifted = target
        fmap = rec.field_map
        if e.field.text not in fmap:
            names = suggest(e.field.text, fmap)
            self._report("E007", f"Field '{e.field.text}' not found in {type_str(rec)} "
                                 f"(available: {_available(rec)})",
                         ast.Span(e.dot, e.field.span.end),
                         fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(e.field.span, n),))
                                     for n in names))
            return ERROR
        t = fmap[e.field.text]
        return ListT(t) if lifted else t

    def _projection(self, e: ast.Projection, scope) -> Type:
        target = self._record_target(e.target, scope, "Projection")
        if target is None:
            return ERROR
        rec, lifted = target
        fmap = rec.field_map
        fields: list[tuple[str, Type]] = []
        seen: set[str] = set()
        failed = False
        for name in e.fields:
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            if name.text not in fmap:
                names = suggest(name.text, fmap)
                self._report("E006", f"Cannot project field '{name.text}': not found in "
                                     f"{type_str(rec)} (available: {_available(rec)})", name.span,
                             fixes=tuple(Fix(f"Change to '{n}'", (TextEdit(name.span, n),))
                                         for n in names))
                failed = True
                continue
            fields.append((name.text, fmap[name.text]))
        if failed:
            return ERROR
        return ListT(record(fields)) if lifted else record(fields)

    # -- operators (§5.5-§5.9) --------------------------------------------------------------
    def _unary(self, e: ast.Unary, scope) -> Type:
        t = self.infer(e.operand, scope)
        if e.op == "not":
            self.require(e.operand, t, BOOLEAN)
            return BOOLEAN
        if t is ERROR:
            return ERROR
        if is_int(t):
            return INT
        if is_numeric(t):
            return FLOAT
        self._report("E014", f"Operator '-' is not supported for type {type_str(t)}", e.span)
        return ERROR

    def _binary(self, e: ast.Binary, scope) -> Type:
        if e.op == "??":
            return self.coalesce(e, scope)
        left = self.infer(e.left, scope)
        right = self.infer(e.right, scope)
        if e.op in ("and", "or"):
            for side, t in ((e.left, left), (e.right, right)):
                if t is ERROR:
                    self.note_wanted(side, BOOLEAN)
            self.require(e.left, left, BOOLEAN)
            self.require(e.right, right, BOOLEAN)
            return BOOLEAN
        if left is ERROR or right is ERROR:
            if left is ERROR and isinstance(right, Prim):
                self.note_wanted(e.left, right)  # `m > 1`: an m like the other operand
            elif right is ERROR and isinstance(left, Prim):
                self.note_wanted(e.right, left)
            return BOOLEAN if e.op in ("==", "!=") or e.op in ORDERING else ERROR
        if e.op in ("==", "!="):
            if not (is_subtype(left, right) or is_subtype(right, left)):
                self.unsupported("E013", e, left, right)
            return BOOLEAN
        if e.op in ORDERING:
            if not ((is_numeric(left) and is_numeric(right))
                    or (is_subtype(left, STRING) and is_subtype(right, STRING))):
                self.unsupported("E013", e, left, right)
            return BOOLEAN
        return self.arithmetic(e, left, right)

    def arithmetic(self, e: ast.Binary, left: Type, right: Type) -> Type:
        if e.op == "+" and (is_record_shaped(left) or is_record_shaped(right)):
            merged = merge(left, right)
            if merged is None:
                self._report("E012", merge_error_message(left, right), e.span)
                return ERROR
            return merged
        if is_int(left) and is_int(right):
            return INT
        if is_numeric(left) and is_numeric(right):
            return FLOAT
        if e.op == "+" and is_subtype(left, STRING) and is_subtype(right, STRING):
            return STRING
        self.unsupported("E014", e, left, right)
        return ERROR

    def unsupported(self, code: str, e: ast.Binary, left: Type, right: Type) -> None:
        message = (f"Operator '{e.op}' is not supported for types {type_str(left)} and "
                   f"{type_str(right)}")
        fixes: tuple[Fix, ...] = ()
        if code == "E014":
            stringy = is_subtype(left, STRING) or is_subtype(right, STRING)
            numeric = is_numeric(left) or is_numeric(right)
            if isinstance(left, OptionalT) or isinstance(right, OptionalT):
                message += "; unwrap it first with ??"
            elif e.op == "+" and stringy and numeric:
                rewrite = '"' + self.interpolated(e.left) + self.interpolated(e.right) + '"'
                message += '; use interpolation: ' + rewrite
                fixes = (Fix("Use string interpolation", (TextEdit(e.span, rewrite),)),)
            elif e.op == "+" and isinstance(left, ListT) and isinstance(right, ListT):
                message += "; use list-concat"
        self._report(code, message, e.span, fixes=fixes)

    def interpolated(self, operand: ast.Expr) -> str:
        """An operand as a piece of an interpolated string: a plain string literal's body is
        inlined as written, anything else becomes `${…}`."""
        text = self.text(operand.span)
        if isinstance(operand, ast.Literal) and operand.kind == "String" and len(text) >= 2:
            return text[1:-1]
        return "${" + text + "}"

    def coalesce(self, e: ast.Binary, scope) -> Type:
        left = self.infer(e.left, scope)
        right = self.infer(e.right, scope)
        if left is ERROR:
            return ERROR
        if left is NOTHING:  # Nothing <: Optional<T>: only the fallback can produce a value
            return right
        if not isinstance(left, OptionalT):
            removal = ast.Span(e.left.span.end, e.span.end)
            self._report("E015", f"Left side of ?? must be Optional, got {type_str(left)}",
                         e.left.span, fixes=(Fix("Remove '?? …'", (TextEdit(removal, ""),)),))
            return ERROR
        inner = left.elem
        if right is ERROR:
            return ERROR
        if is_subtype(right, inner):
            return inner
        if is_subtype(inner, right):
            return right
        self._report("E010", f"Type mismatch: expected {type_str(inner)}, got {type_str(right)}",
                     e.right.span)
        return ERROR

    def _guard(self, e: ast.Guard, scope) -> Type:
        t = self.infer(e.expr, scope)
        self.condition(e.cond, scope)
        return optional(t)

    # -- conditionals (§5.10) ---------------------------------------------------------------
    def _if(self, e: ast.If, scope) -> Type:
        self.condition(e.cond, scope)
        return lub(self.infer(e.then, scope), self.infer(e.else_, scope))

    def _branch(self, e: ast.Branch, scope) -> Type:
        values = []
        for cond, value in e.arms:
            self.condition(cond, scope)
            values.append(self.infer(value, scope))
        values.append(self.infer(e.otherwise, scope))
        return common_type(values)

    # -- match (§5.12) ----------------------------------------------------------------------
    def _match(self, e: ast.Match, scope) -> Type:
        return self.match(e, scope, self.infer)

    def match(self, e: ast.Match, scope, body_check) -> Type:
        subject = self.infer(e.subject, scope)
        members = list(subject.members) if isinstance(subject, UnionT) else [subject]
        known = subject is not ERROR
        covered: set[Type] = set()
        wildcard_seen = False
        invalid_pattern = False  # a reported pattern error makes coverage unknowable
        results: list[Type] = []
        for case in e.cases:
            inner = dict(scope)
            covers = self.pattern(case, members if known else [], inner, known)
            invalid_pattern = invalid_pattern or covers is None
            if known and covers is not None:
                self.reachability(e, case, covers, covered, wildcard_seen)
                covered.update(covers)
            if isinstance(case.pattern, ast.WildcardPattern):
                wildcard_seen = True
            results.append(body_check(case.body, inner))
        if known and not wildcard_seen and not invalid_pattern:
            missing = [m for m in members if m not in covered]
            if missing:
                self.non_exhaustive(e, subject, missing)
        return common_type(results)

    def pattern(self, case: ast.Case, members: list[Type], inner: dict[str, Symbol],
                known: bool) -> list[Type] | None:
        """Bind the pattern's names in `inner`; return the members it covers (None: invalid)."""
        pat = case.pattern
        if isinstance(pat, ast.WildcardPattern):
            return list(members)
        if isinstance(pat, ast.TypePattern):
            tau = self.resolver.resolve(ast.TypeName(pat.type_name, [], pat.type_name.span))
            if tau is ERROR or not known:
                return None
            if tau not in members:
                self._report("E010", f"Pattern is {pat.type_name.text} cannot match type "
                                     f"{_members_str(members)}", pat.span)
                return None
            return [tau]
        names: list[ast.Name] = []
        seen: set[str] = set()
        for name in pat.fields:
            if name.text in seen:
                self._report("E030", f"Duplicate field '{name.text}'", name.span)
                continue
            seen.add(name.text)
            names.append(name)
        covers = [m for m in members
                  if isinstance(m, RecordT) and all(n.text in m.field_map for n in names)]
        if known and not covers:
            text = "{ " + ", ".join(n.text for n in pat.fields) + " }"
            self._report("E010", f"Pattern {text} cannot match type {_members_str(members)}",
                         pat.span)
        for name in names:
            t = common_type([m.field_map[name.text] for m in covers]) if covers else ERROR
            sym = Symbol(name.text, "pattern", name.span, case, t)
            self.symbols.locals.append(sym)
            self.symbols.add_occurrence(name.span, sym, is_definition=True)
            inner[name.text] = sym
        return covers if covers else None

    def reachability(self, e: ast.Match, case: ast.Case, covers: list[Type], covered: set[Type],
                     wildcard_seen: bool) -> None:
        index = e.cases.index(case)
        if index == 0:
            return
        if wildcard_seen:
            message = "Unreachable case: '_' above matches everything"
        elif all(m in covered for m in covers):
            message = f"Unreachable case: earlier cases already cover {_members_str(covers)}"
        else:
            return
        removal = ast.Span(e.cases[index - 1].span.end, case.span.end)
        self._report("W005", message, case.pattern.span,
                     fixes=(Fix("Remove the unreachable case", (TextEdit(removal, ""),)),))

    def non_exhaustive(self, e: ast.Match, subject: Type, missing: list[Type]) -> None:
        names = ", ".join(sorted(type_str(m) for m in missing))
        insert_at = ast.Span(e.cases[-1].span.end, e.cases[-1].span.end) if e.cases else \
            ast.Span(e.span.end - 1, e.span.end - 1)
        fixes = []
        for m in sorted(missing, key=type_str):
            if isinstance(m, RecordT) and m.fields:
                pattern = "{ " + ", ".join(n for n, _ in m.fields) + " }"
            elif isinstance(m, Prim):
                pattern = f"is {m.name}"
            else:
                continue
            fixes.append(Fix(f"Add a case '{pattern} -> …'",
                             (TextEdit(insert_at, f", {pattern} -> …"),)))
        fixes.append(Fix("Add a case '_ -> …'", (TextEdit(insert_at, ", _ -> …"),)))
        self._report("E015", f"Non-exhaustive match on {type_str(subject)}: no case for {names}",
                     e.keyword.cover(e.subject.span), fixes=tuple(fixes))

    # -- lambdas (§5.14) --------------------------------------------------------------------
    def _lambda(self, e: ast.Lambda, scope) -> Type:
        self._report("E015", LAMBDA_MISUSE, e.span)
        self.lambda_body_silently(e, scope)
        return ERROR

    def lambda_body_silently(self, e: ast.Lambda, scope) -> None:
        """Resolve names inside a misplaced lambda; its parameters are Error-typed."""
        inner = dict(scope)
        seen: dict[str, ast.Param] = {}
        for p in e.params:
            t = self.resolver.resolve(p.type) if p.type is not None else ERROR
            if p.name.text in seen:  # §3.2: reported wherever the lambda stands
                self._duplicate(p.name, seen[p.name.text].name)
                continue
            seen[p.name.text] = p
            inner[p.name.text] = self.bind_param(p, t)
        body = self.infer(e.body, inner)
        self.result.expr_types[id(e)] = FunctionT(tuple(inner[p.name.text].type or ERROR
                                                        for p in e.params), body)

    def bind_param(self, p: ast.Param, t: Type) -> Symbol:
        sym = Symbol(p.name.text, "param", p.name.span, p, t)
        self.symbols.locals.append(sym)
        self.symbols.add_occurrence(p.name.span, sym, is_definition=True)
        return sym

    def check_lambda(self, e: ast.Lambda, expected: FunctionT, fname: str,
                     binding: dict[str, Type], scope, unknown: bool = False) -> None:
        if len(e.params) != len(expected.params):
            k, m = len(e.params), len(expected.params)
            noun = "parameter" if k == 1 else "parameters"
            self._report("E015", f"The lambda has {k} {noun} but '{fname}' passes {m}", e.span)
            self.lambda_body_silently(e, scope)
            return
        inner = dict(scope)
        seen: dict[str, ast.Param] = {}
        param_types: list[Type] = []
        for p, passed in zip(e.params, expected.params):
            t = self.param_type(p, substitute(passed, binding), unknown)
            param_types.append(t)
            if p.name.text in seen:
                self._duplicate(p.name, seen[p.name.text].name)
            else:
                seen[p.name.text] = p
                inner[p.name.text] = self.bind_param(p, t)
        result = substitute(expected.result, binding)
        if isinstance(result, TypeVar):
            body = self.infer(e.body, inner)
            binding[result.name] = body
        else:
            body = self.check(e.body, result, inner)
        self.result.expr_types[id(e)] = FunctionT(tuple(param_types), body)

    def param_type(self, p: ast.Param, passed: Type, unknown: bool = False) -> Type:
        annotated = self.resolver.resolve(p.type) if p.type is not None else None
        if isinstance(passed, TypeVar) or has_type_var(passed):
            if annotated is not None:
                return annotated
            if unknown:
                return ERROR
            self._report("E015", f"Cannot infer the type of lambda parameter '{p.name.text}'; "
                                 "add an annotation", p.span)
            return ERROR
        if annotated is None:
            return passed
        if not is_subtype(passed, annotated):
            self._report("E010", f"Type mismatch: expected {type_str(annotated)}, got "
                                 f"{type_str(passed)}", p.span)
        return annotated

    # -- calls (§5.13, §7) ------------------------------------------------------------------
    def _call(self, e: ast.Call, scope) -> Type:
        fn = self.resolve_call(e, scope)
        if fn is None:
            for arg in e.args:
                self.infer_silently(arg, scope)
            self.options.validate(e, None, ERROR, scope)
            return ERROR
        self.result.call_targets[id(e)] = fn
        if len(e.args) != len(fn.params):
            n, m = len(fn.params), len(e.args)
            noun = "argument" if n == 1 else "arguments"
            self._report("E015", f"Function '{fn.name}' expects {n} {noun}, got {m}", e.span)
            for arg in e.args:
                self.infer_silently(arg, scope)
            declared = ERROR if has_type_var(fn.result) else fn.result
        else:
            declared = self.arguments(e, fn, scope)
        final = self.options.validate(e, fn, declared, scope)
        self.result.call_types[id(e)] = final
        return final

    def infer_silently(self, arg: ast.Expr, scope) -> None:
        """Arguments of a call that cannot be checked: names still resolve, lambdas are not
        reported (whether one was allowed there is unknown)."""
        if isinstance(arg, ast.Lambda):
            self.lambda_body_silently(arg, scope)
        else:
            self.infer(arg, scope)

    def arguments(self, e: ast.Call, fn: Function, scope) -> Type:
        """Generic instantiation and argument checks (§7.4); returns the result type."""
        found: dict[str, list[Type]] = {}
        generic: list[tuple[ast.Expr, Type, Type]] = []
        lambdas: list[tuple[ast.Lambda, Type]] = []
        for arg, (pname, ptype) in zip(e.args, fn.params):
            context = f"argument '{pname}' of '{fn.name}'"
            if isinstance(arg, ast.Lambda):
                lambdas.append((arg, ptype))
            elif has_type_var(ptype):
                t = self.infer(arg, scope)
                if collect(ptype, t, found):
                    generic.append((arg, t, ptype))
                else:
                    self._report("E010", f"Type mismatch: expected {type_str(ptype)}, got "
                                         f"{type_str(t)}", arg.span)
            else:
                self.check(arg, ptype, scope, context)
        binding = {name: common_type(ts) for name, ts in found.items()}
        # an Error argument leaves its variables unknown: no lambda diagnostics follow from it
        unknown = any(contains_error(t) for _, t, _ in generic)
        for arg, ptype in lambdas:
            if isinstance(ptype, FunctionT):
                self.check_lambda(arg, ptype, fn.name, binding, scope, unknown)
            else:
                self._report("E015", LAMBDA_MISUSE, arg.span)
                self.lambda_body_silently(arg, scope)
        for arg, t, ptype in generic:
            pname = fn.params[e.args.index(arg)][0]
            self.require(arg, t, substitute(ptype, binding, NOTHING),
                         f"argument '{pname}' of '{fn.name}'")
        # a variable left unbound because its argument was Error is unknown, not Nothing
        return substitute(fn.result, binding, ERROR if unknown else NOTHING)



_INFER = {
    ast.Var: Inference._var, ast.Literal: Inference._literal,
    ast.Interpolation: Inference._interpolation, ast.ListLit: Inference._list,
    ast.RecordLit: Inference._record, ast.FieldAccess: Inference._field_access,
    ast.Projection: Inference._projection, ast.Unary: Inference._unary,
    ast.Binary: Inference._binary, ast.Guard: Inference._guard, ast.If: Inference._if,
    ast.Branch: Inference._branch, ast.Match: Inference._match, ast.Lambda: Inference._lambda,
    ast.Call: Inference._call,
}



def _record_of(t: Type) -> tuple[RecordT | None, bool]:
    """The record a field access reads: the type itself, or the element of a list (lifted)."""
    if isinstance(t, RecordT):
        return t, False
    if isinstance(t, ListT) and isinstance(t.elem, RecordT):
        return t.elem, True
    return None, False



def _available(rec: RecordT) -> str:
    return ", ".join(n for n, _ in rec.fields)


def _members_str(members: list[Type]) -> str:
    return type_str(union(members)) if members else "Nothing"

