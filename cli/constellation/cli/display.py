"""The terminal view of a run: a rich live display fed by run events (layers, running calls
with spinners, retries, timings), then a final outputs table and the parallel-vs-sequential
summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

_STATUS_STYLE = {"completed": ("✓", "green"), "failed": ("✗", "red"),
                 "skipped": ("–", "dim"), "cancelled": ("⊘", "yellow"), "waiting": ("·", "dim")}


@dataclass
class _Row:
    name: str
    module: str | None
    layer: int
    status: str = "waiting"
    attempt: int = 0
    note: str = ""
    duration_ms: float | None = None


@dataclass
class RunView:
    """The state of the display, updated event by event (usable without a terminal)."""

    file: str | None = None
    schedule: str = "layered"
    rows: dict[int, _Row] = field(default_factory=dict)
    layer_ms: dict[int, float] = field(default_factory=dict)
    cancelled_layers: dict[int, float] = field(default_factory=dict)
    running_layers: set[int] = field(default_factory=set)
    final: dict | None = None

    def handle(self, e: dict) -> None:
        kind = e["event"]
        if kind == "run_started":
            self.file, self.schedule = e.get("file"), e.get("schedule", "layered")
        elif kind == "layer_started":
            self.running_layers.add(e["layer"])
        elif kind == "layer_completed":
            self.running_layers.discard(e["layer"])
            self.layer_ms[e["layer"]] = e["duration_ms"]
        elif kind == "layer_cancelled":
            self.running_layers.discard(e["layer"])
            self.cancelled_layers[e["layer"]] = e["duration_ms"]
        elif kind == "run_completed":
            self.final = e
        elif "node" in e:
            self._node_event(kind, e)

    def _node_event(self, kind: str, e: dict) -> None:
        row = self.rows.setdefault(e["node"], _Row(e["name"], e.get("module"), e["layer"]))
        if kind == "node_started":
            row.status, row.attempt = "running", e["attempt"]
            row.note = f"attempt {e['attempt']}" if e["attempt"] > 1 else ""
        elif kind == "node_retrying":
            row.status = "retrying"
            row.note = f"attempt {e['attempt']} failed: {e['error']}; retry in {e['delay_ms']:.0f} ms"
        elif kind == "node_completed":
            row.status, row.duration_ms = "completed", e["duration_ms"]
            row.note = "cache hit" if e.get("cache_hit") else (
                f"{e['attempts']} attempts" if e.get("attempts", 1) > 1 else "")
        elif kind == "node_failed":
            row.status, row.duration_ms = "failed", e["duration_ms"]
            row.note = e["error"]["message"]
        elif kind == "node_cancelled":
            row.status, row.duration_ms, row.note = "cancelled", e["duration_ms"], "cancelled"
        elif kind == "node_skipped":
            row.status, row.note = "skipped", e["reason"]

    # -- rendering ----------------------------------------------------------------------------
    def progress_table(self) -> Table:
        # every text that comes from the pipeline (names, values, messages) is a Text: a rich
        # string would read `[b]` in a value as markup, and `[/]` would crash the display
        table = Table(title=Text(f"{self.file or 'pipeline'} ({self.schedule} schedule)"),
                      title_justify="left", expand=False, caption=self.layers_caption(),
                      caption_justify="left")
        for column in ("Layer", "", "Call", "Module", "Time", "Note"):
            table.add_column(column, justify="right" if column in ("Layer", "Time") else "left")
        for node_id in sorted(self.rows, key=lambda i: (self.rows[i].layer, i)):
            row = self.rows[node_id]
            table.add_row(str(row.layer), self._status_cell(row), Text(row.name),
                          Text(row.module or ""),
                          f"{row.duration_ms:.0f} ms" if row.duration_ms is not None else "",
                          Text(row.note, style="red" if row.status == "failed" else "dim"))
        return table

    def layers_caption(self) -> str:
        """One entry per layer: running, or done with its duration."""
        parts = []
        for k in sorted({r.layer for r in self.rows.values()} | set(self.layer_ms)
                        | set(self.cancelled_layers) | self.running_layers):
            if k in self.layer_ms:
                parts.append(f"layer {k} done in {self.layer_ms[k]:.0f} ms")
            elif k in self.cancelled_layers:
                parts.append(f"layer {k} cancelled after {self.cancelled_layers[k]:.0f} ms")
            elif k in self.running_layers:
                running = sum(1 for r in self.rows.values()
                              if r.layer == k and r.status in ("running", "retrying"))
                parts.append(f"layer {k} running ({running} call{'s' if running != 1 else ''})")
        return " · ".join(parts)

    def _status_cell(self, row: _Row):
        if row.status in ("running", "retrying"):
            return Spinner("dots", style="yellow" if row.status == "retrying" else "cyan")
        mark, style = _STATUS_STYLE.get(row.status, ("·", "dim"))
        return Text(mark, style=style)

    def outputs_table(self) -> Table:
        table = Table(title="Outputs", title_justify="left")
        table.add_column("Output")
        table.add_column("Value")
        for name, value in (self.final or {}).get("outputs", {}).items():
            table.add_row(Text(name), Text(json.dumps(value, ensure_ascii=False)))
        return table

    def summary(self) -> Text:
        """Wall time beside the sequential sum of the call durations (what parallelism won)."""
        final = self.final or {}
        total = final.get("duration_ms", 0.0)
        sequential = sum(r.duration_ms or 0.0 for r in self.rows.values()
                         if r.status in ("completed", "failed"))
        layers = ", ".join(f"layer {k}: {ms:.0f} ms" for k, ms in sorted(self.layer_ms.items()))
        text = Text()
        status = final.get("status", "?")
        text.append(f"{status}", style={"completed": "bold green", "failed": "bold red"}.get(
            status, "bold yellow"))
        text.append(f" in {total:.0f} ms (parallel total); sequential sum of the calls "
                    f"{sequential:.0f} ms")
        if sequential > 0 and total > 0:
            text.append(f" — {sequential / total:.1f}x")
        if layers:
            text.append(f"\n{layers}", style="dim")
        return text


class LiveDisplay:
    """Context manager: `with LiveDisplay(console) as d: ... on_event=d.handle`."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.view = RunView()
        self.live = Live(self.view.progress_table(), console=self.console,
                         refresh_per_second=12, transient=False)

    def __enter__(self) -> "LiveDisplay":
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.update(self.view.progress_table())
        self.live.__exit__(*exc)

    def handle(self, event: dict) -> None:
        self.view.handle(event)
        self.live.update(self.view.progress_table())

    def print_final(self, console: Console) -> None:
        final = self.view.final or {}
        console.print()
        if final.get("outputs"):
            console.print(self.view.outputs_table())
        for error in final.get("errors", []):
            where = f"{error['line']}:{error['column']}: " if error.get("line") else ""
            console.print(Text(f"error: {where}{error['message']}", style="red"))
        for line in final.get("log", []):
            console.print(Text(f"log: {line}", style="dim"))
        console.print(self.view.summary())
