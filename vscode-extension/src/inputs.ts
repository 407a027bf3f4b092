// Input values typed by the user before a run. Pure logic (no `vscode` import).
import type { LayersResult } from "./format";

/** The pipeline's inputs, in declaration order, from a `constellation.showLayers` answer. */
export function inputNames(layers: LayersResult): string[] {
  const inputs = (layers.layers ?? [])
    .flatMap((layer) => layer.nodes ?? [])
    .filter((node) => node.kind === "input");
  inputs.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return inputs.map((node) => node.name);
}

/**
 * A typed value: JSON when the text is JSON (`42`, `true`, `[1, 2]`, `{"a": 1}`, `"42"`),
 * otherwise the text itself as a string, so `Ada` needs no quotes.
 */
export function parseInputValue(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/** How a remembered value is shown again in the input box. */
export function showInputValue(value: unknown): string {
  if (typeof value === "string") {
    // A string that would read back as something else keeps its quotes.
    return typeof parseInputValue(value) === "string" ? value : JSON.stringify(value);
  }
  return JSON.stringify(value) ?? "";
}
