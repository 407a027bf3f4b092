"""Signature help (`compiler/queries/signature_help.py`) in LSP's terms."""

from __future__ import annotations

from lsprotocol import types as lsp


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_SIGNATURE_HELP,
                    lsp.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[","]))
    def signature_help(ls, params: lsp.SignatureHelpParams) -> lsp.SignatureHelp | None:
        from constellation.compiler.queries.signature_help import signature_at

        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        found = signature_at(analysis, ls.positions(analysis).offset(params.position))
        if found is None:
            return None
        doc = found.documentation
        signature = lsp.SignatureInformation(
            label=found.label,
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None,
            parameters=[lsp.ParameterInformation(label=label) for label in found.parameters],
        )
        return lsp.SignatureHelp(signatures=[signature], active_signature=0,
                                 active_parameter=found.active)
