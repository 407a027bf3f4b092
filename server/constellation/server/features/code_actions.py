"""Code actions (`compiler/queries/code_actions.py`) as LSP quick fixes."""

from __future__ import annotations

from lsprotocol import types as lsp

from typing import TYPE_CHECKING

from constellation.server.lsp_diagnostics import to_lsp

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.queries.code_actions import Action


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_actions(ls, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        from constellation.compiler.queries.code_actions import actions_in

        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return None
        pos = ls.positions(analysis)
        wanted = pos.span(params.range)
        return [to_code_action(action, uri, pos) for action in actions_in(analysis, wanted.start, wanted.end)]


def to_code_action(action: Action, uri: str, pos) -> lsp.CodeAction:
    edits = [lsp.TextEdit(range=pos.range(span), new_text=text) for span, text in action.edits]
    return lsp.CodeAction(
        title=action.title, kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[to_lsp(action.diagnostic, uri, pos)] if action.diagnostic is not None else None,
        edit=lsp.WorkspaceEdit(changes={uri: edits}), is_preferred=action.preferred)
