// The run as it happens, per binding line: run events (docs/run-events.md) in, each call's state
// and the short texts the editor shows beside its line out. Pure logic (no `vscode` import) so
// it is unit-tested under plain Node; extension.ts only turns line marks into decorations.
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
  }

  /** Applies one event; true when a line's mark may have changed. */
  apply(event: RunEvent): boolean {
    const t = num(event.t_ms);
    if (t !== undefined) this.clock = { runMs: t, wallMs: this.now() };
    switch (event.event) {
      case "run_started": {
        this.clear();
        if (t !== undefined) this.clock = { runMs: t, wallMs: this.now() };
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
    return changed;
  }

  /**
   * One mark per line with calls, in line order. `layerShown`: the line already shows the
   * call's layer (the server's layer inlay hint, right after the text), so a pending call's
   * text does not say it again.
   */
  lines(layerShown = false): LineMark[] {
    const byLine = new Map<number, CallMark[]>();
    for (const call of this.calls.values()) {
      const list = byLine.get(call.line) ?? [];
      list.push(call);
      byLine.set(call.line, list);
    }
    const now = this.runTime();
    return [...byLine.entries()]
      .sort(([a], [b]) => a - b)
      .map(([line, calls]) => {
        const state = calls.reduce((worst, call) => (PRIORITY[call.state] > PRIORITY[worst] ? call.state : worst), calls[0].state);
        const many = calls.length > 1;
        const text = calls
          .map((call) => `${ICONS[call.state]} ${many ? `${call.name} ` : ""}${callText(call, now, this.finished, layerShown)}`)
          .join("  ");
        const hover = calls.map((call) => callHover(call, now)).join("\n\n");
        return { line, state, text, hover };
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

function skipReason(call: CallMark): string {
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
