import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import {
  debugAdapterCommand,
  debugPipelineConfiguration,
  inputsToAsk,
  replayLastRunConfiguration,
  resolveDebugConfiguration,
  StopBoard,
  StopWatcher,
  type StopMark,
  withInputChoice,
} from "../../src/debug";
import type { InputField } from "../../src/form";

test("F5 with no launch.json debugs the active .cst file, stopping on entry", () => {
  assert.deepEqual(resolveDebugConfiguration({}, "/w/p.cst"), {
    type: "constellation",
    request: "launch",
    name: "Debug pipeline",
    program: "/w/p.cst",
    useExamples: true,
    stopOnEntry: true,
  });
  assert.match(resolveDebugConfiguration({}, "/w/notes.md") as string, /Open a \.cst file/);
  assert.match(resolveDebugConfiguration({}, undefined) as string, /Open a \.cst file/);
});

test("a configuration keeps its own keys and gets the active file only when it names none", () => {
  const given = { type: "constellation", request: "launch", name: "Serial", program: "/w/q.cst", serial: true, inputs: { n: 3 } };
  assert.deepEqual(resolveDebugConfiguration(given, "/w/p.cst"), given);
  const withoutProgram = resolveDebugConfiguration({ type: "constellation", request: "launch", name: "x", replay: "/w/run.jsonl" }, "/w/p.cst");
  assert.equal((withoutProgram as { program: string }).program, "/w/p.cst");
  assert.match(resolveDebugConfiguration({ type: "constellation", request: "launch", name: "x" }, undefined) as string, /needs 'program'/);
  assert.match(resolveDebugConfiguration({ type: "constellation", request: "attach", name: "x", program: "/w/p.cst" }, undefined) as string, /launched/);
});

test("the adapter starts as the server does, with dap in place of lsp", () => {
  assert.deepEqual(debugAdapterCommand({ command: "/usr/bin/cst", args: ["lsp"], description: "" }), { command: "/usr/bin/cst", args: ["dap"] });
  assert.deepEqual(debugAdapterCommand({ command: "/opt/uv", args: ["run", "cst", "lsp"], description: "" }), { command: "/opt/uv", args: ["run", "cst", "dap"] });
  assert.deepEqual(debugAdapterCommand({ command: "/usr/bin/python3", args: ["-X", "utf8", "-m", "constellation.server"], description: "" }), {
    command: "/usr/bin/python3",
    args: ["-X", "utf8", "-m", "constellation.cli.main", "dap"],
  });
  assert.throws(() => debugAdapterCommand({ command: "/opt/my-server", args: ["--stdio"], description: "" }), /has no 'lsp' argument/);
});

test("the lens configuration is one of the contributed snippets' shape", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
  const [debuggerType] = manifest.contributes.debuggers;
  assert.equal(debuggerType.type, "constellation");
  const allowed = Object.keys(debuggerType.configurationAttributes.launch.properties);
  for (const key of Object.keys(debugPipelineConfiguration("/w/p.cst"))) {
    assert.ok(["type", "request", "name", ...allowed].includes(key), key);
  }
  assert.deepEqual(manifest.contributes.breakpoints, [{ language: "constellation" }]);
});

test("Replay Last Run replays the newest recorded run of the file", () => {
  assert.deepEqual(replayLastRunConfiguration("/w/p.cst"), {
    type: "constellation", request: "launch", name: "Replay last run", program: "/w/p.cst", replay: "last", stopOnEntry: true,
  });
});

test("the stop watcher marks the call a session stopped before, and clears it on resume and end", () => {
  const marks: StopMark[] = [];
  const watcher = new StopWatcher("/w/p.cst", (at) => marks.push(at));
  const callStack = { type: "response", command: "stackTrace", success: true, body: { stackFrames: [{ line: 5, column: 5 }, { line: 3, column: 5 }] } };
  watcher.fromAdapter(callStack); // a stack asked for without a stop (hover, a second request): no mark
  assert.equal(marks.length, 0);
  watcher.fromAdapter({ type: "event", event: "stopped" });
  watcher.fromAdapter(callStack);
  watcher.fromAdapter(callStack); // only the first reply after the stop counts
  assert.deepEqual(marks, [{ program: "/w/p.cst", position: { line: 4, character: 4 } }]);
  watcher.fromEditor({ type: "request", command: "stackTrace" });
  assert.equal(marks.length, 1);
  watcher.fromEditor({ type: "request", command: "next" });
  assert.deepEqual(marks[1], { program: "/w/p.cst" });
  // a stop before a layer: one frame, no node
  watcher.fromAdapter({ type: "event", event: "stopped" });
  watcher.fromAdapter({ type: "response", command: "stackTrace", success: true, body: { stackFrames: [{ line: 3, column: 5 }] } });
  assert.deepEqual(marks[2], { program: "/w/p.cst" });
  watcher.fromAdapter({ type: "event", event: "stopped" });
  watcher.fromAdapter(callStack);
  watcher.fromEditor({ type: "request", command: "stepBack" });
  watcher.fromAdapter({ type: "event", event: "stopped" });
  watcher.fromAdapter(callStack);
  watcher.fromAdapter({ type: "event", event: "terminated" });
  assert.deepEqual(marks.slice(3).map((m) => m.position?.line ?? null), [4, null, 4, null]);
  watcher.ended();
  assert.deepEqual(marks.at(-1), { program: "/w/p.cst" });
});

test("a graph view opened after the stop finds where each program's session stands", () => {
  // seen in code-server: Show Graph while stopped marked no node until the next step
  const board = new StopBoard();
  const watcher = new StopWatcher("/w/p.cst", (at) => board.record(at));
  watcher.fromAdapter({ type: "event", event: "stopped" });
  watcher.fromAdapter({ type: "response", command: "stackTrace", success: true, body: { stackFrames: [{ line: 9, column: 11 }, { line: 9, column: 11 }] } });
  assert.deepEqual(board.positionIn("/w/p.cst"), { line: 8, character: 10 }); // asked later, by a new view
  board.record({ program: "/w/q.cst", position: { line: 1, character: 0 } });
  assert.deepEqual(board.positionIn("/w/p.cst"), { line: 8, character: 10 }); // another session's stop
  watcher.fromEditor({ type: "request", command: "next" });
  assert.equal(board.positionIn("/w/p.cst"), undefined);
  assert.deepEqual(board.positionIn("/w/q.cst"), { line: 1, character: 0 });
});

const field = (name: string, example: string | null, optional = false): InputField => ({ name, type: "Int", optional, example, error: null });

test("F5 on a pipeline with an input that has no @example asks for the inputs first", () => {
  // seen in code-server: F5 there ended in "The run was rejected: line 1: Missing input 'n'."
  const lens = debugPipelineConfiguration("/w/p.cst");
  assert.deepEqual(inputsToAsk(lens, [field("n", null), field("m", "3"), field("o", null, true)]), ["n"]);
  assert.deepEqual(inputsToAsk(lens, [field("m", "3")]), []); // the examples cover every input
  assert.deepEqual(inputsToAsk({ ...lens, useExamples: false }, [field("m", "3")]), ["m"]);
  assert.deepEqual(inputsToAsk({ ...lens, inputs: { n: 4 } }, [field("n", null)]), []); // launch.json gives it
  assert.deepEqual(inputsToAsk(replayLastRunConfiguration("/w/p.cst"), [field("n", null)]), []); // a replay has the run's own
  assert.deepEqual(withInputChoice({ ...lens, inputs: { m: 1 } }, { inputs: { n: 4 } }).inputs, { m: 1, n: 4 });
  assert.equal(withInputChoice({ ...lens, useExamples: false }, { useExamples: true }).useExamples, true);
});
