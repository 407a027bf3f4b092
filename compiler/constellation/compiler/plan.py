"""The Plan: DAG nodes with dependency edges and layers (LANGUAGE.md §9).

Built once per analysis from the AST and the checker's resolution; the server and CLI display
it. The runtime executes its lowered copy (lowering.py, `Analysis.executable_plan`), whose
nodes carry their function, options, types and expression (planir.py) instead of AST nodes
(docs/plan.md). Nothing downstream recomputes layers.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from constellation.compiler import ast
from constellation.compiler.options import CallOptions
from constellation.compiler.registry import Function
from constellation.compiler.source import Source


@dataclass(eq=False)
class PlanNode:
    id: int
    kind: str  # "input" | "constant" | "module" | "inline"
    layer: int
    span: ast.Span  # the call (module), the declaration name (input/inline)
    line: int
    names: list[str] = field(default_factory=list)  # bindings naming this node (x = F(..); y = x)
    deps: list[int] = field(default_factory=list)  # node ids this node reads
    call: ast.Call | None = None
    function: Function | None = None
    options: CallOptions | None = None
    expr: ast.Expr | None = None  # inline/constant: the right-hand side
    decl: ast.Decl | None = None
    demand_driven: bool = False  # lazy, in a fallback, or reads a match pattern binding (§9.1)
    fallback_owner: int | None = None  # for calls inside a fallback: the owning call's node
    # the pattern bindings of enclosing `match` cases that the call reads (its arguments, the
    # calls and lambdas in them, its fallback), in the order they are bound: it runs when its
    # case is chosen, with these in scope (§10.2)
    pattern_bindings: tuple[str, ...] = ()
    # set by lowering (the executable plan, which has no AST): the column of `span.start`,
    # the function (an index into Plan.functions, and its simple name), the expression in planir form (a module
    # node's is its planir.Call) and the static type (a value's; a call's R before wrap)
    column: int = 0
    fn: int | None = None
    callee: str | None = None
    code: object = None
    type: object = None

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None

    @property
    def label(self) -> str:
        if self.names:
            return self.names[0]
        if self.function is not None:
            return f"{self.function.name}@{self.line}"
        if self.callee is not None:  # lowered
            return f"{self.callee}@{self.line}"
        return f"node{self.id}"


@dataclass
class Plan:
    nodes: list[PlanNode] = field(default_factory=list)
    bindings: dict[str, int] = field(default_factory=dict)  # value name -> node id
    call_nodes: dict[int, int] = field(default_factory=dict)  # id(ast.Call) -> node id
    outputs: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    # set by lowering: the functions its calls resolve to (planir.FnRef), the source's line
    # starts (errors' line:col) and the inputs' @example values
    functions: list = field(default_factory=list)
    line_starts: list[int] = field(default_factory=lambda: [0])
    examples: dict[str, list] = field(default_factory=dict)

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    @property
    def depth(self) -> int:
        return max((n.layer for n in self.nodes if n.kind == "module"), default=0)

    @property
    def layers(self) -> list[list[PlanNode]]:
        """layers[k] = nodes of layer k (k = 0 holds inputs, constants and layer-0 inline)."""
        out: list[list[PlanNode]] = [[] for _ in range(self.depth + 1)]
        for n in self.nodes:
            out[min(n.layer, self.depth)].append(n)
        return out

    def module_layer(self, k: int) -> list[PlanNode]:
        return [n for n in self.nodes if n.kind == "module" and n.layer == k]

    @property
    def width(self) -> int:
        return max((len(self.module_layer(k)) for k in range(1, self.depth + 1)), default=0)

    def node_for_call(self, call: ast.Call) -> PlanNode | None:
        i = self.call_nodes.get(id(call))
        return None if i is None else self.nodes[i]


def calls_in(expr: object, *, into_lambdas: bool = False, into_fallbacks: bool = False):
    """Calls occurring in an expression, outermost first, in source order.

    Lambda bodies and fallback expressions are skipped unless asked for."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda) and not into_lambdas:
            continue
        if isinstance(node, ast.Call):
            yield node
            kids = list(node.args)
            if into_fallbacks:
                kids += [o.fallback for o in node.options if o.fallback is not None]
            stack.extend(reversed(kids))
            continue
        if isinstance(node, ast.Annotation):
            continue
        stack.extend(reversed(ast.children(node)))


def build_plan(decls: list[ast.Decl], check, source: Source) -> Plan:
    """Create nodes and edges, then compute layers (§9.2)."""
    return _PlanBuilder(decls, check, source).build()


class _PlanBuilder:
    def __init__(self, decls, check, source: Source):
        self.decls = decls
        self.check = check
        self.source = source
        self.plan = Plan(outputs=list(check.outputs))
        self.assignments: dict[str, ast.Assignment] = {}
        self.binding_layer: dict[str, int] = {}
        self.in_progress: set[str] = set()
        # id(case) -> (layer, nodes read) of its match's subject: what a pattern binding of
        # the case reads (§9.2)
        self.case_subject: dict[int, tuple[int, list[int]]] = {}
        # call node id -> the pattern Symbols its arguments and fallback read that are bound
        # outside them (by an enclosing case)
        self.call_patterns: dict[int, set] = {}

    def node(self, **kw) -> PlanNode:
        n = PlanNode(id=len(self.plan.nodes), line=self.source.line_col(kw["span"].start)[0], **kw)
        self.plan.nodes.append(n)
        return n

    def build(self) -> Plan:
        for d in self.decls:
            if isinstance(d, ast.InputDecl) and self.check.symbols.values.get(d.name.text) is not None \
                    and self.check.symbols.values[d.name.text].decl is d:
                n = self.node(kind="input", layer=0, span=d.name.span, names=[d.name.text], decl=d)
                self.plan.bindings[d.name.text] = n.id
                self.plan.inputs.append(d.name.text)
                self.binding_layer[d.name.text] = 0
            elif isinstance(d, ast.Assignment) and id(d) in self.check.canonical:
                self.assignments[d.name.text] = d
        # dependencies first (the checker's order), so `binding` never recurses deeply
        for name in self.check.value_order:
            self.binding(name)
        for name in self.assignments:
            self.binding(name)
        return self.plan

    # -- bindings ---------------------------------------------------------------------------
    def binding(self, name: str) -> int:
        """Layer of a top-level value, creating its node(s) on first use."""
        if name in self.binding_layer:
            return self.binding_layer[name]
        decl = self.assignments.get(name)
        if decl is None or name in self.in_progress:  # broken, unknown, or on a cycle
            return 0
        if self.in_progress and name in self.check.error_bindings:
            # read from another binding: a binding on a cycle (E031) is a leaf here, so that
            # following a cycle of thousands of bindings never recurses (its own node is made
            # when the checker's order reaches it)
            return 0
        self.in_progress.add(name)
        expr = decl.expr
        if isinstance(expr, ast.Call):
            layer = self.call(expr, fallback_owner=None)
            node = self.plan.nodes[self.plan.call_nodes[id(expr)]]
            node.names.append(name)
            node.decl = decl
            self.plan.bindings[name] = node.id
        elif isinstance(expr, ast.Var) and self._top_level(expr) is not None:
            target = self._top_level(expr)
            layer = self.binding(target)
            if target in self.plan.bindings:
                node = self.plan.nodes[self.plan.bindings[target]]
                node.names.append(name)
                self.plan.bindings[name] = node.id
        else:
            deps: list[int] = []
            layer = self.expr_layer(expr, deps, fallback_owner=None)
            kind = "inline" if deps else "constant"
            node = self.node(kind=kind, layer=layer, span=decl.name.span, names=[name], expr=expr,
                             decl=decl, deps=deps)
            self.plan.bindings[name] = node.id
        self.in_progress.discard(name)
        self.binding_layer[name] = layer
        return layer

    def _top_level(self, var: ast.Var) -> str | None:
        sym = self.check.var_symbols.get(id(var))
        if sym is not None and sym.is_top_level_value:
            return sym.name
        return None

    # -- expressions ------------------------------------------------------------------------
    def expr_layer(self, expr, deps: list[int], fallback_owner: int | None,
                   patterns: set | None = None) -> int:
        """Layer of an inline expression; records the nodes it reads directly in `deps` and,
        in `patterns`, the pattern bindings it reads that enclosing cases bind."""
        layer = 0
        found: set = set()  # pattern Symbols read, including those bound inside `expr`
        cases: set[int] = set()  # the cases of the matches inside `expr`
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Var):
                name = self._top_level(node)
                if name is not None:
                    layer = max(layer, self.binding(name))
                    if name in self.plan.bindings and self.plan.bindings[name] not in deps:
                        deps.append(self.plan.bindings[name])
                else:
                    layer = max(layer, self._pattern(node, deps, found))
            elif isinstance(node, ast.Call):
                layer = max(layer, self.call(node, fallback_owner))
                if id(node) in self.plan.call_nodes:
                    node_id = self.plan.call_nodes[id(node)]
                    deps.append(node_id)
                    found |= self.call_patterns.get(node_id, set())
            elif isinstance(node, ast.Lambda):
                # a lambda counts as the deepest top-level name it captures (§9.2), and so as
                # the subject of a match whose pattern binding it captures
                for inner in ast.walk(node.body):
                    if isinstance(inner, ast.Var):
                        name = self._top_level(inner)
                        if name is not None:
                            layer = max(layer, self.binding(name))
                            if name in self.plan.bindings and self.plan.bindings[name] not in deps:
                                deps.append(self.plan.bindings[name])
                        else:
                            layer = max(layer, self._pattern(inner, deps, found))
                    elif isinstance(inner, ast.Match):
                        cases.update(id(c) for c in inner.cases)
            elif isinstance(node, ast.Match):
                # the subject first: its cases' pattern bindings read what it reads
                sub_deps: list[int] = []
                sub_layer = self.expr_layer(node.subject, sub_deps, fallback_owner, found)
                layer = max(layer, sub_layer)
                deps.extend(d for d in sub_deps if d not in deps)
                for case in node.cases:
                    self.case_subject[id(case)] = (sub_layer, sub_deps)
                    cases.add(id(case))
                stack.extend(reversed([c.body for c in node.cases]))
            else:
                stack.extend(ast.subexpressions(node))
        if patterns is not None:
            patterns.update(sym for sym in found if id(sym.decl) not in cases)
        return layer

    def _pattern(self, var: ast.Var, deps: list[int], found: set) -> int:
        """A reference to a pattern binding: the layer of its match's subject (§9.2)."""
        sym = self.check.var_symbols.get(id(var))
        if sym is None or sym.kind != "pattern":
            return 0
        found.add(sym)
        layer, sub_deps = self.case_subject.get(id(sym.decl), (0, ()))
        deps.extend(d for d in sub_deps if d not in deps)
        return layer

    def call(self, call: ast.Call, fallback_owner: int | None) -> int:
        if id(call) in self.plan.call_nodes:
            return self.plan.nodes[self.plan.call_nodes[id(call)]].layer
        deps: list[int] = []
        patterns: set = set()
        arg_layer = 0
        for arg in call.args:
            arg_layer = max(arg_layer, self.expr_layer(arg, deps, fallback_owner, patterns))
        options = self.check.call_options.get(id(call))
        node = self.node(
            kind="module", layer=arg_layer + 1, span=call.span, call=call, deps=deps,
            function=self.check.call_targets.get(id(call)), options=options,
            demand_driven=fallback_owner is not None or bool(options and options.lazy),
            fallback_owner=fallback_owner,
        )
        self.plan.call_nodes[id(call)] = node.id
        # calls in the fallback are demand-driven nodes with their own layers (§9.1, §9.2);
        # the pattern bindings the fallback reads must be in scope when the call runs
        for opt in call.options:
            if opt.fallback is not None:
                self.expr_layer(opt.fallback, [], node.id, patterns)
        if patterns:
            # it reads a pattern binding: it can only run once its case is chosen (§9.1)
            node.demand_driven = True
            node.pattern_bindings = tuple(dict.fromkeys(
                sym.name for sym in sorted(patterns, key=lambda sym: sym.span.start)))
            self.call_patterns[node.id] = patterns
        return node.layer
