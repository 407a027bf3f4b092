"""Code actions: every fix the compiler attached to a diagnostic, plus "declare the missing
input" for E001 and "remove unused binding"."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.server.features.diagnostics import to_lsp, unused_bindings

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")
QUOTED = re.compile(r"'([^']+)'")


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_actions(ls, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        wanted = pos.span(params.range)
        actions = []
        for d in analysis.diagnostics:
            if d.span.end < wanted.start or d.span.start > wanted.end:
                continue
            diag = to_lsp(d, uri, pos)
            actions += fix_actions(uri, d, diag, pos)
            if d.code == "E001":
                declare = declare_input_action(analysis, uri, d, diag, pos)
                if declare is not None and all(a.title != declare.title for a in actions):
                    actions.append(declare)
        if analysis.valid:  # like the unused hints, only once the errors are fixed
            actions += unused_binding_actions(analysis, uri, wanted, pos)
        return actions


def fix_actions(uri: str, d, diag: lsp.Diagnostic, pos) -> list[lsp.CodeAction]:
    out = []
    for i, fix in enumerate(d.fixes):
        edits = [lsp.TextEdit(range=pos.range(e.span), new_text=e.new_text) for e in fix.edits]
        out.append(lsp.CodeAction(title=fix.title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag],
                                  edit=lsp.WorkspaceEdit(changes={uri: edits}), is_preferred=i == 0 or None))
    return out


def declare_input_action(analysis: Analysis, uri: str, d, diag, pos) -> lsp.CodeAction | None:
    name = analysis.text[d.span.start:d.span.end]
    if not IDENT.match(name) or "is a type" in d.message:
        return None
    at = insertion_offset(analysis)
    edit = lsp.TextEdit(range=pos.range(ast.Span(at, at)), new_text=f"in {name}: String\n")
    return lsp.CodeAction(title=f"Declare the missing input '{name}'", kind=lsp.CodeActionKind.QuickFix,
                          diagnostics=[diag], edit=lsp.WorkspaceEdit(changes={uri: [edit]}))


def insertion_offset(analysis: Analysis) -> int:
    """Start of the line after the last `in`/`use`/`type` declaration, else of the first one."""
    anchors = [decl for decl in analysis.decls if isinstance(decl, (ast.InputDecl, ast.UseDecl, ast.TypeDecl))]
    text = analysis.text
    if anchors:
        end = anchors[-1].span.end
        nl = text.find("\n", end)
        return len(text) if nl < 0 else nl + 1
    if analysis.decls:
        first = analysis.decls[0].span.start
        return text.rfind("\n", 0, first) + 1
    return 0


def unused_binding_actions(analysis: Analysis, uri: str, wanted: ast.Span, pos) -> list[lsp.CodeAction]:
    out = []
    for decl in unused_bindings(analysis):
        if decl.span.end < wanted.start or decl.span.start > wanted.end:
            continue
        edit = lsp.TextEdit(range=pos.range(whole_lines(analysis.text, decl.span)), new_text="")
        out.append(lsp.CodeAction(title=f"Remove unused binding '{decl.name.text}'",
                                  kind=lsp.CodeActionKind.QuickFix,
                                  edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
    return out


def whole_lines(text: str, span: ast.Span) -> ast.Span:
    """The span widened to whole lines when nothing else shares them."""
    start = text.rfind("\n", 0, span.start) + 1
    nl = text.find("\n", span.end)
    end = len(text) if nl < 0 else nl + 1
    if text[start:span.start].strip() or text[span.end:end].strip().split("#")[0].strip():
        return span
    return ast.Span(start, end)
