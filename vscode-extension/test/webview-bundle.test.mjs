// The graph view's bundle is committed in the Python package (cli/constellation/cli/assets/
// graph.js) so that `cst graph --format html` needs no Node.js: it must be what a fresh build of
// webview/graph makes. After changing webview/graph: `node scripts/build.mjs --webview`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { PACKAGED_BUNDLE, webviewBundle } from "../scripts/build.mjs";

test("the committed graph bundle matches a fresh build", async () => {
  const fresh = await webviewBundle();
  const committed = readFileSync(PACKAGED_BUNDLE, "utf8");
  assert.ok(committed === fresh,
    "cli/constellation/cli/assets/graph.js is out of date: run `node scripts/build.mjs --webview` in vscode-extension/");
});
