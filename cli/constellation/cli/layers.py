"""`cst layers FILE [--json]`: the plan's layers, which calls run together."""

from __future__ import annotations

import argparse
import json

from constellation.cli._shared import (
    add_modules_option, add_stdin_option, analyze_file, console, require_valid, source_name,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "layers", help="show the layers of a pipeline (which calls run in parallel)",
        description="Show each layer of the pipeline's DAG: its nodes (binding name, kind, "
                    "module, source line) and which calls run together.")
    parser.add_argument("file", metavar="FILE", help="a .cst file, or - for standard input")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_stdin_option(parser)
    add_modules_option(parser)
    parser.set_defaults(func=run_layers)


def node_json(node) -> dict:
    return {"name": node.label, "kind": node.kind,
            "module": node.function.qualified if node.function else None, "line": node.line}


def layers_json(plan) -> dict:
    return {"layers": [{"layer": k, "nodes": [node_json(n) for n in nodes]}
                       for k, nodes in enumerate(plan.layers)]}


def eager_calls(nodes) -> list:
    return [n for n in nodes if n.kind == "module" and not n.demand_driven]


def parallel_note(k: int, nodes) -> str:
    calls = eager_calls(nodes)
    if k == 0:
        return "inputs and constants: available at the start"
    if len(calls) > 1:
        return f"{len(calls)} calls run in parallel: " + ", ".join(n.label for n in calls)
    if len(calls) == 1:
        return f"1 call: {calls[0].label}"
    return "only demand-driven calls (lazy, fallback, or in a match case)"


def node_note(node) -> str:
    if node.kind != "module" or not node.demand_driven:
        return ""
    if node.fallback_owner is not None:
        return "fallback, on demand"
    if node.pattern_bindings:  # reads a pattern binding: runs once its case is chosen (§9.1)
        return "when its case is chosen"
    return "lazy, on demand"


def print_table(plan, path: str) -> None:
    from rich.table import Table
    from rich.text import Text

    # names and paths are the user's text, not rich markup
    table = Table(title=Text(f"{path}: {plan.depth} layer(s) of calls, widest {plan.width}"),
                  title_justify="left")
    for column in ("Layer", "Name", "Kind", "Module", "Line", "Note"):
        table.add_column(column, justify="right" if column in ("Layer", "Line") else "left")
    for k, nodes in enumerate(plan.layers):
        for i, node in enumerate(nodes):
            module = node.function.qualified if node.function else ""
            table.add_row(str(k) if i == 0 else "", Text(node.label), node.kind, Text(module),
                          str(node.line), node_note(node), end_section=i == len(nodes) - 1)
    out = console()
    out.print(table)
    for k, nodes in enumerate(plan.layers):
        out.print(Text(f"layer {k}: {parallel_note(k, nodes)}"), highlight=False)


def run_layers(args: argparse.Namespace) -> int:
    name = source_name(args.file, args)
    _, analysis = analyze_file(args.file, name, args.modules)
    require_valid(analysis, name)
    if args.json:
        print(json.dumps(layers_json(analysis.plan), indent=2))
    else:
        print_table(analysis.plan, name)
    return 0
