"""Semantic tokens (`compiler/queries/semantic_tokens.py`): full, delta and range. The last
result sent, which a delta request starts from, is the document's state."""

from __future__ import annotations

import itertools

from lsprotocol import types as lsp

from constellation.compiler.queries.semantic_tokens import (
    TOKEN_MODIFIERS, TOKEN_TYPES, encode, full_data, token_edit)

LEGEND = lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
_RESULT_IDS = itertools.count(1)  # result ids never repeat within the server's life


def register(server) -> None:
    options = LEGEND  # pygls builds SemanticTokensOptions (full, delta, range) from the legend

    def whole(ls, uri: str):
        analysis = ls.analysis(uri)
        if analysis is None:
            return None, None
        state = ls.documents.state(uri)
        data = full_data(analysis, ls.encoding, ls.declaration_starts(uri), state.token_pieces)
        return state, data

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, options)
    def full(ls, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens | None:
        state, data = whole(ls, params.text_document.uri)
        if state is None:
            return None
        return lsp.SemanticTokens(data=data, result_id=_remember(state, data))

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL_DELTA)
    def delta(ls, params: lsp.SemanticTokensDeltaParams
              ) -> lsp.SemanticTokens | lsp.SemanticTokensDelta | None:
        """What changed since the client's previous result: after an edit, a few numbers
        instead of the whole document's (a megabyte of JSON for 5,000 lines)."""
        state, data = whole(ls, params.text_document.uri)
        if state is None:
            return None
        previous = state.tokens
        result_id = _remember(state, data)
        if previous is None or previous[0] != params.previous_result_id:
            return lsp.SemanticTokens(data=data, result_id=result_id)  # unknown: start over
        start, deleted, inserted = token_edit(previous[1], data)
        edits = [] if not deleted and not inserted else [
            lsp.SemanticTokensEdit(start=start, delete_count=deleted, data=inserted)]
        return lsp.SemanticTokensDelta(edits=edits, result_id=result_id)

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
    def range_(ls, params: lsp.SemanticTokensRangeParams) -> lsp.SemanticTokens | None:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        wanted = ls.positions(analysis).span(params.range)
        return lsp.SemanticTokens(data=encode(analysis, ls.encoding, wanted))


def _remember(state, data: list[int]) -> str:
    result_id = str(next(_RESULT_IDS))
    state.tokens = (result_id, data)
    return result_id
