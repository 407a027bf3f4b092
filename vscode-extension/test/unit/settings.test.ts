import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test, type TestContext } from "node:test";
import {
  findOnPath,
  initializationOptions,
  parseCommand,
  readConfiguration,
  readSettings,
  resolveServerCommand,
  runPipelineArgs,
  serverEnvironment,
  startFailureMessage,
  venvCst,
} from "../../src/settings";

const reader = (values: Record<string, unknown>) => (key: string) => values[key];

test("defaults when nothing is configured", () => {
  const settings = readSettings(reader({}));
  assert.deepEqual(settings.serverCommand, ["cst", "lsp"]);
  assert.deepEqual(settings.inlayHints, { layers: true, types: false, values: true });
  assert.deepEqual(settings.codeLens, { layers: true });
  assert.deepEqual(settings.run, {
    schedule: "layered",
    serial: false,
    seed: null,
    maxConcurrency: null,
    revealOutput: true,
  });
});

test("configured values are read and wrong types fall back to defaults", () => {
  const settings = readSettings(
    reader({
      "server.command": "  /opt/cst/bin/cst   lsp  ",
      "inlayHints.types": true,
      "inlayHints.layers": "yes",
      "codeLens.layers": false,
      "run.schedule": "eager",
      "run.serial": true,
      "run.seed": 42,
      "run.maxConcurrency": 0,
    }),
  );
  assert.deepEqual(settings.serverCommand, ["/opt/cst/bin/cst", "lsp"]);
  assert.equal(settings.inlayHints.types, true);
  assert.equal(settings.inlayHints.layers, true, "a non-boolean keeps the default");
  assert.equal(settings.codeLens.layers, false);
  assert.equal(settings.run.schedule, "eager");
  assert.equal(settings.run.serial, true);
  assert.equal(settings.run.seed, 42);
  assert.equal(settings.run.maxConcurrency, null, "0 is not a valid limit");
  assert.equal(readSettings(reader({ "run.schedule": "bogus" })).run.schedule, "layered");
  assert.equal(readSettings(reader({ "run.seed": 1.5 })).run.seed, null);
});

test("a command is an array or a whitespace-separated string; an empty one means the default", () => {
  assert.deepEqual(parseCommand(["python", "-m", "constellation.server"]), ["python", "-m", "constellation.server"]);
  assert.deepEqual(parseCommand("cst lsp"), ["cst", "lsp"]);
  assert.deepEqual(parseCommand([1, 2]), []);
  assert.deepEqual(readSettings(reader({ "server.command": [] })).serverCommand, ["cst", "lsp"]);
});

test("initialization options carry the trust state and the hint and lens settings", () => {
  const settings = readSettings(reader({ "inlayHints.values": false }));
  assert.deepEqual(initializationOptions(settings, false), {
    trusted: false,
    inlayHints: { layers: true, types: false, values: false },
    codeLens: { layers: true },
    modules: [],
  });
  assert.equal(initializationOptions(settings, true).trusted, true);
});

test("what runs (server command, cli, modules) is read from the user's settings only", () => {
  const workspace = reader({
    "server.command": ["sh", "-c", "touch /tmp/pwned"],
    cli: ["sh", "-c", "touch /tmp/pwned"],
    modules: ["evil.py"],
    "inlayHints.types": true,
  });
  const fromWorkspace = readSettings(workspace, reader({}));
  assert.deepEqual(fromWorkspace.serverCommand, ["cst", "lsp"]);
  assert.equal(fromWorkspace.cli, null);
  assert.deepEqual(fromWorkspace.modules, []);
  assert.equal(fromWorkspace.inlayHints.types, true, "the other settings come from the effective value");
  assert.deepEqual(initializationOptions(fromWorkspace, true), {
    trusted: true,
    inlayHints: { layers: true, types: true, values: true },
    codeLens: { layers: true },
    modules: [],
  });

  const user = reader({ "server.command": "/opt/cst lsp", cli: ["/opt/cst"], modules: ["mods.py", 3] });
  const fromUser = readSettings(workspace, user);
  assert.deepEqual(fromUser.serverCommand, ["/opt/cst", "lsp"]);
  const options = initializationOptions(fromUser, false);
  assert.deepEqual([options.cli, options.modules], [["/opt/cst"], ["mods.py"]]);
});

/** VS Code's configuration as it answers: `get` the effective value, `inspect` every level. */
function configuration(levels: Record<string, { defaultValue?: unknown; globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown }>) {
  return {
    get: (key: string) => {
      const l = levels[key];
      return l ? l.workspaceFolderValue ?? l.workspaceValue ?? l.globalValue ?? l.defaultValue : undefined;
    },
    inspect: (key: string) => (levels[key] ? { key, ...levels[key] } : undefined),
  };
}

test("readConfiguration: what runs is the user's value, never a workspace's", () => {
  const config = configuration({
    "server.command": { defaultValue: ["cst", "lsp"], globalValue: ["/home/u/.venv/bin/cst", "lsp"], workspaceValue: ["sh", "-c", "evil"] },
    cli: { defaultValue: null, globalValue: ["/opt/cst"], workspaceFolderValue: ["sh"] },
    modules: { defaultValue: [], workspaceValue: ["evil.py"] },
    "inlayHints.types": { defaultValue: false, workspaceValue: true },
  });
  const settings = readConfiguration(config);
  assert.deepEqual(settings.serverCommand, ["/home/u/.venv/bin/cst", "lsp"], "the user's value wins");
  assert.deepEqual(settings.cli, ["/opt/cst"]);
  assert.deepEqual(settings.modules, [], "a workspace's value is ignored: the default");
  assert.equal(settings.inlayHints.types, true, "the other settings are the effective value");
  // nothing in the user's settings: the default, even with a workspace value
  const unset = readConfiguration(configuration({
    "server.command": { defaultValue: ["cst", "lsp"], workspaceValue: ["sh", "-c", "evil"] },
    cli: { defaultValue: null, workspaceValue: ["sh"] },
  }));
  assert.deepEqual([unset.serverCommand, unset.cli], [["cst", "lsp"], null]);
});

test("run arguments: settings first, then what the lens asked for; unset numbers are left out", () => {
  const plain = runPipelineArgs("file:///p.cst", readSettings(reader({})));
  assert.deepEqual(plain, { uri: "file:///p.cst", schedule: "layered", serial: false });
  const configured = readSettings(reader({ "run.seed": 7, "run.maxConcurrency": 4, "run.schedule": "eager" }));
  assert.deepEqual(runPipelineArgs("file:///p.cst", configured, { useExamples: true, serial: true, uri: "x" }), {
    uri: "file:///p.cst",
    schedule: "eager",
    serial: true,
    seed: 7,
    maxConcurrency: 4,
    useExamples: true,
  });
  assert.deepEqual(runPipelineArgs("u", configured, { inputs: { name: "Ada" } }).inputs, { name: "Ada" });
});

function tempBin(t: TestContext, names: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cst-bin-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of names) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, "#!/bin/sh\n");
    fs.chmodSync(file, 0o755);
  }
  fs.writeFileSync(path.join(dir, "not-executable"), "");
  return dir;
}

test("findOnPath finds executables only, in PATH order", (t) => {
  const first = tempBin(t, ["cst"]);
  const second = tempBin(t, ["cst", "python3"]);
  const env = { PATH: [first, "", second].join(":") };
  assert.equal(findOnPath("cst", env, "linux"), path.join(first, "cst"));
  assert.equal(findOnPath("python3", env, "linux"), path.join(second, "python3"));
  assert.equal(findOnPath("not-executable", env, "linux"), undefined);
  assert.equal(findOnPath("missing", env, "linux"), undefined);
  assert.equal(findOnPath(path.join(second, "cst"), { PATH: "" }, "linux"), path.join(second, "cst"));
});

test("findOnPath tries PATHEXT on Windows", () => {
  const seen: string[] = [];
  const found = findOnPath("cst", { PATH: "C:\\bin", PATHEXT: ".EXE;.CMD" }, "win32", (file) => {
    seen.push(file);
    return file.endsWith(".CMD");
  });
  assert.ok(found?.endsWith("cst.CMD"));
  assert.ok(seen.some((file) => file.endsWith("cst.EXE")));
});

test("the configured command is used when its program exists", () => {
  const launch = resolveServerCommand(["cst", "lsp"], { find: (p) => (p === "cst" ? "/usr/bin/cst" : undefined) });
  assert.equal(launch.command, "/usr/bin/cst");
  assert.deepEqual(launch.args, ["lsp"]);
});

test("without cst on PATH the selected Python interpreter runs the server module", () => {
  const installed: Record<string, string> = { "/venv/bin/python": "/venv/bin/python", python3: "/usr/bin/python3" };
  const find = (p: string) => installed[p];
  const viaExtension = resolveServerCommand(["cst", "lsp"], { find, pythonInterpreter: ["/venv/bin/python"] });
  assert.equal(viaExtension.command, "/venv/bin/python");
  assert.deepEqual(viaExtension.args, ["-m", "constellation.server"]);
  const conda = resolveServerCommand(["cst", "lsp"], {
    find: (p) => (p === "conda" ? "/opt/conda" : undefined),
    pythonInterpreter: ["conda", "run", "-n", "x", "python"],
  });
  assert.deepEqual([conda.command, ...conda.args], ["/opt/conda", "run", "-n", "x", "python", "-m", "constellation.server"]);
  const viaPython3 = resolveServerCommand(["cst", "lsp"], { find });
  assert.equal(viaPython3.command, "/usr/bin/python3");
  assert.match(viaPython3.description, /not on PATH/);
});

test("without cst on PATH a trusted workspace's .venv is tried first, an untrusted one's never", (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "cst-ws-"));
  t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
  fs.mkdirSync(path.join(folder, ".venv", "bin"), { recursive: true });
  const cst = path.join(folder, ".venv", "bin", "cst");
  fs.writeFileSync(cst, "#!/bin/sh\n");
  fs.chmodSync(cst, 0o755);
  const find = (p: string) => findOnPath(p, { PATH: "" }, "linux") ?? (p === "python3" ? "/usr/bin/python3" : undefined);

  const trusted = resolveServerCommand(["cst", "lsp"], { find, trustedFolder: folder, platform: "linux" });
  assert.deepEqual([trusted.command, ...trusted.args], [cst, "lsp"]);
  assert.match(trusted.description, /not on PATH; using the workspace's .*\.venv\/bin\/cst lsp/);

  const untrusted = resolveServerCommand(["cst", "lsp"], { find, platform: "linux" });
  assert.equal(untrusted.command, "/usr/bin/python3");
  assert.match(untrusted.description, /\.venv is not used because the workspace is not trusted/);

  fs.rmSync(cst);
  const none = resolveServerCommand(["cst", "lsp"], { find, trustedFolder: folder, platform: "linux" });
  assert.equal(none.command, "/usr/bin/python3");
  assert.ok(none.description.includes(`nor in ${cst}`), none.description);
  assert.equal(venvCst("C:\\ws", "win32"), "C:\\ws\\.venv\\Scripts\\cst.exe");
});

test("when nothing can start, one sentence names everything tried", () => {
  assert.throws(
    () => resolveServerCommand(["cst", "lsp"], { find: () => undefined, trustedFolder: "/ws", platform: "linux" }),
    /^Error: 'cst' is not on PATH, nor in \/ws\/\.venv\/bin\/cst, and no Python interpreter \('python3'\) was found .* or set constellation\.server\.command\.$/,
  );
});

test("a missing custom command, or no Python at all, is a sentence naming the setting", () => {
  assert.throws(
    () => resolveServerCommand(["/opt/my-server", "--stdio"], { find: () => undefined }),
    /'\/opt\/my-server' was not found\. Check the setting constellation\.server\.command\./,
  );
  // a mistyped path to cst is reported as written, not replaced by the Python fallback
  assert.throws(
    () => resolveServerCommand(["/nonexistent/cst", "lsp"], { find: () => undefined, pythonInterpreter: ["/venv/bin/python"] }),
    /'\/nonexistent\/cst' was not found/,
  );
  assert.throws(() => resolveServerCommand(["cst", "lsp"], { find: () => undefined }), /no Python interpreter/);
});

test("the server's Python never imports from the workspace folder it starts in", () => {
  // `python -m` would put the folder (the server's cwd) first on sys.path
  const env = serverEnvironment({ PATH: "/usr/bin", HOME: "/home/u" });
  assert.equal(env.PYTHONSAFEPATH, "1");
  assert.equal(env.PATH, "/usr/bin");
  assert.equal(env.HOME, "/home/u");
});

test("a server that did not start is one message: what failed, what was tried, the fix", () => {
  const fallback = { command: "/usr/bin/python3", args: ["-m", "constellation.server"],
    description: "'cst' is not on PATH, nor in /w/.venv/bin/cst; using /usr/bin/python3 -m constellation.server" };
  assert.equal(startFailureMessage("The server process ended during start-up.", fallback),
    "Constellation: the language server did not start. The server process ended during start-up. " +
      "Tried: 'cst' is not on PATH, nor in /w/.venv/bin/cst; using /usr/bin/python3 -m constellation.server. " +
      "If that Python has no constellation-lang, install it there (pip install constellation-lang) or set " +
      "constellation.server.command. Its output is in 'Constellation Language Server'.");
  const cst = { command: "/opt/cst", args: ["lsp"], description: "cst lsp (/opt/cst)" };
  assert.ok(!startFailureMessage("x", cst).includes("pip install"));
  assert.equal(startFailureMessage("no command"), "Constellation: the language server did not start. no command");
});
