"""User settings: `initializationOptions` and the `constellation` configuration section.

Both use the same shape; `workspace/configuration` values override initialization options,
except for what decides which code runs. Configuration answers may come from a workspace's own
files (`.vscode/settings.json`, `.dir-locals.el`, `.nvim.lua`), so trust is the client's
`initializationOptions` (the user's own decision) and configuration can only withdraw it, and
the settings that name programs or code to run (`cli`, `modules`) are read from
`initializationOptions` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


MAX_DEBOUNCE_MS = 5000


@dataclass
class Settings:
    inlay_layers: bool = True
    inlay_types: bool = False
    inlay_values: bool = True
    lens_layers: bool = True
    trusted: bool = False  # nothing of the workspace runs until the client says the user trusts it
    modules: list[str] = field(default_factory=list)  # extra `--modules` specs for the registry
    debounce_ms: int = 200
    max_diagnostics: int = 1000  # per document; the rest are summed up in one more diagnostic
    registry_timeout_s: float = 30.0
    cli: list[str] | None = None  # command prefix for the `cst` child process

    def initialize(self, data: object) -> None:
        """The `initializationOptions`: every setting, trust and the programs to run included."""
        self.update(data)
        if not isinstance(data, dict):
            return
        self.trusted = _bool(data.get("trusted"), self.trusted)
        modules = data.get("modules")
        if isinstance(modules, list) and all(isinstance(m, str) for m in modules):
            self.modules = list(modules)
        cli = data.get("cli")
        if isinstance(cli, list) and cli and all(isinstance(c, str) for c in cli):
            self.cli = list(cli)

    def update(self, data: object) -> None:
        """Merge a configuration object (`workspace/configuration`, `didChangeConfiguration`);
        unknown or ill-typed keys are ignored. `trusted: false` withdraws trust for the rest of
        the session; `trusted: true`, `cli` and `modules` are ignored here (see the module doc)."""
        if not isinstance(data, dict):
            return
        hints = data.get("inlayHints")
        if isinstance(hints, dict):
            self.inlay_layers = _bool(hints.get("layers"), self.inlay_layers)
            self.inlay_types = _bool(hints.get("types"), self.inlay_types)
            self.inlay_values = _bool(hints.get("values"), self.inlay_values)
        lens = data.get("codeLens")
        if isinstance(lens, dict):
            self.lens_layers = _bool(lens.get("layers"), self.lens_layers)
        if data.get("trusted") is False:
            self.trusted = False
        debounce = data.get("debounceMs")
        if isinstance(debounce, (int, float)) and not isinstance(debounce, bool) and debounce == debounce:
            # a negative delay or one of hours would leave diagnostics never or always late
            self.debounce_ms = int(min(max(debounce, 0), MAX_DEBOUNCE_MS))
        limit = data.get("maxDiagnostics")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
            self.max_diagnostics = limit
        timeout = data.get("registryTimeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            self.registry_timeout_s = float(timeout)


def _bool(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default
