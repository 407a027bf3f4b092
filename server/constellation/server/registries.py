"""Module signatures per configuration scope.

A document sees the modules of the `constellation.toml` nearest to it (beside or above the
file), exactly as `cst check` and `cst run` do; documents without one see the workspace
root's. Each scope is loaded once, in a `cst modules --json` child process, when its first
document is opened (or at start-up for the root), and reloaded when module files change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from constellation.server.events import SignaturesChanged
from constellation.server.registry_loader import load_workspace_registry, stdlib_registry

if TYPE_CHECKING:
    from constellation.compiler.registry import Registry

@dataclass(eq=False)
class Scope:
    folder: Path | None  # the configuration's folder; None: no configuration (workspace root)
    registry: Registry
    generation: int
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Future | None = None
    load_token: object = None  # the latest load: an older one that ends later is dropped


class Registries:
    """The scopes of one server, keyed by configuration folder."""

    def __init__(self, server) -> None:
        self.server = server
        self.scopes: dict[Path | None, Scope] = {}
        self.keys: dict[str, Path | None] = {}  # document URI -> scope key (file system walk once)
        self._generation = 0
        # loads wait for start-up (settings and trust come from the client first)
        self.started = asyncio.Event()

    def next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def key_for(self, uri: str) -> Path | None:
        key = self.keys.get(uri, ...)
        if key is ...:
            from constellation.compiler.project import find_config

            config = find_config(self.server.path_of(uri))
            key = self.keys[uri] = config.parent if config is not None else self.root_key()
        return key

    def root_key(self) -> Path | None:
        from constellation.compiler.project import find_config

        config = find_config(self.server.root)
        return config.parent if config is not None else None

    def scope(self, key: Path | None) -> Scope:
        """The scope for `key`, created (stdlib until loaded) and its load started if new."""
        scope = self.scopes.get(key)
        if scope is None:
            scope = self.scopes[key] = Scope(key, stdlib_registry(), self.next_generation())
            if self.started.is_set():
                self.start_load(scope)
        return scope

    def current(self, uri: str) -> tuple[Registry, int]:
        """The registry a document sees now and its generation (which changes on reload)."""
        scope = self.scope(self.key_for(uri))
        return scope.registry, scope.generation

    async def ready(self, uri: str) -> None:
        """Wait until the document's scope has loaded (diagnostics must not show modules as
        undefined just because their signatures are still loading)."""
        await self.started.wait()
        await self.scope(self.key_for(uri)).ready.wait()

    def mark_started(self) -> None:
        """Start-up is over: from now on a new scope loads at once, and any scope a document
        opened during start-up (after the first loads began) loads now."""
        self.started.set()
        for scope in self.scopes.values():
            if not scope.ready.is_set() and scope.task is None:
                self.start_load(scope)

    def start_load(self, scope: Scope) -> None:
        if scope.task is not None and not scope.task.done():
            scope.task.cancel()  # a reload supersedes a load in progress (its child is killed)
        scope.task = asyncio.ensure_future(self._load_and_publish(scope))

    async def reload_all(self) -> None:
        """(Re)load the root scope and every scope a document opened; returns when done."""
        self.keys.clear()  # a constellation.toml may have appeared or gone
        self.scope(self.root_key())
        await asyncio.gather(*(self.load(scope) for scope in list(self.scopes.values())))

    async def _load_and_publish(self, scope: Scope) -> None:
        await self.load(scope)
        self.server.announce(SignaturesChanged(scope.folder))
        self.server.refresh_views()

    async def load(self, scope: Scope) -> None:
        ls = self.server
        token = scope.load_token = object()
        try:
            if not ls.settings.trusted:
                registry = stdlib_registry()
            else:
                loaded = await load_workspace_registry(
                    ls.root, ls.settings.modules, ls.settings.registry_timeout_s,
                    ls.settings.cli, target=scope.folder)
                if scope.load_token is not token:
                    return  # settings changed meanwhile (trust withdrawn): the newer load wins
                registry = loaded.registry
                for error in loaded.errors:
                    ls.show(f"Constellation: {error}", _warning())
            scope.registry = registry
            scope.generation = self.next_generation()
        finally:
            if scope.load_token is token:  # an overtaken load leaves "ready" to the newer one
                scope.ready.set()  # documents are published even if the load went wrong


def _warning():
    from lsprotocol import types as lsp
    return lsp.MessageType.Warning
