"""The document model: one analysis per (document, version), shared by every feature.

Each open document keeps the compiler's ParseCache (incremental parsing at declaration
granularity) and the analysis of its latest version; features ask `analysis(uri)` and get the
analysis of exactly the text the client has now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from constellation.compiler.analysis import Analysis, analyze
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


@dataclass
class DocumentState:
    uri: str
    cache: ParseCache = field(default_factory=ParseCache)
    analysis: Analysis | None = None
    version: int | None = None
    generation: int = -1  # registry generation the analysis was made with
    published_version: int | None = None
    run: RunValues | None = None
    debounce: object = None  # asyncio.TimerHandle of a pending publication


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
                     generation: int) -> Analysis:
        """The analysis of `text` (memoised per version and registry generation)."""
        st = self.state(uri)
        if (st.analysis is not None and st.version == version and st.generation == generation
                and st.analysis.text == text):
            return st.analysis
        st.analysis = analyze(text, registry, cache=st.cache)
        st.version = version
        st.generation = generation
        return st.analysis

