"""Random edit sequences on corpus documents: every request is answered, nothing unhandled is
logged, and the last published diagnostics are those of the last version."""

import random

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from server_support import corpus_expected, corpus_file, fresh_uri, open_doc, tdi, wait_diagnostics

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.corpus, pytest.mark.slow]

SNIPPETS = ["x", " ", "\n", "(", ")", "{", "}", "[", "]", ",", ".", ":", "=", "\"", "${", "#", "@",
            "with ", "retry: 3", "in ", "out ", "type ", "use stdlib.", "match ", " -> ", "??", "é",
            "😀", "GetUser(", "Uppercase(text)", "branch {", "otherwise", "5min", "10/1s", "-", "=>"]
EDITS_PER_FILE = 25


def encode_position(text: str, offset: int, encoding: str) -> lsp.Position:
    line = text.count("\n", 0, offset)
    prefix = text[text.rfind("\n", 0, offset) + 1:offset]
    if encoding == "utf-8":
        return lsp.Position(line, len(prefix.encode("utf-8")))
    return lsp.Position(line, len(prefix.encode("utf-16-le")) // 2)


def random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    start = rng.randint(0, len(text))
    kind = rng.random()
    if kind < 0.5:
        return start, start, rng.choice(SNIPPETS)
    end = min(len(text), start + rng.randint(1, 12))
    return start, end, "" if kind < 0.8 else rng.choice(SNIPPETS)


def requests(client, uri, position, rng_range):
    """Zero-argument callables, one per request kind (only the sampled ones are sent)."""
    doc = tdi(uri)
    return [
        lambda: client.text_document_hover_async(lsp.HoverParams(text_document=doc, position=position)),
        lambda: client.text_document_completion_async(lsp.CompletionParams(text_document=doc, position=position)),
        lambda: client.text_document_signature_help_async(lsp.SignatureHelpParams(text_document=doc, position=position)),
        lambda: client.text_document_definition_async(lsp.DefinitionParams(text_document=doc, position=position)),
        lambda: client.text_document_references_async(lsp.ReferenceParams(
            text_document=doc, position=position, context=lsp.ReferenceContext(include_declaration=True))),
        lambda: client.text_document_document_highlight_async(lsp.DocumentHighlightParams(text_document=doc, position=position)),
        lambda: client.text_document_inlay_hint_async(lsp.InlayHintParams(text_document=doc, range=rng_range)),
        lambda: client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc)),
        lambda: client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=doc, range=rng_range, context=lsp.CodeActionContext(diagnostics=[]))),
        lambda: client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc)),
        lambda: client.text_document_semantic_tokens_range_async(lsp.SemanticTokensRangeParams(text_document=doc, range=rng_range)),
        lambda: client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc)),
        lambda: client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc)),
        lambda: client.text_document_formatting_async(lsp.DocumentFormattingParams(
            text_document=doc, options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))),
    ]


async def test_random_edits_on_corpus_documents(client: LanguageClient):
    encoding = client.init_result.capabilities.position_encoding or "utf-16"
    rng = random.Random(20261128)
    paths = [e["path"] for e in corpus_expected()]
    for path in rng.sample(paths, 12):
        text = corpus_file(path).read_text()
        uri, _ = await open_doc(client, text, fresh_uri(path.replace("/", "_")))
        version = 1
        for _ in range(EDITS_PER_FILE):
            start, end, new = random_edit(rng, text)
            version += 1
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=encode_position(text, start, encoding),
                                end=encode_position(text, end, encoding)), text=new)
            text = text[:start] + new + text[end:]
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change]))
            at = rng.randint(0, len(text))
            a, b = sorted((rng.randint(0, len(text)), rng.randint(0, len(text))))
            rng_range = lsp.Range(start=encode_position(text, a, encoding), end=encode_position(text, b, encoding))
            for request in rng.sample(requests(client, uri, encode_position(text, at, encoding), rng_range), 4):
                await request()  # raises if the server answered with an error
        final = await wait_diagnostics(client, uri, version)
        assert isinstance(final, list)
    errors = [m.message for m in client.log_messages if m.type == lsp.MessageType.Error]
    errors += [m.message for m in client.messages if m.type == lsp.MessageType.Error]
    assert errors == []


async def test_semantic_token_deltas_stay_in_step_with_random_edits(client: LanguageClient):
    """A client applying every delta holds the same numbers as a fresh full answer, through
    random edits (broken text included) of corpus documents."""
    encoding = client.init_result.capabilities.position_encoding or "utf-16"
    rng = random.Random(20261203)
    paths = [e["path"] for e in corpus_expected()]
    for path in rng.sample(paths, 6):
        text = corpus_file(path).read_text()
        uri, _ = await open_doc(client, text, fresh_uri("delta_" + path.replace("/", "_")))
        doc = tdi(uri)
        held = await client.text_document_semantic_tokens_full_async(
            lsp.SemanticTokensParams(text_document=doc))
        data, result_id = list(held.data), held.result_id
        for version in range(2, 2 + EDITS_PER_FILE):
            start, end, new = random_edit(rng, text)
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangePartial(range=lsp.Range(
                    start=encode_position(text, start, encoding),
                    end=encode_position(text, end, encoding)), text=new)]))
            text = text[:start] + new + text[end:]
            answer = await client.text_document_semantic_tokens_full_delta_async(
                lsp.SemanticTokensDeltaParams(text_document=doc, previous_result_id=result_id))
            if isinstance(answer, lsp.SemanticTokensDelta):
                for edit in sorted(answer.edits, key=lambda e: e.start, reverse=True):
                    data[edit.start:edit.start + edit.delete_count] = edit.data or []
            else:
                data = list(answer.data)
            result_id = answer.result_id
            fresh = await client.text_document_semantic_tokens_full_async(
                lsp.SemanticTokensParams(text_document=doc))
            assert data == list(fresh.data), (path, version)
            result_id = fresh.result_id
