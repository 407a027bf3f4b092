// The Test Explorer's logic without `vscode` (unit tested under Node; testExplorer.ts wires it
// to a TestController): which files are pipeline tests, the `cst test --json` command that runs
// them, and what its report says about each case (status, failures at their lines).
import * as path from "node:path";
import { cliCommand } from "./debug";
import type { ServerLaunch } from "./settings";

export const CASE_SUFFIX = ".cst-test.yaml";
/** Where cases are looked for, and what is never searched (installed packages, virtualenvs). */
export const CASE_GLOB = `**/*${CASE_SUFFIX}`;
export const CASE_EXCLUDE = "**/{node_modules,.venv,.git}/**";

export function isCaseFile(file: string): boolean {
  return file.endsWith(CASE_SUFFIX);
}

/** `ada.cst-test.yaml` is the case `ada` (as `cst test` names it). */
export function caseName(file: string): string {
  const base = path.basename(file);
  return isCaseFile(base) ? base.slice(0, -CASE_SUFFIX.length) : base;
}

/** The `pipeline:` line of a case file (0-based) and the .cst it names, when it has one. */
export function casePipeline(text: string): { pipeline: string; line: number } | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = /^pipeline:\s*(?:"([^"]*)"|'([^']*)'|([^#\s][^#]*?))\s*(?:#.*)?$/.exec(lines[i]);
    if (match) return { pipeline: match[1] ?? match[2] ?? match[3], line: i };
  }
  return undefined;
}

/** `cst test --json FILE...`, started the way the language server is. */
export function testCommand(server: ServerLaunch, files: string[], modules: string[] = []): { command: string; args: string[] } {
  const base = cliCommand(server, ["test"], "The Test Explorer");
  return { command: base.command, args: [...base.args, "--json", ...modules.flatMap((m) => ["--modules", m]), ...files] };
}

export type CaseStatus = "passed" | "failed" | "error";

export interface CaseFailure {
  /** 1-based line in the case file; null when the failure has none (a call without a fixture). */
  line: number | null;
  message: string;
}

export interface CaseResult {
  file: string;
  name: string;
  status: CaseStatus;
  duration_ms: number;
  failures: CaseFailure[];
}

export interface TestReport {
  cases: CaseResult[];
  passed: number;
  failed: number;
  error: number;
}

/**
 * The JSON document `cst test --json` prints. A run that printed none (`cst` missing or too
 * old, a broken constellation.toml: exit status 2) gives a sentence with what it said instead.
 */
export function parseTestReport(stdout: string, stderr: string, exitCode: number | null): TestReport | string {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    const said = (stderr.trim() || stdout.trim()).split(/\r?\n/).slice(-5).join("\n");
    return `cst test printed no report (exit status ${exitCode ?? "none"})${said ? `:\n${said}` : "."}`;
  }
  const cases = (data as { cases?: unknown })?.cases;
  if (!Array.isArray(cases)) return "cst test --json printed a document without 'cases'; is the installed cst current?";
  const valid = cases.filter(
    (c): c is CaseResult =>
      !!c && typeof c.file === "string" && ["passed", "failed", "error"].includes(c.status) && Array.isArray(c.failures),
  );
  const count = (status: CaseStatus) => valid.filter((c) => c.status === status).length;
  return { cases: valid, passed: count("passed"), failed: count("failed"), error: count("error") };
}

/** The report's result for one case file (paths compared as the file system would). */
export function resultFor(report: TestReport, file: string, platform: NodeJS.Platform = process.platform): CaseResult | undefined {
  const key = (p: string) => (platform === "win32" ? path.win32.normalize(p).toLowerCase() : path.posix.normalize(p));
  return report.cases.find((c) => key(c.file) === key(file));
}

export interface CaseMessage {
  /** 0-based line of the case file where the message is shown. */
  line: number;
  message: string;
}

/**
 * Where each failure is shown: at its expectation's line; a failure without one (a module call
 * without a fixture, a run error) at the `pipeline:` line, or the first line.
 */
export function caseMessages(result: CaseResult, caseText?: string): CaseMessage[] {
  const fallback = caseText !== undefined ? casePipeline(caseText)?.line ?? 0 : 0;
  return result.failures.map((f) => ({
    line: typeof f.line === "number" && f.line >= 1 ? f.line - 1 : fallback,
    message: f.message,
  }));
}
