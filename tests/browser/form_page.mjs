// The run form of VS Code's extension (vscode-extension/src/form.ts) for tests/browser, made
// by the extension's own code: `node form_page.mjs page|update`, JSON on stdin, on stdout:
//   page   {"title", "fields": [checkInputs' inputs], "remembered"?} -> the page's HTML
//   update {checkInputs' answer} -> {"update": the message the page gets, "values": the run's
//          inputs (acceptedValues) or null}
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const extension = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "vscode-extension");
const require = createRequire(join(extension, "package.json"));
const { build } = require("esbuild");

const bundled = await build({
  entryPoints: [join(extension, "src", "form.ts")],
  bundle: true, write: false, platform: "node", format: "cjs", logLevel: "warning",
});
const module = { exports: {} };
new Function("module", "exports", bundled.outputFiles[0].text)(module, module.exports);
const form = module.exports;

let input = "";
for await (const chunk of process.stdin) input += chunk;
const data = JSON.parse(input);
if (process.argv[2] === "page") {
  process.stdout.write(form.formHtml({
    title: data.title,
    fields: data.fields,
    texts: form.initialTexts(data.fields, data.remembered),
    nonce: "test-nonce",
    cspSource: "'self'",
    hasExamples: data.fields.some((field) => field.example !== null),
  }));
} else {
  process.stdout.write(JSON.stringify({ update: form.formUpdate(data), values: form.acceptedValues(data) ?? null }));
}
