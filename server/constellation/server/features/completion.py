"""Completion (`compiler/queries/completion.py`) in LSP's terms."""

from __future__ import annotations

from lsprotocol import types as lsp

import functools
from typing import TYPE_CHECKING

from constellation.server.server import JsonText

if TYPE_CHECKING:  # the compiler is imported with the first document (cold start)
    from constellation.compiler.queries.completion import Item


@functools.cache
def kinds() -> dict:
    from constellation.compiler.queries.completion import ItemKind

    K = lsp.CompletionItemKind
    return {ItemKind.KEYWORD: K.Keyword, ItemKind.MODULE: K.Module, ItemKind.PROPERTY: K.Property,
            ItemKind.ENUM_MEMBER: K.EnumMember, ItemKind.VALUE: K.Value, ItemKind.CLASS: K.Class,
            ItemKind.STRUCT: K.Struct, ItemKind.FUNCTION: K.Function, ItemKind.VARIABLE: K.Variable,
            ItemKind.FIELD: K.Field}


FORMATS = {True: lsp.InsertTextFormat.Snippet, False: lsp.InsertTextFormat.PlainText, None: None}


def register(server) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[".", "@", ":", " ", ","]))
    def completion(ls, params: lsp.CompletionParams) -> JsonText | None:
        from constellation.compiler.queries.completion import complete

        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return None
        offset = ls.positions(analysis).offset(params.position)
        after_space = params.context is not None and params.context.trigger_character == " "
        found = complete(analysis, offset, _snippet_support(ls), after_space)
        # an item's JSON is kept on the document's state: the same names come back at every
        # keystroke, and hundreds of them cost more to convert than to find
        made = ls.documents.state(params.text_document.uri).completion_json
        if len(made) > MAX_KEPT:
            made.clear()
        items = []
        for item in found.items:
            text = made.get(item)
            if text is None:
                text = made[item] = ls.protocol.json_text(to_lsp(item))
            items.append(text)
        return JsonText(f'{{"isIncomplete": {"true" if found.incomplete else "false"}, '
                        f'"items": [{", ".join(items)}]}}')


MAX_KEPT = 20_000  # items' JSON kept per document

def to_lsp(item: Item) -> lsp.CompletionItem:
    return lsp.CompletionItem(label=item.label, kind=kinds()[item.kind], detail=item.detail,
                              documentation=item.documentation, insert_text=item.insert_text,
                              insert_text_format=FORMATS[item.snippet], sort_text=item.sort_text)


def _snippet_support(ls) -> bool:
    td = ls.client_capabilities.text_document
    c = td.completion if td else None
    item = c.completion_item if c else None
    return bool(item and item.snippet_support)
