// The timeline of a finished run: a bar per call grouped by layer, the critical path, how long
// each call waited for its layer after its inputs were ready, and the run's total under the
// eager schedule on the same durations. Pure arithmetic on the graph and the run model.

import type { GraphData, GraphNode, RunModel } from "./model";

export interface Bar {
  name: string;
  module: string | null;
  layer: number;
  startMs: number;
  endMs: number;
  durationMs: number;
  readyMs: number; // when its inputs were ready (the latest end of the calls it reads)
  waitMs: number; // start - ready: the time it waited for its layer's barrier
  state: string;
  critical: boolean;
}

export interface Timeline {
  bars: Bar[]; // sorted by layer, then start
  layers: { layer: number; bars: Bar[] }[];
  criticalPath: string[]; // names, first call to last
  totalMs: number; // the run's measured duration
  eagerMs: number; // the same durations, each call started as soon as its inputs were ready
  layeredMs: number; // the same durations, each layer started when the one before it ended
  barrierWaitMs: number; // sum of waits
  sentence: string;
}

const EPS = 0.5; // ms: event times are rounded by the run's clock

/** Nodes in an order where every node comes after the nodes it reads (Kahn). */
export function topologicalOrder(graph: GraphData): GraphNode[] {
  const indegree = new Map<number, number>();
  const out = new Map<number, number[]>();
  for (const n of graph.nodes) indegree.set(n.id, 0);
  for (const e of graph.edges) {
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1);
    if (!out.has(e.source)) out.set(e.source, []);
    out.get(e.source)!.push(e.target);
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const queue = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: GraphNode[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    order.push(byId.get(id)!);
    for (const to of out.get(id) ?? []) {
      const d = indegree.get(to)! - 1;
      indegree.set(to, d);
      if (d === 0) queue.push(to);
    }
  }
  return order;
}

function ran(state: string): boolean {
  return state === "completed" || state === "failed" || state === "cancelled" || state === "cached";
}

export function computeTimeline(graph: GraphData, run: RunModel): Timeline {
  const deps = new Map<number, number[]>();
  for (const e of graph.edges) {
    if (!deps.has(e.target)) deps.set(e.target, []);
    deps.get(e.target)!.push(e.source);
  }
  const order = topologicalOrder(graph);
  const actualEnd = new Map<number, number>(); // node -> when its value existed (inline: its inputs')
  const eagerEnd = new Map<number, number>();
  const bars: Bar[] = [];
  const barOf = new Map<number, Bar>();
  const gatingOf = new Map<number, number | undefined>(); // bar node -> the dep call that readied it
  const lastCallOf = new Map<number, number | undefined>(); // node -> the call whose end is its end
  for (const n of order) {
    const ds = deps.get(n.id) ?? [];
    let ready = 0;
    let eagerReady = 0;
    let gate: number | undefined;
    for (const d of ds) {
      const end = actualEnd.get(d) ?? 0;
      if (end > ready) {
        ready = end;
        gate = lastCallOf.get(d);
      }
      eagerReady = Math.max(eagerReady, eagerEnd.get(d) ?? 0);
    }
    const r = run.nodes.get(n.name);
    const isCall = n.module !== null && r !== undefined && ran(r.state) && r.startedMs !== undefined;
    if (!isCall) {
      actualEnd.set(n.id, ready);
      eagerEnd.set(n.id, eagerReady);
      lastCallOf.set(n.id, gate);
      continue;
    }
    const duration = r!.durationMs ?? 0;
    const start = r!.startedMs!;
    const end = start + duration;
    // a call that reads no other call (layer 1) waits for no barrier: what precedes its start
    // is the run's start-up, which the eager schedule would have too
    const readsCalls = gate !== undefined;
    const bar: Bar = {
      name: n.name,
      module: n.module,
      layer: n.layer ?? 0,
      startMs: start,
      endMs: end,
      durationMs: duration,
      readyMs: readsCalls ? ready : start,
      waitMs: readsCalls ? Math.max(0, start - ready) : 0,
      state: r!.state,
      critical: false,
    };
    bars.push(bar);
    barOf.set(n.id, bar);
    gatingOf.set(n.id, gate);
    actualEnd.set(n.id, end);
    eagerEnd.set(n.id, (readsCalls ? eagerReady : start) + duration);
    lastCallOf.set(n.id, n.id);
  }
  const criticalPath = criticalPathOf(bars, barOf, gatingOf, run.schedule !== "eager");
  const layered = layeredTotal(bars);
  let eagerMs = 0;
  for (const id of barOf.keys()) eagerMs = Math.max(eagerMs, eagerEnd.get(id) ?? 0);
  let totalMs = run.durationMs ?? 0;
  if (run.durationMs === undefined) for (const b of bars) totalMs = Math.max(totalMs, b.endMs);
  bars.sort((a, b) => a.layer - b.layer || a.startMs - b.startMs);
  const layers: { layer: number; bars: Bar[] }[] = [];
  for (const b of bars) {
    if (!layers.length || layers[layers.length - 1].layer !== b.layer) layers.push({ layer: b.layer, bars: [] });
    layers[layers.length - 1].bars.push(b);
  }
  const barrierWaitMs = bars.reduce((s, b) => s + b.waitMs, 0);
  return {
    bars,
    layers,
    criticalPath,
    totalMs,
    eagerMs,
    layeredMs: layered,
    barrierWaitMs,
    sentence: eagerSentence(eagerMs, totalMs, run.schedule),
  };
}

/**
 * The chain that decided when the run ended: from the call that ended last, step back to what
 * it waited for — under the layered schedule, the call of an earlier layer that ended last
 * before it started (the barrier); under the eager one, the input call that readied it.
 */
function criticalPathOf(
  bars: Bar[],
  barOf: Map<number, Bar>,
  gatingOf: Map<number, number | undefined>,
  layered: boolean,
): string[] {
  if (!bars.length) return [];
  const idOf = new Map<Bar, number>();
  for (const [id, bar] of barOf) idOf.set(bar, id);
  let current = bars.reduce((a, b) => (b.endMs > a.endMs ? b : a));
  const path: Bar[] = [current];
  for (;;) {
    let next: Bar | undefined;
    // what ended last before this call started, among earlier layers and its own inputs
    for (const b of bars) {
      if (b === current || b.endMs > current.startMs + EPS) continue;
      const gate = gatingOf.get(idOf.get(current)!);
      const relevant = (layered && b.layer < current.layer) || idOf.get(b) === gate;
      if (relevant && (next === undefined || b.endMs > next.endMs)) next = b;
    }
    if (next === undefined) break;
    path.push(next);
    current = next;
  }
  for (const b of path) b.critical = true;
  return path.reverse().map((b) => b.name);
}

/** Each layer starts when the layer before it has ended: the sum of each layer's longest call. */
function layeredTotal(bars: Bar[]): number {
  const longest = new Map<number, number>();
  for (const b of bars) longest.set(b.layer, Math.max(longest.get(b.layer) ?? 0, b.durationMs));
  let total = 0;
  for (const d of longest.values()) total += d;
  return total;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

export function eagerSentence(eagerMs: number, totalMs: number, schedule: string): string {
  if (schedule === "eager") return `this run used the eager schedule: ${ms(totalMs)}`;
  if (eagerMs + EPS >= totalMs) return `eager would have taken as long (${ms(eagerMs)}): no call waited for a layer`;
  return `eager would have finished in ${ms(eagerMs)} instead of ${ms(totalMs)}`;
}
