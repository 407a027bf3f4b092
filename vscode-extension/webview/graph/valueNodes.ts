// The run state of the nodes that have no run events of their own: inputs and inline values
// (docs/run-events.md: node events exist only for calls). Both come from what the run and its
// graph already say, nothing is read from the source: an input is settled, with its value,
// when the run starts (run_started's `inputs`); an inline value — evaluated in place when
// something demands it (LANGUAGE.md §10.2) — settles when the nodes it reads have. Pure.

import type { GraphData, GraphNode, NodeRun, RunErrorInfo } from "./model";
import { topologicalOrder } from "./timeline";

/**
 * An inline value's state from those of the nodes it reads: skipped as soon as one of them
 * failed (naming the failure, as a call's `node_skipped` does), pending while one is still to
 * settle, skipped when a cancel reached one, and completed once they all have a value (a node
 * it reads that was not demanded was one it did not need). Reading nothing (a constant), or
 * only what is not demanded, it is settled at once, or not demanded itself.
 */
export function inlineOutcome(deps: [string, NodeRun | undefined][]): NodeRun {
  let waiting = false;
  let failed: string | undefined;
  let cancelled = false;
  let demanded = deps.length === 0;
  for (const [name, r] of deps) {
    if (r === undefined || r.state === "completed" || r.state === "cached") demanded = true;
    else if (r.state === "pending" || r.state === "running" || r.state === "retrying") waiting = true;
    else if (r.state === "failed") failed ??= name;
    else if (r.state === "skipped" && r.reason === "dependency failed") failed ??= r.dependency ?? name;
    else if (r.state === "cancelled" || (r.state === "skipped" && r.reason === "cancelled")) cancelled = true;
  }
  if (failed !== undefined) return { state: "skipped", reason: "dependency failed", dependency: failed };
  if (waiting) return { state: "pending" };
  if (cancelled) return { state: "skipped", reason: "cancelled" };
  if (!demanded) return { state: "skipped", reason: "not demanded" };
  return { state: "completed" };
}

function same(a: NodeRun | undefined, b: NodeRun): boolean {
  return a !== undefined && a.state === b.state && a.reason === b.reason && a.dependency === b.dependency &&
    a.message === b.message && a.valueSet === b.valueSet && a.value === b.value;
}

/** The inputs and inline values of the graph a run ran on, and what each of them reads. */
export class ValueNodes {
  private readonly deps = new Map<string, string[]>(); // inline value -> the names it reads
  private readonly readers = new Map<string, string[]>(); // any node -> the inline values reading it
  private readonly order: GraphNode[] = []; // inline values, each after those it reads
  private readonly inputs: string[] = [];

  constructor(graph: GraphData) {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    for (const e of graph.edges) {
      const source = byId.get(e.source), target = byId.get(e.target);
      if (!source || !target || target.kind !== "inline") continue;
      if (!this.deps.has(target.name)) this.deps.set(target.name, []);
      this.deps.get(target.name)!.push(source.name);
      if (!this.readers.has(source.name)) this.readers.set(source.name, []);
      this.readers.get(source.name)!.push(target.name);
    }
    for (const n of topologicalOrder(graph)) {
      if (n.kind === "inline") this.order.push(n);
      else if (n.kind === "input") this.inputs.push(n.name);
    }
  }

  /** As the run starts: the inputs settled with their values, the inline values that can be. */
  start(nodes: Map<string, NodeRun>, inputs: Record<string, unknown> | undefined): void {
    for (const name of this.inputs) {
      const given = inputs !== undefined && Object.hasOwn(inputs, name);
      nodes.set(name, { state: "completed", ...(given ? { value: inputs[name], valueSet: true } : {}) });
    }
    for (const n of this.order) this.settle(n.name, nodes);
  }

  /** After `name` changed: the inline values reading it (and theirs) that changed with it. */
  settleReaders(name: string, nodes: Map<string, NodeRun>): string[] {
    const changed: string[] = [];
    const queue = [...(this.readers.get(name) ?? [])];
    for (let i = 0; i < queue.length; i++) {
      if (!this.settle(queue[i], nodes)) continue;
      changed.push(queue[i]);
      queue.push(...(this.readers.get(queue[i]) ?? []));
    }
    return changed;
  }

  /**
   * As the run ends: an inline value that is an output has its value from the run's outputs;
   * one the run needed as an output but has no value, though what it reads has, failed itself
   * (a division by zero, an overflow: one of the run's errors that no call's failure holds).
   */
  finish(nodes: Map<string, NodeRun>, outputs: Record<string, unknown>, failed: boolean, errors: RunErrorInfo[]): string[] {
    const callErrors = new Set([...nodes.values()].filter((r) => r.state === "failed").map((r) => r.message));
    const own = errors.find((e) => !callErrors.has(e.message));
    const changed: string[] = [];
    for (const n of this.order) {
      const names = [n.name, ...(n.names ?? [])];
      const output = names.find((name) => Object.hasOwn(outputs, name));
      let next = this.outcome(n.name, nodes);
      if (output !== undefined) next = { state: "completed", value: outputs[output], valueSet: true };
      else if (n.output && failed && next.state === "completed") {
        next = { state: "failed", message: own?.message ?? "no value: see the run's errors" };
      }
      if (same(nodes.get(n.name), next)) continue;
      nodes.set(n.name, next);
      changed.push(n.name);
    }
    return changed;
  }

  private outcome(name: string, nodes: Map<string, NodeRun>): NodeRun {
    return inlineOutcome((this.deps.get(name) ?? []).map((d) => [d, nodes.get(d)]));
  }

  private settle(name: string, nodes: Map<string, NodeRun>): boolean {
    const next = this.outcome(name, nodes);
    if (same(nodes.get(name), next)) return false;
    nodes.set(name, next);
    return true;
  }
}
