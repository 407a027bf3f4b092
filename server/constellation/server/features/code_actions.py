"""Code actions: every fix the compiler attached to a diagnostic, plus "declare the missing
input" for E001 and "remove unused binding"."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.analysis import Analysis
from constellation.compiler.types import type_str
from constellation.server.lsp_diagnostics import to_lsp
from constellation.server.views import unused_bindings

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
            extra = None
            if d.code == "E001":
                extra = declare_input_action(analysis, uri, d, diag, pos)
            elif d.code == "W001":
                extra = add_required_options_action(uri, d, diag, pos)
            elif d.code == "E030":
                extra = rename_duplicate_action(analysis, uri, d, diag, pos)
            if extra is not None and all(a.title != extra.title for a in actions):
                actions.append(extra)
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
    wanted = type_str(d.expected_type) if d.expected_type is not None else "String"
    eol = "\r\n" if "\r\n" in analysis.text else "\n"
    line = f"in {name}: {wanted}{eol}"
    if at > 0 and analysis.text[at - 1] not in "\r\n":  # the last line has no line break
        line = eol + line
    edit = lsp.TextEdit(range=pos.range(ast.Span(at, at)), new_text=line)
    return lsp.CodeAction(title=f"Declare the missing input '{name}'", kind=lsp.CodeActionKind.QuickFix,
                          diagnostics=[diag], edit=lsp.WorkspaceEdit(changes={uri: [edit]}))


# values given to an option added because another one needs it (W001)
REQUIRED_DEFAULTS = {"retry": "1", "delay": "100ms", "cache": "5min"}


def add_required_options_action(uri: str, d, diag, pos) -> lsp.CodeAction | None:
    """`'delay' has no effect without 'retry'` -> add `retry: 1` in front of the key."""
    _, _, missing_text = d.message.partition(" without ")
    missing = [m for m in QUOTED.findall(missing_text) if m in REQUIRED_DEFAULTS]
    if not missing:
        return None
    added = ", ".join(f"{m}: {REQUIRED_DEFAULTS[m]}" for m in missing)
    edit = lsp.TextEdit(range=pos.range(ast.Span(d.span.start, d.span.start)), new_text=added + ", ")
    return lsp.CodeAction(title=f"Add {added}", kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag],
                          edit=lsp.WorkspaceEdit(changes={uri: [edit]}))


def rename_duplicate_action(analysis: Analysis, uri: str, d, diag, pos) -> lsp.CodeAction | None:
    """`Duplicate definition of 'y'` -> rename this (later) definition to a free name."""
    name = analysis.text[d.span.start:d.span.end]
    if not IDENT.match(name) or not d.message.startswith("Duplicate definition"):
        return None
    taken = set(analysis.symbols.values) | set(analysis.symbols.types) | {
        getattr(decl, "name").text for decl in analysis.decls if getattr(decl, "name", None) is not None}
    n = 2
    while f"{name}{n}" in taken:
        n += 1
    edit = lsp.TextEdit(range=pos.range(d.span), new_text=f"{name}{n}")
    return lsp.CodeAction(title=f"Rename this definition to '{name}{n}'", kind=lsp.CodeActionKind.QuickFix,
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
