"""Lowering: the checked program becomes the Plan the runtime runs (docs/plan.md).

The compiler's Plan (plan.py) points into the AST and the checker's id()-keyed tables. The
runtime reads none of those: `lower` copies the plan into one whose nodes carry everything a
run needs — the function by registry identity (`FnRef`), the options with their fallback
lowered, the static types, the expression in the IR of planir.py, line:col — and nothing
that refers to the source's objects, so it pickles, serialises to JSON and runs in a process
that never saw the source.
"""

from __future__ import annotations

import dataclasses

from constellation.compiler import ast
from constellation.compiler import planir as ir
from constellation.compiler import types as T
from constellation.compiler.options import CallOptions
from constellation.compiler.plan import Plan, PlanNode
from constellation.compiler.source import Source

DEFAULT_OPTIONS = CallOptions()


def _same(span: ast.Span) -> ast.Span:
    return span


def lower(plan: Plan, check, source: Source, at=_same) -> Plan:
    """The executable copy of `plan` (which stays as it is: the server reads it). `at` turns
    a span of the AST or plan into one of `source` (`Analysis.absolute`)."""
    return _Lowering(plan, check, source, at).run()


class _Lowering:
    def __init__(self, plan: Plan, check, source: Source, at=_same):
        self.plan, self.check, self.source, self.at = plan, check, source, at
        self.functions: list[ir.FnRef] = []
        self.fn_index: dict[str, int] = {}
        self.pattern_types = {(id(sym.decl), sym.name): sym.type
                              for sym in check.symbols.locals if sym.kind == "pattern"}
        self.call_labels = {id(n.call): n.names[0] for n in plan.nodes
                            if n.kind == "module" and n.names}

    def run(self) -> Plan:
        out = Plan(bindings=dict(self.plan.bindings), outputs=list(self.plan.outputs),
                   inputs=list(self.plan.inputs))
        for n in self.plan.nodes:
            out.nodes.append(self.node(n))
        out.functions = self.functions
        out.line_starts = list(self.source.line_starts)
        out.examples = {k: list(v) for k, v in self.check.examples.items()
                        if k in self.plan.inputs}
        return out

    def node(self, n: PlanNode) -> PlanNode:
        span = self.at(n.span)
        line, column = self.source.line_col(span.start)
        lowered = PlanNode(id=n.id, kind=n.kind, layer=n.layer, span=ir.Span(span.start,
                           span.end), line=line, column=column, names=list(n.names),
                           deps=list(n.deps), demand_driven=n.demand_driven,
                           fallback_owner=n.fallback_owner, pattern_bindings=n.pattern_bindings)
        if n.kind == "module" and n.call is not None:
            code = self.call(n.call)
            lowered.code = code
            lowered.fn = code.fn
            lowered.callee = self.functions[code.fn].name if code.fn >= 0 else None
            lowered.options = code.options
            lowered.type = code.result_t
        elif n.kind == "input":
            lowered.type = self.check.binding_types.get(n.name, T.ERROR)
        elif n.expr is not None:
            lowered.code = self.expr(n.expr)
            lowered.type = self.check.binding_types.get(n.name) if n.name else None
        return lowered

    # -- functions --------------------------------------------------------------------------
    def fn_ref(self, fn) -> int:
        i = self.fn_index.get(fn.qualified)
        if i is None:
            i = self.fn_index[fn.qualified] = len(self.functions)
            self.functions.append(ir.FnRef(fn.qualified, fn.signature(), fn.name,
                                           fn.higher_order))
        return i

    # -- expressions ------------------------------------------------------------------------
    def type_of(self, e: object) -> T.Type | None:
        return self.check.expr_types.get(id(e))

    def expr(self, e: object) -> object:
        return getattr(self, "lower_" + type(e).__name__)(e)

    def exprs(self, es) -> tuple:
        return tuple(self.expr(x) for x in es)

    def lower_Var(self, e: ast.Var) -> object:
        sym = self.check.var_symbols.get(id(e))
        name = sym.name if sym is not None else e.name.text
        if sym is not None and sym.is_top_level_value and name in self.plan.bindings:
            return ir.Ref(self.plan.bindings[name])
        return ir.Local(e.name.text, self.at(e.span).start)

    def lower_Literal(self, e: ast.Literal) -> object:
        return ir.Const(e.value)

    def lower_Interpolation(self, e: ast.Interpolation) -> object:
        return ir.Text(tuple(e.parts), self.exprs(e.exprs))

    def lower_ListLit(self, e: ast.ListLit) -> object:
        return ir.ListOf(self.exprs(e.items), self.type_of(e))

    def lower_RecordLit(self, e: ast.RecordLit) -> object:
        return ir.RecordOf(tuple(n.text for n, _ in e.fields),
                           self.exprs(v for _, v in e.fields), self.type_of(e))

    def lower_FieldAccess(self, e: ast.FieldAccess) -> object:
        return ir.Field(self.expr(e.target), e.field.text, self.at(e.dot_span).start)

    def lower_Projection(self, e: ast.Projection) -> object:
        return ir.Project(self.expr(e.target), tuple(f.text for f in e.fields),
                          self.at(e.span).start)

    def lower_Unary(self, e: ast.Unary) -> object:
        return ir.Unary(e.op, self.expr(e.operand), self.at(e.span).start)

    def lower_Binary(self, e: ast.Binary) -> object:
        return ir.Binary(e.op, self.expr(e.left), self.expr(e.right),
                         self.at(e.op_span).start,
                         self.type_of(e))

    def lower_Guard(self, e: ast.Guard) -> object:
        return ir.Guard(self.expr(e.expr), self.expr(e.cond), self.type_of(e))

    def lower_If(self, e: ast.If) -> object:
        return ir.If(self.expr(e.cond), self.expr(e.then), self.expr(e.else_), self.type_of(e))

    def lower_Branch(self, e: ast.Branch) -> object:
        return ir.Branch(tuple((self.expr(c), self.expr(v)) for c, v in e.arms),
                         self.expr(e.otherwise), self.type_of(e))

    def lower_Match(self, e: ast.Match) -> object:
        return ir.Match(self.expr(e.subject), tuple(self.case(c) for c in e.cases),
                        self.at(e.keyword).start, self.type_of(e))

    def case(self, case: ast.Case) -> ir.Case:
        p = case.pattern
        body = self.expr(case.body)
        if isinstance(p, ast.RecordPattern):
            names = tuple(f.text for f in p.fields)
            return ir.Case("record", names, None,
                           tuple(self.pattern_types.get((id(case), n)) for n in names), body)
        if isinstance(p, ast.TypePattern):
            name = p.type_name.text
            tested = self.check.alias_types.get(name) or T.PRIMITIVES.get(name)
            return ir.Case("type", (), tested, (), body)
        return ir.Case("wildcard", (), None, (), body)

    def lower_Lambda(self, e: ast.Lambda) -> object:
        names: dict[int, str] = {}
        calls: set[str] = set()
        span = self.at(e.span)
        for node in ast.walk(e.body):
            if isinstance(node, ast.Var):
                sym = self.check.var_symbols.get(id(node))
                if sym is not None and sym.is_top_level_value and sym.name in self.plan.bindings:
                    names.setdefault(self.at(node.span).start, sym.name)
            elif isinstance(node, ast.Call):
                fn = self.check.call_targets.get(id(node))
                if fn is not None:
                    calls.add(fn.qualified)
        captured = list(dict.fromkeys(names[k] for k in sorted(names)))
        fn_type = self.type_of(e)
        types = fn_type.params if isinstance(fn_type, T.FunctionT) else ()
        params = tuple(p.name.text for p in e.params)
        return ir.Lambda(params, tuple(types[i] if i < len(types) else None
                                       for i in range(len(params))),
                         self.expr(e.body),
                         tuple((name, self.plan.bindings[name]) for name in captured),
                         tuple(sorted(calls)), self.source.text[span.start:span.end])

    def lower_Call(self, e: ast.Call) -> object:
        node = self.plan.call_nodes.get(id(e))
        if node is not None:  # a call node: its own code is lowered once, with its node
            return ir.Ref(node)
        return self.call(e)

    def call(self, e: ast.Call) -> ir.Call:
        fn = self.check.call_targets.get(id(e))
        node = self.plan.call_nodes.get(id(e))
        if fn is None:  # only in a plan with errors, which nothing runs
            span = self.at(e.span)
            return ir.Call(-1, (), DEFAULT_OPTIONS, T.ERROR, ir.Span(span.start, span.end),
                           node, e.qualified)
        opts = self.check.call_options.get(id(e)) or DEFAULT_OPTIONS
        if opts.fallback is not None:
            opts = dataclasses.replace(opts, fallback=self.expr(opts.fallback))
        span = self.at(e.span)
        line = self.source.line_col(span.start)[0]
        label = self.call_labels.get(id(e))
        binding = f"'{label}', " if label else ""
        return ir.Call(self.fn_ref(fn), self.exprs(e.args), opts, self.result_type(e, fn, opts),
                       ir.Span(span.start, span.end), node,
                       f"the call of '{fn.name}' ({binding}line {line})")

    def result_type(self, call: ast.Call, fn, opts: CallOptions) -> T.Type:
        """The call's declared return type R (instantiated), before on_error: wrap."""
        t = self.check.call_types.get(id(call)) or self.check.expr_types.get(id(call)) \
            or fn.result
        if opts.on_error == "wrap" and isinstance(t, T.RecordT):
            inner = t.field_map.get("value")
            t = inner.elem if isinstance(inner, T.OptionalT) else (inner or fn.result)
        return t
