"""`cst fmt PATH... [--check] [--diff]`: rewrite files in the canonical layout (a folder:
every .cst file below it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from constellation.cli._shared import (
    STDIN, UserError, add_stdin_option, expand_paths, has_byte_order_mark, plural, read_source,
    rendered, source_name,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fmt", help="format .cst files in place (or check that they are formatted)",
        description="Rewrite each file in the canonical layout. Files with syntax errors are "
                    "refused (exit status 2), showing their errors.")
    parser.add_argument("files", nargs="+", metavar="PATH",
                        help="a .cst file, a folder (every .cst file below it), or - to "
                             "format standard input to standard output")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit status 1 when a file would be reformatted")
    parser.add_argument("--diff", action="store_true",
                        help="change nothing; print what would change as a unified diff "
                             "(exit status 1 when a file would be reformatted)")
    add_stdin_option(parser)
    parser.set_defaults(func=run_fmt)


def syntax_errors(text: str, path: str) -> str:
    """Rendered E020 diagnostics of `text` (which the formatter refused)."""
    from constellation.compiler.parser import parse
    from constellation.compiler.source import Source

    errors = [d for d in parse(text).diagnostics if d.code == "E020"]
    return rendered(errors, Source(text), path) + \
        f"\n{path}: not formatted: the file has {plural(len(errors), 'syntax error')}"


def formatter():
    try:
        from constellation.compiler.formatter import format_source
    except ImportError as exc:
        raise UserError(f"cst fmt is unavailable in this installation: {exc}") from None
    return format_source


def run_fmt(args: argparse.Namespace) -> int:
    paths = expand_paths(args.files)
    if STDIN in paths:
        if len(paths) > 1:
            raise UserError("'-' (standard input) cannot be formatted together with files")
        return format_stdin(args)
    format_source = formatter()
    texts, formatted, problems = {}, {}, []
    for path in paths:  # a file that cannot be formatted does not stop the others
        try:
            texts[path] = read_source(path)
        except UserError as exc:
            problems.append(str(exc))
            continue
        formatted[path] = format_source(texts[path])
        if formatted[path] is None:  # syntax errors (parsed again only to show them)
            problems.append(syntax_errors(texts.pop(path), path))
    changed = [path for path, text in texts.items() if formatted[path] != text]
    written = []
    for path in changed:
        if args.diff:
            sys.stdout.write(unified_diff(texts[path], formatted[path], path))
        elif args.check:
            print(f"would reformat {path}")
        else:
            # a byte order mark the file had is kept (read_source drops it from the text)
            encoding = "utf-8-sig" if has_byte_order_mark(path) else "utf-8"
            try:
                Path(path).write_text(formatted[path], encoding=encoding, newline="")
            except OSError as exc:
                problems.append(f"{path}: cannot write the file: {exc.strerror or exc}")
                continue
            written.append(path)
            print(f"reformatted {path}")
    dry = args.check or args.diff
    count = len(changed) if dry else len(written)
    verb = "would be reformatted" if dry else "reformatted"
    summary = f"{plural(count, 'file')} {verb}, {len(texts) - len(changed)} already formatted."
    if texts:
        print(summary, file=sys.stderr if args.diff else sys.stdout)  # a diff alone on stdout
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        if texts:
            print(f"{plural(len(problems), 'file')} could not be formatted.", file=sys.stderr)
        return 2
    return 1 if dry and changed else 0


def unified_diff(before: str, after: str, path: str) -> str:
    """`--- path` / `+++ path` hunks, every line ending in a newline (patch can apply it)."""
    import difflib

    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=path, tofile=path)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def format_stdin(args: argparse.Namespace) -> int:
    """Standard input to standard output, as editors' format-on-save tools call formatters;
    with syntax errors nothing is written to standard output (the buffer stays as it is)."""
    name = source_name(STDIN, args)
    text = read_source(STDIN, name)
    formatted = formatter()(text)
    if formatted is None:
        raise UserError(syntax_errors(text, name))
    if args.diff:
        sys.stdout.write(unified_diff(text, formatted, name))
        return 1 if formatted != text else 0
    if args.check:
        if formatted != text:
            print(f"would reformat {name}")
            return 1
        return 0
    # bytes: the text's own line endings, whatever the platform's text mode would make of them
    sys.stdout.flush()
    sys.stdout.buffer.write(formatted.encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0
