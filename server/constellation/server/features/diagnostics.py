"""Diagnostics: published immediately on open and save, debounced while typing, and never
for a version older than the document's current one."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from constellation.server.events import AnalysisReady, RunFinished, SettingsChanged, SignaturesChanged
from constellation.server.lsp_diagnostics import SOURCE, UNUSED, to_lsp

if TYPE_CHECKING:  # the compiler is imported when a document is analysed
    from constellation.compiler.analysis import Analysis

log = logging.getLogger(__name__)


def register(server) -> None:
    # what the services announce: a background analysis, new signatures, a run's failures,
    # a new cap all change what the published diagnostics should be
    server.subscribe(AnalysisReady, lambda e: schedule(server, e.uri, delay_s=0))
    server.subscribe(SignaturesChanged, lambda e: publish_all(server))
    server.subscribe(SettingsChanged, lambda e: publish_all(server))
    server.subscribe(RunFinished, lambda e: _run_finished(server, e.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.documents.state(params.text_document.uri)
        schedule(ls, params.text_document.uri, delay_s=0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: lsp.DidChangeTextDocumentParams) -> None:
        state = ls.documents.state(params.text_document.uri)
        if state.run is not None:
            state.run.failures = []  # run positions refer to the text that was run
        schedule(ls, params.text_document.uri, delay_s=ls.settings.debounce_ms / 1000)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: lsp.DidSaveTextDocumentParams) -> None:
        schedule(ls, params.text_document.uri, delay_s=0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: lsp.DidCloseTextDocumentParams) -> None:
        state = ls.documents.close(params.text_document.uri)
        if state is not None and state.debounce is not None:
            state.debounce.cancel()
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


def _run_finished(ls, uri: str) -> None:
    if ls.open_document(uri) is not None:  # a run of a closed document publishes nothing
        schedule(ls, uri, delay_s=0)


def schedule(ls, uri: str, delay_s: float) -> None:
    """(Re)start the publication timer of a document for its current version."""
    state = ls.documents.state(uri)
    if state.debounce is not None:
        state.debounce.cancel()
    version = ls.document_version(uri)
    loop = asyncio.get_running_loop()

    def fire() -> None:
        state.debounce = None
        task = loop.create_task(publish(ls, uri, version))
        task.add_done_callback(lambda t: _report_failure(ls, uri, t))

    if delay_s <= 0:
        fire()
    else:
        state.debounce = loop.call_later(delay_s, fire)


def _report_failure(ls, uri: str, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        ls.report_internal(f"publishing the diagnostics of {uri}", task.exception())


def publish_all(ls) -> None:
    for uri in ls.open_uris():
        schedule(ls, uri, delay_s=0)


async def publish(ls, uri: str, version: int | None) -> None:
    await ls.registries.ready(uri)
    if ls.document_version(uri) != version:
        return  # a newer version has its own publication scheduled
    analysis = ls.analysis(uri)
    if analysis is None or ls.document_version(uri) != version:
        return
    state = ls.documents.state(uri)
    protocol = ls.protocol
    items = published_items(ls, uri, analysis, state)
    items += [protocol.json_text(d) for d in run_diagnostics(ls, analysis, state.run)]
    state.published_version = version
    params = f'{{"uri": {json.dumps(uri)}, "diagnostics": [{", ".join(items)}]'
    if version is not None:
        params += f', "version": {json.dumps(protocol.client_version(uri, version))}'
    protocol.notify_json(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params + "}")


def published_items(ls, uri: str, analysis: Analysis, state) -> list[str]:
    """The document's diagnostics as JSON text, at most `maxDiagnostics` of them: thousands of
    problems (a generated or damaged file) would cost seconds and megabytes per publication,
    and nobody reads past the first ones. The cut is announced where it happens. Each item's
    JSON is the previous publication's when it shows the same at the same place (a keystroke
    changes a few), kept on the document's state."""
    from constellation.compiler.queries.bindings import unused_bindings
    from constellation.compiler.queries.reading import span_of

    pos = ls.positions(analysis)
    limit = ls.settings.max_diagnostics
    known, made = state.published_json, {}

    def item(key: tuple, make) -> str:
        found = known.get(key)
        if found is None:
            found = ls.protocol.json_text(make())
        made[key] = found
        return found

    shown = analysis.diagnostics[:limit]
    items = [item(_key(d, pos), lambda d=d: to_lsp(d, uri, pos)) for d in shown]
    if analysis.valid:  # while errors are shown, unused names are noise
        items += [item(("unused", decl.name.text, pos.pair(name.start), pos.pair(name.end)),
                       lambda decl=decl, name=name: unused_hint(decl, name, pos))
                  for decl in itertools.islice(unused_bindings(analysis), limit - len(shown))
                  for name in (span_of(analysis, decl.name),)]
    hidden = len(analysis.diagnostics) - len(shown)
    if hidden > 0:
        first = analysis.diagnostics[limit]
        items.append(ls.protocol.json_text(lsp.Diagnostic(
            range=pos.range(first.span), severity=lsp.DiagnosticSeverity.Information,
            source=SOURCE, code="more",
            message=f"{hidden:,} more problems from here on are not shown (the editor shows the "
                    f"first {limit:,}); `cst check` lists them all.")))
    state.published_json = made
    return items


def _key(d, pos) -> tuple:
    """Everything a compiler diagnostic shows, positions as the client counts them."""
    return (d.code, d.severity, d.message, pos.pair(d.span.start), pos.pair(d.span.end),
            tuple(d.tags), tuple((r.message, pos.pair(r.span.start), pos.pair(r.span.end))
                                 for r in d.related))


def unused_hint(decl, name, pos) -> lsp.Diagnostic:
    """`name`: the span of the declaration's name in the analysed text."""
    return lsp.Diagnostic(range=pos.range(name), severity=lsp.DiagnosticSeverity.Hint,
                          code=UNUSED, source=SOURCE, tags=[lsp.DiagnosticTag.Unnecessary],
                          message=f"'{decl.name.text}' is never used and is not an output")


def run_diagnostics(ls, analysis: Analysis, run) -> list[lsp.Diagnostic]:
    """Failed calls of the last run, at their call site (1-based line/column from events)."""
    from constellation.compiler.queries.runvalues import failure_span

    if run is None or not run.failures:
        return []
    pos = ls.positions(analysis)
    out: list[lsp.Diagnostic] = []
    for event in run.failures:
        error = event.get("error") or {}
        line, column = error.get("line") or event.get("line"), error.get("column") or event.get("column")
        if not isinstance(line, int) or not isinstance(column, int):
            continue
        out.append(lsp.Diagnostic(range=pos.range(failure_span(analysis, line, column)),
                                  message=f"Run failed: {error.get('message', 'the call failed')}",
                                  severity=lsp.DiagnosticSeverity.Error, source="constellation run"))
    return out
