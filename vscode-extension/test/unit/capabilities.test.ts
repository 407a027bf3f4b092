// The client's own capabilities against the real server: the worktree's `cst lsp` (its .venv,
// made by ./dev test, as in CI; else `cst` on PATH) over stdio.
import assert from "node:assert/strict";
import * as cp from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import type { ClientCapabilities } from "vscode-languageclient";
import { fillClientCapabilities } from "../../src/capabilities";
import { findOnPath } from "../../src/settings";

const PIPELINE = "in s: String\na = trim(s)\nb = trim(a)\nout b\n";
const URI = "file:///tmp/lenses.cst";

function cst(): string | undefined {
  // test-out/ is beside test/: the repository is two folders up
  const venv = path.join(__dirname, "..", "..", ".venv", "bin", "cst");
  return findOnPath(venv, {}) ?? findOnPath("cst", process.env);
}

interface Lens {
  range: { start: { line: number } };
  command?: { title: string; command: string; arguments?: unknown[] };
  data?: unknown;
}

/** The document's code lenses from a server the client told `capabilities`, and their resolution. */
async function lensesFor(program: string, capabilities: ClientCapabilities): Promise<{ lenses: Lens[]; resolved: Lens[] }> {
  const child = cp.spawn(program, ["lsp"], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PYTHONSAFEPATH: "1" } });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  connection.onRequest(() => null); // the server's own requests (configuration, refreshes)
  connection.listen();
  try {
    await connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: null,
      capabilities,
      initializationOptions: { trusted: false, inlayHints: { layers: true, types: false, values: true }, codeLens: { layers: true }, modules: [] },
    });
    await connection.sendNotification("initialized", {});
    await connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri: URI, languageId: "constellation", version: 1, text: PIPELINE },
    });
    const lenses = (await connection.sendRequest("textDocument/codeLens", { textDocument: { uri: URI } })) as Lens[];
    const perBinding = lenses.filter((l) => l.range.start.line > 0);
    const resolved = await Promise.all(perBinding.map((l) => connection.sendRequest("codeLens/resolve", l) as Promise<Lens>));
    await connection.sendRequest("shutdown");
    await connection.sendNotification("exit");
    return { lenses, resolved };
  } finally {
    connection.dispose();
    child.kill();
  }
}

test("the server sends the per-binding lenses without commands, and resolves them", async (t) => {
  const program = cst();
  if (!program) {
    t.skip("no cst: ./dev test makes the repository's .venv");
    return;
  }
  const capabilities: ClientCapabilities = {};
  fillClientCapabilities(capabilities);
  assert.deepEqual((capabilities.textDocument?.codeLens as { resolveSupport?: unknown }).resolveSupport, { properties: ["command"] });
  const { lenses, resolved } = await lensesFor(program, capabilities);
  const perBinding = lenses.filter((l) => l.range.start.line > 0);
  // a layer lens and ▶ Run to here for each call, ↻ Re-run from here too (partial runs)
  assert.ok(perBinding.length >= 4, JSON.stringify(lenses));
  assert.ok(perBinding.every((l) => l.command === undefined && l.data !== undefined), JSON.stringify(perBinding));
  assert.ok(lenses.some((l) => l.command?.command === "constellation.showGraph"), "the Graph lens (experimental.constellationGraph)");
  const titles = resolved.map((l) => l.command?.title);
  assert.ok(titles.includes("layer 1") && titles.includes("layer 2"), JSON.stringify(titles));
  assert.ok(titles.some((title) => title?.includes("Run to here")), JSON.stringify(titles));
  assert.ok(resolved.every((l) => typeof l.command?.command === "string"));

  // without the declaration the same lenses come whole: the server reads it from the client
  const plain: ClientCapabilities = {};
  fillClientCapabilities(plain);
  delete (plain.textDocument!.codeLens as { resolveSupport?: unknown }).resolveSupport;
  const whole = (await lensesFor(program, plain)).lenses.filter((l) => l.range.start.line > 0);
  assert.deepEqual(whole.map((l) => l.command?.title).sort(), titles.sort());
});
