"""The architecture's import contracts (`.importlinter`, explained in ARCHITECTURE.md) hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept():
    linter = Path(sys.executable).parent / "lint-imports"
    command = [str(linter)] if linter.exists() else [shutil.which("lint-imports") or "lint-imports"]
    done = subprocess.run([*command, "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _contracts() -> dict[str, dict[str, str]]:
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    return {section.split(":", 2)[2]: dict(config[section]) for section in config.sections()
            if section.startswith("importlinter:contract:")}


def test_queries_know_no_lsp_and_features_no_parser_or_lexer():
    """The thin-feature rule of ARCHITECTURE.md is a contract, not a habit (issue 14)."""
    contracts = _contracts()
    queries = contracts["queries-know-no-lsp"]
    assert queries["source_modules"].split() == ["constellation.compiler.queries"]
    assert {"lsprotocol", "pygls"} <= set(queries["forbidden_modules"].split())
    features = contracts["features-read-no-parser-or-lexer"]
    assert features["source_modules"].split() == ["constellation.server.features"]
    assert set(features["forbidden_modules"].split()) == {
        "constellation.compiler.parser", "constellation.compiler.lexer"}


def _empty_module_containers(path: Path) -> list[str]:
    """Module-level names bound to an empty dict, list or set: a cache or a registry of
    state in a module global."""
    import ast

    found = []
    for node in ast.parse(path.read_text()).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if not isinstance(target, ast.Name) or value is None:
            continue
        empty = (isinstance(value, (ast.Dict, ast.List, ast.Set)) and not getattr(
            value, "keys", getattr(value, "elts", None))) or (
            isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in ("dict", "list", "set", "OrderedDict") and not value.args)
        if empty:
            found.append(f"{path.relative_to(REPO)}: {target.id}")
    return found


def test_no_feature_or_query_keeps_state_in_a_module_global():
    """Views of an Analysis are cached on it, protocol state is the document's state
    (server/documents.py): a module-level cache outlives its document and mixes documents."""
    rooms = [REPO / "server/constellation/server/features", REPO / "compiler/constellation/compiler/queries"]
    modules = [p for room in rooms for p in sorted(room.glob("*.py"))]
    modules += [REPO / "server/constellation/server" / name for name in ("documents.py", "server.py")]
    assert modules
    assert [found for path in modules for found in _empty_module_containers(path)] == []
