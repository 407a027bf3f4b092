"""User settings: `initializationOptions` and the `constellation` configuration section.

Both use the same shape; `workspace/configuration` values override initialization options.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Settings:
    inlay_layers: bool = True
    inlay_types: bool = False
    inlay_values: bool = True
    lens_layers: bool = True
    trusted: bool = True
    modules: list[str] = field(default_factory=list)  # extra `--modules` specs for the registry
    debounce_ms: int = 200
    max_diagnostics: int = 1000  # per document; the rest are summed up in one more diagnostic
    registry_timeout_s: float = 30.0
    cli: list[str] | None = None  # command prefix for the `cst` child process

    def update(self, data: object) -> None:
        """Merge a settings object as sent by the client; unknown or ill-typed keys are ignored."""
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
        self.trusted = _bool(data.get("trusted"), self.trusted)
        modules = data.get("modules")
        if isinstance(modules, list) and all(isinstance(m, str) for m in modules):
            self.modules = list(modules)
        debounce = data.get("debounceMs")
        if isinstance(debounce, int) and not isinstance(debounce, bool) and debounce >= 0:
            self.debounce_ms = debounce
        limit = data.get("maxDiagnostics")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
            self.max_diagnostics = limit
        timeout = data.get("registryTimeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            self.registry_timeout_s = float(timeout)
        cli = data.get("cli")
        if isinstance(cli, list) and cli and all(isinstance(c, str) for c in cli):
            self.cli = list(cli)


def _bool(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default
