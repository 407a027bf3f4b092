// VS Code's Test Explorer for pipeline tests (`*.cst-test.yaml`, README *Pipeline tests*): a
// TestController that lists the workspace's case files (kept current by a file watcher) and
// runs the chosen ones through `cst test --json`, started as the language server is. A failed
// expectation is a TestMessage at its line of the case file. Only in a trusted workspace: a
// case's pipeline loads the workspace's module signatures. The logic is in testCases.ts.
import { spawn } from "node:child_process";
import * as vscode from "vscode";
import { serverEnvironment, type ServerLaunch, type Settings } from "./settings";
import {
  CASE_EXCLUDE,
  CASE_GLOB,
  type CaseResult,
  caseMessages,
  caseName,
  casePipeline,
  parseTestReport,
  resultFor,
  testCommand,
} from "./testCases";

export interface TestExplorerHost {
  launch: () => Promise<ServerLaunch>;
  settings: () => Settings;
  log: (line: string) => void;
}

export function registerTestExplorer(host: TestExplorerHost): vscode.Disposable {
  const controller = vscode.tests.createTestController("constellation", "Constellation pipeline tests");
  const watcher = vscode.workspace.createFileSystemWatcher(CASE_GLOB);

  const upsert = async (uri: vscode.Uri): Promise<void> => {
    const item = controller.items.get(uri.toString()) ?? controller.createTestItem(uri.toString(), caseName(uri.fsPath), uri);
    try {
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const pipeline = casePipeline(text);
      item.description = pipeline?.pipeline;
      item.range = new vscode.Range(pipeline?.line ?? 0, 0, pipeline?.line ?? 0, 0);
    } catch {
      item.description = undefined; // unreadable now (being written): `cst test` will say why
    }
    controller.items.add(item);
  };
  const discover = async (): Promise<void> => {
    const files = await vscode.workspace.findFiles(CASE_GLOB, CASE_EXCLUDE);
    const seen = new Set(files.map((f) => f.toString()));
    controller.items.forEach((item) => {
      if (!seen.has(item.id)) controller.items.delete(item.id);
    });
    await Promise.all(files.map(upsert));
  };
  controller.resolveHandler = async (item) => {
    if (!item) await discover();
  };
  controller.refreshHandler = () => discover();

  controller.createRunProfile("Run", vscode.TestRunProfileKind.Run, (request, token) => runCases(controller, host, request, token), true);

  return vscode.Disposable.from(
    controller,
    watcher,
    watcher.onDidCreate((uri) => void upsert(uri)),
    watcher.onDidChange((uri) => void upsert(uri)),
    watcher.onDidDelete((uri) => controller.items.delete(uri.toString())),
  );
}

async function runCases(
  controller: vscode.TestController,
  host: TestExplorerHost,
  request: vscode.TestRunRequest,
  token: vscode.CancellationToken,
): Promise<void> {
  const excluded = new Set((request.exclude ?? []).map((item) => item.id));
  const items: vscode.TestItem[] = [];
  if (request.include) items.push(...request.include);
  else controller.items.forEach((item) => items.push(item));
  const chosen = items.filter((item) => item.uri && !excluded.has(item.id));
  const run = controller.createTestRun(request);
  try {
    // one `cst test` per workspace folder, from that folder (constellation.modules is relative to it)
    const byFolder = new Map<string, vscode.TestItem[]>();
    for (const item of chosen) {
      const folder = vscode.workspace.getWorkspaceFolder(item.uri!)?.uri.fsPath ?? "";
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), item]);
    }
    for (const [folder, group] of byFolder) {
      if (token.isCancellationRequested) break;
      for (const item of group) run.started(item);
      await runGroup(run, host, folder, group, token);
    }
  } finally {
    run.end();
  }
}

async function runGroup(
  run: vscode.TestRun,
  host: TestExplorerHost,
  folder: string,
  items: vscode.TestItem[],
  token: vscode.CancellationToken,
): Promise<void> {
  let command: { command: string; args: string[] };
  try {
    command = testCommand(await host.launch(), items.map((item) => item.uri!.fsPath), host.settings().modules);
  } catch (error) {
    for (const item of items) run.errored(item, new vscode.TestMessage(error instanceof Error ? error.message : String(error)));
    return;
  }
  host.log(`Running pipeline tests: ${[command.command, ...command.args].join(" ")}`);
  const { stdout, stderr, code } = await spawnCollect(command, folder, token);
  if (token.isCancellationRequested) {
    for (const item of items) run.skipped(item);
    return;
  }
  if (stderr.trim()) run.appendOutput(stderr.replace(/\r?\n/g, "\r\n"));
  const report = parseTestReport(stdout, stderr, code);
  for (const item of items) {
    if (typeof report === "string") {
      run.errored(item, new vscode.TestMessage(report));
      continue;
    }
    const result = resultFor(report, item.uri!.fsPath);
    if (!result) {
      run.errored(item, new vscode.TestMessage(`cst test reported nothing for ${item.uri!.fsPath}.`));
    } else if (result.status === "passed") {
      run.passed(item, result.duration_ms);
    } else {
      await reportFailure(run, item, result);
    }
  }
}

async function reportFailure(run: vscode.TestRun, item: vscode.TestItem, result: CaseResult): Promise<void> {
  let text: string | undefined;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(item.uri!));
  } catch {
    text = undefined;
  }
  const messages = caseMessages(result, text).map(({ line, message }) => {
    const shown = new vscode.TestMessage(message);
    shown.location = new vscode.Location(item.uri!, new vscode.Position(line, 0));
    return shown;
  });
  if (result.status === "failed") run.failed(item, messages, result.duration_ms);
  else run.errored(item, messages);
}

function spawnCollect(
  command: { command: string; args: string[] },
  cwd: string,
  token: vscode.CancellationToken,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(command.command, command.args, { cwd: cwd || undefined, env: serverEnvironment(process.env) });
    const cancel = token.onCancellationRequested(() => child.kill());
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => {
      cancel.dispose();
      resolve({ stdout, stderr: `${stderr}\n${error.message}`, code: null });
    });
    child.on("close", (code) => {
      cancel.dispose();
      resolve({ stdout, stderr, code });
    });
  });
}
