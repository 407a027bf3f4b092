"""The AST builder: lark reduce callbacks that build AST nodes with exact spans."""

from __future__ import annotations

from constellation.compiler import ast
from constellation.compiler.ast import Span
from constellation.compiler.lexer import RESERVED, StringInfo, Tok, lex
from constellation.compiler.parsing import lalr
from constellation.compiler.parsing.context import (
    _chain, _cover, _ctx, _name, _sp, _span,
)
from constellation.compiler.values import INT_MAX, INT_MIN


def _no_commas(children) -> list:
    return [c for c in children if c is not None and not (isinstance(c, Tok) and c.type in
                                                          ("COMMA", "OPT_COMMA"))]


class _Builder:
    """lark transformer (used as LALR reduce callbacks; each method gets the children)."""

    def start(self, c):
        if not c:
            return []
        items, item = c
        items.append(item)
        return items

    # ---- declarations
    def annotation(self, c):
        at, name, _lp, args, rp = c
        ann = ast.Annotation(_name(name), [], [], _cover(at, rp))
        for kind, *rest in args:
            if kind == "pos":
                ann.args.append(rest[0])
            else:
                ann.kwargs.append((rest[0], rest[1]))
        _check_annotation(ann, args)
        return ann

    def annot_args(self, c):
        return _no_commas(c)

    def annot_arg(self, c):
        return ("pos", c[0])

    def annot_kwarg(self, c):
        return ("kw", c[0], c[2])

    def type_decl(self, c):
        return ast.TypeDecl(_name(c[1]), c[3], _cover(c[0], c[3]))

    def input_decl(self, c):
        return ast.InputDecl(_name(c[1]), c[3], [], _cover(c[0], c[3]))

    def output_decl(self, c):
        return ast.OutputDecl(_name(c[1]), [], _cover(c[0], c[1]))

    def use_decl(self, c):
        path = c[1]
        alias = _name(c[3]) if len(c) > 2 else None
        end = c[3] if len(c) > 2 else path[-1]
        return ast.UseDecl(path, alias, _cover(c[0], end))

    def assignment(self, c):
        return ast.Assignment(_name(c[0]), c[2], _cover(c[0], c[2]))

    def qname(self, c):
        return [_name(t) for t in c if t.type != "DOT"]

    def field(self, c):
        return _name(c[0])

    def fields(self, c):
        return _no_commas(c)

    # ---- types
    def type_union(self, c):
        members = [x for x in c if not isinstance(x, Tok)]
        return ast.UnionTypeExpr(members, _cover(members[0], members[-1]))

    def type_merge(self, c):
        return ast.MergeTypeExpr(c[0], c[2], _cover(c[0], c[2]))

    def type_param(self, c):
        args = [x for x in c[2:-1] if not isinstance(x, Tok)]
        return ast.TypeName(_name(c[0]), args, _cover(c[0], c[-1]))

    def type_record(self, c):
        return ast.RecordTypeExpr(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def type_name(self, c):
        name = _name(c[0])
        return ast.TypeName(name, [], name.span)

    def type_field(self, c):
        return (c[0], c[2])

    # ---- expressions
    def lambda_expr(self, c):
        params = _no_commas(c[1:-3])
        return ast.Lambda(params, c[-1], _cover(c[0], c[-1]))

    def param(self, c):
        type_ = c[2] if len(c) > 2 else None
        return ast.Param(_name(c[0]), type_, _cover(c[0], type_ if type_ is not None else c[0]))

    def binary(self, c):
        left, op, right = c
        node = ast.Binary(op.value, left, right, _sp(op), _cover(left, right))
        _chain(node, left, op)
        return node

    def guard(self, c):
        return ast.Guard(c[0], c[2], _cover(c[0], c[2]))

    def unary(self, c):
        op, operand = c
        if op.type == "MINUS" and operand in _ctx().pending_min:
            _ctx().pending_min.pop(operand)
            return ast.Literal(INT_MIN, "Int", _cover(op, operand))
        return ast.Unary(op.value, operand, _cover(op, operand))

    def projection(self, c):
        target, opener, names, closer = c
        node = ast.Projection(target, names, opener.type == "LBRACE", _cover(target, closer))
        _chain(node, target, opener)
        return node

    def field_access(self, c):
        target, dot, name = c
        node = ast.FieldAccess(target, name, _span(dot.start_pos, dot.end_pos),
                               _cover(target, name))
        _chain(node, target, dot)
        return node

    def path(self, c):
        head = c[0]
        name = _name(head)
        node = ast.Var(name, name.span)  # one span object for both
        for j in range(1, len(c), 2):
            dot, name = c[j], c[j + 1]
            inner = node
            node = ast.FieldAccess(node, name, _span(dot.start_pos, dot.end_pos),
                                   _cover(head, name))
            _chain(node, inner, dot)
        return node

    def paren(self, c):
        inner = c[1]
        ctx = _ctx()
        # the node keeps its own span; enclosing nodes cover the parentheses too
        off = inner.span._b.offset
        ctx.parens[inner] = (inner, c[0].start_pos - off, c[2].end_pos - off)
        if inner in ctx.pending_min:
            ctx.pending_min.pop(inner)
            ctx.error("Integer literal out of range", inner.span)
        return inner

    def list_lit(self, c):
        return ast.ListLit(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def record_lit(self, c):
        return ast.RecordLit(_no_commas(c[1:-1]), _cover(c[0], c[-1]))

    def record_field(self, c):
        return (c[0], c[2])

    def literal(self, c):
        t = c[0]
        span = _sp(t)
        tt = t.type
        if tt == "INT":
            value = int(t.value)
            if value > INT_MAX:
                lit = ast.Literal(value, "Int", span)
                if value == INT_MAX + 1:
                    _ctx().pending_min[lit] = span
                else:
                    _ctx().error("Integer literal out of range", span)
                return lit
            return ast.Literal(value, "Int", span)
        if tt == "FLOAT":
            return ast.Literal(float(t.value), "Float", span)
        if tt == "TRUE" or tt == "FALSE":
            return ast.Literal(tt == "TRUE", "Boolean", span)
        return _string_node(t)

    def suffixed_atom(self, c):
        t = c[0]
        _ctx().error(f"Unexpected '{t.value}': durations are only allowed in 'with' options", _sp(t))
        return ast.Literal(0, "Int", _sp(t))

    def if_expr(self, c):
        return ast.If(c[2], c[4], c[6], _cover(c[0], c[6]))

    def branch_expr(self, c):
        arms = [x for x in c[2:-4] if isinstance(x, tuple)]
        return ast.Branch(arms, c[-2], _cover(c[0], c[-1]))

    def branch_arm(self, c):
        return (c[0], c[2])

    def match_expr(self, c):
        subject = c[1]
        if isinstance(subject, Tok):
            name = _name(subject)
            subject = ast.Var(name, name.span)
        cases = [x for x in c[3:-1] if isinstance(x, ast.Case)]
        return ast.Match(subject, cases, _sp(c[0]), _cover(c[0], c[-1]))

    def case(self, c):
        return ast.Case(c[0], c[2], _cover(c[0], c[2]))

    def record_pattern(self, c):
        return ast.RecordPattern(c[1], _cover(c[0], c[2]))

    def type_pattern(self, c):
        return ast.TypePattern(_name(c[1]), _cover(c[0], c[1]))

    def name_pattern(self, c):
        t = c[0]
        if t.value != "_":
            _ctx().error(f"A case pattern must be '{{ fields }}', 'is Type' or '_', found '{t.value}'",
                         _sp(t))
        return ast.WildcardPattern(_sp(t))

    def call(self, c):
        names = _path_names(c[0])
        rp = c[-2] if c[-1] is None or not isinstance(c[-1], list) else c[-2]
        with_ = c[-1] if isinstance(c[-1], list) else []
        args = [x for x in c[2:-2] if x is not None and not isinstance(x, Tok)]
        for n in names:
            if n.text in RESERVED:
                _ctx().error(f"'{n.text}' is a reserved word and cannot be used as a name", n.span)
        end = with_[-1] if with_ else rp
        return ast.Call(names, args, with_, _cover(names[0], end))

    def with_clause(self, c):
        return [x for x in c if isinstance(x, ast.Option)]

    def lazy_option(self, c):
        value = c[2] if len(c) > 2 else None
        return ast.Option(_name(c[0]), value=value, span=_cover(c[0], value or c[0]))

    def fallback_option(self, c):
        return ast.Option(_name(c[0]), fallback=c[2], span=_cover(c[0], c[2]))

    def key_option(self, c):
        return ast.Option(_name(c[0]), value=c[2], span=_cover(c[0], c[2]))

    def opt_value(self, c):
        first = c[0]
        if len(c) == 2:  # '-' number
            kind = _OPT_KIND[c[1].type]
            if kind == "int" and int(c[1].value) > INT_MAX + 1:
                _ctx().error("Integer literal out of range", _sp(c[1]))
            return ast.OptValue(kind, "-" + c[1].value, _cover(first, c[1]))
        if first.type == "IDENT" and len(c) > 1:
            args = [x for x in c[2:-1] if isinstance(x, ast.OptValue)]
            return ast.OptValue("call", _ctx().text[first.start_pos:c[-1].end_pos],
                                _cover(first, c[-1]), args)
        if first.type == "INT" and int(first.value) > INT_MAX:  # §1.4 holds in options too
            _ctx().error("Integer literal out of range", _sp(first))
        return ast.OptValue(_OPT_KIND[first.type], first.value, _sp(first))


_OPT_KIND = {"INT": "int", "FLOAT": "float", "SUFFIXED": "suffixed", "RATE": "rate",
             "STRING": "string", "TRUE": "bool", "FALSE": "bool", "IDENT": "word"}


def _path_names(node) -> list[ast.Name]:
    names: list[ast.Name] = []
    while isinstance(node, ast.FieldAccess):
        names.append(node.field)
        node = node.target
    names.append(node.name)
    names.reverse()
    return names


def _check_annotation(ann: ast.Annotation, args: list) -> None:
    ctx = _ctx()
    name = ann.name.text
    head = Span(ann.span.start, ann.name.span.end)
    if name not in ("example", "source", "sink"):
        ctx.error(f"Unknown annotation '@{name}' (expected @example, @source or @sink)", head)
        return
    if name == "example":
        if len(args) != 1 or args[0][0] != "pos":
            ctx.error("'@example' takes exactly one value", head)
        return
    first = args[0]
    ok = first[0] == "pos" and isinstance(first[1], ast.Literal) and first[1].kind == "String" \
        and ctx.text[first[1].span.start] == '"' and all(a[0] == "kw" for a in args[1:])
    if not ok:
        ctx.error(f"'@{name}' takes a plain string first: @{name}(\"name\", key: value, …)", head)


def _string_node(t: Tok):
    ctx = _ctx()
    info: StringInfo | None = ctx.strings.get(t.start_pos)
    span = _sp(t)
    if info is None or not info.regions:
        return ast.Literal(info.parts[0] if info else "", "String", span)
    exprs = []
    for (rs, re_), close in zip(info.regions, info.closes):
        ctx.nesting += 1
        lexed = lex(ctx.text, rs, re_, interp=True, nesting=ctx.nesting)
        closing = Tok("RBRACE", "}", close, close + 1)
        value = lalr._drive(ctx, "expr", lexed, None, re_, eof_desc=closing)
        ctx.nesting -= 1
        exprs.append(value if value is not None else ast.Literal("", "String", _span(rs, re_)))
    return ast.Interpolation(list(info.parts), exprs, span)
