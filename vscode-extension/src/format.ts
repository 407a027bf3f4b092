// Turns the run events of docs/run-events.md and the command results into text for the
// "Constellation" output channel and the status bar. Pure logic (no `vscode` import) so it is
// unit-tested under plain Node.

export interface RunError {
  message: string;
  line?: number;
  column?: number;
  function?: string;
}

export interface RunEvent {
  event: string;
  t_ms?: number;
  [field: string]: unknown;
}

export interface RunNodeSummary {
  name: string;
  status: string;
  layer?: number;
  duration_ms?: number | null;
  error?: RunError | string | null;
}

export interface RunResult {
  status: string;
  outputs?: Record<string, unknown>;
  errors?: RunError[];
  log?: string[];
  nodes?: RunNodeSummary[];
  duration_ms?: number;
}

export interface LayerNode {
  name: string;
  kind?: string;
  module?: string | null;
  modules?: string[]; // each function the binding calls in this layer, once
  calls?: number; // how many calls of the binding run in this layer
  line?: number;
}

export interface LayersResult {
  layers: { layer: number; nodes: LayerNode[] }[];
  unlayered?: string[]; // bindings that cannot run (a cycle, an undefined function)
}

const INLINE_VALUE_LIMIT = 120;

/** Milliseconds as people read them: `0.4 ms`, `153 ms`, `2.31 s`. */
export function formatDuration(ms: unknown): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "?";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A value on one line, cut with `…` when longer than `limit` characters. */
export function formatValue(value: unknown, limit = INLINE_VALUE_LIMIT): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > limit ? text.slice(0, Math.max(0, limit - 1)) + "…" : text;
}

/** A value over several lines (for final outputs). */
export function formatValueBlock(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function formatError(error: RunError | string | null | undefined): string {
  if (!error) return "unknown error";
  if (typeof error === "string") return error;
  const where = error.line ? ` (line ${error.line}${error.column ? `:${error.column}` : ""})` : "";
  return `${error.message}${where}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const stamp = (event: RunEvent) => `[${formatDuration(event.t_ms).padStart(9)}] `;

const str = (value: unknown, fallback = "?") =>
  typeof value === "string" || typeof value === "number" ? String(value) : fallback;

// The server runs a temporary copy of the document (unsaved edits included): name the file only.
const baseName = (file: string) => file.split(/[\\/]/).pop() || file;

const names = (value: unknown) =>
  Array.isArray(value) ? value.map((name) => str(name)).join(", ") : "";

/** The channel lines for one event, or an empty list for events that print nothing. */
export function formatEvent(event: RunEvent): string[] {
  const node = str(event.name ?? event.node);
  switch (event.event) {
    case "run_started": {
      const layers = Array.isArray(event.layers) ? (event.layers as { layer: number; nodes: unknown }[]) : [];
      const head =
        `▶ Run started: ${baseName(str(event.file, "pipeline"))} · ${plural(Number(event.nodes ?? 0), "call")} ` +
        `in ${plural(Number(event.depth ?? layers.length), "layer")} · schedule ${str(event.schedule, "layered")}` +
        (event.serial ? " · serial" : "") +
        (event.seed !== undefined && event.seed !== null ? ` · seed ${str(event.seed)}` : "");
      return [head, ...layers.map((layer) => `    layer ${layer.layer}: ${names(layer.nodes)}`)];
    }
    case "layer_started":
      return [`${stamp(event)}layer ${str(event.layer)} started: ${names(event.nodes)}`];
    case "node_started":
      return [
        `${stamp(event)}  ▷ ${node}` +
          (event.module && event.module !== node ? ` (${str(event.module)})` : "") +
          (Number(event.attempt ?? 1) > 1 ? ` attempt ${str(event.attempt)}` : ""),
      ];
    case "node_retrying":
      return [
        `${stamp(event)}  ↻ ${node} attempt ${str(event.attempt)} failed: ${str(event.error, "error")}; ` +
          `retrying in ${formatDuration(event.delay_ms)}`,
      ];
    case "node_completed":
      return [
        `${stamp(event)}  ✓ ${node} = ${formatValue(event.value)} (${formatDuration(event.duration_ms)}` +
          (event.cache_hit ? ", cached" : "") +
          (Number(event.attempts ?? 1) > 1 ? `, ${str(event.attempts)} attempts` : "") +
          ")",
      ];
    case "node_failed":
      return [
        `${stamp(event)}  ✗ ${node} failed after ${formatDuration(event.duration_ms)}: ` +
          formatError(event.error as RunError),
      ];
    case "node_skipped":
      return [`${stamp(event)}  ⊘ ${node} skipped: ${str(event.reason, "not run")}`];
    case "node_cancelled":
      return [`${stamp(event)}  ⊘ ${node} cancelled after ${formatDuration(event.duration_ms)}`];
    case "layer_completed":
      return [`${stamp(event)}layer ${str(event.layer)} completed in ${formatDuration(event.duration_ms)}`];
    case "layer_cancelled":
      return [`${stamp(event)}layer ${str(event.layer)} cancelled after ${formatDuration(event.duration_ms)}`];
    case "log":
      return [`${stamp(event)}log: ${str(event.message, "")}`];
    case "run_completed":
      return [`■ Run ${str(event.status, "finished")} in ${formatDuration(event.duration_ms)}`];
    case "run_rejected":
      // The errors themselves come with the command's result (formatResult).
      return ["✗ Run rejected before it started"];
    default:
      return [];
  }
}

/** The final result of `constellation.runPipeline`: outputs, errors and the run log. */
export function formatResult(result: RunResult): string[] {
  const lines: string[] = [];
  const outputs = Object.entries(result.outputs ?? {});
  if (outputs.length > 0) {
    lines.push("Outputs:");
    for (const [name, value] of outputs) {
      const [first, ...rest] = formatValueBlock(value).split("\n");
      lines.push(`  ${name} = ${first}`, ...rest.map((line) => `  ${line}`));
    }
  }
  const errors = result.errors ?? [];
  if (errors.length > 0) {
    lines.push("Errors:");
    for (const error of errors) {
      lines.push(`  ${error.function ? `${error.function}: ` : ""}${formatError(error)}`);
    }
  }
  const failed = (result.nodes ?? []).filter((node) => node.status === "failed");
  for (const node of failed) {
    if (!errors.length) lines.push(`  ${node.name} failed: ${formatError(node.error)}`);
  }
  lines.push(
    `Status: ${result.status}` +
      (result.duration_ms !== undefined ? ` in ${formatDuration(result.duration_ms)}` : "") +
      (result.nodes ? ` · ${callsRan(result.nodes)}` : ""),
  );
  return lines;
}

/** The calls of a layer (the server also lists its inputs, constants and inline values). */
export function layerCalls(nodes: LayerNode[]): LayerNode[] {
  return nodes.filter((node) => node.kind === "module");
}

/** `4 calls`, or `3 of 5 calls ran` when some were skipped (cancelled, not demanded…). */
function callsRan(nodes: { status?: string }[]): string {
  const ran = nodes.filter((node) => node.status === "completed" || node.status === "failed").length;
  return ran === nodes.length ? plural(nodes.length, "call") : `${ran} of ${plural(nodes.length, "call")} ran`;
}

/** The answer of `constellation.showLayers` as channel lines. */
export function formatLayers(result: LayersResult): string[] {
  const layers = (result.layers ?? []).filter(({ nodes }) => layerCalls(nodes).length > 0);
  const unlayered = result.unlayered?.length
    ? [`No layer (cannot run until the errors are fixed): ${result.unlayered.join(", ")}`]
    : [];
  if (layers.length === 0) return ["No module calls: nothing runs in layers.", ...unlayered];
  const lines = [`${plural(layers.length, "layer")} of calls:`];
  for (const { layer, nodes } of layers) {
    const entries = layerCalls(nodes);
    const count = entries.reduce((sum, node) => sum + (node.calls ?? 1), 0);
    lines.push(`  layer ${layer} · ${count === 1 ? "1 call" : `${count} calls run together`}`);
    for (const node of entries) {
      const modules = node.modules ?? (node.module ? [node.module] : []);
      lines.push(
        `    ${node.name}` +
          (modules.length ? ` = ${modules.map((m) => `${m}(…)`).join(", ")}` : "") +
          ((node.calls ?? 1) > modules.length && modules.length ? ` · ${node.calls} calls` : "") +
          (node.line ? `  line ${node.line}` : ""),
      );
    }
  }
  return [...lines, ...unlayered];
}

export type RunStatus = "idle" | "running" | "completed" | "failed" | "cancelled" | "rejected";

/** The tracker status for a run result's `status` field. */
export function finalStatus(status: string): RunStatus {
  return (["completed", "failed", "cancelled", "rejected"] as const).find((s) => s === status) ?? "failed";
}

/** Follows the events of one run to say where it is, for the status bar. */
export class RunTracker {
  depth = 0;
  layer = 0;
  status: RunStatus = "idle";
  durationMs: number | undefined;
  private readonly running = new Set<string>();
  completed = 0;
  failed = 0;
  total = 0;

  apply(event: RunEvent): void {
    const key = str(event.node ?? event.name);
    switch (event.event) {
      case "run_started":
        this.depth = Number(event.depth ?? 0);
        this.total = Number(event.nodes ?? 0);
        this.layer = 0;
        this.running.clear();
        this.completed = this.failed = 0;
        this.status = "running";
        this.durationMs = undefined;
        break;
      case "layer_started":
        this.layer = Math.max(this.layer, Number(event.layer ?? 0));
        break;
      case "node_started":
        this.running.add(key);
        break;
      case "node_retrying":
        this.running.delete(key);
        break;
      case "node_completed":
        this.running.delete(key);
        this.completed += 1;
        break;
      case "node_failed":
        this.running.delete(key);
        this.failed += 1;
        break;
      case "node_skipped":
      case "node_cancelled":
        this.running.delete(key);
        break;
      case "run_completed":
        this.running.clear();
        this.status = finalStatus(String(event.status));
        this.durationMs = typeof event.duration_ms === "number" ? event.duration_ms : undefined;
        break;
      case "run_rejected":
        this.running.clear();
        this.status = "rejected";
        break;
    }
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** `layer 1 of 2 · 3 calls running` while running; the outcome afterwards. */
  statusText(): string {
    switch (this.status) {
      case "idle":
        return "";
      case "running":
        if (this.layer === 0) return "starting…";
        return `layer ${this.layer} of ${this.depth} · ${plural(this.runningCount, "call")} running`;
      case "rejected":
        return "run rejected";
      default:
        return (
          `run ${this.status}` + (this.durationMs !== undefined ? ` in ${formatDuration(this.durationMs)}` : "")
        );
    }
  }
}
