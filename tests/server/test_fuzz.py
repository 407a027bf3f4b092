"""Random edit sequences on corpus documents: every request is answered, nothing unhandled is
logged, and the last published diagnostics are those of the last version. Random incremental
changes over every line-break-like character, astral characters and lone surrogates, in each
position encoding, leave the server holding exactly the editor's text."""

import random

import attrs
import pytest
import pytest_lsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

import lsp_text
from server_support import (corpus_expected, corpus_file, fresh_uri, initialize, open_doc,
                            server_config, tdi, wait_diagnostics)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.corpus, pytest.mark.slow]

SNIPPETS = ["x", " ", "\n", "(", ")", "{", "}", "[", "]", ",", ".", ":", "=", "\"", "${", "#", "@",
            "with ", "retry: 3", "in ", "out ", "type ", "use stdlib.", "match ", " -> ", "??", "é",
            "😀", "GetUser(", "Uppercase(text)", "branch {", "otherwise", "5min", "10/1s", "-", "=>",
            *lsp_text.LINE_BREAK_LIKE, "\ud800"]
EDITS_PER_FILE = 25


def encode_position(text: str, offset: int, encoding: str) -> lsp.Position:
    return lsp.Position(*lsp_text.position(text, offset, encoding))


def outside_crlf(text: str, offset: int) -> int:
    """`offset`, or the one before it when it falls between a `\r` and its `\n` (no LSP
    position names that point)."""
    return offset - 1 if 0 < offset < len(text) and text[offset - 1:offset + 1] == "\r\n" else offset


def random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    start = outside_crlf(text, rng.randint(0, len(text)))
    kind = rng.random()
    if kind < 0.5:
        return start, start, rng.choice(SNIPPETS)
    end = outside_crlf(text, min(len(text), start + rng.randint(1, 12)))
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
            at = outside_crlf(text, rng.randint(0, len(text)))
            a, b = sorted(outside_crlf(text, rng.randint(0, len(text))) for _ in range(2))
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


# -- the server's text is the editor's, in every position encoding --------------------------------

@pytest_lsp.fixture(config=server_config(), params=lsp_text.ENCODINGS, scope="module")
async def encoded(lsp_client: LanguageClient, request):
    """A client that offers one position encoding (the server must take it)."""
    caps = client_capabilities("visual-studio-code")
    caps = attrs.evolve(caps, general=attrs.evolve(caps.general, position_encodings=[request.param]))
    lsp_client.init_result = await initialize(lsp_client, capabilities=caps, options={"debounceMs": 0})
    assert lsp_client.init_result.capabilities.position_encoding == request.param
    lsp_client.encoding = request.param
    yield
    await lsp_client.shutdown_session()


SEEDS = [
    "in value: Int\u2028# note\rresult = value + 1\r\nout result\n",
    'in s: String\x0c\x85t = Trim(s)\x1c\x1d\x1e\x0b\nu = "😀\u2029${t}"\rout u',
    'in a: Int\n# \ud800 and 😀\nb = a * 2\r\rout b\r\n',
]
EDIT_TEXT = st.lists(st.sampled_from([*lsp_text.LINE_BREAK_LIKE, "😀", "\ud800", "\udc00", "é", "x",
                                      " ", "=", "+ 1", '"', "#", "${", "}", "in z: Int", "out z"]),
                     max_size=3).map("".join)
# (where, how many characters it replaces, new text); a didChange holds one to three of them
CHANGES = st.lists(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 4), EDIT_TEXT),
                            min_size=1, max_size=3), min_size=1, max_size=5)


def change_of(text: str, where: float, length: int, new: str, encoding: str):
    """An incremental change as an editor makes it, and the editor's text after it."""
    start = outside_crlf(text, int(where * len(text)))
    end = max(start, outside_crlf(text, min(len(text), start + length)))
    change = lsp.TextDocumentContentChangePartial(range=lsp.Range(
        start=encode_position(text, start, encoding), end=encode_position(text, end, encoding)), text=new)
    return change, lsp_text.join_pairs(text[:start] + new + text[end:])


def without_uri(diagnostics: list[lsp.Diagnostic]) -> list:
    return [(d.range, d.code, d.severity, d.message,
             [(r.location.range, r.message) for r in d.related_information or []])
            for d in diagnostics]


async def held_by_server(client: LanguageClient, uri: str, version: int) -> tuple:
    """What the server shows of its copy: diagnostics, semantic tokens, outline."""
    diagnostics = await wait_diagnostics(client, uri, version, timeout=10)
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=tdi(uri)))
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=tdi(uri)))
    return without_uri(diagnostics), list(tokens.data), [(s.name, s.range) for s in symbols or []]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), changes=CHANGES)
async def test_random_incremental_changes_leave_the_editors_text(encoded: LanguageClient, seed, changes):
    """Random didChange sequences over every line-break-like character, emoji and lone
    surrogates: the server then shows for its copy what a fresh didOpen of the editor's final
    text shows (diagnostics, semantic tokens, symbols), in UTF-8, UTF-16 and UTF-32."""
    client, encoding = encoded, encoded.encoding
    text = seed
    uri, _ = await open_doc(client, text)
    for version, group in enumerate(changes, start=2):
        content_changes = []
        for where, length, new in group:  # each change applies to the text after the previous
            change, text = change_of(text, where, length, new, encoding)
            content_changes.append(change)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=content_changes))
    incremental = await held_by_server(client, uri, len(changes) + 1)
    fresh, _ = await open_doc(client, text)
    assert incremental == await held_by_server(client, fresh, 1), repr(text)


async def test_a_rename_after_lone_cr_and_u2028_leaves_the_expected_text(encoded: LanguageClient):
    """The rename edits, applied as an editor applies them (its lines, its units), give exactly
    the renamed text, after an incremental change below characters pygls took for line breaks."""
    client, encoding = encoded, encoded.encoding
    text = ('in value: Int # \u2028 \x85 😀\n'  # a comment runs to \n, past a lone \r
            'double = value * 2\rnote = "\x0c\u2028\x1e"\r\ntwice = double + value\rout twice\n')
    uri, _ = await open_doc(client, text)
    change, text = change_of(text, text.index("twice =") / len(text), 0, "# \u2029\x0b\n", encoding)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[change]))
    await wait_diagnostics(client, uri, 2)
    at = encode_position(text, text.rindex("value"), encoding)
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=tdi(uri), position=at, new_name="result"))
    edits = [e for doc_edit in edit.document_changes for e in doc_edit.edits] if edit.document_changes \
        else edit.changes[uri]
    renamed = lsp_text.apply_edits(text, [((e.range.start.line, e.range.start.character,
                                            e.range.end.line, e.range.end.character), e.new_text)
                                           for e in edits], encoding)
    assert renamed == text.replace("value", "result")
