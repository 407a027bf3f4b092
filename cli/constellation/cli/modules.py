"""`cst modules [--json] [--modules M] [PATH]`: the signatures visible from a file or folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from constellation.cli._shared import UserError, add_modules_option, console


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "modules", help="list the module signatures visible from here",
        description="List the functions a pipeline at PATH can call: the standard library, the "
                    "modules of the constellation.toml beside or above PATH, and --modules.")
    parser.add_argument("path", nargs="?", default=".", metavar="PATH",
                        help="a .cst file or a folder (default: the current folder)")
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")
    add_modules_option(parser)
    parser.set_defaults(func=run_modules)


def first_line(doc: str) -> str:
    return doc.strip().splitlines()[0] if doc.strip() else ""


def print_table(registry, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    # signatures and docstrings are the modules' text, not rich markup (`[x]` stays as written)
    table = Table(title=Text(title), title_justify="left")
    table.add_column("Namespace")
    table.add_column("Signature")
    table.add_column("Description")
    by_namespace: dict[str, list] = {}
    for f in registry.functions:
        by_namespace.setdefault(f.namespace or "(root)", []).append(f)
    for namespace in sorted(by_namespace, key=lambda n: (n != "(root)", n)):
        functions = by_namespace[namespace]
        for i, f in enumerate(functions):
            table.add_row(Text(namespace if i == 0 else ""), Text(f.signature()),
                          Text(first_line(f.doc)),
                          end_section=i == len(functions) - 1)
    console().print(table)


def run_modules(args: argparse.Namespace) -> int:
    """What loaded is always listed (the editor wants the signatures it can get); failures
    are sentences on stderr, also under "errors" in JSON, and make the exit status 2."""
    from constellation.compiler.registry_json import registry_to_json
    from constellation.runtime.modules import load_config_registry

    if not Path(args.path).exists():
        raise UserError(f"{args.path}: no such file or folder")
    registry, errors = load_config_registry(args.path, tuple(args.modules))
    if args.json:
        print(json.dumps({**registry_to_json(registry), "errors": errors}, indent=2,
                         ensure_ascii=False))
    else:
        print_table(registry, f"{len(registry.functions)} functions visible from {args.path}")
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 0
