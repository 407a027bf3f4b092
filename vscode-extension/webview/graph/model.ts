// The graph view's data: the graph of `constellation/graph` (docs/graph.md) and the run state of
// each node, updated from the run events of docs/run-events.md. Pure: no DOM, unit-tested.

import { ValueNodes } from "./valueNodes";

export type NodeKind = "input" | "call" | "inline" | "lazy" | "fallback";

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}

export interface GraphNode {
  id: number;
  name: string;
  names?: string[];
  module: string | null;
  kind: NodeKind;
  layer: number | null;
  type?: string | null;
  output?: boolean;
  range: Range;
  callRange?: Range;
}

export interface GraphError {
  code?: string;
  message: string;
  range: Range | null;
}

export interface GraphData {
  version: number;
  depth: number;
  layers: { layer: number; nodes: number[] }[];
  nodes: GraphNode[];
  edges: { source: number; target: number }[];
  outputs: string[];
  inputs: string[];
  stale: boolean;
  errors: GraphError[];
}

export type RunState =
  | "pending"
  | "running"
  | "completed"
  | "failed"
  | "skipped"
  | "cancelled"
  | "retrying"
  | "cached";

export interface RunEvent {
  event: string;
  t_ms?: number;
  node?: number;
  name?: string;
  layer?: number;
  [key: string]: unknown;
}

export interface NodeRun {
  state: RunState;
  startedMs?: number; // t_ms of the first node_started (of the run)
  endedMs?: number;
  durationMs?: number;
  attempt?: number;
  message?: string; // failed: the error; retrying: the attempt's error
  reason?: string; // skipped: why
  dependency?: string; // skipped for a failure: the failed call
  value?: unknown;
  valueSet?: boolean;
}

export interface RunErrorInfo {
  message: string;
  line: number | null;
  column: number | null;
  function?: string | null;
}

/** A call as run_started lists it. */
export interface RunCall {
  node: number;
  name: string;
  module: string | null;
  layer: number | null;
  line: number;
  column: number;
}

/**
 * Each call's name on the graph, by node id: its event name, with the column when another call
 * of the run has the same name (two `FormatNumber(…)` in one line: `FormatNumber@16:41`) —
 * as the server names graph nodes (graph_view.py) and the debugger names calls.
 */
export function callKeys(calls: RunCall[]): Map<number, string> {
  const count = new Map<string, number>();
  for (const c of calls) count.set(c.name, (count.get(c.name) ?? 0) + 1);
  return new Map(calls.map((c) => [c.node, count.get(c.name)! > 1 ? `${c.name}:${c.column}` : c.name]));
}

/**
 * The graph a run ran on: the one shown when it started, with every call the run named that
 * it lacks (a run started just before an edit reached the view). A later edit changes neither
 * the run's states nor its timeline.
 */
export function ranGraph(shown: GraphData | undefined, calls: RunCall[]): GraphData {
  const graph: GraphData = shown ?? {
    version: 1, depth: 0, layers: [], nodes: [], edges: [], outputs: [], inputs: [], stale: false, errors: [],
  };
  const known = new Set(graph.nodes.map((n) => n.name));
  const keys = callKeys(calls);
  const missing = calls.filter((c) => !known.has(keys.get(c.node)!));
  if (!missing.length) return graph;
  let id = Math.max(-1, ...graph.nodes.map((n) => n.id));
  const at = (c: RunCall): Range => ({ start: { line: c.line - 1, character: c.column - 1 }, end: { line: c.line - 1, character: c.column - 1 } });
  const added = missing.map((c): GraphNode => ({
    id: ++id, name: keys.get(c.node)!, names: [keys.get(c.node)!], module: c.module, kind: "call", layer: c.layer, range: at(c), callRange: at(c),
  }));
  return { ...graph, nodes: [...graph.nodes, ...added] };
}

/**
 * One run of a document, folded from its events as they arrive, on the graph it ran on (given
 * when it is made: the view's graph then). The inputs and inline values, which have no events,
 * settle with the calls they read (valueNodes.ts).
 */
export class RunModel {
  readonly nodes = new Map<string, NodeRun>();
  private values: ValueNodes | undefined;
  private keys = new Map<number, string>(); // a call's node id -> its name on the graph
  status: "idle" | "running" | "completed" | "failed" | "cancelled" | "rejected" = "idle";
  schedule = "layered";
  startedAt = 0; // Date.now() when run_started arrived (for elapsed times)
  lastMs = 0;
  durationMs: number | undefined;
  outputs: Record<string, unknown> = {};
  errors: RunErrorInfo[] = [];
  log: string[] = [];
  events = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** The graph this run ran on (ranGraph): what its timeline and values are shown against. */
    public graph?: GraphData,
  ) {}

  /** Marks every call of the graph pending (run_started names the calls it will run). */
  start(calls: Iterable<string>): void {
    this.nodes.clear();
    for (const name of calls) this.nodes.set(name, { state: "pending" });
  }

  /** Folds one event in; returns the names of the nodes whose state it changed. */
  apply(e: RunEvent): string[] {
    this.events += 1;
    if (typeof e.t_ms === "number") this.lastMs = e.t_ms;
    const t = e.t_ms ?? this.lastMs;
    switch (e.event) {
      case "run_started": {
        this.status = "running";
        this.schedule = String(e.schedule ?? "layered");
        this.startedAt = this.now();
        this.durationMs = undefined;
        this.outputs = {};
        this.errors = [];
        this.log = [];
        const calls = (e.calls as RunCall[] | undefined) ?? [];
        this.keys = callKeys(calls);
        const layers = (e.layers as { nodes: string[] }[] | undefined) ?? [];
        const called = new Set(calls.map((c) => c.name));
        this.start([...layers.flatMap((l) => l.nodes).filter((n) => !called.has(n)), ...this.keys.values()]);
        this.graph = ranGraph(this.graph, calls);
        this.values = new ValueNodes(this.graph);
        this.values.start(this.nodes, e.inputs as Record<string, unknown> | undefined);
        return [...this.nodes.keys()];
      }
      case "run_rejected":
        this.status = "rejected";
        this.errors = (e.errors as RunErrorInfo[]) ?? [];
        return [];
      case "run_completed":
        this.status = (e.status as RunModel["status"]) ?? "completed";
        this.durationMs = e.duration_ms as number;
        this.outputs = (e.outputs as Record<string, unknown>) ?? {};
        this.errors = (e.errors as RunErrorInfo[]) ?? [];
        this.log = (e.log as string[]) ?? [];
        return this.values?.finish(this.nodes, this.outputs, this.status === "failed", this.errors) ?? [];
      case "log":
        this.log.push(String(e.message ?? ""));
        return [];
    }
    const name = (typeof e.node === "number" ? this.keys.get(e.node) : undefined) ?? e.name;
    if (!name) return [];
    const node = this.nodes.get(name) ?? { state: "pending" as RunState };
    this.nodes.set(name, node);
    switch (e.event) {
      case "node_started":
        node.state = "running";
        node.attempt = e.attempt as number;
        if (node.startedMs === undefined) node.startedMs = t;
        break;
      case "node_retrying":
        node.state = "retrying";
        node.attempt = e.attempt as number;
        node.message = String(e.error ?? "");
        break;
      case "node_completed":
        node.state = e.cache_hit ? "cached" : "completed";
        this.end(node, t, e.duration_ms as number);
        node.value = e.value;
        node.valueSet = true;
        break;
      case "node_failed": {
        node.state = "failed";
        this.end(node, t, e.duration_ms as number);
        const err = e.error as { message?: string } | undefined;
        node.message = err?.message ?? String(e.error ?? "");
        break;
      }
      case "node_cancelled":
        node.state = "cancelled";
        this.end(node, t, e.duration_ms as number);
        break;
      case "node_skipped":
        node.state = "skipped";
        node.reason = String(e.reason ?? "");
        if (typeof e.dependency === "string") node.dependency = e.dependency;
        break;
    }
    return [name, ...(this.values?.settleReaders(name, this.nodes) ?? [])];
  }

  private end(node: NodeRun, t: number, duration: number | undefined): void {
    node.durationMs = typeof duration === "number" ? duration : undefined;
    node.endedMs = t;
    if (node.startedMs === undefined && node.durationMs !== undefined) node.startedMs = t - node.durationMs;
  }

  /** Milliseconds a running node has run, for the "running 1.2 s" label. */
  elapsedMs(name: string): number | undefined {
    const node = this.nodes.get(name);
    if (!node || node.startedMs === undefined || (node.state !== "running" && node.state !== "retrying")) return undefined;
    return Math.max(0, this.now() - this.startedAt - node.startedMs);
  }
}

/**
 * The header's count: layers as LANGUAGE.md counts them (§ layers: layer k ≥ 1 holds calls,
 * `depth` is the largest) and as `cst layers` and the debugger ("layer 2 of 5") say them; the
 * inputs' and constants' band (layer 0) is not one of them.
 */
export function graphSummary(graph: GraphData): string {
  const nodes = `${graph.nodes.length} node${graph.nodes.length === 1 ? "" : "s"}`;
  return `${nodes} · ${graph.depth} layer${graph.depth === 1 ? "" : "s"} of calls`;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The short text of a node's state, as the graph shows it under the node. */
export function stateText(run: NodeRun | undefined, elapsed?: number): string {
  if (!run) return "";
  switch (run.state) {
    case "pending":
      return "pending";
    case "running":
      return elapsed === undefined ? "running" : `running ${formatMs(elapsed)}`;
    case "retrying":
      return `retrying (attempt ${(run.attempt ?? 1) + 1})`;
    case "completed":
      return run.durationMs === undefined ? "completed" : `done in ${formatMs(run.durationMs)}`;
    case "cached":
      return "cached";
    case "failed":
      return `failed: ${run.message ?? ""}`;
    case "skipped":
      return `skipped: ${run.reason ?? ""}`;
    case "cancelled":
      return "cancelled";
  }
}

/**
 * Events arriving faster than the screen redraws are applied together once per frame: `push`
 * queues, `flush` (called by the frame callback) applies the queue and returns how many.
 */
export class EventBatcher {
  private queue: RunEvent[] = [];
  private scheduled = false;

  constructor(
    private readonly apply: (events: RunEvent[]) => void,
    private readonly schedule: (flush: () => void) => void,
  ) {}

  push(events: RunEvent | RunEvent[]): void {
    if (Array.isArray(events)) this.queue.push(...events);
    else this.queue.push(events);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  flush(): number {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length) this.apply(batch);
    return batch.length;
  }
}

/** A node shown on the graph: a real node, or a group standing for a collapsed fan-out. */
export interface ViewNode {
  key: string; // the binding name, or `group:<layer>:<module>:<deps>`
  node: GraphNode; // the node itself, or the group's first member
  members: GraphNode[]; // the nodes a group stands for (one for a real node)
  layer: number | null;
}

export interface ViewGraph {
  nodes: ViewNode[];
  edges: { from: string; to: string }[];
  byId: Map<number, ViewNode>;
}

export const FAN_OUT_LIMIT = 8;

/**
 * Wide fan-outs collapse: calls of one layer with the same module and the same inputs, more
 * than `limit` of them, are shown as one group node (`Fetch ×40`) unless their group key is in
 * `expanded`. Edges between groups are merged.
 */
export function collapseFanOuts(graph: GraphData, expanded: ReadonlySet<string>, limit = FAN_OUT_LIMIT): ViewGraph {
  const deps = new Map<number, number[]>();
  const readers = new Map<number, number>();
  for (const e of graph.edges) {
    if (!deps.has(e.target)) deps.set(e.target, []);
    deps.get(e.target)!.push(e.source);
    readers.set(e.source, (readers.get(e.source) ?? 0) + 1);
  }
  const groups = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    if (n.kind === "input" || n.module === null) continue;
    const key = `group:${n.layer}:${n.module}:${[...(deps.get(n.id) ?? [])].sort((a, b) => a - b).join(",")}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(n);
  }
  const byId = new Map<number, ViewNode>();
  const nodes: ViewNode[] = [];
  for (const [key, members] of groups) {
    if (members.length <= limit || expanded.has(key)) continue;
    const view: ViewNode = { key, node: members[0], members, layer: members[0].layer };
    nodes.push(view);
    for (const m of members) byId.set(m.id, view);
  }
  for (const n of graph.nodes) {
    if (byId.has(n.id)) continue;
    const view: ViewNode = { key: n.name, node: n, members: [n], layer: n.layer };
    nodes.push(view);
    byId.set(n.id, view);
  }
  const seen = new Set<string>();
  const edges: { from: string; to: string }[] = [];
  for (const e of graph.edges) {
    const from = byId.get(e.source)!.key;
    const to = byId.get(e.target)!.key;
    const k = `${from}\u0000${to}`;
    if (from === to || seen.has(k)) continue;
    seen.add(k);
    edges.push({ from, to });
  }
  return { nodes, edges, byId };
}

/** A group's state: the most telling of its members' (failed over running over done). */
const STATE_RANK: RunState[] = ["failed", "running", "retrying", "cancelled", "pending", "skipped", "completed", "cached"];
export function groupState(states: (RunState | undefined)[]): RunState | undefined {
  let best: RunState | undefined;
  for (const s of states) {
    if (s === undefined) continue;
    if (best === undefined || STATE_RANK.indexOf(s) < STATE_RANK.indexOf(best)) best = s;
  }
  return best;
}

/** Names matching a search: case-insensitive substring of the name or the module. */
export function searchNodes(graph: GraphData, query: string): GraphNode[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return graph.nodes.filter((n) => n.name.toLowerCase().includes(q) || (n.module ?? "").toLowerCase().includes(q));
}

/** The node of the binding whose range holds `position` (the cursor): the innermost one. */
export function nodeAt(graph: GraphData, position: Position): GraphNode | undefined {
  const within = (r: Range | undefined) =>
    r !== undefined &&
    (r.start.line < position.line || (r.start.line === position.line && r.start.character <= position.character)) &&
    (r.end.line > position.line || (r.end.line === position.line && r.end.character >= position.character));
  const calls = graph.nodes.filter((n) => within(n.callRange) || within(n.range));
  if (calls.length) return calls[calls.length - 1];
  // else: a node declared on the cursor's line
  return graph.nodes.find((n) => n.range.start.line === position.line);
}
