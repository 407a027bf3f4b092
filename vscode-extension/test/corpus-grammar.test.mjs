// Tokenizes every valid program of the shared corpus with the grammar: none may contain a
// token scoped `invalid.*` (the grammar marks only real errors). The corpus lives outside the
// repository: CONSTELLATION_CORPUS, default <repo>/../shared/corpus.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const corpus = resolve(process.env.CONSTELLATION_CORPUS ?? join(root, "..", "..", "shared", "corpus"));

async function loadGrammar() {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(readFileSync(join(root, "syntaxes", "constellation.tmLanguage.json"), "utf8"), "grammar.json"),
  });
  return registry.loadGrammar("source.constellation");
}

function invalidTokens(grammar, text) {
  const found = [];
  let state = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, index) => {
    const result = grammar.tokenizeLine(line, state);
    for (const token of result.tokens) {
      const scope = token.scopes.find((s) => s.startsWith("invalid."));
      if (scope) found.push(`${index + 1}:${token.startIndex + 1} '${line.slice(token.startIndex, token.endIndex)}' ${scope}`);
    }
    state = result.ruleStack;
  });
  return found;
}

test("valid corpus programs have no invalid tokens", async (t) => {
  const expectedFile = join(corpus, "expected.json");
  if (!existsSync(expectedFile)) {
    t.skip(`corpus not found at ${corpus} (set CONSTELLATION_CORPUS)`);
    return;
  }
  const grammar = await loadGrammar();
  const valid = JSON.parse(readFileSync(expectedFile, "utf8")).filter((entry) => entry.valid);
  assert.ok(valid.length > 20, "the corpus has valid programs");
  for (const entry of valid) {
    const problems = invalidTokens(grammar, readFileSync(join(corpus, entry.path), "utf8"));
    assert.deepEqual(problems, [], `${entry.path} has tokens marked invalid`);
  }
});
