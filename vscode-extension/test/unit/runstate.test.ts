import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunEvent } from "../../src/format";
import type { GraphData, GraphNode } from "../../webview/graph/model";
import { FrameBatcher, lineEdit, RunMarks } from "../../src/runstate";

const call = (name: string, layer: number, line: number) => ({
  node: `n-${name}`,
  name,
  module: `demo.${name}`,
  layer,
  line,
  column: 5,
});

const STARTED: RunEvent = {
  event: "run_started",
  t_ms: 0,
  layers: [],
  calls: [call("bad", 1, 2), call("slow", 1, 3), call("after", 2, 4), call("later", 3, 5)],
};

/** A clock the test moves by hand. */
function clock(start = 1000) {
  let wall = start;
  return { now: () => wall, advance: (ms: number) => (wall += ms) };
}

const byLine = (marks: RunMarks) => Object.fromEntries(marks.lines().map((m) => [m.line, m]));

test("run_started marks every call pending on its line, with its layer", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  assert.deepEqual(
    marks.lines().map((m) => [m.line, m.state, m.text]),
    [
      [2, "pending", "⋯ pending · layer 1"],
      [3, "pending", "⋯ pending · layer 1"],
      [4, "pending", "⋯ pending · layer 2"],
      [5, "pending", "⋯ pending · layer 3"],
    ],
  );
});

test("a pending call does not repeat the layer its line's layer hint shows", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  assert.deepEqual(marks.lines(true).map((m) => m.text), ["⋯ pending", "⋯ pending", "⋯ pending", "⋯ pending"]);
});

test("a running call's elapsed time ticks with the wall clock between events", () => {
  const time = clock();
  const marks = new RunMarks(time.now);
  marks.apply(STARTED);
  marks.apply({ event: "node_started", t_ms: 10, attempt: 1, ...call("slow", 1, 3) });
  assert.equal(marks.ticking, true);
  assert.equal(byLine(marks)[3].text, "▷ running 0.0 ms");
  time.advance(250);
  assert.equal(byLine(marks)[3].state, "running");
  assert.equal(byLine(marks)[3].text, "▷ running 250 ms");
  time.advance(1000);
  assert.equal(byLine(marks)[3].text, "▷ running 1.25 s");
});

test("each outcome has its state and short text; values show as each call completes", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  marks.apply({ event: "node_started", t_ms: 1, attempt: 1, ...call("bad", 1, 2) });
  marks.apply({ event: "node_failed", t_ms: 30, duration_ms: 29, error: { message: "Service failed for: x", line: 2, column: 7 }, ...call("bad", 1, 2) });
  marks.apply({ event: "node_skipped", t_ms: 31, reason: "dependency failed", dependency: "bad", ...call("after", 2, 4) });
  marks.apply({ event: "node_skipped", t_ms: 31, reason: "dependency failed", dependency: "bad", ...call("later", 3, 5) });
  marks.apply({ event: "node_started", t_ms: 1, attempt: 1, ...call("slow", 1, 3) });
  let lines = byLine(marks);
  assert.equal(lines[2].state, "failed");
  assert.equal(lines[2].text, "✗ failed after 29 ms: Service failed for: x");
  assert.equal(lines[4].text, "⊘ skipped: bad failed");
  assert.equal(lines[5].state, "skipped");
  assert.equal(lines[3].state, "running");
  marks.apply({ event: "node_completed", t_ms: 200, duration_ms: 199, value: { id: "u1" }, cache_hit: false, attempts: 1, ...call("slow", 1, 3) });
  lines = byLine(marks);
  assert.equal(lines[3].state, "completed");
  assert.equal(lines[3].text, '✓ 199 ms = {"id":"u1"}');
  assert.match(lines[3].hover, /"id":"u1"/);
  // after the run the server's value inlay hint shows the value: the mark keeps the duration
  marks.apply({ event: "run_completed", t_ms: 210, status: "failed" });
  assert.equal(byLine(marks)[3].text, "✓ 199 ms");
  assert.equal(marks.ticking, false);
});

test("retrying, cached, cancelled and skipped-by-cancel calls", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  marks.apply({ event: "node_started", t_ms: 1, attempt: 1, ...call("bad", 1, 2) });
  marks.apply({ event: "node_retrying", t_ms: 5, attempt: 1, error: "connection reset", delay_ms: 100, ...call("bad", 1, 2) });
  assert.equal(byLine(marks)[2].state, "retrying");
  assert.equal(byLine(marks)[2].text, "↻ retrying · attempt 2 (connection reset)");
  marks.apply({ event: "node_started", t_ms: 105, attempt: 2, ...call("bad", 1, 2) });
  assert.match(byLine(marks)[2].text, /^▷ running .* · attempt 2$/);
  marks.apply({ event: "node_completed", t_ms: 3, duration_ms: 0.2, value: "x", cache_hit: true, attempts: 0, ...call("slow", 1, 3) });
  assert.equal(byLine(marks)[3].state, "cached");
  assert.equal(byLine(marks)[3].text, '✓ cached = "x"');
  marks.apply({ event: "node_cancelled", t_ms: 300, duration_ms: 195, ...call("bad", 1, 2) });
  marks.apply({ event: "node_skipped", t_ms: 300, reason: "cancelled", ...call("after", 2, 4) });
  marks.apply({ event: "node_skipped", t_ms: 300, reason: "not demanded", ...call("later", 3, 5) });
  const lines = byLine(marks);
  assert.equal(lines[2].state, "cancelled");
  assert.equal(lines[2].text, "■ cancelled after 195 ms");
  assert.equal(lines[4].text, "⊘ skipped: cancelled before it started");
  assert.equal(lines[5].text, "⊘ skipped: not demanded");
});

test("a line with several calls shows each, and the state that needs the eye first", () => {
  const marks = new RunMarks();
  marks.apply({ event: "run_started", t_ms: 0, calls: [call("F@2", 1, 2), call("G@2", 1, 2)] });
  marks.apply({ event: "node_completed", t_ms: 3, duration_ms: 3, value: 1, cache_hit: false, attempts: 1, ...call("F@2", 1, 2) });
  marks.apply({ event: "node_failed", t_ms: 4, duration_ms: 4, error: { message: "boom" }, ...call("G@2", 1, 2) });
  const [line] = marks.lines();
  assert.equal(line.state, "failed");
  assert.equal(line.text, "✓ F@2 3.0 ms = 1  ✗ G@2 failed after 4.0 ms: boom");
});

test("edits drop the marks of edited lines and move those below", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  assert.equal(marks.edit({ from: 1, to: 1, lines: 3 }), true); // two lines added at the top
  assert.deepEqual(marks.lines().map((m) => m.line), [4, 5, 6, 7]);
  marks.edit({ from: 5, to: 5, lines: 1 }); // line 5 (was 3: slow) retyped
  assert.deepEqual(marks.lines().map((m) => m.line), [4, 6, 7]);
  marks.edit({ from: 4, to: 6, lines: 1 }); // three lines joined into one
  assert.deepEqual(marks.lines().map((m) => m.line), [5]);
  // a later event of a dropped call does not bring its mark back at a stale line
  marks.apply({ event: "node_completed", t_ms: 9, duration_ms: 9, value: 1, cache_hit: false, attempts: 1, ...call("later", 3, 5) });
  assert.equal(marks.call("later")?.line, 5, "the mark that moved stays where it moved to");
  assert.equal(marks.call("slow"), undefined);
});

test("the next run starts from a clean slate", () => {
  const marks = new RunMarks();
  marks.apply(STARTED);
  marks.apply({ event: "run_completed", t_ms: 1, status: "completed" });
  marks.apply({ event: "run_started", t_ms: 0, calls: [call("only", 1, 9)] });
  assert.deepEqual(marks.lines().map((m) => [m.line, m.state]), [[9, "pending"]]);
});

test("the batcher renders a burst of events once, and flushes at once at the end", () => {
  const scheduled: (() => void)[] = [];
  let renders = 0;
  const batcher = new FrameBatcher(
    () => renders++,
    50,
    (callback) => scheduled.push(callback),
    () => scheduled.pop(),
  );
  for (let i = 0; i < 1000; i++) batcher.request();
  assert.equal(scheduled.length, 1, "one frame for a thousand events");
  scheduled.shift()!();
  assert.equal(renders, 1);
  batcher.request();
  batcher.flush();
  assert.equal(renders, 2);
  assert.equal(scheduled.length, 0, "the pending frame was dropped");
});

test("a text change becomes the line edit that keeps untouched lines' marks", () => {
  const at = (line: number, character: number) => ({ line, character });
  // Enter at the end of line 3 (0-based 2): line 3 keeps its text, the rest moves down one
  assert.deepEqual(lineEdit({ start: at(2, 10), end: at(2, 10) }, "\n  ", "  "), { from: 4, to: 3, lines: 1 });
  // Enter in the middle of line 3 splits it: line 3 changed
  assert.deepEqual(lineEdit({ start: at(2, 4), end: at(2, 4) }, "\n", "rest of it"), { from: 3, to: 3, lines: 2 });
  // a line pasted before line 3
  assert.deepEqual(lineEdit({ start: at(2, 0), end: at(2, 0) }, "x = F(y)\n", "old line 3"), { from: 3, to: 2, lines: 1 });
  // lines 2..4 deleted
  assert.deepEqual(lineEdit({ start: at(1, 0), end: at(4, 0) }, "", "old line 5"), { from: 2, to: 5, lines: 1 });
  // a character typed on line 5
  assert.deepEqual(lineEdit({ start: at(4, 3), end: at(4, 3) }, "z", "abzc"), { from: 5, to: 5, lines: 1 });
  const marks = new RunMarks();
  marks.apply(STARTED); // calls on lines 2..5
  marks.edit(lineEdit({ start: at(2, 10), end: at(2, 10) }, "\n", ""));
  assert.deepEqual(marks.lines().map((m) => m.line), [2, 3, 5, 6]);
});

/** in s (line 1); a = A(s) (2); t = "${a}!" (3); n = 3 (4); u = "${F(t)}${F(t)}" (5), its two F calls on that line. */
function valueGraph(): GraphData {
  const at = (line: number) => ({ start: { line: line - 1, character: 0 }, end: { line: line - 1, character: 1 } });
  const node = (id: number, name: string, kind: GraphNode["kind"], line: number, names = [name]): GraphNode =>
    ({ id, name, names, module: kind === "call" ? name : null, kind, layer: 0, range: at(line), callRange: at(line) });
  return {
    version: 1, depth: 2, layers: [],
    nodes: [node(0, "s", "input", 1), node(1, "a", "call", 2), node(2, "t", "inline", 3), node(3, "n", "inline", 4),
      node(4, "F@5:6", "call", 5, []), node(5, "F@5:14", "call", 5, []), node(6, "u", "inline", 5)],
    edges: [{ source: 0, target: 1 }, { source: 1, target: 2 }, { source: 2, target: 4 }, { source: 2, target: 5 },
      { source: 4, target: 6 }, { source: 5, target: 6 }],
    outputs: ["u"], inputs: ["s"], stale: false, errors: [],
  };
}

const VALUE_RUN: RunEvent = {
  event: "run_started", t_ms: 0, inputs: { s: "hi" },
  calls: [{ node: 1, name: "a", module: "A", layer: 1, line: 2, column: 5 },
    { node: 4, name: "F@5", module: "F", layer: 2, line: 5, column: 6 }, { node: 5, name: "F@5", module: "F", layer: 2, line: 5, column: 14 }],
};
const at5 = (node: number, column: number) => ({ node, name: "F@5", module: "F", layer: 2, line: 5, column });

test("inputs and inline bindings get marks from the run's graph, derived as the graph view derives them", () => {
  const marks = new RunMarks();
  marks.apply(VALUE_RUN);
  assert.deepEqual(marks.lines(true).map((m) => m.line), [2, 5]); // without the graph: the calls only
  marks.useGraph(valueGraph());
  let lines = byLine(marks);
  assert.deepEqual([lines[1].state, lines[1].text], ["completed", '✓ input = "hi"']);
  assert.deepEqual([lines[3].state, lines[3].text], ["pending", "⋯ pending"]);
  assert.deepEqual([lines[4].state, lines[4].text], ["completed", "✓ evaluated"]); // a constant
  marks.apply({ event: "node_completed", t_ms: 3, duration_ms: 3, value: "A", cache_hit: false, attempts: 1, node: 1, name: "a", line: 2 });
  assert.equal(byLine(marks)[3].state, "completed");
  // one of u's calls failed, the other completed: u is skipped for the failed one
  marks.apply({ event: "node_completed", t_ms: 4, duration_ms: 1, value: "x", cache_hit: false, attempts: 1, ...at5(5, 14) });
  assert.equal(byLine(marks)[5].state, "pending"); // F@5:6 has not settled
  marks.apply({ event: "node_failed", t_ms: 5, duration_ms: 2, error: { message: "boom" }, ...at5(4, 6) });
  lines = byLine(marks);
  assert.equal(lines[5].state, "failed");
  assert.match(lines[5].text, /⊘ u skipped: F@5:6 failed$/);
  assert.match(lines[5].hover, /\*\*u\*\* \(inline value\): skipped/);
  marks.apply({ event: "run_completed", t_ms: 6, status: "failed", outputs: {}, errors: [{ message: "boom" }] });
  assert.equal(byLine(marks)[1].text, "✓ input"); // after the run the value hints show values
});

test("an inline output takes its value at the end of the run, and value marks follow edits", () => {
  const marks = new RunMarks();
  marks.useGraph(valueGraph()); // the graph may come before run_started: the run drops it
  marks.apply(VALUE_RUN);
  assert.equal(byLine(marks)[1], undefined);
  marks.useGraph(valueGraph());
  for (const [node, column] of [[4, 6], [5, 14]]) {
    marks.apply({ event: "node_completed", t_ms: 4, duration_ms: 1, value: "x", cache_hit: false, attempts: 1, ...at5(node, column) });
  }
  marks.apply({ event: "run_completed", t_ms: 6, status: "completed", outputs: { u: "xx" }, errors: [] });
  assert.equal(byLine(marks)[5].state, "completed");
  assert.match(byLine(marks)[5].hover, /"xx"/);
  marks.edit({ from: 1, to: 0, lines: 1 }); // a line inserted above everything
  assert.deepEqual(marks.lines().map((m) => m.line), [2, 3, 4, 5, 6]);
  marks.edit({ from: 4, to: 4, lines: 1 }); // t's line edited: its mark goes
  assert.deepEqual(marks.lines().map((m) => m.line), [2, 3, 5, 6]);
});
