import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptedValues, type CheckInputsResult, formHtml, formUpdate, type InputField, initialTexts, readMessage } from "../../src/form";

const field = (name: string, type: string, example: string | null = null, extra: Partial<InputField> = {}): InputField => ({
  name,
  type,
  optional: type.startsWith("Optional<"),
  example,
  error: null,
  ...extra,
});

const FIELDS = [field("userId", "String", "u-42"), field("count", "Int", "3"), field("limits", "{ max: Int }"), field("note", "Optional<String>")];

test("fields open with the text last used, else the @example, else empty", () => {
  assert.deepEqual(initialTexts(FIELDS, undefined), { userId: "u-42", count: "3", limits: "", note: "" });
  assert.deepEqual(initialTexts(FIELDS, { count: "12", limits: '{"max": 1}', gone: "x", userId: 5 }), {
    userId: "u-42", // a remembered non-text is ignored
    count: "12",
    limits: '{"max": 1}',
    note: "",
  });
});

test("the run gets the server's coerced values only when every field is accepted", () => {
  const checked = (ready: boolean, count: Partial<InputField>): CheckInputsResult => ({
    inputs: [field("userId", "String", null, { value: "u-1" }), field("count", "Int", null, count)],
    compileErrors: 0,
    ready,
  });
  assert.equal(acceptedValues(checked(false, { error: "Input 'count': expected Int, got \"abc\"" })), undefined);
  assert.deepEqual(acceptedValues(checked(true, { value: 12 })), { userId: "u-1", count: 12 });
  assert.deepEqual(formUpdate(checked(false, { error: "bad" })), {
    type: "checked",
    errors: { userId: null, count: "bad" },
    ready: false,
    compileErrors: 0,
  });
});

test("page messages are read defensively", () => {
  assert.deepEqual(readMessage({ type: "change", texts: { a: "1" } }), { type: "change", texts: { a: "1" } });
  assert.deepEqual(readMessage({ type: "run", texts: { a: "1" } }), { type: "run", texts: { a: "1" } });
  assert.equal(readMessage({ type: "run", texts: { a: 1 } }), undefined);
  assert.equal(readMessage({ type: "change" }), undefined);
  assert.deepEqual(readMessage({ type: "reveal", name: "count" }), { type: "reveal", name: "count" });
  assert.deepEqual(readMessage({ type: "cancel" }), { type: "cancel" });
  assert.deepEqual(readMessage({ type: "examples" }), { type: "examples" });
  assert.equal(readMessage("run"), undefined);
  assert.equal(readMessage({ type: "eval" }), undefined);
});

test("the page lists each input with its type, pre-filled, escaped, under a strict policy", () => {
  const html = formHtml({
    title: "Run profile.cst",
    fields: [...FIELDS, field("evil", "String", '"><script>alert(1)</script>')],
    texts: { userId: 'a "quoted" <b>', count: "3", limits: '{"max": 1}', note: "", evil: "" },
    nonce: "N0NCE",
    cspSource: "vscode-webview://x",
    hasExamples: true,
  });
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src vscode-webview:\/\/x 'nonce-N0NCE'; script-src 'nonce-N0NCE';"/);
  assert.equal((html.match(/<script/g) ?? []).length, 1, "only the page's own script");
  assert.match(html, /data-field="count"[\s\S]*?<code class="type">Int<\/code>/);
  assert.match(html, /<code class="type">\{ max: Int \}<\/code>[\s\S]*?<textarea[^>]*data-input="limits"[^>]*>\{&quot;max&quot;: 1\}<\/textarea>/);
  assert.match(html, /data-input="userId" type="text" spellcheck="false" value="a &quot;quoted&quot; &lt;b&gt;"/);
  assert.match(html, /@example: <code>&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/code>/);
  assert.match(html, /optional: empty is null/);
  assert.match(html, /<div class="error" id="input-1-error" role="alert" data-error="count"><\/div>/);
  assert.match(html, /<button id="run" type="submit" disabled>Run<\/button>/);
  assert.match(html, /Run with Examples/);
});
