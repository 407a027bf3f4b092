"""Diagnostics: the corpus's expected codes and lines, related information, tags, UTF-16 /
UTF-8 positions, debouncing and version ordering."""

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

import lsp_text

from server_support import (corpus_expected, corpus_file, fresh_uri, initialize, open_doc, server_config, tdi,
                      wait_diagnostics)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def compiler_diagnostics(diags):
    return [d for d in diags if d.source == "constellation" and d.code != "unused"]


@pytest.mark.corpus
async def test_every_corpus_file_has_its_expected_diagnostics(client: LanguageClient):
    mismatches = []
    for entry in corpus_expected():
        text = corpus_file(entry["path"]).read_text()
        uri, diags = await open_doc(client, text, fresh_uri(entry["path"].replace("/", "_")))
        got = sorted((d.code, d.range.start.line + 1) for d in compiler_diagnostics(diags))
        want = sorted((d["code"], d["line"]) for d in entry["diagnostics"])
        if got != want:
            mismatches.append(f"{entry['path']}: got {got}, expected {want}")
        errors = [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error]
        assert bool(errors) == (not entry["valid"]), entry["path"]
    assert not mismatches, "\n".join(mismatches)


async def test_duplicate_definition_points_at_the_first(client: LanguageClient):
    text = 'in x: Int\ny = x + 1\ny = x + 2\nout y\n'
    uri, diags = await open_doc(client, text)
    (dup,) = compiler_diagnostics(diags)
    assert dup.code == "E030" and dup.severity == lsp.DiagnosticSeverity.Error
    assert dup.range == lsp.Range(start=lsp.Position(2, 0), end=lsp.Position(2, 1))
    assert dup.message == "Duplicate definition of 'y' (first defined at 2:1)"
    (rel,) = dup.related_information
    assert rel.location.uri == uri
    assert rel.location.range == lsp.Range(start=lsp.Position(1, 0), end=lsp.Position(1, 1))


async def test_cycle_reports_every_name_with_related_edges(client: LanguageClient):
    text = 'a = b + 1\nb = a + 1\nout a\n'
    uri, diags = await open_doc(client, text)
    cycle = [d for d in compiler_diagnostics(diags) if d.code == "E031"]
    assert [d.range.start.line for d in cycle] == [0, 1]
    assert all(d.related_information for d in cycle)


async def test_warning_without_effect_is_tagged_unnecessary(client: LanguageClient):
    text = 'in s: String\nr = Uppercase(s) with delay: 1s\nout r\n'
    uri, diags = await open_doc(client, text)
    (w,) = compiler_diagnostics(diags)
    assert w.code == "W001" and w.severity == lsp.DiagnosticSeverity.Warning
    assert list(w.tags) == [lsp.DiagnosticTag.Unnecessary]


async def test_unused_binding_is_a_faded_hint(client: LanguageClient):
    text = 'in s: String\nunused = Trim(s)\nr = Uppercase(s)\nout r\n'
    uri, diags = await open_doc(client, text)
    (hint,) = [d for d in diags if d.code == "unused"]
    assert hint.severity == lsp.DiagnosticSeverity.Hint
    assert list(hint.tags) == [lsp.DiagnosticTag.Unnecessary]
    assert hint.range == lsp.Range(start=lsp.Position(1, 0), end=lsp.Position(1, 6))


async def test_positions_are_in_the_negotiated_encoding(client: LanguageClient):
    # '😀' is 2 UTF-16 units and 4 UTF-8 bytes: the column of `missing` differs per encoding
    text = 'in s: String\nr = "😀${s}" + missing\nout r\n'
    uri, diags = await open_doc(client, text)
    (e001,) = [d for d in compiler_diagnostics(diags) if d.code == "E001"]
    prefix = 'r = "😀${s}" + '
    units = len(prefix.encode("utf-8")) if client.profile == "neovim" else len(prefix.encode("utf-16-le")) // 2
    assert e001.range.start == lsp.Position(1, units)
    assert e001.range.end == lsp.Position(1, units + len("missing"))


@pytest_lsp.fixture(config=server_config(), scope="module")
async def slow_debounce(lsp_client: LanguageClient):
    await initialize(lsp_client, options={"debounceMs": 800})
    yield
    await lsp_client.shutdown_session()


async def test_open_and_save_are_immediate_while_typing_is_debounced(slow_debounce: LanguageClient):
    client = slow_debounce
    text = 'in s: String\nr = Uppercase(s)\nout r\n'
    await open_doc(client, text)  # waits for the registry, which loads once at start-up
    t0 = time.perf_counter()
    uri, _ = await open_doc(client, text)
    open_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text + "\n")]))
    await wait_diagnostics(client, uri, 2)
    change_s = time.perf_counter() - t0

    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
    t0 = time.perf_counter()
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await wait_diagnostics(client, uri, 3)
    save_s = time.perf_counter() - t0
    assert open_s < change_s / 2 and save_s < change_s / 2, (open_s, change_s, save_s)


async def test_incremental_edits_and_only_the_latest_version_is_published(slow_debounce: LanguageClient):
    client = slow_debounce  # 800 ms: the eight edits surely arrive within one debounce
    text = 'in s: String\nr = Uppercase(s)\nout r\n'
    uri, diags = await open_doc(client, text)
    assert compiler_diagnostics(diags) == []
    # type "Upx" over "Uppercase" one character at a time, 8 quick versions
    for version, ch in enumerate("Upxyzabc", start=2):
        start = lsp.Position(1, 4 + version - 2)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=start, end=start), text=ch)]))
    final = await wait_diagnostics(client, uri, 9)
    await asyncio.sleep(1.0)  # any stale publication would arrive by now
    # (version 1 may be published again: a reload of the signatures re-publishes every open document)
    versions = [p.version for p in client.published if p.uri == uri and p.version != 1]
    assert versions == [9], "debounced: nothing published for the intermediate versions"
    (e002,) = compiler_diagnostics(final)
    assert e002.code == "E002"
    assert e002.message.startswith("Undefined function 'UpxyzabcUppercase'")


@pytest.mark.parametrize("name", ["my pipeline.cst", "résumé, v2.cst", "a#b%c.cst"])
async def test_file_names_that_need_percent_encoding(client: LanguageClient, name):
    """Clients percent-encode URIs (`my%20pipeline.cst`, and `file:///c%3A/…` for every file
    on Windows); the server answers for them like for any other document."""
    uri = fresh_uri(name)
    assert "%" in uri
    text = "in n: Int\nm = n + missing\nout m\n"
    _, diags = await open_doc(client, text, uri)
    assert [(d.code, d.range.start.line) for d in compiler_diagnostics(diags)] == [("E001", 1)]
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=1, character=4)))
    assert hover is not None and "n: Int" in hover.contents.value


async def test_thousands_of_problems_are_cut_at_max_diagnostics(client: LanguageClient):
    """A damaged or generated file with 1,500 errors: the first 1,000 (the default of
    `maxDiagnostics`) are published, then one note where the cut is."""
    text = "".join(f"x{i} = missing{i}\n" for i in range(1500)) + "out x0\n"
    _, diags = await open_doc(client, text, fresh_uri("many-errors.cst"))
    errors = [d for d in diags if d.code == "E001"]
    assert len(errors) == 1000 and errors[-1].range.start.line == 999
    note = [d for d in diags if d.code == "more"]
    assert len(note) == 1 and note[0].range.start.line == 1000
    assert note[0].severity == lsp.DiagnosticSeverity.Information
    assert note[0].message.startswith("500 more problems from here on are not shown")


SURROGATE_DOC = ('in s: String\n# a lone surrogate: \ud800\nt = "\ud800${s}"\nr  =  Uppercase(t)\n'
                 'b = branch {\n  r == "" -> "empty",\n  otherwise -> r\n}\nbad = s * 2\nout b\n')


async def test_a_lone_surrogate_stops_nothing(client: LanguageClient):
    """A client may send `\\ud800` in JSON: the document still gets its diagnostics, where they
    belong, and every kind of request is answered."""
    uri, diags = await open_doc(client, SURROGATE_DOC)
    (bad,) = [d for d in compiler_diagnostics(diags) if d.severity == lsp.DiagnosticSeverity.Error]
    assert bad.range.start == lsp.Position(8, 6)
    doc = tdi(uri)
    hover = await client.text_document_hover_async(lsp.HoverParams(text_document=doc, position=lsp.Position(3, 8)))
    assert "Uppercase" in hover.contents.value
    completion = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=doc, position=lsp.Position(9, 4)))
    assert "t" in {item.label for item in completion.items}
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc))
    assert tokens.data
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc))
    assert {"s", "t", "r", "b", "bad"} <= {s.name for s in symbols}
    folds = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc))
    assert (4, 7) in {(f.start_line, f.end_line) for f in folds}
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=doc, options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    encoding = client.init_result.capabilities.position_encoding or "utf-16"
    formatted = lsp_text.apply_edits(SURROGATE_DOC, [((e.range.start.line, e.range.start.character,
                                                      e.range.end.line, e.range.end.character), e.new_text)
                                                     for e in edits], encoding)
    assert "\nr = Uppercase(t)\n" in formatted and formatted.count("\ud800") == 2
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    assert lenses
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=doc, range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(10, 0))))
    assert hints
