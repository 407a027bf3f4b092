"""The program being debugged, as the compiler sees it: which lines hold calls, each
binding's type, each call's parameters.

Module signatures come from a `cst modules --json` child (the adapter never imports user
code); the analysis is the compiler's own, so lines, layers and types are never re-derived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from constellation.compiler import analyze
from constellation.compiler import types as T
from constellation.compiler.analysis import Analysis
from constellation.compiler.plan import PlanNode
from constellation.compiler.registry_json import RegistryFormatError, registry_from_json
from constellation.debugger.child import CLI_PREFIX

SIGNATURES_TIMEOUT_S = 60.0


class LaunchError(Exception):
    """A launch that cannot start: the message is a sentence for the user."""


@dataclass
class Program:
    path: Path
    text: str
    analysis: Analysis
    calls_by_line: dict[int, list[PlanNode]] = field(default_factory=dict)

    @property
    def nodes(self) -> list[PlanNode]:
        return [n for n in self.analysis.plan.nodes if n.kind == "module"]

    def node(self, node_id: int) -> PlanNode | None:
        nodes = self.analysis.plan.nodes
        return nodes[node_id] if 0 <= node_id < len(nodes) else None

    def binding_types(self) -> dict[str, T.Type]:
        """Every top-level value's type (inputs included): the scope expressions are checked in."""
        return dict(self.analysis.check.binding_types)

    def input_names(self) -> list[str]:
        return list(self.analysis.plan.inputs)

    def line_of(self, offset: int) -> tuple[int, int]:
        return self.analysis.source.line_col(offset)

    def binding_around(self, node: PlanNode) -> str | None:
        """The top-level binding whose right-hand side holds this call (`stats` for the
        `SumList(…)` in `stats = { total: SumList(xs) }`), or its own name."""
        if node.names:
            return node.names[0]
        for other in self.analysis.plan.nodes:
            span = other.decl.span if other.decl is not None else None
            if other.names and span and span.start <= node.span.start and node.span.end <= span.end:
                return other.names[0]
        return None

    def call_label(self, node: PlanNode) -> str:
        """A call's name in Variables: its binding, else `Module@line`, with the column when
        another call on that line has the same label (two `FormatNumber@16`)."""
        same = [n for n in self.nodes if n.label == node.label]
        if len(same) < 2:
            return node.label
        return f"{node.label}:{self.line_of(node.span.start)[1]}"

    def calls_in_order(self) -> list[PlanNode]:
        """The module calls as the program reads: by layer, then by position."""
        return sorted(self.nodes, key=lambda n: (n.layer, n.span.start))


def path_of(program: object) -> Path:
    if not isinstance(program, str) or not program.strip():
        raise LaunchError("The launch configuration needs 'program': the path of a .cst file.")
    path = Path(program).expanduser()
    if not path.is_file():
        raise LaunchError(f"{program}: no such file (the launch configuration's 'program').")
    return path.resolve()


async def load_program(path: Path) -> Program:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LaunchError(f"{path}: cannot read the program: {exc}.") from None
    registry = await load_signatures(path)
    analysis = analyze(text, registry)
    errors = [d for d in analysis.diagnostics if d.is_error]
    if errors:
        shown = [f"{path.name}:{':'.join(map(str, analysis.source.line_col(d.span.start)))}: "
                 f"{d.message}" for d in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise LaunchError("The program has errors; fix them before debugging: "
                          + "; ".join(shown) + more + ".")
    program = Program(path, text, analysis)
    for node in program.nodes:
        line, _ = program.line_of(node.span.start)
        program.calls_by_line.setdefault(line, []).append(node)
    return program


async def load_signatures(path: Path):
    command = [*CLI_PREFIX, "modules", "--json", str(path)]
    try:
        with anyio.fail_after(SIGNATURES_TIMEOUT_S):
            done = await anyio.run_process(command, check=False, cwd=str(path.parent))
    except TimeoutError:
        raise LaunchError(f"Loading the module signatures took longer than "
                          f"{SIGNATURES_TIMEOUT_S:g} s.") from None
    try:
        data = json.loads(done.stdout.decode("utf-8", "replace") or "null")
        registry = registry_from_json(data)
    except (ValueError, RegistryFormatError):
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [
            f"exit status {done.returncode}"]
        raise LaunchError(f"Could not load the module signatures: {last[0]}") from None
    problems = [str(e) for e in data.get("errors") or [] if e]
    if problems:
        raise LaunchError("The modules did not load: " + "; ".join(problems))
    return registry
