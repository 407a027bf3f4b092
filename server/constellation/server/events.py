"""What the services announce and the features subscribe to.

The services (documents, registries, runs, the server itself) never import a feature: they
announce what happened with `server.announce(event)`, and each feature's `register(server)`
subscribes the reactions it owns with `server.subscribe(EventType, handler)`. Handlers run at
once, in the order they subscribed, on the caller's (event loop) thread.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisReady:
    """The analysis of `uri`'s current text was made in the background (a large document)."""
    uri: str


@dataclass(frozen=True)
class SignaturesChanged:
    """The module signatures of a scope were (re)loaded; `scope` is its folder (None: the
    workspace root or every scope)."""
    scope: Path | None = None


@dataclass(frozen=True)
class RunFinished:
    """A run of `uri` ended; its values and failures are on the document's state."""
    uri: str


@dataclass(frozen=True)
class SettingsChanged:
    """Settings changed in a way that leaves the signatures as they are (the diagnostics cap)."""


Event = AnalysisReady | SignaturesChanged | RunFinished | SettingsChanged
E = TypeVar("E", AnalysisReady, SignaturesChanged, RunFinished, SettingsChanged)


class EventHub:
    def __init__(self, report: Callable[[str, BaseException], None]) -> None:
        self._handlers: dict[type, list[Callable]] = defaultdict(list)
        self._report = report

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[kind].append(handler)

    def announce(self, event: Event) -> None:
        # one subscriber's bug must not keep the others from hearing of the event
        for handler in list(self._handlers.get(type(event), ())):
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - reported, never raised into the service
                self._report(f"handling {type(event).__name__}", exc)
