// What this client declares to the server beyond what vscode-languageclient declares itself.
// No `vscode` import: unit-tested against the real server (test/unit/capabilities.test.ts).
import type { ClientCapabilities, StaticFeature } from "vscode-languageclient";

/**
 * * `experimental.constellationGraph`: the client shows the graph (`constellation.showGraph`),
 *   so the server adds a `Graph` lens; `constellationPartialRuns`: its run command passes
 *   `target`/`from` on, so the server adds `▶ Run to here` / `↻ Re-run from here` lenses.
 * * `textDocument.codeLens.resolveSupport.properties: ["command"]` (LSP 3.18): VS Code resolves
 *   the lenses it shows (the library sends `codeLens/resolve` when the server offers it), so the
 *   server may send the per-binding lenses without their command — thousands in a large file.
 *   vscode-languageclient 9.0.1 declares only `dynamicRegistration` for code lenses.
 */
export function fillClientCapabilities(capabilities: ClientCapabilities): void {
  capabilities.experimental = {
    ...(capabilities.experimental as object | undefined),
    constellationGraph: true,
    constellationPartialRuns: true,
  };
  const textDocument = (capabilities.textDocument ??= {});
  const codeLens = (textDocument.codeLens ??= {}) as { resolveSupport?: { properties: string[] } };
  codeLens.resolveSupport = { properties: ["command"] };
}

/** The same, as a feature of the language client (`registerFeature`). */
export const constellationCapabilities: StaticFeature = {
  fillClientCapabilities,
  initialize: () => undefined,
  getState: () => ({ kind: "static" }),
  clear: () => undefined,
};
