// Bundles the client into dist/extension.js (esbuild) and the graph view (webview/graph, with
// elkjs) into dist/webview/graph.js; with --tests compiles the unit tests (test/unit/*.test.ts,
// which import the pure modules) into test-out/ for `node --test`; with --webview writes the
// graph view's bundle to the Python package (cli/constellation/cli/assets/graph.js, committed
// so that `cst graph --format html` needs no Node.js; test/webview-bundle.test.mjs checks it).
import { build } from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const production = process.argv.includes("--production");
export const PACKAGED_BUNDLE = join(root, "..", "cli", "constellation", "cli", "assets", "graph.js");

/** The graph view as one script (elkjs and the stylesheet inside): the same bytes every time. */
export async function webviewBundle() {
  const result = await build({
    entryPoints: [join(root, "webview", "graph", "main.ts")],
    bundle: true,
    write: false,
    platform: "browser",
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "eof",
    loader: { ".css": "text" },
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

async function main() {
  if (process.argv.includes("--tests")) {
    rmSync(join(root, "test-out"), { recursive: true, force: true });
    const entries = readdirSync(join(root, "test", "unit"))
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => join(root, "test", "unit", name));
    await build({
      entryPoints: entries,
      outdir: join(root, "test-out"),
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node18",
      sourcemap: "inline",
      logLevel: "warning",
    });
    return;
  }
  const bundle = await webviewBundle();
  if (process.argv.includes("--webview")) {
    writeFileSync(PACKAGED_BUNDLE, bundle);
    return;
  }
  mkdirSync(join(root, "dist", "webview"), { recursive: true });
  writeFileSync(join(root, "dist", "webview", "graph.js"), bundle);
  await build({
    entryPoints: [join(root, "src", "extension.ts")],
    outfile: join(root, "dist", "extension.js"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["vscode"],
    minify: production,
    sourcemap: !production,
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
