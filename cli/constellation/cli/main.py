"""`cst`: the Constellation command line.

Each module of this package (except private `_` modules and this one) is a subcommand: it
exposes `register(subparsers)`, which adds its parser and sets `func(args) -> int` as a default.
Discovery keeps subcommands independent: one that fails to import doesn't break the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback

import constellation.cli as cli_package
from constellation.cli._shared import UserError

# Listed first in `cst --help`, in this order; others follow alphabetically.
PREFERRED_ORDER = ["check", "layers", "graph", "run", "modules", "fmt", "lsp"]


def subcommand_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(cli_package.__path__)
             if not m.name.startswith("_") and m.name != "main"]
    rank = {name: i for i, name in enumerate(PREFERRED_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def register_unavailable(subparsers, name: str, exc: BaseException) -> None:
    """A subcommand whose module failed to import explains that when invoked."""
    reason = f"{type(exc).__name__}: {exc}"
    parser = subparsers.add_parser(name, help=f"(unavailable: {reason})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def unavailable(args: argparse.Namespace) -> int:
        raise UserError(f"cst {name} is unavailable in this installation: {reason}")

    parser.set_defaults(func=unavailable)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cst", description="Check, inspect, run and format Constellation pipelines (.cst).")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in subcommand_modules():
        try:
            module = importlib.import_module(f"constellation.cli.{name}")
        except Exception as exc:  # a broken subcommand must not take the others down
            register_unavailable(subparsers, name, exc)
            continue
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cst: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cst ... | head`
        return 0
    except Exception as exc:
        if os.environ.get("CONSTELLATION_DEBUG"):
            traceback.print_exc()
        print(f"cst {args.command}: internal error: {type(exc).__name__}: {exc}. This is a bug "
              "in cst, not in your pipeline (set CONSTELLATION_DEBUG=1 for details).",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
