"""What every subcommand needs: reading files, building registries, analysing, user errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from constellation.compiler.registry import Registry


class UserError(Exception):
    """A mistake of the user (missing file, bad configuration, broken pipeline): exit status 2.

    Its message is printed as is, one sentence per line, without a traceback."""


def add_modules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--modules", "-m", action="append", default=[], metavar="M",
        help="a module file (path/to/file.py) or importable module (package.module) to load, "
             "in addition to constellation.toml; repeatable")


STDIN = "-"  # as a PATH: the pipeline is read from standard input (editor integrations pipe it)


def add_stdin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stdin-filename", metavar="PATH", default=None,
        help="with '-' as the file: the name standard input is reported under; its "
             "constellation.toml is looked for from there (default: the current folder)")


def source_name(path: str, args: argparse.Namespace) -> str:
    """The name a file is reported under: standard input takes --stdin-filename, or <stdin>
    (whose configuration is then found from the current folder)."""
    if path != STDIN:
        return path
    return getattr(args, "stdin_filename", None) or "<stdin>"


_SKIPPED_FOLDERS = {"node_modules", "__pycache__"}


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given; a folder stands for the .cst files below it (sorted; hidden folders,
    node_modules and __pycache__ skipped), as linters and formatters take folders."""
    out: list[str] = []
    for path in paths:
        folder = Path(path)
        if path == STDIN:
            if STDIN in out:
                raise UserError("'-' (standard input) can be given only once")
            out.append(path)
            continue
        if not folder.is_dir():
            out.append(path)
            continue
        found = sorted(str(p) for p in folder.rglob("*.cst") if p.is_file() and not any(
            part.startswith(".") or part in _SKIPPED_FOLDERS
            for part in p.relative_to(folder).parts[:-1]))
        if not found:
            raise UserError(f"{path}: no .cst files in this folder")
        out += found
    return out


def has_byte_order_mark(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return False


def read_source(path: str, name: str | None = None) -> str:
    """The text of a .cst file ('-': standard input), or a UserError sentence saying why not;
    messages call it `name` (default: the path)."""
    name = name or path
    if path == STDIN:
        return _decode(sys.stdin.buffer.read(), name)
    file = Path(path)
    if not file.exists():
        raise UserError(f"{path}: no such file")
    if file.is_dir():
        raise UserError(f"{path}: is a directory, not a .cst file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    return _decode(data, name)


def _decode(data: bytes, name: str) -> str:
    try:
        # "utf-8-sig": a byte order mark (Windows editors write one) is not part of the text,
        # as editors do not show it either, so positions agree with what the user sees
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # lines counted as the editor (and LSP) counts them: a lone \r ends one too
        before = data[:exc.start]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        raise UserError(f"{name}:{line}: the file is not UTF-8 text "
                        f"(invalid byte 0x{data[exc.start]:02x} at byte offset {exc.start})") from None


_REGISTRIES: dict[tuple[str | None, tuple[str, ...]], tuple[Registry, list[str]]] = {}


def registry_for(path: str | Path, extra_modules: Iterable[str] = ()) -> Registry:
    """The registry seen from `path` (stdlib, constellation.toml modules, --modules);
    configuration or import problems are a UserError."""
    from constellation.compiler.project import find_config
    from constellation.runtime.modules import load_config_registry

    config = find_config(path)
    key = (str(config) if config else None, tuple(extra_modules))
    if key not in _REGISTRIES:  # failures too: a folder of files imports its modules once
        _REGISTRIES[key] = load_config_registry(path, tuple(extra_modules))
    registry, errors = _REGISTRIES[key]
    if errors:
        raise UserError("\n".join(errors))
    return registry


def analyze_file(path: str, name: str, extra_modules: Iterable[str] = ()):
    """(source text, Analysis) of a .cst file ('-': standard input) reported as `name`."""
    text = read_source(path, name)
    return text, analyze_text(name, text, extra_modules)


def analyze_text(path: str, text: str, extra_modules: Iterable[str] = ()):
    """The Analysis of `text`, read from `path` (whose location decides the registry)."""
    from constellation.compiler import analyze

    return analyze(text, registry_for(path, extra_modules))


def use_color(stream) -> bool:
    """ANSI colours on a terminal, unless NO_COLOR is set; FORCE_COLOR asks for them anywhere
    (the conventions of no-color.org and force-color.org)."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def rendered(diagnostics, source, path: str, stream=None) -> str:
    """Diagnostics as text for `stream` (standard error by default), coloured on a terminal."""
    from constellation.compiler.diagnostics import render_text

    return render_text(diagnostics, source, path, color=use_color(stream or sys.stderr))


def require_valid(analysis, path: str) -> None:
    """Commands that need the plan refuse a file with errors, showing its diagnostics."""
    if analysis.valid:
        return
    errors = [d for d in analysis.diagnostics if d.is_error]
    raise UserError(rendered(errors, analysis.source, path) + "\n"
                    f"{path}: the pipeline has {_count(len(errors), 'error')}; "
                    f"fix {'it' if len(errors) == 1 else 'them'} first (see `cst check {path}`)")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def plural(n: int, word: str) -> str:
    return _count(n, word)


def console():
    """A rich console; when the output is not a terminal, wide enough not to wrap tables."""
    from rich.console import Console

    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=200)
