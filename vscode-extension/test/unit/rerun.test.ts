import assert from "node:assert/strict";
import { test } from "node:test";
import { failedRunNotice, rerunFailedArgs, withLastInputs } from "../../src/rerun";

test("Re-run failed repeats the run with its inputs, resuming the whole plan", () => {
  const last = { uri: "file:///w/p.cst", inputs: { s: "x" }, schedule: "layered" as const, serial: false, seed: 3 };
  assert.deepEqual(rerunFailedArgs(last), { ...last, resume: true });
  // a Re-run from here that failed is resumed as a whole run (its record has every call)
  assert.deepEqual(rerunFailedArgs({ uri: "file:///w/p.cst", useExamples: true, from: "b" }), {
    uri: "file:///w/p.cst",
    useExamples: true,
    resume: true,
  });
  assert.deepEqual(rerunFailedArgs({ uri: "u", target: ["c"] }), { uri: "u", target: ["c"], resume: true });
});

test("the notice names the failed calls and what did not run; none when nothing failed", () => {
  const nodes = [
    { name: "a", status: "completed" },
    { name: "bad", status: "failed" },
    { name: "c", status: "skipped" },
    { name: "d", status: "skipped" },
  ];
  assert.equal(
    failedRunNotice({ status: "failed", nodes }),
    "Constellation: bad failed; 2 calls after it did not run. Re-run failed runs only it and what depends on it, reusing the rest.",
  );
  const many = ["p", "q", "r", "s"].map((name) => ({ name, status: "failed" }));
  assert.match(failedRunNotice({ status: "failed", nodes: many })!, /^Constellation: p, q, r and 1 more failed\. .*only them/);
  assert.equal(failedRunNotice({ status: "completed", nodes }), undefined);
  assert.equal(failedRunNotice({ status: "rejected", nodes: [] }), undefined);
  assert.equal(failedRunNotice({ status: "failed", nodes: [{ name: "a", status: "cancelled" }] }), undefined);
  assert.equal(failedRunNotice(undefined), undefined);
});

test("a lens's partial run reuses the last run's inputs; a whole run or given inputs do not", () => {
  const last = { uri: "u", inputs: { s: "x" }, serial: true };
  assert.deepEqual(withLastInputs({ target: ["b"] }, last), { inputs: { s: "x" }, target: ["b"] });
  assert.deepEqual(withLastInputs({ from: "b" }, { uri: "u", useExamples: true }), { useExamples: true, from: "b" });
  assert.deepEqual(withLastInputs({ from: "b" }, undefined), { from: "b" });
  assert.deepEqual(withLastInputs({}, last), {});
  assert.deepEqual(withLastInputs({ useExamples: true }, last), { useExamples: true });
  assert.deepEqual(withLastInputs({ from: "b", inputs: { s: "y" } }, last), { from: "b", inputs: { s: "y" } });
});
