"""The document model: one analysis per (document, version), shared by every feature.

Each open document keeps the compiler's ParseCache (incremental parsing at declaration
granularity) and the analysis of its latest version; features ask `analysis(uri)` and get the
analysis of exactly the text the client has now.

A large document analysed from scratch (opened, pasted, or its modules reloaded) is analysed
in a worker thread instead: a megabyte takes seconds, and the server must go on answering for
every other document meanwhile. Until it is done, `analysis(uri)` gives None for that document
(most features answer with nothing; the outline, folding and commands wait for it with
`analysis_when_ready`), and the server publishes and asks for refreshes when it is done.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constellation.compiler.queries.semantic_tokens import TokenPieces
    from constellation.compiler.analysis import Analysis
    from constellation.compiler.parser import ParseCache
    from constellation.compiler.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class RunValues:
    """What the last run of a document produced, for inlay hints and diagnostics."""

    values: dict[str, object] = field(default_factory=dict)  # binding name -> JSON value
    durations: dict[str, float] = field(default_factory=dict)  # binding name -> ms
    failures: list[dict] = field(default_factory=list)  # node_failed events
    version: int | None = None  # document version that was run


def analyze(text: str, registry: Registry, cache: ParseCache) -> Analysis:
    # the compiler is imported when the first document is analysed, not when the server
    # starts: the editor has its `initialize` result without waiting for the checker
    from constellation.compiler.analysis import analyze as analyse_text

    return analyse_text(text, registry, cache=cache)


def new_token_pieces() -> TokenPieces:
    from constellation.compiler.queries.semantic_tokens import TokenPieces

    return TokenPieces()


def new_parse_cache() -> ParseCache:
    from constellation.compiler.parser import ParseCache

    return ParseCache()


@dataclass
class DocumentState:
    uri: str
    cache: ParseCache = field(default_factory=new_parse_cache)
    analysis: Analysis | None = None
    version: int | None = None
    generation: int = -1  # registry generation the analysis was made with
    published_version: int | None = None
    run: RunValues | None = None
    debounce: object = None  # asyncio.TimerHandle of a pending publication
    worker: asyncio.Future | None = None  # an analysis being made in a worker thread
    # protocol state: what the last answers sent, which the next ones build on
    tokens: tuple[str, list[int]] | None = None  # semantic tokens: (result id, data)
    symbols: dict = field(default_factory=dict)  # document symbols by all they show
    published_json: dict = field(default_factory=dict)  # published diagnostics (JSON) by all they show
    lenses: tuple | None = None  # (a weak reference to the analysis, what is shown, the answer)
    lens_json: dict = field(default_factory=dict)  # a per-binding lens's JSON by place and text
    completion_json: dict = field(default_factory=dict)  # a completion item's JSON by item
    # one declaration's semantic tokens by its text, reused across versions (queries)
    token_pieces: TokenPieces = field(default_factory=new_token_pieces)


# Documents this large (characters) analysed from scratch go to a worker thread: about 200 ms
# of analysis; smaller ones, and edits that the quick path takes, are analysed at once.
BACKGROUND_CHARS = 128_000


def _event_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # called outside the server's loop: analyse at once
        return None


class DocumentStore:
    def __init__(self) -> None:
        self.states: dict[str, DocumentState] = {}

    def state(self, uri: str) -> DocumentState:
        st = self.states.get(uri)
        if st is None:
            st = self.states[uri] = DocumentState(uri)
        return st

    def close(self, uri: str) -> DocumentState | None:
        return self.states.pop(uri, None)

    def analysis_for(self, uri: str, text: str, version: int | None, registry: Registry,
                     generation: int, on_background=None) -> Analysis | None:
        """The analysis of `text` (memoised per version and registry generation); None while
        a worker thread makes one (`on_background(uri, error)` is called on the event loop
        when it is done)."""
        st = self.state(uri)
        if st.worker is not None:
            return None  # the worker owns the cache until it is done
        if (st.analysis is not None and st.version == version and st.generation == generation
                and st.analysis.text == text):
            return st.analysis
        if on_background is not None and self._from_scratch(st, text, generation) \
                and _event_loop() is not None:
            self._start_worker(uri, st, text, version, registry, generation, on_background)
            return None
        st.analysis = analyze(text, registry, st.cache)
        st.version = version
        st.generation = generation
        return st.analysis

    @staticmethod
    def _from_scratch(st: DocumentState, text: str, generation: int) -> bool:
        """A large text the quick path cannot take from the previous analysis."""
        if len(text) < BACKGROUND_CHARS:
            return False
        previous = st.analysis
        return previous is None or st.generation != generation \
            or abs(len(text) - len(previous.text)) > BACKGROUND_CHARS // 2

    def _start_worker(self, uri: str, st: DocumentState, text: str, version: int | None,
                      registry: Registry, generation: int, on_done) -> None:
        loop = asyncio.get_running_loop()
        st.worker = loop.run_in_executor(
            None, functools.partial(analyze, text, registry, st.cache))

        def finished(worker: asyncio.Future) -> None:
            st.worker = None
            if self.states.get(uri) is not st:
                return  # closed meanwhile
            error = None if worker.cancelled() else worker.exception()
            if error is None and not worker.cancelled():
                st.analysis, st.version, st.generation = worker.result(), version, generation
            else:
                st.cache = new_parse_cache()  # whatever the failed analysis left in it
            on_done(uri, error)

        st.worker.add_done_callback(finished)

