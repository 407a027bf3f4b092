"""Initialization, settings and the workspace registry (loaded in a child process)."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types as lsp

from constellation.server.events import SettingsChanged, SignaturesChanged


log = logging.getLogger(__name__)

SECTION = "constellation"
UNTRUSTED_MESSAGE = (
    "Constellation: this workspace is not trusted, so only the standard library's module "
    "signatures are loaded and no workspace code runs (calls to your own modules show as "
    "undefined). Trust the workspace to load them ({how}).")
# how the user of each editor trusts a workspace (by the client's name in `initialize`)
HOW_TO_TRUST = {
    "code": "Manage Workspace Trust",
    "neovim": ":ConstellationTrust",
    "nvim": ":ConstellationTrust",
    "emacs": "M-x constellation-trust-workspace",
    "eglot": "M-x constellation-trust-workspace",
}
HOW_TO_TRUST_ANYWHERE = ("VS Code: Manage Workspace Trust; Neovim: :ConstellationTrust; Emacs: "
                         "M-x constellation-trust-workspace; other editors: "
                         "initializationOptions.trusted")


def untrusted_message(client_name: str | None) -> str:
    name = (client_name or "").lower()
    how = next((text for key, text in HOW_TO_TRUST.items() if key in name), HOW_TO_TRUST_ANYWHERE)
    return UNTRUSTED_MESSAGE.format(how=how)


def register(server) -> None:
    @server.feature(lsp.INITIALIZE)
    def on_initialize(ls, params: lsp.InitializeParams) -> None:
        ls.settings.initialize(params.initialization_options)
        ls.client_name = params.client_info.name if params.client_info else None
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        ls.root = ls.path_of(root) if root else None

    @server.feature(lsp.INITIALIZED)
    async def on_initialized(ls, params: lsp.InitializedParams) -> None:
        try:
            await pull_configuration(ls)
            await watch_module_files(ls)
            await reload_registry(ls)
        finally:
            ls.registries.mark_started()  # documents are published even if start-up went wrong

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def on_configuration(ls, params: lsp.DidChangeConfigurationParams) -> None:
        # synchronous when the settings come with the notification, so that requests sent
        # right after it already see them
        settings = params.settings
        before = _effects(ls.settings)
        if isinstance(settings, dict) and isinstance(settings.get(SECTION), dict):
            ls.settings.update(settings[SECTION])
            apply_settings(ls, before)
            return

        async def pull_and_apply() -> None:
            await pull_configuration(ls)
            apply_settings(ls, before)
        asyncio.ensure_future(pull_and_apply())

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def on_watched_files(ls, params: lsp.DidChangeWatchedFilesParams) -> None:
        if any(_affects_registry(change.uri) for change in params.changes):
            await reload_registry(ls, announce=False)  # "not trusted" was said at start


def _effects(settings) -> tuple[tuple, int]:
    """What a settings change may require: the settings the module signatures are loaded
    with, and the diagnostics cap."""
    return ((settings.trusted, tuple(settings.modules), settings.registry_timeout_s,
             tuple(settings.cli or ())), settings.max_diagnostics)


def apply_settings(ls, before: tuple[tuple, int]) -> None:
    """Settings take effect at once: trust, modules or the loader changed → the signatures
    are loaded again; the diagnostics cap changed → every document is published again."""
    registry_before, cap_before = before
    registry_now, cap_now = _effects(ls.settings)
    if registry_now != registry_before:
        trust_changed = registry_now[0] != registry_before[0]  # say "not trusted" only then
        if trust_changed and not ls.settings.trusted:
            for uri in list(ls.runs.runs):  # a withdrawn trust also stops what is running
                ls.runs.cancel(uri)
        asyncio.ensure_future(reload_registry(ls, announce=trust_changed))
        return
    if cap_now != cap_before:
        ls.announce(SettingsChanged())
    ls.refresh_views()


def _affects_registry(uri: str) -> bool:
    return uri.endswith("constellation.toml") or uri.endswith(".py")


async def pull_configuration(ls) -> None:
    ws = ls.client_capabilities.workspace
    if ws is None or not ws.configuration:
        return
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(
            lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section=SECTION)])), 5)
    except Exception:  # a client that cannot answer keeps the initialization options
        log.warning("workspace/configuration failed", exc_info=True)
        return
    if result:
        ls.settings.update(result[0])


async def watch_module_files(ls) -> None:
    ws = ls.client_capabilities.workspace
    watched = ws.did_change_watched_files if ws else None
    if watched is None or not watched.dynamic_registration:
        return
    options = lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[
        lsp.FileSystemWatcher(glob_pattern="**/constellation.toml"),
        lsp.FileSystemWatcher(glob_pattern="**/*.py"),
    ])
    try:
        await asyncio.wait_for(ls.client_register_capability_async(lsp.RegistrationParams(
            registrations=[lsp.Registration(id="constellation-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                            register_options=options)])), 5)
    except Exception:
        log.warning("the client refused the file watcher registration")


async def reload_registry(ls, announce: bool = True) -> None:
    """Load (again) the signatures of every scope (stdlib only when untrusted), then
    re-publish every open document."""
    if announce and not ls.settings.trusted:
        ls.show(untrusted_message(ls.client_name), lsp.MessageType.Warning)
    await ls.registries.reload_all()
    ls.registries.mark_started()
    ls.announce(SignaturesChanged())
    ls.refresh_views()
