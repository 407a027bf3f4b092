// Bundles the client into dist/extension.js (esbuild), or with --tests compiles the unit tests
// (test/unit/*.test.ts, which import the pure modules) into test-out/ for `node --test`.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const production = process.argv.includes("--production");

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
} else {
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
