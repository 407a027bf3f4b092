import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatDuration,
  formatEvent,
  formatLayers,
  formatResult,
  formatValue,
  finalStatus,
  type RunEvent,
  RunTracker,
} from "../../src/format";

// A run of the profile pipeline as docs/run-events.md describes it.
const node = (name: string, layer: number, line: number) => ({
  node: `n-${name}`,
  name,
  module: `examples.${name}`,
  layer,
  line,
  column: 8,
});
const RUN: RunEvent[] = [
  {
    event: "run_started",
    t_ms: 0,
    file: "/tmp/cst-run-x1/profile.cst",
    schedule: "layered",
    serial: false,
    seed: 3,
    depth: 2,
    nodes: 4,
    layers: [
      { layer: 1, nodes: ["user", "orders", "preferences"] },
      { layer: 2, nodes: ["profile"] },
    ],
  },
  { event: "layer_started", t_ms: 0.2, layer: 1, nodes: ["user", "orders", "preferences"] },
  { event: "node_started", t_ms: 0.3, attempt: 1, ...node("user", 1, 2) },
  { event: "node_started", t_ms: 0.4, attempt: 1, ...node("orders", 1, 3) },
  { event: "node_started", t_ms: 0.5, attempt: 1, ...node("preferences", 1, 4) },
  { event: "node_completed", t_ms: 80.9, duration_ms: 80.4, value: { theme: "dark" }, cache_hit: false, attempts: 1, ...node("preferences", 1, 4) },
  { event: "node_retrying", t_ms: 90, attempt: 1, error: "connection reset", delay_ms: 100, ...node("orders", 1, 3) },
  { event: "node_completed", t_ms: 101, duration_ms: 100.7, value: { id: "u1", name: "Ada" }, cache_hit: true, attempts: 1, ...node("user", 1, 2) },
  { event: "node_started", t_ms: 190, attempt: 2, ...node("orders", 1, 3) },
  { event: "node_completed", t_ms: 340, duration_ms: 150.2, value: ["o1", "o2"], cache_hit: false, attempts: 2, ...node("orders", 1, 3) },
  { event: "layer_completed", t_ms: 340.5, layer: 1, duration_ms: 340.3 },
  { event: "layer_started", t_ms: 340.6, layer: 2, nodes: ["profile"] },
  { event: "node_started", t_ms: 340.7, attempt: 1, ...node("profile", 2, 5) },
  { event: "log", t_ms: 341, message: "building profile" },
  { event: "node_failed", t_ms: 2400, duration_ms: 2059.3, error: { message: "'BuildProfile' timed out after 2s", line: 5, column: 11, function: "BuildProfile" }, ...node("profile", 2, 5) },
  { event: "layer_completed", t_ms: 2400.2, layer: 2, duration_ms: 2059.6 },
  {
    event: "run_completed",
    t_ms: 2401,
    status: "failed",
    outputs: {},
    errors: [{ message: "'BuildProfile' timed out after 2s", line: 5, column: 11, function: "BuildProfile" }],
    log: ["building profile"],
    duration_ms: 2401,
    nodes: [],
  },
];

test("durations read naturally", () => {
  assert.equal(formatDuration(0.42), "0.4 ms");
  assert.equal(formatDuration(153.4), "153 ms");
  assert.equal(formatDuration(2310), "2.31 s");
  assert.equal(formatDuration(undefined), "?");
});

test("values are one JSON line, cut with an ellipsis", () => {
  assert.equal(formatValue({ a: [1, 2] }), '{"a":[1,2]}');
  const long = formatValue("x".repeat(500), 20);
  assert.equal(long.length, 20);
  assert.ok(long.endsWith("…"));
  assert.equal(formatValue(undefined), "undefined");
});

test("every event of a run becomes readable channel lines", () => {
  const lines = RUN.flatMap(formatEvent);
  assert.deepEqual(lines, [
    "▶ Run started: profile.cst · 4 calls in 2 layers · schedule layered · seed 3",
    "    layer 1: user, orders, preferences",
    "    layer 2: profile",
    "[   0.2 ms] layer 1 started: user, orders, preferences",
    "[   0.3 ms]   ▷ user (examples.user)",
    "[   0.4 ms]   ▷ orders (examples.orders)",
    "[   0.5 ms]   ▷ preferences (examples.preferences)",
    '[    81 ms]   ✓ preferences = {"theme":"dark"} (80 ms)',
    "[    90 ms]   ↻ orders attempt 1 failed: connection reset; retrying in 100 ms",
    '[   101 ms]   ✓ user = {"id":"u1","name":"Ada"} (101 ms, cached)',
    "[   190 ms]   ▷ orders (examples.orders) attempt 2",
    '[   340 ms]   ✓ orders = ["o1","o2"] (150 ms, 2 attempts)',
    "[   341 ms] layer 1 completed in 340 ms",
    "[   341 ms] layer 2 started: profile",
    "[   341 ms]   ▷ profile (examples.profile)",
    "[   341 ms] log: building profile",
    "[   2.40 s]   ✗ profile failed after 2.06 s: 'BuildProfile' timed out after 2s (line 5:11)",
    "[   2.40 s] layer 2 completed in 2.06 s",
    "■ Run failed in 2.40 s",
  ]);
});

test("skipped calls, rejections and unknown events", () => {
  assert.deepEqual(formatEvent({ event: "node_skipped", t_ms: 5, name: "backup", reason: "not demanded" }), [
    "[   5.0 ms]   ⊘ backup skipped: not demanded",
  ]);
  // a started call that a cancel stopped, and its layer: cancelled, not skipped or completed
  assert.deepEqual(formatEvent({ event: "node_cancelled", t_ms: 900, name: "slow", duration_ms: 850 }), [
    "[   900 ms]   ⊘ slow cancelled after 850 ms",
  ]);
  assert.deepEqual(formatEvent({ event: "layer_cancelled", t_ms: 900, layer: 1, duration_ms: 880 }), [
    "[   900 ms] layer 1 cancelled after 880 ms",
  ]);
  assert.deepEqual(
    formatEvent({ event: "run_rejected", errors: [{ message: "Missing input 'userId'", line: 1, column: 4 }] }),
    ["✗ Run rejected before it started"],
  );
  assert.deepEqual(formatEvent({ event: "something_new", t_ms: 1 }), []);
});

test("the status bar follows layers and running calls", () => {
  const tracker = new RunTracker();
  assert.equal(tracker.statusText(), "");
  const seen: string[] = [];
  for (const event of RUN) {
    tracker.apply(event);
    seen.push(tracker.statusText());
  }
  assert.equal(seen[0], "starting…");
  assert.equal(seen[4], "layer 1 of 2 · 3 calls running");
  assert.equal(seen[5], "layer 1 of 2 · 2 calls running");
  assert.equal(seen[6], "layer 1 of 2 · 1 call running", "a call waiting to retry is not running");
  assert.equal(seen[8], "layer 1 of 2 · 1 call running");
  assert.equal(seen[12], "layer 2 of 2 · 1 call running");
  assert.equal(seen.at(-1), "run failed in 2.40 s");
  assert.equal(tracker.completed, 3);
  assert.equal(tracker.failed, 1);
  tracker.apply(RUN[0]);
  assert.equal(tracker.statusText(), "starting…", "a new run starts from scratch");
});

test("the final result lists outputs, errors and the status", () => {
  const lines = formatResult({
    status: "completed",
    outputs: { greeting: "Hello, Ada", profile: { name: "Ada", orders: 2 } },
    errors: [],
    log: [],
    nodes: [{ name: "greeting", status: "completed", layer: 1, duration_ms: 3, error: null }],
    duration_ms: 153.2,
  });
  assert.deepEqual(lines, [
    "Outputs:",
    '  greeting = "Hello, Ada"',
    "  profile = {",
    '    "name": "Ada",',
    '    "orders": 2',
    "  }",
    "Status: completed in 153 ms · 1 call",
  ]);
  const failed = formatResult({
    status: "failed",
    errors: [{ message: "division by zero", line: 3, column: 9, function: "stdlib.math.divide" }],
  });
  assert.deepEqual(failed, ["Errors:", "  stdlib.math.divide: division by zero (line 3:9)", "Status: failed"]);
  const cancelled = formatResult({
    status: "cancelled",
    nodes: [
      { name: "a", status: "completed", layer: 1, duration_ms: 3, error: null },
      { name: "b", status: "skipped", layer: 2, duration_ms: null, error: null },
    ],
    duration_ms: 40,
  });
  assert.equal(cancelled.at(-1), "Status: cancelled in 40 ms · 1 of 2 calls ran");
});

test("layers are listed with their calls (inputs and inline values are not calls)", () => {
  assert.deepEqual(
    formatLayers({
      layers: [
        { layer: 0, nodes: [{ name: "userId", kind: "input", module: null, line: 1 }] },
        { layer: 1, nodes: [{ name: "user", kind: "module", module: "GetUser", line: 2 }, { name: "orders", kind: "module", module: "GetOrders", line: 3 }] },
        { layer: 2, nodes: [{ name: "profile", kind: "module", module: "BuildProfile", line: 4 }, { name: "summary", kind: "inline", module: null, line: 5 }] },
      ],
    }),
    [
      "2 layers of calls:",
      "  layer 1 · 2 calls run together",
      "    user = GetUser(…)  line 2",
      "    orders = GetOrders(…)  line 3",
      "  layer 2 · 1 call",
      "    profile = BuildProfile(…)  line 4",
    ],
  );
  // the server lists each binding once per layer, with its calls counted; and what has no layer
  assert.deepEqual(
    formatLayers({
      layers: [
        { layer: 0, nodes: [{ name: "s", kind: "input", module: null, modules: [], calls: 0, line: 1 }] },
        { layer: 1, nodes: [{ name: "q", kind: "module", module: "Trim", modules: ["Trim"], calls: 2, line: 3 },
                            { name: "r", kind: "module", module: "Trim", modules: ["Trim"], calls: 1, line: 4 }] },
        { layer: 2, nodes: [{ name: "q", kind: "module", module: "Uppercase", modules: ["Uppercase", "Lowercase"], calls: 2, line: 3 }] },
      ],
      unlayered: ["a", "b"],
    }),
    [
      "2 layers of calls:",
      "  layer 1 · 3 calls run together",
      "    q = Trim(…) · 2 calls  line 3",
      "    r = Trim(…)  line 4",
      "  layer 2 · 2 calls run together",
      "    q = Uppercase(…), Lowercase(…)  line 3",
      "No layer (cannot run until the errors are fixed): a, b",
    ],
  );
  assert.deepEqual(formatLayers({ layers: [] }), ["No module calls: nothing runs in layers."]);
  assert.deepEqual(formatLayers({ layers: [{ layer: 0, nodes: [{ name: "x", kind: "input" }] }] }),
    ["No module calls: nothing runs in layers."]);
});

test("a run result's status maps onto the status bar's", () => {
  assert.equal(finalStatus("completed"), "completed");
  assert.equal(finalStatus("rejected"), "rejected");
  assert.equal(finalStatus("cancelled"), "cancelled");
  assert.equal(finalStatus("something else"), "failed");
  const tracker = new RunTracker();
  tracker.apply({ event: "run_rejected", errors: [] });
  assert.equal(tracker.statusText(), "run rejected");
});
