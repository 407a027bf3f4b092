// The run form: a pipeline's inputs, each with its declared type, pre-filled from the last
// values used (else its @example), checked by the server's `constellation/checkInputs` (the
// compiler's own input rules) as the user types. Pure logic and the page's HTML (no `vscode`
// import) so it is unit-tested under plain Node; inputForm.ts shows it in a webview panel.

/** One input as `constellation/checkInputs` describes it (docs/input-form.md). */
export interface InputField {
  name: string;
  type: string;
  optional: boolean;
  example: string | null;
  error: string | null;
  value?: unknown;
  range?: { start: { line: number; character: number } };
}

export interface CheckInputsResult {
  inputs: InputField[];
  compileErrors: number;
  ready: boolean;
}

/** Messages of the page to the extension. */
export type FormMessage =
  | { type: "change"; texts: Record<string, string> }
  | { type: "run"; texts: Record<string, string> }
  | { type: "examples" }
  | { type: "reveal"; name: string }
  | { type: "cancel" };

/** Messages of the extension to the page. */
export interface FormUpdate {
  type: "checked";
  errors: Record<string, string | null>;
  ready: boolean;
  compileErrors: number;
}

/** What each field holds when the form opens: the text last used, else the @example, else nothing. */
export function initialTexts(fields: InputField[], remembered: Record<string, unknown> | undefined): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const field of fields) {
    const last = remembered?.[field.name];
    texts[field.name] = typeof last === "string" ? last : field.example ?? "";
  }
  return texts;
}

/** The values to run with, once every field is accepted (the server coerced them). */
export function acceptedValues(result: CheckInputsResult): Record<string, unknown> | undefined {
  if (!result.ready) return undefined;
  return Object.fromEntries(result.inputs.map((field) => [field.name, field.value ?? null]));
}

export function formUpdate(result: CheckInputsResult): FormUpdate {
  return {
    type: "checked",
    errors: Object.fromEntries(result.inputs.map((field) => [field.name, field.error])),
    ready: result.ready,
    compileErrors: result.compileErrors,
  };
}

/** Reads a page message, or undefined for anything else (a page is not trusted to be right). */
export function readMessage(message: unknown): FormMessage | undefined {
  if (!message || typeof message !== "object") return undefined;
  const { type } = message as { type?: unknown };
  const texts = (message as { texts?: unknown }).texts;
  const validTexts =
    !!texts && typeof texts === "object" && Object.values(texts as object).every((text) => typeof text === "string");
  if ((type === "change" || type === "run") && validTexts) return { type, texts: texts as Record<string, string> };
  if (type === "reveal" && typeof (message as { name?: unknown }).name === "string") {
    return { type, name: (message as { name: string }).name };
  }
  if (type === "examples" || type === "cancel") return { type };
  return undefined;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A multi-line box for records, lists and maps, whose JSON is long. */
const wide = (type: string) => /^[{[]|^(List|Map)</.test(type);

function fieldHtml(field: InputField, text: string, index: number): string {
  const id = `input-${index}`;
  const name = escapeHtml(field.name);
  const example = field.example === null ? "" : escapeHtml(field.example);
  const control = wide(field.type)
    ? `<textarea id="${id}" data-input="${name}" rows="3" spellcheck="false" aria-describedby="${id}-error">${escapeHtml(text)}</textarea>`
    : `<input id="${id}" data-input="${name}" type="text" spellcheck="false" value="${escapeHtml(text)}" aria-describedby="${id}-error">`;
  return `
    <div class="field" data-field="${name}">
      <label for="${id}"><a href="#" class="name" data-reveal="${name}" title="Show the declaration">${name}</a>
        <code class="type">${escapeHtml(field.type)}</code>${field.optional ? ' <span class="hint">optional: empty is null</span>' : ""}</label>
      ${control}
      <div class="error" id="${id}-error" role="alert" data-error="${name}"></div>
      ${example ? `<div class="hint">@example: <code>${example}</code></div>` : ""}
    </div>`;
}

/**
 * The form page. `nonce` guards its one script; `cspSource` is the webview's own origin. The
 * script posts `change` (debounced) as the user types and shows the errors the extension
 * sends back beside their fields; Run is enabled only when every field is accepted.
 */
export function formHtml(options: {
  title: string;
  fields: InputField[];
  texts: Record<string, string>;
  nonce: string;
  cspSource: string;
  hasExamples: boolean;
}): string {
  const { title, fields, texts, nonce, cspSource, hasExamples } = options;
  const csp = `default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 20px 20px; max-width: 720px; }
  h1 { font-size: 1.2em; font-weight: 600; }
  .field { margin: 14px 0; }
  label { display: block; margin-bottom: 4px; }
  .name { font-weight: 600; color: var(--vscode-textLink-foreground); text-decoration: none; }
  .type { margin-left: 6px; padding: 1px 6px; border-radius: 3px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); font-family: var(--vscode-editor-font-family); }
  input, textarea { box-sizing: border-box; width: 100%; padding: 4px 6px; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
    color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); border-radius: 2px; }
  input:focus, textarea:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
  .invalid input, .invalid textarea { border-color: var(--vscode-inputValidation-errorBorder); }
  .error { margin-top: 3px; color: var(--vscode-errorForeground); }
  .error:empty { display: none; }
  .hint { margin-top: 3px; color: var(--vscode-descriptionForeground); font-size: 0.92em; }
  .actions { display: flex; gap: 8px; margin-top: 18px; }
  button { padding: 4px 14px; border: none; border-radius: 2px; cursor: pointer; color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  button:hover { background: var(--vscode-button-hoverBackground); }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
  button:disabled { opacity: 0.5; cursor: default; }
  #status { margin-top: 10px; color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<form id="form" novalidate>
${fields.map((field, index) => fieldHtml(field, texts[field.name] ?? "", index)).join("\n")}
  <div class="actions">
    <button id="run" type="submit" disabled>Run</button>
    ${hasExamples ? '<button id="examples" type="button" class="secondary">Run with Examples</button>' : ""}
    <button id="cancel" type="button" class="secondary">Cancel</button>
  </div>
  <div id="status" aria-live="polite">Checking…</div>
</form>
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const controls = Array.from(document.querySelectorAll("[data-input]"));
  const run = document.getElementById("run");
  const status = document.getElementById("status");
  const texts = () => Object.fromEntries(controls.map((c) => [c.dataset.input, c.value]));
  let timer;
  const changed = () => {
    run.disabled = true;
    clearTimeout(timer);
    timer = setTimeout(() => vscode.postMessage({ type: "change", texts: texts() }), 120);
  };
  for (const control of controls) {
    control.addEventListener("input", changed);
    if (control.tagName === "INPUT") control.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); if (!run.disabled) vscode.postMessage({ type: "run", texts: texts() }); }
    });
  }
  document.getElementById("form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!run.disabled) vscode.postMessage({ type: "run", texts: texts() });
  });
  document.getElementById("cancel").addEventListener("click", () => vscode.postMessage({ type: "cancel" }));
  const examples = document.getElementById("examples");
  if (examples) examples.addEventListener("click", () => vscode.postMessage({ type: "examples" }));
  for (const link of document.querySelectorAll("[data-reveal]")) {
    link.addEventListener("click", (e) => { e.preventDefault(); vscode.postMessage({ type: "reveal", name: link.dataset.reveal }); });
  }
  window.addEventListener("message", (event) => {
    const message = event.data;
    if (!message || message.type !== "checked") return;
    let bad = 0;
    for (const field of document.querySelectorAll("[data-field]")) {
      const error = message.errors[field.dataset.field] || "";
      field.classList.toggle("invalid", !!error);
      field.querySelector("[data-error]").textContent = error;
      field.querySelector("[data-input]").setAttribute("aria-invalid", error ? "true" : "false");
      if (error) bad++;
    }
    run.disabled = !message.ready;
    status.textContent = message.compileErrors > 0
      ? "The file has errors: fix them (Problems panel) before running."
      : bad > 0 ? (bad === 1 ? "1 input needs fixing." : bad + " inputs need fixing.") : "Ready to run.";
  });
  // the caret goes to the first field when the panel opens (the page may load before it has focus)
  const focusFirst = () => { if (controls.length > 0 && !controls.includes(document.activeElement)) controls[0].focus(); };
  focusFirst();
  window.addEventListener("focus", focusFirst, { once: true });
  vscode.postMessage({ type: "change", texts: texts() });
})();
</script>
</body>
</html>`;
}
