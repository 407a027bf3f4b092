import assert from "node:assert/strict";
import { test } from "node:test";
import {
  callKeys, collapseFanOuts, EventBatcher, graphSummary, groupState, nodeAt, ranGraph, RunModel, searchNodes, stateText,
  type GraphData, type GraphNode, type RunEvent,
} from "../../webview/graph/model";
import { computeTimeline, eagerSentence, topologicalOrder } from "../../webview/graph/timeline";

const r = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 5 } });

function node(id: number, name: string, layer: number, module: string | null, kind: GraphNode["kind"] = module ? "call" : "input"): GraphNode {
  return { id, name, module, kind, layer, range: r(id), callRange: r(id) };
}

/** in s; a = A(s); b = B(s); c = C(a); d = D(b, c) — a: 10 ms, b: 100 ms, c: 50 ms, d: 5 ms. */
function diamond(): GraphData {
  return {
    version: 1,
    depth: 3,
    layers: [{ layer: 0, nodes: [0] }, { layer: 1, nodes: [1, 2] }, { layer: 2, nodes: [3] }, { layer: 3, nodes: [4] }],
    nodes: [node(0, "s", 0, null), node(1, "a", 1, "A"), node(2, "b", 1, "B"), node(3, "c", 2, "C"), node(4, "d", 3, "D")],
    edges: [{ source: 0, target: 1 }, { source: 0, target: 2 }, { source: 1, target: 3 }, { source: 2, target: 4 }, { source: 3, target: 4 }],
    outputs: ["d"],
    inputs: ["s"],
    stale: false,
    errors: [],
  };
}

function started(t: number, name: string): RunEvent {
  return { event: "node_started", t_ms: t, name, attempt: 1 };
}
function completed(t: number, name: string, duration: number, value: unknown = null): RunEvent {
  return { event: "node_completed", t_ms: t, name, duration_ms: duration, value, cache_hit: false, attempts: 1 };
}

/** A layered run of the diamond: c waits for b's layer although a ended at 10 ms. */
function layeredRun(): RunModel {
  const run = new RunModel(() => 0);
  const events: RunEvent[] = [
    { event: "run_started", t_ms: 0, schedule: "layered", layers: [{ layer: 1, nodes: ["a", "b"] }, { layer: 2, nodes: ["c"] }, { layer: 3, nodes: ["d"] }] },
    started(0, "a"), started(0, "b"), completed(10, "a", 10, 1), completed(100, "b", 100, 2),
    started(100, "c"), completed(150, "c", 50, 3), started(150, "d"), completed(155, "d", 5, 4),
    { event: "run_completed", t_ms: 155, status: "completed", duration_ms: 155, outputs: { d: 4 }, errors: [], log: [], nodes: [] },
  ];
  for (const e of events) run.apply(e);
  return run;
}

test("run events fold into each node's state, as they arrive", () => {
  let now = 0;
  const run = new RunModel(() => now);
  run.apply({ event: "run_started", t_ms: 0, schedule: "layered", layers: [{ layer: 1, nodes: ["a", "b", "c"] }] });
  assert.deepEqual([...run.nodes.values()].map((n) => n.state), ["pending", "pending", "pending"]);
  run.apply(started(1, "a"));
  now = 1201;
  assert.equal(run.nodes.get("a")!.state, "running");
  assert.equal(stateText(run.nodes.get("a"), run.elapsedMs("a")), "running 1.20 s");
  run.apply({ event: "node_retrying", t_ms: 5, name: "a", attempt: 1, error: "boom", delay_ms: 10 });
  assert.equal(stateText(run.nodes.get("a")), "retrying (attempt 2)");
  run.apply({ event: "node_failed", t_ms: 30, name: "a", duration_ms: 29, error: { message: "it broke", line: 2, column: 5 } });
  assert.equal(stateText(run.nodes.get("a")), "failed: it broke");
  run.apply({ event: "node_skipped", t_ms: 31, name: "b", reason: "dependency failed" });
  assert.equal(stateText(run.nodes.get("b")), "skipped: dependency failed");
  run.apply({ event: "node_completed", t_ms: 32, name: "c", duration_ms: 0, value: 7, cache_hit: true, attempts: 0 });
  assert.equal(run.nodes.get("c")!.state, "cached");
  assert.equal(run.nodes.get("c")!.value, 7);
  run.apply({ event: "node_cancelled", t_ms: 40, name: "d", duration_ms: 3 });
  assert.equal(run.nodes.get("d")!.state, "cancelled");
  run.apply({ event: "run_completed", t_ms: 41, status: "failed", duration_ms: 41, outputs: {}, errors: [{ message: "it broke", line: 2, column: 5 }], log: [], nodes: [] });
  assert.equal(run.status, "failed");
  assert.equal(run.errors[0].line, 2);
});

test("events are applied once per frame, together", () => {
  const applied: number[] = [];
  let frame: (() => void) | undefined;
  let frames = 0;
  const batcher = new EventBatcher((events) => applied.push(events.length), (f) => {
    frames += 1;
    frame = f;
  });
  for (let i = 0; i < 1000; i++) batcher.push(started(i, `n${i}`));
  assert.equal(frames, 1);
  frame!();
  assert.deepEqual(applied, [1000]);
  batcher.push([started(1, "x"), started(2, "y")]);
  assert.equal(frames, 2);
  frame!();
  assert.deepEqual(applied, [1000, 2]);
});

test("the timeline shows the barrier's cost and what eager would have taken", () => {
  const t = computeTimeline(diamond(), layeredRun());
  assert.deepEqual(t.bars.map((b) => [b.name, b.layer, b.startMs, b.durationMs]), [
    ["a", 1, 0, 10], ["b", 1, 0, 100], ["c", 2, 100, 50], ["d", 3, 150, 5],
  ]);
  const c = t.bars.find((b) => b.name === "c")!;
  assert.equal(c.readyMs, 10); // a ended at 10 ms
  assert.equal(c.waitMs, 90); // then it waited for b's layer
  assert.equal(t.barrierWaitMs, 90);
  // eager: a 10 + c 50 = 60, b 100, d after max(60, 100) = 105
  assert.equal(t.eagerMs, 105);
  assert.equal(t.layeredMs, 155);
  assert.equal(t.totalMs, 155);
  assert.equal(t.sentence, "eager would have finished in 105 ms instead of 155 ms");
  // the chain that decided the end: b (the barrier), c, d
  assert.deepEqual(t.criticalPath, ["b", "c", "d"]);
  assert.deepEqual(t.bars.filter((b) => b.critical).map((b) => b.name), ["b", "c", "d"]);
  assert.deepEqual(t.layers.map((l) => [l.layer, l.bars.length]), [[1, 2], [2, 1], [3, 1]]);
});

test("under the eager schedule the critical path follows the inputs only", () => {
  const run = new RunModel(() => 0);
  for (const e of [
    { event: "run_started", t_ms: 0, schedule: "eager", layers: [] },
    started(0, "a"), started(0, "b"), completed(10, "a", 10), started(10, "c"), completed(60, "c", 50),
    completed(100, "b", 100), started(100, "d"), completed(105, "d", 5),
    { event: "run_completed", t_ms: 105, status: "completed", duration_ms: 105, outputs: {}, errors: [], log: [], nodes: [] },
  ] as RunEvent[]) run.apply(e);
  const t = computeTimeline(diamond(), run);
  assert.deepEqual(t.criticalPath, ["b", "d"]);
  assert.equal(t.barrierWaitMs, 0);
  assert.equal(t.sentence, "this run used the eager schedule: 105 ms");
  assert.equal(eagerSentence(100, 100, "layered"), "eager would have taken as long (100 ms): no call waited for a layer");
});

test("what precedes a first-layer call is start-up, not a barrier: eager has it too", () => {
  const run = new RunModel(() => 0);
  for (const e of [
    { event: "run_started", t_ms: 0, schedule: "layered", layers: [] },
    started(40, "a"), started(60, "b"), completed(50, "a", 10), completed(160, "b", 100),
    started(160, "c"), completed(210, "c", 50), started(210, "d"), completed(215, "d", 5),
    { event: "run_completed", t_ms: 215, status: "completed", duration_ms: 215, outputs: {}, errors: [], log: [], nodes: [] },
  ] as RunEvent[]) run.apply(e);
  const t = computeTimeline(diamond(), run);
  assert.deepEqual(t.bars.map((b) => b.waitMs), [0, 0, 110, 0]);
  // eager: a 40..50, c 50..100; b 60..160; d 160..165
  assert.equal(t.eagerMs, 165);
  assert.equal(t.sentence, "eager would have finished in 165 ms instead of 215 ms");
});

test("inline nodes pass their inputs' readiness on; skipped calls have no bar", () => {
  const g = diamond();
  g.nodes[3] = { ...g.nodes[3], module: null, kind: "inline" }; // c is inline: ready when a is
  const run = layeredRun();
  run.nodes.delete("c");
  run.apply({ event: "node_skipped", t_ms: 1, name: "zz", reason: "not demanded" });
  const t = computeTimeline(g, run);
  assert.deepEqual(t.bars.map((b) => b.name), ["a", "b", "d"]);
  assert.equal(t.bars.find((b) => b.name === "d")!.readyMs, 100);
  assert.deepEqual(topologicalOrder(g).map((n) => n.name), ["s", "a", "b", "c", "d"]);
});

function fanOut(width: number): GraphData {
  const nodes = [node(0, "s", 0, null)];
  const edges = [];
  for (let i = 1; i <= width; i++) {
    nodes.push(node(i, `f${i}`, 1, "Fetch"));
    edges.push({ source: 0, target: i });
  }
  nodes.push(node(width + 1, "all", 2, "Merge"));
  for (let i = 1; i <= width; i++) edges.push({ source: i, target: width + 1 });
  return { version: 1, depth: 2, layers: [], nodes, edges, outputs: ["all"], inputs: ["s"], stale: false, errors: [] };
}

test("a wide fan-out collapses to one group node, and expands on demand", () => {
  const view = collapseFanOuts(fanOut(40), new Set());
  assert.equal(view.nodes.length, 3);
  const group = view.nodes.find((n) => n.members.length > 1)!;
  assert.equal(group.members.length, 40);
  assert.deepEqual(view.edges, [{ from: "s", to: group.key }, { from: group.key, to: "all" }]);
  const open = collapseFanOuts(fanOut(40), new Set([group.key]));
  assert.equal(open.nodes.length, 42);
  assert.equal(open.edges.length, 80);
  assert.equal(collapseFanOuts(fanOut(8), new Set()).nodes.length, 10); // up to the limit: shown
  assert.equal(groupState(["completed", "running", undefined]), "running");
  assert.equal(groupState(["completed", "failed"]), "failed");
});

test("search and the node under the cursor", () => {
  const g = diamond();
  assert.deepEqual(searchNodes(g, "  B ").map((n) => n.name), ["b"]);
  assert.deepEqual(searchNodes(g, ""), []);
  assert.equal(nodeAt(g, { line: 3, character: 2 })!.name, "c");
  assert.equal(nodeAt(g, { line: 3, character: 40 })!.name, "c"); // on its line
  assert.equal(nodeAt(g, { line: 30, character: 0 }), undefined);
});

/**
 * in s; t = "${s}!" (inline); a = A(t); k = 3 (a constant); m = a + k (inline, an output);
 * lz = Lz(s) (lazy); n = m ?? lz (inline).
 */
function withValues(): GraphData {
  const inline = (id: number, name: string, layer: number): GraphNode => ({ ...node(id, name, layer, null, "inline") });
  return {
    version: 1,
    depth: 1,
    layers: [],
    nodes: [node(0, "s", 0, null), inline(1, "t", 0), node(2, "a", 1, "A"), inline(3, "k", 0),
      { ...inline(4, "m", 1), output: true }, node(5, "lz", 1, "Lz", "lazy"), inline(6, "n", 1)],
    edges: [{ source: 0, target: 1 }, { source: 1, target: 2 }, { source: 2, target: 4 }, { source: 3, target: 4 },
      { source: 0, target: 5 }, { source: 4, target: 6 }, { source: 5, target: 6 }],
    outputs: ["m"],
    inputs: ["s"],
    stale: false,
    errors: [],
  };
}

const runStarted = (inputs: Record<string, unknown>): RunEvent => ({
  event: "run_started", t_ms: 0, schedule: "layered", inputs,
  layers: [{ layer: 1, nodes: ["a", "lz"] }],
  calls: [{ node: 2, name: "a", module: "A", layer: 1, line: 3, column: 5 }, { node: 5, name: "lz", module: "Lz", layer: 1, line: 6, column: 6 }],
});
const states = (run: RunModel) => Object.fromEntries([...run.nodes].map(([name, r]) => [name, r.state]));

test("inputs settle with their values as the run starts; inline values with what they read", () => {
  const run = new RunModel(() => 0, withValues());
  const changed = run.apply(runStarted({ s: "hi" }));
  assert.deepEqual(states(run), { a: "pending", lz: "pending", s: "completed", t: "completed", k: "completed", m: "pending", n: "pending" });
  assert.equal(run.nodes.get("s")!.value, "hi");
  assert.equal(run.nodes.get("s")!.valueSet, true);
  assert.deepEqual(new Set(changed), new Set(["a", "lz", "s", "t", "k", "m", "n"]));
  assert.deepEqual(run.apply(started(1, "a")), ["a"]); // running: what reads it still waits
  assert.deepEqual(run.apply(completed(10, "a", 9, 2)), ["a", "m"]);
  assert.equal(run.nodes.get("m")!.state, "completed");
  assert.equal(run.nodes.get("n")!.state, "pending"); // lz has not settled
  // a lazy call nobody demanded: what reads it did not need it
  assert.deepEqual(run.apply({ event: "node_skipped", t_ms: 11, name: "lz", reason: "not demanded" }), ["lz", "n"]);
  assert.equal(run.nodes.get("n")!.state, "completed");
  run.apply({ event: "run_completed", t_ms: 12, status: "completed", duration_ms: 12, outputs: { m: 5 }, errors: [], log: [], nodes: [] });
  assert.equal(run.nodes.get("m")!.value, 5);
  assert.equal(stateText(run.nodes.get("m")), "completed");
});

test("an inline value is skipped with the failure it reads, and fails itself when it has no value", () => {
  const run = new RunModel(() => 0, withValues());
  run.apply(runStarted({ s: "hi" }));
  run.apply(started(1, "a"));
  assert.deepEqual(run.apply({ event: "node_failed", t_ms: 5, name: "a", duration_ms: 4, error: { message: "boom", line: 3, column: 5 } }), ["a", "m", "n"]);
  assert.deepEqual(run.nodes.get("m"), { state: "skipped", reason: "dependency failed", dependency: "a" });
  // n reads m, skipped for a's failure: n names that failure too, without waiting for lz
  assert.deepEqual(run.nodes.get("n"), { state: "skipped", reason: "dependency failed", dependency: "a" });
  assert.equal(stateText(run.nodes.get("n")), "skipped: dependency failed");

  const own = new RunModel(() => 0, withValues());
  own.apply(runStarted({ s: "hi" }));
  own.apply(completed(3, "a", 3, 2));
  own.apply({ event: "node_skipped", t_ms: 4, name: "lz", reason: "not demanded" });
  assert.equal(own.nodes.get("m")!.state, "completed"); // what it reads has a value...
  const changed = own.apply({ event: "run_completed", t_ms: 5, status: "failed", duration_ms: 5, outputs: {},
    errors: [{ message: "Division by zero", line: 5, column: 7 }], log: [], nodes: [] });
  assert.deepEqual(changed, ["m", "n"]); // ...but the output has none: it failed itself
  assert.deepEqual(own.nodes.get("m"), { state: "failed", message: "Division by zero" });
  assert.deepEqual(own.nodes.get("n"), { state: "skipped", reason: "dependency failed", dependency: "m" });

  const cancelled = new RunModel(() => 0, withValues());
  cancelled.apply(runStarted({ s: "hi" }));
  cancelled.apply({ event: "node_skipped", t_ms: 1, name: "a", reason: "cancelled" });
  assert.deepEqual(cancelled.nodes.get("m"), { state: "skipped", reason: "cancelled" });
});

test("a run keeps the graph it ran on, with every call it named", () => {
  const calls = ["a", "b", "c", "d"].map((name, i) => ({ node: i + 1, name, module: name.toUpperCase(), layer: [1, 1, 2, 3][i], line: i + 2, column: 5 }));
  const events: RunEvent[] = [
    { event: "run_started", t_ms: 0, schedule: "layered", layers: [], calls, inputs: { s: "x" } },
    started(0, "a"), started(0, "b"), completed(10, "a", 10), completed(100, "b", 100),
    started(100, "c"), completed(150, "c", 50), started(150, "d"), completed(155, "d", 5),
  ];
  const shown = diamond();
  const run = new RunModel(() => 0, shown);
  for (const e of events) run.apply(e);
  assert.equal(run.graph, shown); // what the view draws after an edit is another object
  assert.deepEqual(computeTimeline(run.graph!, run).bars.map((b) => b.name), ["a", "b", "c", "d"]);
  // the view's graph lacked c (the run started before an edit reached it): c is added
  const lacking = { ...diamond(), nodes: diamond().nodes.filter((n) => n.id !== 3) };
  lacking.edges = lacking.edges.filter((e) => e.source !== 3 && e.target !== 3);
  const late = new RunModel(() => 0, lacking);
  for (const e of events) late.apply(e);
  const c = late.graph!.nodes.find((n) => n.name === "c")!;
  assert.deepEqual([c.module, c.kind, c.layer, c.range.start], ["C", "call", 2, { line: 3, character: 4 }]);
  assert.equal(new Set(late.graph!.nodes.map((n) => n.id)).size, late.graph!.nodes.length);
  assert.deepEqual(computeTimeline(late.graph!, late).bars.map((b) => b.name), ["a", "b", "c", "d"]);
  assert.equal(ranGraph(undefined, calls).nodes.length, 4);
  assert.equal(ranGraph(shown, calls), shown); // nothing missing: the same graph
});

test("two calls of one module on a line are told apart by their column, and each gets its own events", () => {
  // label = "${F(x)}" + "${F(x)}" on line 3: the server names the nodes F@3:6 and F@3:15
  const graph: GraphData = {
    version: 1, depth: 1, layers: [{ layer: 0, nodes: [0] }, { layer: 1, nodes: [1, 2] }],
    nodes: [node(0, "x", 0, null), node(1, "F@3:6", 1, "F"), node(2, "F@3:15", 1, "F")],
    edges: [{ source: 0, target: 1 }, { source: 0, target: 2 }], outputs: [], inputs: ["x"], stale: false, errors: [],
  };
  const calls = [{ node: 1, name: "F@3", module: "F", layer: 1, line: 3, column: 6 }, { node: 2, name: "F@3", module: "F", layer: 1, line: 3, column: 15 },
    { node: 3, name: "G@4", module: "G", layer: 1, line: 4, column: 1 }];
  assert.deepEqual([...callKeys(calls).values()], ["F@3:6", "F@3:15", "G@4"]);
  const run = new RunModel(() => 0, graph);
  run.apply({ event: "run_started", t_ms: 0, schedule: "layered", layers: [{ layer: 1, nodes: ["F@3", "F@3"] }], calls: calls.slice(0, 2), inputs: { x: 1 } });
  assert.deepEqual(states(run), { "F@3:6": "pending", "F@3:15": "pending", x: "completed" });
  assert.equal(run.graph, graph); // both calls are nodes of the graph shown
  assert.deepEqual(run.apply({ event: "node_started", t_ms: 1, node: 2, name: "F@3", attempt: 1 }), ["F@3:15"]);
  run.apply({ event: "node_completed", t_ms: 3, node: 2, name: "F@3", duration_ms: 2, value: "b", cache_hit: false, attempts: 1 });
  run.apply({ event: "node_failed", t_ms: 4, node: 1, name: "F@3", duration_ms: 3, error: { message: "boom" } });
  assert.deepEqual(states(run), { "F@3:6": "failed", "F@3:15": "completed", x: "completed" });
  assert.equal(run.nodes.get("F@3:15")!.value, "b");
});

test("the header counts the layers of calls, as cst layers and the debugger do", () => {
  assert.equal(graphSummary(diamond()), "5 nodes · 3 layers of calls"); // bands 0..3: the inputs' is not one
  const one = { ...diamond(), depth: 1, nodes: diamond().nodes.slice(0, 1) };
  assert.equal(graphSummary(one), "1 node · 1 layer of calls");
});
