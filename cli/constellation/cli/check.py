"""`cst check PATH... [--format text|json|github] [--modules M]`: every diagnostic of each file (a
folder: every .cst file below it)."""

from __future__ import annotations

import argparse
import json
import sys

from constellation.cli._shared import (
    UserError, add_modules_option, add_stdin_option, analyze_text, expand_paths, plural, read_source,
    rendered, source_name,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="report the errors and warnings of .cst files",
        description="Report every diagnostic of each file; exit status 1 when any has an error.")
    parser.add_argument("files", nargs="+", metavar="PATH",
                        help="a .cst file, a folder (every .cst file below it), or - for "
                             "standard input")
    parser.add_argument("--format", choices=("text", "json", "github"), default="text",
                        help="text (default), json, or github: workflow commands that GitHub "
                             "Actions shows as annotations on the lines of a pull request")
    add_stdin_option(parser)
    add_modules_option(parser)
    parser.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Every file is reported; one that cannot be checked (missing, not UTF-8, its modules
    fail to load) is reported as such and makes the exit status 2, after the others."""
    results, problems = [], []
    for path in expand_paths(args.files):
        name = source_name(path, args)
        try:
            text = read_source(path, name)
            results.append((name, text, analyze_text(name, text, args.modules)))
        except UserError as exc:
            problems.append((name, str(exc)))
    if args.format == "json":
        print(json.dumps(json_report(results, problems), indent=2, ensure_ascii=False))
    elif args.format == "github":
        for line in github_annotations(results, problems):
            print(line)
    else:
        print_text_report(results, problems)
    if problems:
        return 2
    return 1 if any(not analysis.valid for _, _, analysis in results) else 0


def json_report(results, problems=()) -> dict:
    from constellation.compiler.diagnostics import to_json

    files = [{"path": path,
              "diagnostics": [to_json(d, analysis.source) for d in analysis.diagnostics]}
             for path, _, analysis in results]
    files += [{"path": path, "diagnostics": [], "error": message} for path, message in problems]
    return {"files": files}


def github_annotations(results, problems=()) -> list[str]:
    """`::error file=…,line=…::message` lines (GitHub Actions workflow commands)."""
    from constellation.compiler.diagnostics import to_json

    out = []
    for path, _, analysis in results:
        for d in analysis.diagnostics:
            j = to_json(d, analysis.source)
            props = ",".join(f"{k}={_escape(str(v), True)}" for k, v in (
                ("file", path), ("line", j["line"]), ("col", j["column"]),
                ("endLine", j["end_line"]), ("endColumn", j["end_column"]),
                ("title", f"{d.code}")))
            out.append(f"::{d.severity} {props}::{_escape(d.message, False)}")
    for path, message in problems:
        out.append(f"::error file={_escape(path, True)}::{_escape(message, False)}")
    return out


def _escape(text: str, is_property: bool) -> str:
    """The escaping GitHub's workflow commands require (data: %, CR, LF; properties also : ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if is_property else text


def print_text_report(results, problems=()) -> None:
    errors = warnings = 0
    for path, _, analysis in results:
        if analysis.diagnostics:
            print(rendered(analysis.diagnostics, analysis.source, path, sys.stdout))
        errors += sum(d.is_error for d in analysis.diagnostics)
        warnings += sum(not d.is_error for d in analysis.diagnostics)
    for message in dict.fromkeys(message for _, message in problems):  # modules: once
        print(message, file=sys.stderr)
    files = plural(len(results), "file")
    if errors or warnings:
        print(f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {files}.")
    elif results:
        print(f"{files} checked: no problems.")
    if problems and results:
        print(f"{plural(len(problems), 'file')} could not be checked.", file=sys.stderr)
