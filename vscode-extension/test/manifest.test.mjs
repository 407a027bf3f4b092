// Opens the packaged .vsix (a zip) and checks that it is complete: the manifest activates on
// .cst files and contributes the commands, and the grammar and the bundled client are inside.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import yauzl from "yauzl";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const VSIX = join(root, "constellation-lang.vsix");

/** Every entry of the zip as name -> contents. */
function readZip(file) {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const entries = new Map();
      zip.on("entry", (entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks = [];
          stream.on("data", (chunk) => chunks.push(chunk));
          stream.on("end", () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on("end", () => resolve(entries));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

const COMMANDS = [
  "constellation.runPipeline",
  "constellation.runPipelineWithExamples",
  "constellation.rerunFailed",
  "constellation.cancelRun",
  "constellation.showLayers",
  "constellation.showGraph",
  "constellation.restartServer",
];

test("the .vsix is complete", async (t) => {
  assert.ok(existsSync(VSIX), `${VSIX} is missing: run npm run package first`);
  const entries = await readZip(VSIX);
  const text = (name) => {
    assert.ok(entries.has(name), `${name} is not in the .vsix (it has: ${[...entries.keys()].join(", ")})`);
    return entries.get(name).toString("utf8");
  };
  const manifest = JSON.parse(text("extension/package.json"));

  await t.test("activation on .cst files and on the commands", () => {
    assert.ok(manifest.activationEvents.includes("onLanguage:constellation"));
    for (const command of COMMANDS) assert.ok(manifest.activationEvents.includes(`onCommand:${command}`), command);
    // the Test Explorer lists pipeline tests before any .cst file is opened
    assert.ok(manifest.activationEvents.includes("workspaceContains:**/*.cst-test.yaml"));
    const language = manifest.contributes.languages.find((l) => l.id === "constellation");
    assert.deepEqual(language.extensions, [".cst"]);
    const configuration = JSON.parse(text(`extension/${language.configuration.replace(/^\.\//, "")}`));
    assert.equal(configuration.comments.lineComment, "#");
  });

  await t.test("untrusted workspaces: limited; the settings that choose what runs are restricted, application-scoped", () => {
    const untrusted = manifest.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, "limited");
    assert.match(untrusted.description, /untrusted/);
    const runs = ["constellation.server.command", "constellation.cli", "constellation.modules"];
    assert.deepEqual([...untrusted.restrictedConfigurations].sort(), [...runs].sort());
    const properties = manifest.contributes.configuration.properties;
    for (const key of runs) {
      // application: only the user's settings set them (no workspace's or folder's), and in a
      // remote window (code-server, Remote-SSH) the user's value applies, which `machine` does not
      assert.equal(properties[key].scope, "application", `${key} has scope ${properties[key].scope}`);
    }
    assert.ok(!("constellation.trusted" in properties), "trust is VS Code's workspace trust, not a setting");
  });

  await t.test("the commands are contributed with titles", () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const command of COMMANDS) {
      assert.ok(contributed.has(command), `${command} is not contributed`);
      assert.equal(contributed.get(command).category, "Constellation");
    }
  });

  await t.test("the settings are declared", () => {
    const properties = Object.keys(manifest.contributes.configuration.properties);
    for (const key of [
      "constellation.server.command",
      "constellation.inlayHints.layers",
      "constellation.inlayHints.types",
      "constellation.inlayHints.values",
      "constellation.codeLens.layers",
      "constellation.maxDiagnostics",
      "constellation.debounceMs",
      "constellation.cli",
      "constellation.modules",
      "constellation.run.schedule",
      "constellation.run.serial",
      "constellation.run.seed",
      "constellation.run.maxConcurrency",
    ]) {
      assert.ok(properties.includes(key), `${key} is not declared`);
    }
    assert.deepEqual(manifest.contributes.configuration.properties["constellation.server.command"].default, ["cst", "lsp"]);
    const debounce = manifest.contributes.configuration.properties["constellation.debounceMs"];
    assert.deepEqual([debounce.minimum, debounce.maximum], [0, 5000], "the range the server clamps to");
  });

  await t.test("the grammar is inside and matches the source", () => {
    const [grammar] = manifest.contributes.grammars;
    assert.equal(grammar.scopeName, "source.constellation");
    const packaged = text(`extension/${grammar.path.replace(/^\.\//, "")}`);
    assert.equal(JSON.parse(packaged).scopeName, "source.constellation");
    assert.equal(packaged, readFileSync(join(root, "syntaxes", "constellation.tmLanguage.json"), "utf8"));
  });

  await t.test("the client is bundled: one file, with the language client inside", () => {
    assert.equal(manifest.main, "./dist/extension.js");
    const bundle = text("extension/dist/extension.js");
    assert.ok(bundle.includes("constellation/runEvent"), "the run event handler is in the bundle");
    assert.ok(!/require\(["']vscode-languageclient/.test(bundle), "vscode-languageclient is bundled, not required");
    assert.ok(![...entries.keys()].some((name) => name.includes("node_modules/")), "no node_modules in the .vsix");
    assert.ok(![...entries.keys()].some((name) => name.endsWith(".ts")), "no TypeScript sources in the .vsix");
  });

  await t.test("the graph view is packaged: the same bundle as the Python package's", () => {
    const view = text("extension/dist/webview/graph.js");
    const packaged = readFileSync(join(root, "..", "cli", "constellation", "cli", "assets", "graph.js"), "utf8");
    assert.equal(view, packaged);
    const title = manifest.contributes.menus["editor/title"].map((m) => m.command);
    assert.ok(title.includes("constellation.showGraph"), "Show Graph is an editor-title button");
  });

  await t.test("the run's gutter marks are inside: every state, light and dark", () => {
    const states = ["pending", "running", "retrying", "completed", "cached", "failed", "skipped", "cancelled"];
    for (const state of states) {
      for (const theme of ["light", "dark"]) assert.match(text(`extension/images/run/${state}-${theme}.svg`), /^<svg /);
    }
  });

  await t.test("engines.vscode agrees with vscode-languageclient's", () => {
    const clientManifest = JSON.parse(
      readFileSync(join(root, "node_modules", "vscode-languageclient", "package.json"), "utf8"),
    );
    assert.equal(manifest.engines.vscode, clientManifest.engines.vscode);
  });

  await t.test("Marketplace files: icon, README, CHANGELOG, LICENSE", () => {
    const icon = entries.get(`extension/${manifest.icon}`);
    assert.ok(icon, "the icon is in the .vsix");
    assert.equal(icon.subarray(1, 4).toString("latin1"), "PNG");
    assert.match(text("extension/readme.md"), /Constellation/);
    assert.match(text("extension/changelog.md"), /0\.1\.0/);
    assert.match(text("extension/LICENSE.txt"), /MIT/);
  });
});
