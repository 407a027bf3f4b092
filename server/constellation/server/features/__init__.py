"""One module per LSP feature; each exposes `register(server)`."""

from __future__ import annotations

from importlib import import_module

FEATURES = (
    "lifecycle", "diagnostics", "hover", "inlay_hints", "code_lens", "completion",
    "signature_help", "navigation", "symbols", "folding", "semantic_tokens", "formatting",
    "code_actions", "commands", "graph", "run_inputs",
)


def register_all(server) -> None:
    for name in FEATURES:
        import_module(f"{__name__}.{name}").register(server)
