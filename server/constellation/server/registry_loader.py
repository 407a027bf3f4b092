"""Module signatures of the workspace, loaded in a child process.

The server never imports workspace code itself: `cst modules --json` runs in a child process
with a timeout, and its JSON is turned back into a registry (functions without `impl`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the compiler is imported once signatures load, after `initialize`
    from constellation.compiler.registry import Registry

log = logging.getLogger(__name__)

# `python -c` keeps the child independent of whether a `cst` script is on PATH.
CLI_PREFIX = [sys.executable, "-c",
              "import sys; from constellation.cli.main import main; sys.exit(main())"]


def stdlib_registry() -> Registry:
    from constellation.compiler.registry import Registry

    try:
        from constellation.compiler.stdlib import stdlib_registry as build
    except ImportError:  # the stdlib module is not available in this checkout
        return Registry()
    return build()


@dataclass
class RegistryLoad:
    registry: Registry
    errors: list[str] = field(default_factory=list)


def cli_command(prefix: list[str] | None) -> list[str]:
    return list(prefix) if prefix else list(CLI_PREFIX)


async def load_workspace_registry(root: Path | None, modules: list[str], timeout_s: float,
                                  cli: list[str] | None = None, *,
                                  target: Path | None = None) -> RegistryLoad:
    """Run `cst modules --json` in the workspace for the folder `target` (default: the root);
    stdlib only (with the reason) on failure. `modules` are relative to the root."""
    cmd = cli_command(cli) + ["modules", "--json"]
    for spec in modules:
        cmd += ["--modules", spec]
    if target is not None or root is not None:
        cmd.append(str(target if target is not None else root))
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL, cwd=str(root) if root and root.is_dir() else None)
    except OSError as exc:
        return RegistryLoad(stdlib_registry(), [f"Could not start '{cmd[0]}' to load module signatures: {exc}."])
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.TimeoutError:
        await _kill(proc)
        return RegistryLoad(stdlib_registry(), [
            f"Loading module signatures took longer than {timeout_s:g} s and was stopped; "
            "only the standard library is available."])
    except asyncio.CancelledError:
        await _kill(proc)
        raise
    return _registry_from_output(proc.returncode, out, err)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def _registry_from_output(status: int | None, out: bytes, err: bytes) -> RegistryLoad:
    try:
        data = json.loads(out.decode("utf-8", "replace") or "null")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        reason = _last_line(err) or f"exit status {status}"
        return RegistryLoad(stdlib_registry(), [f"Could not load module signatures ({reason}); "
                                                "only the standard library is available."])
    try:
        from constellation.compiler.registry_json import registry_from_json
        registry = registry_from_json(data)
    except Exception as exc:  # a malformed answer must not take the server down
        log.exception("registry_from_json failed")
        return RegistryLoad(stdlib_registry(), [f"Could not read module signatures: {exc}."])
    errors = [str(e) for e in data.get("errors", []) if e] if isinstance(data.get("errors"), list) else []
    if status not in (0, None) and not errors:
        errors.append(_last_line(err) or f"'cst modules' exited with status {status}")
    return RegistryLoad(registry, errors)


def _last_line(data: bytes) -> str:
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else ""
