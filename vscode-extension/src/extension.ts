// The Constellation VS Code client: starts `cst lsp` over stdio, forwards the settings and
// the workspace trust state, and turns the server's run events into an output channel and a
// status-bar item. The language features themselves (diagnostics, hover, inlay hints, code
// lenses, completion...) come from the server through vscode-languageclient.
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  type ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import {
  formatEvent,
  formatLayers,
  formatResult,
  layerCalls,
  type LayersResult,
  type RunEvent,
  type RunResult,
  RunTracker,
  finalStatus,
} from "./format";
import {
  DEBUG_TYPE,
  debugAdapterCommand,
  debugPipelineConfiguration,
  inputsToAsk,
  type PipelineDebugConfiguration,
  replayLastRunConfiguration,
  resolveDebugConfiguration,
  stopBoard,
  StopWatcher,
  withInputChoice,
} from "./debug";
import { GRAPH_REQUEST, GraphPanel } from "./graphPanel";
import type { CheckInputsResult } from "./form";
import { askInputs, type CheckInputs } from "./inputForm";
import { constellationCapabilities } from "./capabilities";
import { RunDecorations } from "./runDecorations";
import { failedRunNotice, rerunFailedArgs, withLastInputs } from "./rerun";
import { registerTestExplorer } from "./testExplorer";
import {
  findOnPath,
  initializationOptions,
  readConfiguration,
  resolveServerCommand,
  type RunPipelineArgs,
  type ServerLaunch,
  runPipelineArgs,
  serverEnvironment,
  type Settings,
  startFailureMessage,
} from "./settings";

const LANGUAGE_ID = "constellation";
const COMMANDS = {
  runPipeline: "constellation.runPipeline",
  runWithExamples: "constellation.runPipelineWithExamples",
  cancelRun: "constellation.cancelRun",
  showLayers: "constellation.showLayers",
  restartServer: "constellation.restartServer",
  showOutput: "constellation.showOutput",
  debugPipeline: "constellation.debugPipeline",
  replayLastRun: "constellation.replayLastRun",
  showGraph: "constellation.showGraph",
  rerunFailed: "constellation.rerunFailed",
} as const;
// Server commands that this extension registers itself, so that code lenses carrying them
// run through the same output/status handling as the command palette.
const OWN_SERVER_COMMANDS = new Set<string>([COMMANDS.runPipeline, COMMANDS.cancelRun, COMMANDS.showLayers, COMMANDS.showGraph]);

let client: LanguageClient | undefined;
let workspaceState: vscode.Memento | undefined;
let output: vscode.OutputChannel;
let statusBar: vscode.StatusBarItem;
const tracker = new RunTracker();
let activeRun: { uri: string } | undefined;
// each document's last run as it was asked for (inputs included): what Re-run failed repeats
const lastRuns = new Map<string, RunPipelineArgs>();
let clearStatusTimer: NodeJS.Timeout | undefined;
// ---- the run in the code (gutter marks and line texts, runDecorations.ts) ----
let runDecorations: RunDecorations | undefined;

function settings(): Settings {
  // what runs (server command, cli, modules) only from the user's own settings
  return readConfiguration(vscode.workspace.getConfiguration("constellation"));
}

/** Settings whose change needs a new server (they are initialization options or its command). */
const RESTART_SETTINGS = ["constellation.server.command", "constellation.cli", "constellation.modules"];

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  workspaceState = context.workspaceState;
  output = vscode.window.createOutputChannel("Constellation");
  statusBar = vscode.window.createStatusBarItem("constellation.run", vscode.StatusBarAlignment.Left, 10);
  statusBar.name = "Constellation run";
  context.subscriptions.push(output, statusBar);
  runDecorations = new RunDecorations(context.extensionUri, (uri) =>
    runningClient().sendRequest(GRAPH_REQUEST, { textDocument: { uri } }));
  context.subscriptions.push(runDecorations);

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.runPipeline, (arg?: unknown) => runPipeline(arg, false)),
    vscode.commands.registerCommand(COMMANDS.runWithExamples, (arg?: unknown) => runPipeline(arg, true)),
    vscode.commands.registerCommand(COMMANDS.rerunFailed, (arg?: unknown) => rerunFailed(arg)),
    vscode.commands.registerCommand(COMMANDS.cancelRun, (arg?: unknown) => cancelRun(arg)),
    vscode.commands.registerCommand(COMMANDS.showLayers, (arg?: unknown) => showLayers(arg)),
    vscode.commands.registerCommand(COMMANDS.restartServer, () => restartServer()),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show()),
    ...registerDebugger(),
    vscode.commands.registerCommand(COMMANDS.showGraph, (arg?: unknown) => showGraph(context.extensionUri, arg)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) void restartServer();
    }),
    // The trust state is an initialization option: a newly trusted workspace needs a new server.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void restartServer();
      startTestExplorer(context);
    }),
  );
  startTestExplorer(context);
  await startServer();
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
  client = undefined;
}

// ---- the Test Explorer (testExplorer.ts) ----------------------------------------------------

let testExplorer: vscode.Disposable | undefined;

/** Pipeline tests load the workspace's modules: listed and run only in a trusted workspace. */
function startTestExplorer(context: vscode.ExtensionContext): void {
  if (testExplorer || !vscode.workspace.isTrusted) return;
  testExplorer = registerTestExplorer({
    launch: () => serverLaunch(settings()),
    settings,
    log: (line) => output.appendLine(line),
  });
  context.subscriptions.push(testExplorer);
}

// ---- the server ---------------------------------------------------------------------------

async function pythonInterpreter(resource?: vscode.Uri): Promise<string[] | undefined> {
  const python = vscode.extensions.getExtension("ms-python.python");
  if (!python) return undefined;
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const active = api?.environments?.getActiveEnvironmentPath?.(resource);
    if (active?.path) return [active.path];
    const details = api?.settings?.getExecutionDetails?.(resource);
    if (Array.isArray(details?.execCommand) && details.execCommand.length > 0) return details.execCommand;
  } catch (error) {
    output.appendLine(`Could not ask the Python extension for its interpreter: ${String(error)}`);
  }
  return undefined;
}

/**
 * vscode-languageclient shows its own generic pop-ups when a server fails to start ("couldn't
 * create connection to server"); until this client has started once, startServer says what
 * went wrong in one message instead (the details still go to the output channel).
 */
class ConstellationClient extends LanguageClient {
  launch?: ServerLaunch;

  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    super.error(message, data, startedClients.has(this) ? showNotification : false);
  }
}

/** The server command, resolved once for the language client and the debug adapter alike. */
async function serverLaunch(current: Settings): Promise<ServerLaunch> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const trusted = vscode.workspace.isTrusted;
  const find = (program: string) => findOnPath(program, process.env);
  // Only ask the Python extension (activating it takes a while) when the command is missing;
  // its interpreter may be the workspace's choice, so only in a trusted workspace.
  return resolveServerCommand(current.serverCommand, {
    find,
    trustedFolder: trusted ? folder?.uri.fsPath : undefined,
    pythonInterpreter: !trusted || find(current.serverCommand[0]) ? undefined : await pythonInterpreter(folder?.uri),
  });
}

async function createClient(): Promise<ConstellationClient> {
  const current = settings();
  const folder = vscode.workspace.workspaceFolders?.[0];
  const trusted = vscode.workspace.isTrusted;
  const launch = await serverLaunch(current);
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
    options: { cwd: folder?.uri.fsPath, env: serverEnvironment(process.env) },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: LANGUAGE_ID },
      { scheme: "untitled", language: LANGUAGE_ID },
    ],
    initializationOptions: initializationOptions(current, trusted),
    synchronize: {
      configurationSection: "constellation",
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{constellation.toml,*.py}"),
    },
    // A server that never started (a wrong command, a missing package) is not restarted five
    // times with the library's generic pop-ups: startServer says what failed, once. A server
    // that ran and crashed is restarted as usual.
    errorHandler: startupAwareErrorHandler(() => created),
    initializationFailedHandler: () => false,
  };
  const created = new ConstellationClient("constellation", "Constellation Language Server", serverOptions, clientOptions);
  created.launch = launch;
  created.outputChannel.appendLine(`Starting the language server: ${launch.description}`);
  keepOwnCommands(created);
  // the graph and partial-run lenses, and lenses resolved when shown (capabilities.ts)
  created.registerFeature(constellationCapabilities);
  created.onNotification("constellation/runEvent", (event: RunEvent) => onRunEvent(event));
  return created;
}

/** Stops vscode-languageclient from registering our own command ids a second time. */
function keepOwnCommands(languageClient: LanguageClient): void {
  const feature = languageClient.getFeature(ExecuteCommandRequest.method);
  const register = feature.register.bind(feature);
  feature.register = (data) => {
    const commands = (data.registerOptions.commands ?? []).filter((command) => !OWN_SERVER_COMMANDS.has(command));
    register({ ...data, registerOptions: { ...data.registerOptions, commands } });
  };
}

const startedClients = new WeakSet<LanguageClient>();

function startupAwareErrorHandler(current: () => LanguageClient): ErrorHandler {
  let fallback: ErrorHandler | undefined;
  const usual = () => (fallback ??= current().createDefaultErrorHandler());
  return {
    error: (error, message, count) =>
      startedClients.has(current()) ? usual().error(error, message, count) : { action: ErrorAction.Shutdown, handled: true },
    closed: () =>
      startedClients.has(current()) ? usual().closed() : { action: CloseAction.DoNotRestart, handled: true },
  };
}

async function startServer(): Promise<void> {
  let starting: ConstellationClient | undefined;
  try {
    client = starting = await createClient();
    await client.start();
    // start() can resolve although the server exited during start-up (the client stopped
    // itself meanwhile): only a running client has started
    if (client.state !== State.Running) throw new Error("The server process ended during start-up.");
    startedClients.add(client);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output.appendLine(`The Constellation language server did not start: ${message}`);
    // the server's own words (a Python error, a usage message) are in its output channel
    // one message: what failed, and which command was tried (and why that one)
    const actions = starting ? ["Open Settings", "Show Server Output"] : ["Open Settings"];
    void vscode.window
      .showErrorMessage(startFailureMessage(message, starting?.launch), ...actions)
      .then((choice) => {
        if (choice === "Open Settings") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "constellation.server");
        } else if (choice === "Show Server Output") {
          starting?.outputChannel.show();
        }
      });
  }
}

async function restartServer(): Promise<void> {
  const previous = client;
  client = undefined;
  if (previous) {
    try {
      await previous.stop();
    } catch {
      // A server that already died cannot be stopped; starting a new one is what matters.
    }
    previous.dispose();
  }
  await startServer();
  if (serverRunning()) void vscode.window.setStatusBarMessage("Constellation: server restarted", 3000);
}

function serverRunning(): boolean {
  return client?.state === State.Running;
}

function runningClient(): LanguageClient {
  if (!client || client.state !== State.Running) {
    throw new Error("The Constellation language server is not running (see the 'Constellation Language Server' output).");
  }
  return client;
}

async function executeServerCommand<T>(command: string, argument: object): Promise<T> {
  return runningClient().sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }) as Promise<T>;
}

// ---- commands -------------------------------------------------------------------------------

/** The document a command applies to: the lens argument's uri, else the active .cst editor. */
function targetUri(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.toString();
  if (arg && typeof arg === "object" && typeof (arg as { uri?: unknown }).uri === "string") {
    return (arg as { uri: string }).uri;
  }
  const editor = vscode.window.activeTextEditor;
  return editor?.document.languageId === LANGUAGE_ID ? editor.document.uri.toString() : undefined;
}

function lensOverrides(arg: unknown): Partial<RunPipelineArgs> {
  if (!arg || typeof arg !== "object" || arg instanceof vscode.Uri) return {};
  const { uri: _uri, ...rest } = arg as RunPipelineArgs;
  return rest;
}

function reportFailure(action: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  output.appendLine(`✗ ${action} failed: ${message}`);
  void vscode.window.showErrorMessage(`Constellation: ${action} failed. ${message}`);
}

async function runPipeline(arg: unknown, useExamples: boolean): Promise<RunResult | undefined> {
  const uri = targetUri(arg);
  if (!uri) {
    void vscode.window.showWarningMessage("Constellation: open a .cst file to run its pipeline.");
    return undefined;
  }
  if (!vscode.workspace.isTrusted) {
    // A run imports and executes the workspace's module code.
    const choice = await vscode.window.showWarningMessage(
      "Constellation: running a pipeline executes this workspace's module code; trust the workspace first.",
      "Manage Workspace Trust",
    );
    if (choice) void vscode.commands.executeCommand("workbench.trust.manage");
    return undefined;
  }
  if (activeRun) {
    void vscode.window.showWarningMessage("Constellation: a run is already in progress; cancel it first.");
    return undefined;
  }
  const current = settings();
  const overrides = withLastInputs(lensOverrides(arg), lastRuns.get(uri));
  if (useExamples) overrides.useExamples = true;
  const args = runPipelineArgs(uri, current, overrides);
  if (!args.useExamples && args.inputs === undefined) {
    // ---- the typed input form (inputForm.ts) ----
    let choice;
    try {
      choice = await askInputs(uri, checkInputs(uri), workspaceState);
    } catch (error) {
      reportFailure("Run Pipeline", error);
      return undefined;
    }
    if (choice === undefined) return undefined; // the user closed the form, or the file has errors
    if ("useExamples" in choice) args.useExamples = true;
    else if (Object.keys(choice.inputs).length > 0) args.inputs = choice.inputs;
  }
  if (current.run.revealOutput) output.show(true);
  output.appendLine("");
  output.appendLine(`Running ${vscode.Uri.parse(uri).fsPath}${args.useExamples ? " with examples" : ""}${runPart(args)}…`);
  lastRuns.set(uri, args);
  activeRun = { uri };
  runDecorations?.reset(uri);
  void vscode.commands.executeCommand("setContext", "constellation.running", true);
  tracker.status = "running";
  tracker.layer = 0;
  showStatus();
  try {
    const result = await executeServerCommand<RunResult>(COMMANDS.runPipeline, args);
    if (result) {
      for (const line of formatResult(result)) output.appendLine(line);
      if (tracker.status === "running" || result.status === "rejected") tracker.status = finalStatus(result.status);
    }
    offerRerunFailed(uri, result);
    return result;
  } catch (error) {
    tracker.status = "failed";
    reportFailure("Run Pipeline", error);
    return undefined;
  } finally {
    activeRun = undefined;
    void vscode.commands.executeCommand("setContext", "constellation.running", false);
    showStatus();
    if (clearStatusTimer) clearTimeout(clearStatusTimer);
    clearStatusTimer = setTimeout(() => statusBar.hide(), 10_000);
  }
}

/** What part of the pipeline a run runs, for the output channel. */
function runPart(args: RunPipelineArgs): string {
  if (args.from) return ` from ${args.from}`;
  const to = args.target?.length ? ` to ${args.target.join(", ")}` : "";
  return args.resume ? `${to}, resuming the last run` : to;
}

/** After a run whose calls failed: a notification whose button re-runs only what failed. */
function offerRerunFailed(uri: string, result: RunResult | undefined): void {
  const notice = failedRunNotice(result);
  if (!notice) return;
  void vscode.window.showWarningMessage(notice, "Re-run failed", "Show Output").then((choice) => {
    if (choice === "Re-run failed") void rerunFailed(vscode.Uri.parse(uri));
    else if (choice === "Show Output") output.show();
  });
}

/**
 * `constellation.rerunFailed`: the document's last run again with `resume` (its inputs too);
 * with no run of it in this session, a run with `resume` that asks for the inputs as usual.
 */
async function rerunFailed(arg: unknown): Promise<RunResult | undefined> {
  const uri = targetUri(arg);
  if (!uri) {
    void vscode.window.showWarningMessage("Constellation: open a .cst file to re-run its failed calls.");
    return undefined;
  }
  const last = lastRuns.get(uri);
  return runPipeline(last ? rerunFailedArgs(last) : { uri, resume: true }, false);
}

/** `constellation/checkInputs` (docs/input-form.md): the form's fields, each text checked. */
function checkInputs(uri: string): CheckInputs {
  return (texts) => runningClient().sendRequest<CheckInputsResult>("constellation/checkInputs", { uri, inputs: texts });
}

async function cancelRun(arg: unknown): Promise<void> {
  const uri = targetUri(arg) ?? activeRun?.uri;
  if (!uri) return;
  try {
    await executeServerCommand(COMMANDS.cancelRun, { uri });
    output.appendLine("Cancelling the run…");
  } catch (error) {
    reportFailure("Cancel Run", error);
  }
}

async function showLayers(arg: unknown): Promise<void> {
  const uri = targetUri(arg);
  if (!uri) {
    void vscode.window.showWarningMessage("Constellation: open a .cst file to see its layers.");
    return;
  }
  try {
    const result = await executeServerCommand<LayersResult>(COMMANDS.showLayers, { uri });
    output.appendLine("");
    output.appendLine(`Layers of ${vscode.Uri.parse(uri).fsPath}:`);
    for (const line of formatLayers(result)) output.appendLine(line);
    await pickLayerNode(uri, result);
  } catch (error) {
    reportFailure("Show Layers", error);
  }
}

/** A quick pick of every call by layer; choosing one reveals its line. */
async function pickLayerNode(uri: string, result: LayersResult): Promise<void> {
  type Item = vscode.QuickPickItem & { line?: number };
  const items: Item[] = [];
  for (const { layer, nodes } of result.layers ?? []) {
    const calls = layerCalls(nodes);
    if (calls.length === 0) continue;
    items.push({ label: `layer ${layer}`, kind: vscode.QuickPickItemKind.Separator });
    for (const node of calls) {
      items.push({
        label: node.name,
        description: node.module ?? node.kind,
        detail: node.line ? `line ${node.line}` : undefined,
        line: node.line,
      });
    }
  }
  const unlayered = result.unlayered ?? [];
  if (unlayered.length > 0) {
    // calls on a cycle or of an undefined function: listed, so the pick says why they have no layer
    items.push({ label: "no layer: cannot run until the errors are fixed", kind: vscode.QuickPickItemKind.Separator });
    for (const name of unlayered) items.push({ label: name, description: "on a cycle or reads an undefined function" });
  }
  if (items.length === 0) {
    void vscode.window.showInformationMessage("Constellation: this pipeline calls no modules, so it has no layers.");
    return;
  }
  const choice = await vscode.window.showQuickPick(items, { title: "Constellation layers", matchOnDescription: true });
  if (choice?.line) {
    const position = new vscode.Position(choice.line - 1, 0);
    await vscode.window.showTextDocument(vscode.Uri.parse(uri), { selection: new vscode.Range(position, position) });
  }
}

/** The graph view beside the editor; showing it runs nothing (fine in Restricted Mode). */
function showGraph(extensionUri: vscode.Uri, arg: unknown): void {
  const uri = targetUri(arg);
  if (!uri) {
    void vscode.window.showInformationMessage("Open a .cst file to show its graph.");
    return;
  }
  try {
    runningClient();
  } catch (error) {
    reportFailure("Show Graph", error);
    return;
  }
  GraphPanel.show(extensionUri, uri, (target) =>
    runningClient().sendRequest(GRAPH_REQUEST, { textDocument: { uri: target } }));
}

// ---- run events -------------------------------------------------------------------------------

function onRunEvent(event: RunEvent): void {
  GraphPanel.runEvent(event);
  tracker.apply(event);
  runDecorations?.apply(event);
  for (const line of formatEvent(event)) output.appendLine(line);
  showStatus();
}

function showStatus(): void {
  const text = tracker.statusText();
  if (!text) {
    statusBar.hide();
    return;
  }
  if (clearStatusTimer) clearTimeout(clearStatusTimer);
  const running = tracker.status === "running";
  statusBar.text = `${running ? "$(sync~spin)" : tracker.status === "completed" ? "$(check)" : "$(error)"} ${text}`;
  statusBar.tooltip = running ? "Constellation run in progress: click to cancel" : "Constellation: show the run output";
  statusBar.command = running ? COMMANDS.cancelRun : COMMANDS.showOutput;
  statusBar.show();
}

// ---- the debugger (`cst dap`) -------------------------------------------------------------

function registerDebugger(): vscode.Disposable[] {
  const provider: vscode.DebugConfigurationProvider = {
    async resolveDebugConfiguration(_folder, config) {
      const active = vscode.window.activeTextEditor?.document;
      const resolved = resolveDebugConfiguration(config, active?.uri.scheme === "file" ? active.uri.fsPath : undefined);
      if (typeof resolved === "string") {
        void vscode.window.showErrorMessage(`Constellation: ${resolved}`);
        return undefined; // abort the launch
      }
      return (await askDebugInputs(resolved)) as vscode.DebugConfiguration | undefined;
    },
  };
  const factory: vscode.DebugAdapterDescriptorFactory = {
    async createDebugAdapterDescriptor() {
      if (!vscode.workspace.isTrusted) {
        throw new Error("Debugging runs the workspace's modules: trust the workspace first.");
      }
      const adapter = debugAdapterCommand(await serverLaunch(settings()));
      const folder = vscode.workspace.workspaceFolders?.[0];
      return new vscode.DebugAdapterExecutable(adapter.command, adapter.args, {
        cwd: folder?.uri.fsPath,
        env: serverEnvironment(process.env) as Record<string, string>,
      });
    },
  };
  const lenses: vscode.CodeLensProvider = {
    provideCodeLenses(document) {
      const title = "$(debug-alt) Debug pipeline";
      return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title, command: COMMANDS.debugPipeline, arguments: [document.uri] })];
    },
  };
  return [
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, factory),
    vscode.languages.registerCodeLensProvider({ scheme: "file", language: LANGUAGE_ID }, lenses),
    // the graph view marks the node the run is stopped before
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker(session) {
        const program = session.configuration.program;
        if (typeof program !== "string") return undefined;
        const watcher = new StopWatcher(program, (at) => {
          stopBoard.record(at);
          GraphPanel.stopped();
        });
        return {
          onWillReceiveMessage: (m) => watcher.fromEditor(m),
          onDidSendMessage: (m) => watcher.fromAdapter(m),
          onWillStopSession: () => watcher.ended(),
        };
      },
    }),
    vscode.commands.registerCommand(COMMANDS.debugPipeline, (arg?: unknown) => debugFile(arg, debugPipelineConfiguration)),
    vscode.commands.registerCommand(COMMANDS.replayLastRun, (arg?: unknown) => debugFile(arg, replayLastRunConfiguration)),
  ];
}

/**
 * F5 or the Debug lens on a pipeline with an input that has no `@example` (and no value in the
 * configuration): the run form asks for the inputs, as Run Pipeline does. Closing the form
 * cancels the launch. Without a running server the launch goes on (the adapter says what is missing).
 */
async function askDebugInputs(config: PipelineDebugConfiguration): Promise<PipelineDebugConfiguration | undefined> {
  if (!client || config.replay !== undefined || !config.program) return config;
  const uri = vscode.Uri.file(config.program).toString();
  let fields;
  try {
    fields = (await checkInputs(uri)()).inputs;
  } catch {
    return config; // the server does not know the file (not open): the adapter checks the inputs
  }
  if (inputsToAsk(config, fields).length === 0) return config;
  const choice = await askInputs(uri, checkInputs(uri), workspaceState);
  return choice === undefined ? undefined : withInputChoice(config, choice);
}

async function debugFile(arg: unknown, configuration: (file: string) => vscode.DebugConfiguration): Promise<void> {
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  if (!uri || !uri.fsPath.endsWith(".cst")) {
    void vscode.window.showErrorMessage("Constellation: open a .cst file to debug it.");
    return;
  }
  await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri), configuration(uri.fsPath));
}
