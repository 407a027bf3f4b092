// Results: each output and each node's value as an expandable JSON tree, copy as JSON, and the
// run's errors with their positions (a click reveals them).

import type { GraphData, RunModel } from "./model";

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A JSON value as nested <details>: records and lists open one level at a time. */
export function jsonTree(value: unknown, label?: string, open = false): HTMLElement {
  if (value === null || typeof value !== "object") {
    const line = el("div", { class: "json-leaf" });
    if (label !== undefined) line.append(el("span", { class: "json-key" }, `${label}: `));
    line.append(el("span", { class: `json-${value === null ? "null" : typeof value}` }, JSON.stringify(value)));
    return line;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  const details = el("details", { class: "json-node" });
  details.open = open;
  const summary = el("summary");
  if (label !== undefined) summary.append(el("span", { class: "json-key" }, `${label}: `));
  summary.append(el("span", { class: "json-shape" }, Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`));
  details.append(summary);
  // children are made when first opened: a large value costs nothing until looked at
  let filled = false;
  const fill = () => {
    if (filled || !details.open) return;
    filled = true;
    for (const [k, v] of entries) details.append(jsonTree(v, k));
  };
  details.addEventListener("toggle", fill);
  fill();
  return details;
}

export interface ResultsActions {
  reveal(line: number | null, column: number | null, name?: string): void;
  copy(text: string): void;
}

function valueBlock(title: string, value: unknown, actions: ResultsActions, attrs: Record<string, string>): HTMLElement {
  const block = el("div", { class: "result", ...attrs });
  const head = el("div", { class: "result-head" });
  head.append(el("span", { class: "result-name" }, title));
  const copy = el("button", { class: "copy", title: "Copy as JSON" }, "Copy JSON");
  copy.addEventListener("click", () => actions.copy(JSON.stringify(value, null, 2)));
  head.append(copy);
  block.append(head, jsonTree(value, undefined, true));
  return block;
}

export function renderResults(root: HTMLElement, graph: GraphData | undefined, run: RunModel | undefined, actions: ResultsActions): void {
  root.replaceChildren();
  if (!run || run.status === "idle") {
    root.append(el("p", { class: "hint" }, "Run the pipeline to see its values here."));
    return;
  }
  root.append(el("h3", {}, `Run ${run.status}` + (run.durationMs !== undefined ? ` in ${Math.round(run.durationMs)} ms` : "")));
  if (run.errors.length) {
    const list = el("ul", { class: "errors" });
    for (const err of run.errors) {
      const item = el("li", { class: "error", "data-line": String(err.line ?? "") });
      const where = err.line ? `line ${err.line}, column ${err.column ?? 1}: ` : "";
      const link = el("a", { href: "#" }, where + err.message);
      link.addEventListener("click", (ev) => {
        ev.preventDefault();
        actions.reveal(err.line, err.column, err.function ?? undefined);
      });
      item.append(link);
      list.append(item);
    }
    root.append(el("h4", {}, "Errors"), list);
  }
  root.append(el("h4", {}, "Outputs"));
  for (const [name, value] of Object.entries(run.outputs)) root.append(valueBlock(name, value, actions, { "data-output": name }));
  const values = [...run.nodes.entries()].filter(([, r]) => r.valueSet);
  if (values.length) {
    root.append(el("h4", {}, "Values of the nodes"));
    const order = new Map((graph?.nodes ?? []).map((n, i) => [n.name, i]));
    values.sort((a, b) => (order.get(a[0]) ?? 0) - (order.get(b[0]) ?? 0));
    for (const [name, r] of values) root.append(valueBlock(name, r.value, actions, { "data-value": name }));
  }
  if (run.log.length) {
    root.append(el("h4", {}, "Log"));
    root.append(el("pre", { class: "log" }, run.log.join("\n")));
  }
}
