import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CASE_GLOB,
  caseMessages,
  caseName,
  casePipeline,
  isCaseFile,
  parseTestReport,
  resultFor,
  testCommand,
  type TestReport,
} from "../../src/testCases";

const CASE = `# A pipeline test (cst test): saved from a run of p.cst.
pipeline: p.cst   # relative to this file
inputs: {name: ada}
expect:
  outputs:
    b: ADA?
`;

test("case files are named like cst test's, and the pipeline line is found", () => {
  assert.equal(CASE_GLOB, "**/*.cst-test.yaml");
  assert.ok(isCaseFile("/w/ada.cst-test.yaml") && !isCaseFile("/w/ada.yaml"));
  assert.equal(caseName("/w/sub/ada.cst-test.yaml"), "ada");
  assert.deepEqual(casePipeline(CASE), { pipeline: "p.cst", line: 1 });
  assert.deepEqual(casePipeline('pipeline: "my pipe.cst"\n'), { pipeline: "my pipe.cst", line: 0 });
  assert.equal(casePipeline("inputs: {}\n"), undefined);
});

test("cst test --json is started the way the language server is", () => {
  assert.deepEqual(testCommand({ command: "/usr/bin/cst", args: ["lsp"], description: "" }, ["/w/a.cst-test.yaml"]), {
    command: "/usr/bin/cst",
    args: ["test", "--json", "/w/a.cst-test.yaml"],
  });
  assert.deepEqual(testCommand({ command: "/usr/bin/python3", args: ["-m", "constellation.server"], description: "" }, ["/w/a.cst-test.yaml"], ["mods.py"]), {
    command: "/usr/bin/python3",
    args: ["-m", "constellation.cli.main", "test", "--json", "--modules", "mods.py", "/w/a.cst-test.yaml"],
  });
  assert.throws(() => testCommand({ command: "/opt/server", args: ["--stdio"], description: "" }, []), /Test Explorer .* no 'lsp' argument/);
});

// what `cst test --json` prints (tests/cli/test_pipeline_tests.py checks the Python side)
const REPORT = JSON.stringify({
  cases: [
    { file: "/w/ada.cst-test.yaml", name: "ada", status: "failed", duration_ms: 155.2, failures: [
      { line: 6, message: 'b: expected "ADA?", got "ADA!"' },
      { line: null, message: 'no fixture for Echo("bo")' },
    ] },
    { file: "/w/ok.cst-test.yaml", name: "ok", status: "passed", duration_ms: 5.4, failures: [] },
    { file: "/w/rec.cst-test.yaml", name: "rec", status: "error", duration_ms: 0, failures: [{ line: 2, message: "rec.cst-test.yaml:2: unknown key 'expekt'" }] },
  ],
  passed: 1, failed: 1, error: 1, seconds: 0.2,
});

test("the report gives each case its result; failures go to their lines (0-based)", () => {
  const report = parseTestReport(REPORT, "", 1) as TestReport;
  assert.deepEqual([report.passed, report.failed, report.error], [1, 1, 1]);
  assert.equal(resultFor(report, "/w/ok.cst-test.yaml")?.status, "passed");
  assert.equal(resultFor(report, "/w/./ok.cst-test.yaml")?.status, "passed");
  assert.equal(resultFor(report, "/w/missing.cst-test.yaml"), undefined);
  const ada = resultFor(report, "/w/ada.cst-test.yaml")!;
  // a failure without a line (a call without a fixture) is shown at the pipeline: line
  assert.deepEqual(caseMessages(ada, CASE), [
    { line: 5, message: 'b: expected "ADA?", got "ADA!"' },
    { line: 1, message: 'no fixture for Echo("bo")' },
  ]);
  assert.deepEqual(caseMessages(ada).map((m) => m.line), [5, 0]);
  assert.deepEqual(caseMessages(resultFor(report, "/w/rec.cst-test.yaml")!).map((m) => m.line), [1]);
  const windows = { ...report, cases: [{ ...ada, file: "C:\\W\\ada.cst-test.yaml" }] };
  assert.equal(resultFor(windows, "c:\\w\\ada.cst-test.yaml", "win32")?.name, "ada");
});

test("a run that printed no report says what cst said instead", () => {
  const missing = parseTestReport("", "constellation.toml:3: unknown key 'modulez'\n", 2);
  assert.equal(typeof missing, "string");
  assert.match(missing as string, /printed no report \(exit status 2\):\nconstellation\.toml:3: unknown key/);
  assert.match(parseTestReport("", "", null) as string, /exit status none\)\.$/);
  assert.match(parseTestReport('{"x": 1}', "", 0) as string, /without 'cases'/);
});
