// The run as it happens, per binding line: run events (docs/run-events.md) in, each call's state
// and the short texts the editor shows beside its line out. Inputs and inline bindings have no
// events: given the run's graph, their states are derived as the graph view derives them
// (webview/graph/valueNodes.ts, the one derivation). Pure logic (no `vscode` import) so it is
// unit-tested under plain Node; runDecorations.ts only turns line marks into decorations.
import { callKeys, type GraphData, type NodeRun, type RunCall, type RunErrorInfo } from "../webview/graph/model";
import { ValueNodes } from "../webview/graph/valueNodes";
import { formatDuration, formatValue, type RunError, type RunEvent } from "./format";

export type CallState =
  | "pending"
  | "running"
  | "retrying"
  | "completed"
  | "cached"
  | "failed"
  | "skipped"
  | "cancelled";

export const CALL_STATES: readonly CallState[] = [
  "pending",
  "running",
  "retrying",
  "completed",
  "cached",
  "failed",
  "skipped",
  "cancelled",
];

export interface CallMark {
  id: string; // the plan's node id (the name when an event has none)
  name: string;
  module?: string;
  layer?: number;
  line: number; // 1-based, in the document as it is now (edits shift it)
  state: CallState;
  startedAt?: number; // run time (ms) of the current attempt's start
  attempt: number;
  durationMs?: number;
  value?: unknown;
  hasValue: boolean;
  error?: string;
  retryError?: string;
  reason?: string; // why a call was skipped
  dependency?: string; // the failed call a skipped one waited for
}

/** An input or inline binding of the run's graph, on its line; its state is derived. */
interface ValueMark {
  name: string; // its name on the graph
  kind: "input" | "inline";
  line: number; // 1-based, as edits leave it
}

export interface LineMark {
  line: number; // 1-based
  state: CallState; // the state that matters most among the line's calls
  text: string; // short, after the line
  hover: string; // markdown: each call of the line in full
}

/** Which state a line with several calls shows: the one that needs the eye first. */
const PRIORITY: Record<CallState, number> = {
  failed: 7,
  retrying: 6,
  running: 5,
  cancelled: 4,
  skipped: 3,
  pending: 2,
  completed: 1,
  cached: 0,
};

const ICONS: Record<CallState, string> = {
  pending: "⋯",
  running: "▷",
  retrying: "↻",
  completed: "✓",
  cached: "✓",
  failed: "✗",
  skipped: "⊘",
  cancelled: "■",
};

const SHORT_VALUE = 60;
const SHORT_MESSAGE = 80;

const clip = (text: string, limit: number) => (text.length > limit ? text.slice(0, limit - 1) + "…" : text);

function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && typeof (error as RunError).message === "string") {
    return (error as RunError).message;
  }
  return "unknown error";
}

const num = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

/** One line edit, 1-based lines: lines `from`..`to` were replaced by `lines` new lines. */
export interface LineEdit {
  from: number;
  to: number;
  lines: number;
}

/** 0-based positions, as editors give them. */
export interface TextRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * The line edit of a text change: its range in the document before it, its new text, and the
 * text of the line where the inserted text ends, after the change. A line break typed at the
 * end of a line, or lines inserted before a line's first character, leave that line's text
 * as it was: its mark stays (and moves).
 */
export function lineEdit(range: TextRange, text: string, lastLineAfter: string): LineEdit {
  const breaks = text.split("\n").length - 1;
  const from = range.start.line + 1;
  const to = range.end.line + 1;
  const empty = range.start.line === range.end.line && range.start.character === range.end.character;
  if (empty && breaks > 0) {
    // nothing followed the cursor: the line the break was typed at the end of keeps its text
    if (/^\r?\n/.test(text) && lastLineAfter === text.slice(text.lastIndexOf("\n") + 1)) {
      return { from: from + 1, to: from, lines: breaks };
    }
    if (range.start.character === 0 && text.endsWith("\n")) return { from, to: from - 1, lines: breaks };
  }
  return { from, to, lines: breaks + 1 };
}

export class RunMarks {
  private calls = new Map<string, CallMark>();
  finished = false;
  // the run as the graph derivation needs it (run_started's calls and inputs, run_completed's end)
  private runCalls: RunCall[] = [];
  private inputs: Record<string, unknown> | undefined;
  private ending: { outputs: Record<string, unknown>; failed: boolean; errors: RunErrorInfo[] } | undefined;
  private values: { nodes: ValueNodes; marks: Map<string, ValueMark> } | undefined;
  /** Latest run time seen (ms), and the wall clock (ms) when it was seen: elapsed times tick. */
  private clock: { runMs: number; wallMs: number } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.calls.size;
  }

  call(name: string): CallMark | undefined {
    for (const call of this.calls.values()) if (call.name === name) return call;
    return undefined;
  }

  /** Whether any call is running (the texts then need a tick to show elapsed time). */
  get ticking(): boolean {
    if (this.finished) return false;
    for (const call of this.calls.values()) if (call.state === "running") return true;
    return false;
  }

  clear(): void {
    this.calls.clear();
    this.finished = false;
    this.clock = undefined;
    this.runCalls = [];
    this.inputs = undefined;
    this.ending = undefined;
    this.values = undefined;
  }

  /**
   * The graph the run ran on (`constellation/graph` of the document, asked for as it started):
   * its inputs and inline bindings get marks too. Nodes without a binding name (a constant
   * inside an expression) have no line of their own.
   */
  useGraph(graph: GraphData): void {
    const marks = new Map<string, ValueMark>();
    for (const n of graph.nodes) {
      if ((n.kind !== "input" && n.kind !== "inline") || !n.names?.length) continue;
      marks.set(n.name, { name: n.name, kind: n.kind, line: n.range.start.line + 1 });
    }
    this.values = { nodes: new ValueNodes(graph), marks };
  }

  /** Each graph node's state now: the calls' from their events, the rest derived from them. */
  private derived(): Map<string, NodeRun> {
    const nodes = new Map<string, NodeRun>();
    if (!this.values) return nodes;
    const keys = callKeys(this.runCalls);
    for (const call of this.calls.values()) {
      const id = Number(call.id);
      const name = (Number.isInteger(id) ? keys.get(id) : undefined) ?? call.name;
      nodes.set(name, {
        state: call.state, reason: call.reason, dependency: call.dependency, message: call.error,
        value: call.value, valueSet: call.hasValue,
      });
    }
    this.values.nodes.start(nodes, this.inputs);
    if (this.ending) this.values.nodes.finish(nodes, this.ending.outputs, this.ending.failed, this.ending.errors);
    return nodes;
  }

  /** Applies one event; true when a line's mark may have changed. */
  apply(event: RunEvent): boolean {
    const t = num(event.t_ms);
    if (t !== undefined) this.clock = { runMs: t, wallMs: this.now() };
    switch (event.event) {
      case "run_started": {
        this.clear();
        if (t !== undefined) this.clock = { runMs: t, wallMs: this.now() };
        this.runCalls = Array.isArray(event.calls) ? (event.calls as RunCall[]) : [];
        if (event.inputs && typeof event.inputs === "object") this.inputs = event.inputs as Record<string, unknown>;
        for (const call of Array.isArray(event.calls) ? (event.calls as RunEvent[]) : []) {
          const mark = this.mark(call);
          if (mark) mark.state = "pending";
        }
        return true;
      }
      case "node_started": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = "running";
        mark.startedAt = t;
        mark.attempt = num(event.attempt) ?? 1;
        return true;
      }
      case "node_retrying": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = "retrying";
        mark.attempt = (num(event.attempt) ?? mark.attempt) + 1; // the attempt to come
        mark.retryError = errorMessage(event.error);
        return true;
      }
      case "node_completed": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = event.cache_hit ? "cached" : "completed";
        mark.durationMs = num(event.duration_ms);
        mark.value = event.value;
        mark.hasValue = "value" in event;
        mark.attempt = num(event.attempts) ?? mark.attempt;
        return true;
      }
      case "node_failed": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = "failed";
        mark.durationMs = num(event.duration_ms);
        mark.error = errorMessage(event.error);
        return true;
      }
      case "node_skipped": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = "skipped";
        mark.reason = typeof event.reason === "string" ? event.reason : undefined;
        mark.dependency = typeof event.dependency === "string" ? event.dependency : undefined;
        return true;
      }
      case "node_cancelled": {
        const mark = this.mark(event);
        if (!mark) return false;
        mark.state = "cancelled";
        mark.durationMs = num(event.duration_ms);
        return true;
      }
      case "run_completed":
        this.ending = {
          outputs: (event.outputs as Record<string, unknown> | undefined) ?? {},
          failed: event.status === "failed",
          errors: Array.isArray(event.errors) ? (event.errors as RunErrorInfo[]) : [],
        };
        this.finished = true;
        return true;
      case "run_rejected":
        this.finished = true;
        return true;
      default:
        return false;
    }
  }

  /** The mark of an event's call, created on its first event. */
  private mark(event: RunEvent): CallMark | undefined {
    const id = typeof event.node === "string" || typeof event.node === "number" ? String(event.node) : undefined;
    const name = typeof event.name === "string" ? event.name : undefined;
    const key = id ?? name;
    if (key === undefined) return undefined;
    const known = this.calls.get(key);
    if (known) return known;
    const line = num(event.line);
    if (line === undefined || this.finished) return undefined;
    const mark: CallMark = {
      id: key,
      name: name ?? key,
      module: typeof event.module === "string" ? event.module : undefined,
      layer: num(event.layer),
      line,
      state: "pending",
      attempt: 1,
      hasValue: false,
    };
    this.calls.set(key, mark);
    return mark;
  }

  /** The run's clock now: the last event's time plus the wall time since. */
  runTime(): number | undefined {
    return this.clock ? this.clock.runMs + (this.now() - this.clock.wallMs) : undefined;
  }

  /**
   * Follows an edit: the marks of edited lines go (their text no longer is what ran), those
   * below move by the number of lines added or removed.
   */
  edit(change: LineEdit): boolean {
    const delta = change.lines - (change.to - change.from + 1);
    let changed = false;
    for (const [key, call] of this.calls) {
      if (call.line >= change.from && call.line <= change.to) {
        this.calls.delete(key);
        changed = true;
      } else if (call.line > change.to && delta !== 0) {
        call.line += delta;
        changed = true;
      }
    }
    for (const [key, value] of this.values?.marks ?? []) {
      if (value.line >= change.from && value.line <= change.to) {
        this.values!.marks.delete(key);
        changed = true;
      } else if (value.line > change.to && delta !== 0) {
        value.line += delta;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * One mark per line with calls, in line order. `layerShown`: the line already shows the
   * call's layer (the server's layer inlay hint, right after the text), so a pending call's
   * text does not say it again.
   */
  lines(layerShown = false): LineMark[] {
    type Shown = { line: number; name: string; state: CallState; text: string; hover: string };
    const now = this.runTime();
    const shown: Shown[] = [...this.calls.values()].map((call) => ({
      line: call.line, name: call.name, state: call.state,
      text: callText(call, now, this.finished, layerShown), hover: callHover(call, now),
    }));
    const derived = this.derived();
    for (const value of this.values?.marks.values() ?? []) {
      const run = derived.get(value.name);
      if (!run) continue;
      const state = run.state as CallState;
      const text = valueText(value, run, this.finished);
      shown.push({ line: value.line, name: value.name, state, text, hover: valueHover(value, run, text) });
    }
    const byLine = new Map<number, Shown[]>();
    for (const mark of shown) byLine.set(mark.line, [...(byLine.get(mark.line) ?? []), mark]);
    return [...byLine.entries()]
      .sort(([a], [b]) => a - b)
      .map(([line, marks]) => {
        const state = marks.reduce((worst, m) => (PRIORITY[m.state] > PRIORITY[worst] ? m.state : worst), marks[0].state);
        const many = marks.length > 1;
        const text = marks.map((m) => `${ICONS[m.state]} ${many ? `${m.name} ` : ""}${m.text}`).join("  ");
        return { line, state, text, hover: marks.map((m) => m.hover).join("\n\n") };
      });
  }
}

/** The short text of one call: what it is doing, how long it took, its value or why not. */
export function callText(call: CallMark, now: number | undefined, finished = false, layerShown = false): string {
  switch (call.state) {
    case "pending":
      return call.layer !== undefined && !layerShown ? `pending · layer ${call.layer}` : "pending";
    case "running": {
      const elapsed = now !== undefined && call.startedAt !== undefined ? Math.max(0, now - call.startedAt) : undefined;
      const attempt = call.attempt > 1 ? ` · attempt ${call.attempt}` : "";
      return `running${elapsed === undefined ? "" : ` ${formatDuration(elapsed)}`}${attempt}`;
    }
    case "retrying":
      return `retrying · attempt ${call.attempt} (${clip(call.retryError ?? "failed", SHORT_MESSAGE)})`;
    case "completed":
    case "cached": {
      const how = call.state === "cached" ? "cached" : formatDuration(call.durationMs);
      // after the run the server's value inlay hint shows the value: the mark keeps the time
      return finished || !call.hasValue ? how : `${how} = ${formatValue(call.value, SHORT_VALUE)}`;
    }
    case "failed":
      return `failed after ${formatDuration(call.durationMs)}: ${clip(call.error ?? "unknown error", SHORT_MESSAGE)}`;
    case "skipped":
      return `skipped: ${skipReason(call)}`;
    case "cancelled":
      return `cancelled after ${formatDuration(call.durationMs)}`;
  }
}

/** The short text of an input or inline binding: it has no time of its own, only its outcome. */
function valueText(mark: ValueMark, run: NodeRun, finished: boolean): string {
  switch (run.state) {
    case "completed":
    case "cached": {
      const what = mark.kind === "input" ? "input" : "evaluated";
      // as for calls: after the run the server's value inlay hint shows the value
      return finished || !run.valueSet ? what : `${what} = ${formatValue(run.value, SHORT_VALUE)}`;
    }
    case "failed":
      return `failed: ${clip(run.message ?? "unknown error", SHORT_MESSAGE)}`;
    case "skipped":
      return `skipped: ${skipReason(run)}`;
    default:
      return run.state; // pending: what it reads has not settled yet
  }
}

function valueHover(mark: ValueMark, run: NodeRun, text: string): string {
  const parts = [`**${mark.name}** (${mark.kind === "input" ? "input" : "inline value"}): ${run.state}`, text];
  if (run.valueSet && run.state === "completed") parts.push("```json\n" + formatValue(run.value, 4000) + "\n```");
  return parts.join("\n\n");
}

function skipReason(call: { reason?: string; dependency?: string }): string {
  if (call.reason === "dependency failed") return call.dependency ? `${call.dependency} failed` : "a dependency failed";
  if (call.reason === "cancelled") return "cancelled before it started";
  return call.reason ?? "not run";
}

function callHover(call: CallMark, now: number | undefined): string {
  const head = `**${call.name}**${call.module ? ` (\`${call.module}\`)` : ""}${call.layer !== undefined ? ` · layer ${call.layer}` : ""}: ${call.state}`;
  const parts = [head, callText(call, now)];
  if (call.hasValue && (call.state === "completed" || call.state === "cached")) {
    parts.push("```json\n" + formatValue(call.value, 4000) + "\n```");
  }
  return parts.join("\n\n");
}

/**
 * Coalesces bursts of updates into one render per frame (~50 ms): a run of 1,000 calls emits
 * thousands of events, and redrawing the decorations for each would stall the editor.
 */
export class FrameBatcher {
  private timer: unknown;

  constructor(
    private readonly render: () => void,
    private readonly delayMs = 50,
    private readonly schedule: (callback: () => void, ms: number) => unknown = setTimeout,
    private readonly cancel: (timer: unknown) => void = (timer) => clearTimeout(timer as NodeJS.Timeout),
  ) {}

  request(): void {
    if (this.timer !== undefined) return;
    this.timer = this.schedule(() => {
      this.timer = undefined;
      this.render();
    }, this.delayMs);
  }

  /** Renders now (a run's last event), dropping a pending frame. */
  flush(): void {
    if (this.timer !== undefined) this.cancel(this.timer);
    this.timer = undefined;
    this.render();
  }

  dispose(): void {
    if (this.timer !== undefined) this.cancel(this.timer);
    this.timer = undefined;
  }
}
