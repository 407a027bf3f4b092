import assert from "node:assert/strict";
import { test } from "node:test";
import { inputNames, parseInputValue, showInputValue } from "../../src/inputs";

test("inputs are the input nodes of the layers answer, in source order", () => {
  assert.deepEqual(
    inputNames({
      layers: [
        { layer: 0, nodes: [{ name: "b", kind: "input", module: null, line: 5 }, { name: "a", kind: "input", module: null, line: 2 }] },
        { layer: 1, nodes: [{ name: "user", kind: "module", module: "GetUser", line: 7 }] },
      ],
    }),
    ["a", "b"],
  );
  assert.deepEqual(inputNames({ layers: [] }), []);
});

test("typed values are JSON, anything else is a string", () => {
  assert.equal(parseInputValue("42"), 42);
  assert.equal(parseInputValue(" true "), true);
  assert.deepEqual(parseInputValue("[1, 2]"), [1, 2]);
  assert.deepEqual(parseInputValue('{"a": "b"}'), { a: "b" });
  assert.equal(parseInputValue('"42"'), "42");
  assert.equal(parseInputValue("Ada Lovelace"), "Ada Lovelace");
  assert.equal(parseInputValue("u-42"), "u-42");
  assert.equal(parseInputValue(""), "");
});

test("remembered values read back as the same value", () => {
  for (const value of ["Ada", "42", "true", 42, false, [1, "x"], { a: 1 }, ""]) {
    assert.deepEqual(parseInputValue(showInputValue(value)), value, JSON.stringify(value));
  }
  assert.equal(showInputValue("Ada"), "Ada");
  assert.equal(showInputValue("42"), '"42"');
});
