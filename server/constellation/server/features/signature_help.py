"""Signature help inside a call: the function's parameters, the one under the cursor active."""

from __future__ import annotations

from lsprotocol import types as lsp

from constellation.compiler import ast
from constellation.compiler.types import type_str
from constellation.server.context import call_context, resolve_function


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_SIGNATURE_HELP,
                    lsp.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[","]))
    def signature_help(ls, params: lsp.SignatureHelpParams) -> lsp.SignatureHelp | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        offset = ls.positions(analysis).offset(params.position)
        ctx = call_context(analysis.text, offset)
        if ctx is None:
            return None
        aliases = {name: sym.decl.path_text for name, sym in analysis.symbols.namespace_aliases.items()
                   if isinstance(sym.decl, ast.UseDecl)}
        wildcard = [d.path_text for d in analysis.decls if isinstance(d, ast.UseDecl) and d.alias is None]
        fn = resolve_function(analysis.registry, ctx.name, aliases, wildcard)
        if fn is None:
            return None
        labels = [f"{name}: {type_str(t)}" for name, t in fn.params]
        signature = lsp.SignatureInformation(
            label=fn.signature(),
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=fn.doc) if fn.doc else None,
            parameters=[lsp.ParameterInformation(label=label) for label in labels],
        )
        active = min(ctx.active, max(len(labels) - 1, 0))
        return lsp.SignatureHelp(signatures=[signature], active_signature=0, active_parameter=active)
