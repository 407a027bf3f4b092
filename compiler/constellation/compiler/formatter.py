"""Canonical formatter for .cst files (backs `cst fmt` and LSP formatting).

`format_source(text) -> str | None`: None when the text has syntax errors. The layout is a
function of the AST plus a few choices kept from the source: which records, lists, branches,
matches and `with` clauses are multi-line (a newline inside them), and where blank lines
separate top-level items (runs collapse to one). One declaration or annotation per line,
2-space indentation inside multi-line constructs, spaces around binary operators and `->`,
`, ` separators, option values and literals exactly as written. Every comment is kept: own-line
comments stay before the code that followed them, trailing comments stay at the end of the
line holding the code that preceded them.

The output is checked before it is returned: it must parse to the same AST (ignoring spans)
and carry the same comments in the same order; if not (a formatter bug), the input is
returned unchanged rather than risk changing a program.
"""

from __future__ import annotations

from dataclasses import dataclass

from constellation.compiler import ast
from constellation.compiler.lexer import OPTION_KEYS, comment_spans
from constellation.compiler.parser import ParseCache, parse

__all__ = ["format_source", "structure"]

INDENT = "  "

# Precedence levels of §2.2 (higher binds tighter).
_BINARY_LEVEL = {"??": 2, "or": 4, "and": 5, "==": 7, "!=": 7, "<": 7, ">": 7, "<=": 7, ">=": 7,
                 "+": 8, "-": 8, "*": 9, "/": 9}
_LAMBDA, _COALESCE, _GUARD, _NOT, _CMP, _NEG, _POSTFIX, _ATOM = 1, 2, 3, 6, 7, 10, 11, 12
_OPTION_WORDS = frozenset(OPTION_KEYS)


def format_source(text: str) -> str | None:
    cache = ParseCache()
    result = parse(text, cache)
    if any(d.code == "E020" for d in result.diagnostics):
        return None
    formatter = _Formatter(text, result.decls)
    try:
        formatted = formatter.run()
    except Exception:  # noqa: BLE001 - a formatter bug must not cost the user their text
        return text
    if formatted == text:
        return text  # already formatted (format on save, mostly): nothing to verify
    before = [_snapshot(d) for d in result.decls]
    # the same cache: declarations whose text the formatter left as it was are not parsed
    # again (they come back as the very same objects)
    after = parse(formatted, cache)
    same = not any(d.code == "E020" for d in after.diagnostics) and \
        len(after.decls) == len(before) and \
        all(_same_structure(b, a) for b, a in zip(before, after.decls)) and \
        _comments(formatted) == [text[s:e].rstrip() for s, e in formatter.comments]
    return formatted if same else text


def _snapshot(decl):
    """What a declaration is compared by after the second parse: itself, or for `in`/`out`
    (whose annotations a parse attaches in place, even to a reused declaration) its
    structure as it is now."""
    if isinstance(decl, (ast.InputDecl, ast.OutputDecl)):
        return _structure(decl)
    return decl


def _same_structure(before, after) -> bool:
    if before is after:
        return True  # its text did not change: the parse reused it
    if isinstance(before, tuple):
        return before == _structure(after)
    return _structure(before) == _structure(after)


# ---------------------------------------------------------------------------------------------
# Output rows


@dataclass
class _Row:
    indent: int
    parts: list
    top: bool = False  # starts a top-level item (blank lines before it are kept)
    start: int = -1  # source offset of the row's first code (for blank-line detection)
    comment: str | None = None  # a comment row's text
    trailing: str | None = None

    def render(self) -> str:
        body = self.comment if self.comment is not None else "".join(self.parts)
        line = INDENT * self.indent + body
        if self.trailing is not None:
            line += "  " + self.trailing
        return line.rstrip()


class _Formatter:
    def __init__(self, text: str, decls: list):
        self.text = text
        self.decls = decls
        self.rows: list[_Row] = []
        self.leaves: list[tuple[int, int]] = []  # (source offset, row index) of printed code

    # ---- rows
    def newline(self, indent: int) -> None:
        self.rows.append(_Row(indent, []))

    def write(self, s: str, at: int | None = None) -> None:
        row = self.rows[-1]
        if at is not None:
            self.leaves.append((at, len(self.rows) - 1))
            if row.start < 0:
                row.start = at
        row.parts.append(s)

    @property
    def indent(self) -> int:
        return self.rows[-1].indent

    def multiline(self, span: ast.Span) -> bool:
        return "\n" in self.text[span.start:span.end]

    # ---- top level
    def run(self) -> str:
        units: list = []
        for d in self.decls:
            units.extend(getattr(d, "annotations", ()))
            units.append(d)
        units.sort(key=lambda u: u.span.start)
        self.units = units
        for unit in units:
            self.newline(0)
            self.rows[-1].top = True
            self.rows[-1].start = unit.span.start
            self.unit(unit)
        self.place_comments()
        return self.render()

    def unit(self, u) -> None:
        if isinstance(u, ast.Annotation):
            self.annotation(u)
        elif isinstance(u, ast.TypeDecl):
            self.write("type ", u.span.start)
            self.name(u.name)
            self.write(" = ")
            self.type_expr(u.type)
        elif isinstance(u, ast.InputDecl):
            self.write("in ", u.span.start)
            self.name(u.name)
            self.write(": ")
            self.type_expr(u.type)
        elif isinstance(u, ast.OutputDecl):
            self.write("out ", u.span.start)
            self.name(u.name)
        elif isinstance(u, ast.UseDecl):
            self.write("use ", u.span.start)
            self.write(u.path_text, u.path[0].span.start)
            if u.alias is not None:
                self.write(" as ")
                self.name(u.alias)
        elif isinstance(u, ast.Assignment):
            self.name(u.name)
            self.write(" = ")
            self.expr(u.expr, 0, False)
        else:  # BrokenDecl cannot occur: files with syntax errors are not formatted
            self.write(self.text[u.span.start:u.span.end], u.span.start)

    def annotation(self, a: ast.Annotation) -> None:
        self.write("@", a.span.start)
        self.name(a.name)
        self.write("(")
        items = [(None, e) for e in a.args] + list(a.kwargs)
        for i, (key, value) in enumerate(items):
            if i:
                self.write(", ")
            if key is not None:
                self.name(key)
                self.write(": ")
            nxt = items[i + 1][0] if i + 1 < len(items) else None
            self.field_value(value, nxt)
        self.write(")")

    def name(self, n: ast.Name) -> None:
        self.write(n.text, n.span.start)

    # ---- types
    def type_expr(self, t) -> None:
        if isinstance(t, ast.TypeName):
            self.name(t.name)
            if t.args:
                self.write("<")
                for i, a in enumerate(t.args):
                    if i:
                        self.write(", ")
                    self.type_expr(a)
                self.write(">")
        elif isinstance(t, ast.UnionTypeExpr):
            for i, m in enumerate(t.members):
                if i:
                    self.write(" | ")
                self.type_expr(m)
        elif isinstance(t, ast.MergeTypeExpr):
            self.type_expr(t.left)
            self.write(" + ")
            self.type_expr(t.right)
        elif isinstance(t, ast.RecordTypeExpr):
            self.braced([(n, lambda v=v: self.type_expr(v)) for n, v in t.fields], t.span,
                        "{", "}")

    def braced(self, fields: list, span: ast.Span, open_: str, close: str,
               spaced: bool = True) -> None:
        """`{ a: …, b: … }` on one line, or one field per line when written multi-line."""
        if not fields:
            self.write(open_ + close, span.start)
            return
        if self.multiline(span):
            base = self.indent
            self.write(open_, span.start)
            for i, (key, emit) in enumerate(fields):
                self.newline(base + 1)
                if key is not None:
                    self.name(key)
                    self.write(": ")
                emit()
                if i + 1 < len(fields):
                    self.write(",")
            self.newline(base)
            self.write(close, span.end - 1)
            return
        pad = " " if spaced else ""
        self.write(open_ + pad, span.start)
        for i, (key, emit) in enumerate(fields):
            if i:
                self.write(", ")
            if key is not None:
                self.name(key)
                self.write(": ")
            emit()
        self.write(pad + close)

    # ---- expressions
    def expr(self, e, min_level: int, followed: bool) -> None:
        """Print e; parenthesise when it binds looser than `min_level`, or when it ends in a
        greedy construct (else branch, lambda body, fallback value) and something follows."""
        if _level(e) < min_level or (followed and _greedy(e)) or self.grouped(e) or \
                _is_min_int(e) and min_level > _NEG:
            self.write("(")
            self.bare(e, False)
            self.write(")")
        else:
            self.bare(e, followed)

    def grouped(self, e) -> bool:
        """Did the source put this expression in (grouping) parentheses? Kept as written."""
        t = self.text
        i = e.span.start - 1
        while i >= 0 and t[i] in " \t\r\n":
            i -= 1
        if i < 0 or t[i] != "(":
            return False
        j = e.span.end
        while j < len(t) and t[j] in " \t\r\n":
            j += 1
        if j >= len(t) or t[j] != ")":
            return False
        i -= 1
        while i >= 0 and t[i] in " \t\r\n":
            i -= 1
        if i >= 0 and (t[i].isalnum() or t[i] in "_)]}"):
            k = i
            while k >= 0 and (t[k].isalnum() or t[k] in "_-"):
                k -= 1
            word = t[k + 1:i + 1]
            return word in ("and", "or", "not", "when", "else")
        return True

    def bare(self, e, followed: bool) -> None:
        t = self.text
        if isinstance(e, ast.Var):
            self.name(e.name)
        elif isinstance(e, (ast.Literal, ast.Interpolation)):
            self.write(t[e.span.start:e.span.end], e.span.start)  # as written
        elif isinstance(e, ast.Binary):
            level = _BINARY_LEVEL[e.op]
            if e.op == "??":
                left, right = level + 1, level
            elif level == _CMP:
                left = right = level + 1
            else:
                left, right = level, level + 1
            self.expr(e.left, left, True)
            self.write(f" {e.op} ", e.op_span.start)
            self.expr(e.right, right, followed)
        elif isinstance(e, ast.Unary):
            if e.op == "not":
                self.write("not ", e.span.start)
                self.expr(e.operand, _NOT, followed)
            else:
                self.write("-", e.span.start)
                self.expr(e.operand, _NEG, followed)
        elif isinstance(e, ast.Guard):
            self.expr(e.expr, _GUARD + 1, True)
            self.write(" when ")
            self.expr(e.cond, _GUARD + 1, followed)
        elif isinstance(e, ast.FieldAccess):
            self.expr(e.target, _POSTFIX, True)
            self.write(".")
            self.name(e.field)
        elif isinstance(e, ast.Projection):
            self.expr(e.target, _POSTFIX, True)
            open_, close = ("{", "}") if e.brace else ("[", "]")
            self.write(open_)
            for i, f in enumerate(e.fields):
                if i:
                    self.write(", ")
                self.name(f)
            self.write(close)
        elif isinstance(e, ast.ListLit):
            self.braced([(None, lambda x=x: self.expr(x, 0, False)) for x in e.items], e.span,
                        "[", "]", spaced=False)
        elif isinstance(e, ast.RecordLit):
            fields = e.fields
            self.braced([(n, lambda i=i, v=v: self.field_value(
                v, fields[i + 1][0] if i + 1 < len(fields) else None))
                for i, (n, v) in enumerate(fields)], e.span, "{", "}")
        elif isinstance(e, ast.If):
            self.write("if (", e.span.start)
            self.expr(e.cond, 0, False)
            self.write(") ")
            self.expr(e.then, 0, False)
            self.write(" else ")
            self.expr(e.else_, 0, followed)
        elif isinstance(e, ast.Branch):
            arms = [(c, v) for c, v in e.arms]
            self.write("branch ", e.span.start)
            emit = [(None, lambda c=c, v=v: self.arm(c, v)) for c, v in arms]
            emit.append((None, lambda: self.otherwise(e.otherwise)))
            self.braced(emit, ast.Span(e.span.start + 7, e.span.end), "{", "}")
        elif isinstance(e, ast.Match):
            self.write("match ", e.span.start)
            subject = e.subject
            if _plain_subject(subject):
                self.expr(subject, 0, True)
            else:
                self.write("(")
                self.expr(subject, 0, False)
                self.write(")")
            self.write(" ")
            brace = self.text.find("{", subject.span.end)
            self.braced([(None, lambda c=c: self.case(c)) for c in e.cases],
                        ast.Span(brace, e.span.end), "{", "}")
        elif isinstance(e, ast.Lambda):
            self.write("(", e.span.start)
            for i, p in enumerate(e.params):
                if i:
                    self.write(", ")
                self.name(p.name)
                if p.type is not None:
                    self.write(": ")
                    self.type_expr(p.type)
            self.write(") => ")
            self.expr(e.body, 0, followed)
        elif isinstance(e, ast.Call):
            self.call(e, followed)
        else:
            self.write(t[e.span.start:e.span.end], e.span.start)

    def field_value(self, value, next_key: ast.Name | None) -> None:
        """A record field or annotation value; a `with` clause at its end would absorb a next
        field named like an option (§6.1), so such a value is parenthesised."""
        if next_key is not None and next_key.text in _OPTION_WORDS and _ends_with_options(value):
            self.parenthesised(value)
        else:
            self.expr(value, 0, False)

    def parenthesised(self, e) -> None:
        if self.grouped(e):
            self.expr(e, 0, False)  # written with its parentheses already
        else:
            self.write("(")
            self.expr(e, 0, False)
            self.write(")")

    def arm(self, cond, value) -> None:
        self.expr(cond, 0, True)
        self.write(" -> ")
        self.expr(value, 0, False)

    def otherwise(self, value) -> None:
        self.write("otherwise -> ")
        self.expr(value, 0, False)

    def case(self, c: ast.Case) -> None:
        p = c.pattern
        if isinstance(p, ast.RecordPattern):
            self.write("{ ", p.span.start)
            for i, f in enumerate(p.fields):
                if i:
                    self.write(", ")
                self.name(f)
            self.write(" }")
        elif isinstance(p, ast.TypePattern):
            self.write("is ", p.span.start)
            self.name(p.type_name)
        else:
            self.write("_", p.span.start)
        self.write(" -> ")
        self.expr(c.body, 0, False)

    def call(self, c: ast.Call, followed: bool) -> None:
        self.write(c.qualified, c.span.start)
        self.write("(")
        for i, a in enumerate(c.args):
            if i:
                self.write(", ")
            self.expr(a, 0, False)
        self.write(")")
        if not c.options:
            return
        with_at = self.text.rfind("with", 0, c.options[0].span.start)
        multi = "\n" in self.text[with_at:c.options[-1].span.end]
        self.write(" with")
        base = self.indent
        for i, o in enumerate(c.options):
            if multi:
                self.newline(base + 1)
            else:
                self.write(" ")
            self.option(o, followed and i + 1 == len(c.options), i + 1 == len(c.options))
            if i + 1 < len(c.options):
                self.write(",")

    def option(self, o: ast.Option, followed: bool, last: bool = True) -> None:
        self.name(o.key)
        if o.fallback is not None:
            self.write(": ")
            if not last and _ends_with_options(o.fallback):
                # a nested clause would absorb the options that follow (§2.3 rule 4)
                self.parenthesised(o.fallback)
            else:
                self.expr(o.fallback, 0, followed)
        elif o.value is not None:
            self.write(": ")
            self.write(o.value.text, o.value.span.start)

    # ---- comments and rendering
    def place_comments(self) -> None:
        """Give every comment a place relative to the code rows, keeping their order:
        (row, 0) before the row, (row, 1) trailing it, (row, 2) after it."""
        self.before: dict[int, list[_Row]] = {}
        self.after: dict[int, list[_Row]] = {}
        comments = self.comments = comment_spans(self.text)
        if not comments:
            return
        import bisect

        leaves = sorted(self.leaves)
        offsets = [at for at, _ in leaves]
        spans = sorted((u.span.start, u.span.end) for u in self.units)
        starts = [s for s, _ in spans]
        end_row = len(self.rows)
        last = (-1, 0)
        for start, end in comments:
            text = self.text[start:end].rstrip()
            k = bisect.bisect_left(offsets, start)
            prev_row = leaves[k - 1][1] if k > 0 else None
            next_row = leaves[k][1] if k < len(leaves) else None
            own_line = self.text[self.text.rfind("\n", 0, start) + 1:start].strip() == ""
            if not own_line and prev_row is not None:
                want = (prev_row, 1)
                if self.rows[prev_row].trailing is not None or want <= last:
                    want = max((prev_row, 2), last)
            elif next_row is not None and next_row != prev_row:
                want = max((next_row, 0), last)
            elif prev_row is not None:
                want = max((prev_row, 2), last)
            else:
                want = max((end_row, 0), last)
            if want[1] == 1 and want == last:
                want = (want[0], 2)
            row, phase = want
            last = want
            if phase == 1:
                self.rows[row].trailing = text
                continue
            u = bisect.bisect_right(starts, start) - 1
            inside = u >= 0 and spans[u][0] < start < spans[u][1]
            top = own_line and not inside
            if phase == 0:
                indent = 0 if top or row >= end_row else self.rows[row].indent
                self.before.setdefault(row, []).append(
                    _Row(indent, [], top=top, start=start, comment=text))
            else:
                # laid out as it will be read back: before the next code row
                nxt = row + 1
                top = nxt >= end_row or self.rows[nxt].top
                indent = 0 if top else self.rows[nxt].indent
                self.after.setdefault(row, []).append(
                    _Row(indent, [], top=top, start=start, comment=text))

    def render(self) -> str:
        out: list[str] = []

        def emit(row: _Row) -> None:
            if row.top and out and self.blank_before(row.start):
                out.append("")
            out.append(row.render())

        for i, row in enumerate(self.rows):
            for c in self.before.get(i, ()):
                emit(c)
            emit(row)
            for c in self.after.get(i, ()):
                emit(c)
        for c in self.before.get(len(self.rows), ()):
            emit(c)
        newline = "\r\n" if "\r\n" in self.text else "\n"  # keep Windows line endings
        return newline.join(out) + newline if out else ""

    def blank_before(self, offset: int) -> bool:
        """Is there an empty line between `offset` and the code or comment before it?"""
        t = self.text
        i = offset - 1
        newlines = 0
        while i >= 0 and t[i] in " \t\r\n":
            if t[i] == "\n":
                newlines += 1
            i -= 1
        return i >= 0 and newlines >= 2


def _level(e) -> int:
    if isinstance(e, ast.Lambda):
        return _LAMBDA
    if isinstance(e, ast.Binary):
        return _BINARY_LEVEL[e.op]
    if isinstance(e, ast.Guard):
        return _GUARD
    if isinstance(e, ast.Unary):
        return _NOT if e.op == "not" else _NEG
    if isinstance(e, (ast.FieldAccess, ast.Projection)):
        return _POSTFIX
    if isinstance(e, ast.Literal) and isinstance(e.value, (int, float)) and \
            not isinstance(e.value, bool) and e.value < 0:
        return _NEG  # the folded -9223372036854775808
    return _ATOM


def _is_min_int(e) -> bool:
    return isinstance(e, ast.Literal) and e.kind == "Int" and e.value < 0


def _rightmost(e):
    """The construct at the right end of e's text."""
    while True:
        if isinstance(e, ast.Binary):
            e = e.right
        elif isinstance(e, ast.Guard):
            e = e.cond
        elif isinstance(e, ast.Unary):
            e = e.operand
        else:
            return e


def _greedy(e) -> bool:
    """Does e end in something that would swallow a following operator or postfix?"""
    while True:
        r = _rightmost(e)
        if isinstance(r, (ast.If, ast.Lambda)):
            return True
        if isinstance(r, ast.Call) and r.options:
            return True  # `f(x) with retry: 1.b` / a fallback value would absorb what follows
        return False


def _ends_with_options(e) -> bool:
    while True:
        r = _rightmost(e)
        if isinstance(r, ast.Call):
            return bool(r.options)
        if isinstance(r, ast.If):
            e = r.else_
        elif isinstance(r, ast.Lambda):
            e = r.body
        else:
            return False


def _plain_subject(e) -> bool:
    """A match subject that needs no parentheses: a name or an atom that ends in a bracket."""
    if isinstance(e, ast.Call):
        return not e.options
    return isinstance(e, (ast.Var, ast.Literal, ast.Interpolation, ast.ListLit, ast.RecordLit,
                          ast.Branch, ast.Match))


# ---------------------------------------------------------------------------------------------
# Verification


def structure(decls) -> list:
    """The AST without spans (for comparing a program before and after formatting)."""
    return [_structure(d) for d in decls]


def _structure(node):
    if isinstance(node, list):
        return [_structure(x) for x in node]
    if isinstance(node, tuple):
        return tuple(_structure(x) for x in node)
    if isinstance(node, ast.Name):
        return node.text
    if isinstance(node, (str, int, float, bool)) or node is None:
        return node
    if isinstance(node, ast.Span):
        return None
    fields = tuple((name, _structure(getattr(node, name))) for name in node.__slots__
                   if name not in ("span", "op_span", "dot", "keyword"))
    return (type(node).__name__, fields)


def _comments(text: str) -> list[str]:
    return [text[s:e].rstrip() for s, e in comment_spans(text)]


def _equivalent(before: str, after: str) -> bool:
    a, b = parse(before), parse(after)
    if any(d.code == "E020" for d in b.diagnostics):
        return False
    return structure(a.decls) == structure(b.decls) and _comments(before) == _comments(after)
