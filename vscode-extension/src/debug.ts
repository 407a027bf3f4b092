// The `constellation` debugger type: launch configurations for `cst dap` (pure functions, unit
// tested; extension.ts wires them to vscode.debug).
import type { InputField } from "./form";
import { PYTHON_MODULE_ARGS, type ServerLaunch } from "./settings";

export const DEBUG_TYPE = "constellation";

/** What a `constellation` launch configuration may hold (README, Debugging). */
export interface PipelineDebugConfiguration {
  type: string;
  request: string;
  name: string;
  program?: string;
  inputs?: Record<string, unknown>;
  useExamples?: boolean;
  schedule?: "layered" | "eager";
  serial?: boolean;
  seed?: number;
  stopOnEntry?: boolean;
  replay?: string;
  [key: string]: unknown;
}

/** The launch configuration of the `Debug pipeline` lens and command for one file. */
export function debugPipelineConfiguration(file: string): PipelineDebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: "launch",
    name: "Debug pipeline",
    program: file,
    useExamples: true,
    stopOnEntry: true,
  };
}

/** The launch configuration of `Replay Last Run`: the newest recorded run of one file. */
export function replayLastRunConfiguration(file: string): PipelineDebugConfiguration {
  return { type: DEBUG_TYPE, request: "launch", name: "Replay last run", program: file, replay: "last", stopOnEntry: true };
}

/** Where a debug session is stopped, for the graph view: a position (0-based) in `program`,
 * or none (running, stopped between layers, ended). */
export interface StopMark {
  program: string;
  position?: { line: number; character: number };
}

/**
 * Where each program's debug session stands now, for a graph view opened (or pointed at the
 * program) after the stop: StopWatcher records into it, the view reads it.
 */
export class StopBoard {
  private readonly stops = new Map<string, { line: number; character: number }>();

  record(at: StopMark): void {
    if (at.position) this.stops.set(at.program, at.position);
    else this.stops.delete(at.program);
  }

  /** The position (0-based) the session of `program` is stopped before, if any. */
  positionIn(program: string): { line: number; character: number } | undefined {
    return this.stops.get(program);
  }
}

/** The one board of the window: the tracker of every session records into it. */
export const stopBoard = new StopBoard();

/**
 * Whether a launch must ask for inputs first: a live run (not a replay) given no value for an
 * input that has no `@example` to fall back on (`useExamples` covers only inputs with one).
 */
export function inputsToAsk(config: PipelineDebugConfiguration, fields: InputField[]): string[] {
  if (config.replay !== undefined) return [];
  const given = config.inputs ?? {};
  return fields
    .filter((field) => !field.optional && !(field.name in given) && !(config.useExamples && field.example !== null))
    .map((field) => field.name);
}

/** The configuration with what the run form returned: its values, or the `@example` values. */
export function withInputChoice(
  config: PipelineDebugConfiguration,
  choice: { inputs: Record<string, unknown> } | { useExamples: true },
): PipelineDebugConfiguration {
  if ("useExamples" in choice) return { ...config, useExamples: true };
  return { ...config, inputs: { ...(config.inputs ?? {}), ...choice.inputs } };
}

interface DapMessage {
  type?: string;
  event?: string;
  command?: string;
  success?: boolean;
  body?: { stackFrames?: { line: number; column: number }[] };
}

const RESUMING = new Set(["continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "restart"]);

/**
 * Follows a session's messages (a DebugAdapterTracker feeds it) and says where the run stops:
 * after a `stopped` event, the editor asks for the stack, and the first reply's top frame is
 * the call when the stack is the call, then its layer (a stop before a layer, or a pause, has
 * one frame and marks no node). A request that resumes, or the session's end, clears it.
 */
export class StopWatcher {
  private awaitingStack = false;

  constructor(
    private readonly program: string,
    private readonly mark: (at: StopMark) => void,
  ) {}

  fromEditor(message: DapMessage): void {
    if (message.type === "request" && RESUMING.has(message.command ?? "")) {
      this.awaitingStack = false;
      this.mark({ program: this.program });
    }
  }

  fromAdapter(message: DapMessage): void {
    if (message.type === "event" && message.event === "stopped") {
      this.awaitingStack = true;
    } else if (message.type === "event" && (message.event === "terminated" || message.event === "exited")) {
      this.awaitingStack = false;
      this.mark({ program: this.program });
    } else if (message.type === "response" && message.command === "stackTrace" && this.awaitingStack && message.success) {
      this.awaitingStack = false;
      const frames = message.body?.stackFrames ?? [];
      const top = frames.length >= 2 ? frames[0] : undefined;
      this.mark(top ? { program: this.program, position: { line: top.line - 1, character: Math.max(0, top.column - 1) } } : { program: this.program });
    }
  }

  /** The session ended (the tracker's onWillStopSession). */
  ended(): void {
    this.awaitingStack = false;
    this.mark({ program: this.program });
  }
}

/**
 * Completes a configuration before it starts: F5 with no launch.json debugs the active .cst
 * file; a configuration without `program` debugs the active file when there is one. Returns a
 * sentence (a string) when nothing can be debugged.
 */
export function resolveDebugConfiguration(
  config: Partial<PipelineDebugConfiguration>,
  activeFile: string | undefined,
): PipelineDebugConfiguration | string {
  const active = activeFile && activeFile.endsWith(".cst") ? activeFile : undefined;
  if (!config.type && !config.request && !config.name) {
    if (!active) return "Open a .cst file to debug it, or add a 'constellation' launch configuration.";
    return debugPipelineConfiguration(active);
  }
  const resolved = { ...config, type: config.type ?? DEBUG_TYPE, request: config.request ?? "launch", name: config.name ?? "Debug pipeline" } as PipelineDebugConfiguration;
  if (!resolved.program) {
    if (!active) return "The launch configuration needs 'program': the path of a .cst file.";
    resolved.program = active;
  }
  if (resolved.request !== "launch") return `A '${DEBUG_TYPE}' configuration is launched ("request": "launch").`;
  return resolved;
}

/**
 * `cst dap` started the way the language server is: the resolved server command with `dap`
 * in place of `lsp`, or, for the Python fallback, the CLI module of that interpreter.
 */
export function debugAdapterCommand(server: ServerLaunch): { command: string; args: string[] } {
  return cliCommand(server, ["dap"], "The debugger");
}

/**
 * A `cst` subcommand started the way the language server is (the debugger, the Test
 * Explorer's `cst test`): `<server program> SUBCOMMAND` in place of `<server program> lsp`.
 */
export function cliCommand(server: ServerLaunch, subcommand: string[], who: string): { command: string; args: string[] } {
  const args = [...server.args];
  const module = PYTHON_MODULE_ARGS.join(" ");
  if (args.join(" ").endsWith(module)) {
    return { command: server.command, args: [...args.slice(0, args.length - PYTHON_MODULE_ARGS.length), "-m", "constellation.cli.main", ...subcommand] };
  }
  const lsp = args.lastIndexOf("lsp");
  if (lsp >= 0) return { command: server.command, args: [...args.slice(0, lsp), ...subcommand] };
  throw new Error(
    `${who} is started as '<server program> ${subcommand[0]}', but constellation.server.command ` +
      `(${[server.command, ...server.args].join(" ")}) has no 'lsp' argument to replace. ` +
      `Set it to the form ['cst', 'lsp'].`,
  );
}
