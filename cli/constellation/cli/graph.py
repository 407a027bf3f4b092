"""`cst graph FILE [--format dot|mermaid|json|html]`: the DAG, nodes ranked by layer.

`json` is the graph of the `constellation/graph` request (docs/graph.md); `html` the graph
view as one offline page (graph_page.py)."""

from __future__ import annotations

import argparse
import json
import sys

from constellation.cli._shared import (
    UserError, add_modules_option, add_stdin_option, analyze_file, require_valid, source_name,
)


def write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}.") from None

SHAPES_DOT = {"input": "invhouse", "constant": "note", "module": "box", "inline": "ellipse"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph", help="print the pipeline's DAG (Graphviz dot, Mermaid, JSON or an HTML page)",
        description="Print the DAG of a pipeline with its nodes ranked by layer. "
                    "Edges point from a node to the nodes that read it. --format html writes "
                    "the interactive graph view as one self-contained offline HTML file.")
    parser.add_argument("file", metavar="FILE", help="a .cst file, or - for standard input")
    parser.add_argument("--format", choices=("dot", "mermaid", "json", "html"), default="dot")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="write to PATH instead of standard output")
    add_stdin_option(parser)
    add_modules_option(parser)
    parser.set_defaults(func=run_graph)


def node_text(node) -> str:
    if node.kind == "module" and node.function is not None:
        text = node.label if node.label.startswith(node.function.name + "@") \
            else f"{node.label}\n{node.function.qualified}"
    else:
        text = f"{node.label}\n{node.kind}"
    if node.kind == "module" and node.demand_driven:
        text += "\n(on demand)"
    return text


def edges(plan) -> list[tuple[int, int]]:
    return [(dep, node.id) for node in plan.nodes for dep in node.deps]


def dot_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a valid dot string (\" and \n escapes)


def to_dot(plan) -> str:
    lines = ["digraph pipeline {", "  rankdir=TB;", '  node [fontname="Helvetica"];']
    outputs = {plan.bindings[o] for o in plan.outputs if o in plan.bindings}
    for k, nodes in enumerate(plan.layers):
        lines.append(f"  subgraph layer_{k} {{")
        lines.append("    rank=same;")
        lines.append(f"    layer{k}_label [shape=plaintext, label={dot_quote(f'layer {k}')}];")
        for n in nodes:
            extra = ", peripheries=2" if n.id in outputs else ""
            style = ", style=dashed" if n.kind == "module" and n.demand_driven else ""
            lines.append(f"    n{n.id} [shape={SHAPES_DOT[n.kind]}, "
                         f"label={dot_quote(node_text(n))}{extra}{style}];")
        lines.append("  }")
    # invisible edges keep the layer labels in order, one rank below the other
    for k in range(1, len(plan.layers)):
        lines.append(f"  layer{k - 1}_label -> layer{k}_label [style=invis];")
    lines += [f"  n{a} -> n{b};" for a, b in edges(plan)]
    lines.append("}")
    return "\n".join(lines)


def mermaid_text(node) -> str:
    return node_text(node).replace('"', "#quot;").replace("\n", "<br/>")


def mermaid_node(node) -> str:
    text = mermaid_text(node)
    if node.kind == "input":
        return f'n{node.id}[/"{text}"/]'
    if node.kind == "module":
        return f'n{node.id}["{text}"]'
    return f'n{node.id}("{text}")'


def to_mermaid(plan) -> str:
    lines = ["flowchart TD"]
    for k, nodes in enumerate(plan.layers):
        lines.append(f'  subgraph layer{k}["layer {k}"]')
        lines += [f"    {mermaid_node(n)}" for n in nodes]
        lines.append("  end")
    for k in range(1, len(plan.layers)):
        lines.append(f"  layer{k - 1} ~~~ layer{k}")  # invisible link: layers stack in order
    lines += [f"  n{a} --> n{b}" for a, b in edges(plan)]
    return "\n".join(lines)


def graph_data(analysis) -> dict:
    """The graph of `constellation/graph`, ranges in UTF-16 like LSP's default."""
    from constellation.server.graph_view import graph_json
    from constellation.server.positions import Positions

    return graph_json(analysis, Positions(analysis.source, "utf-16"))


def render(analysis, fmt: str, name: str) -> str:
    if fmt == "dot":
        return to_dot(analysis.plan)
    if fmt == "mermaid":
        return to_mermaid(analysis.plan)
    if fmt == "json":
        return json.dumps(graph_data(analysis), indent=2, ensure_ascii=False)
    from constellation.cli.graph_page import page
    return page(f"{name} — Constellation graph", graph_data(analysis))


def run_graph(args: argparse.Namespace) -> int:
    name = source_name(args.file, args)
    _, analysis = analyze_file(args.file, name, args.modules)
    require_valid(analysis, name)
    text = render(analysis, args.format, name)
    if args.output:
        write_text(args.output, text if text.endswith("\n") else text + "\n")
        if args.format == "html":
            print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0
