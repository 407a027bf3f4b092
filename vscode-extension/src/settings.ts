// Settings resolution for the Constellation client. Pure logic (no `vscode` import) so it is
// unit-tested under plain Node; extension.ts feeds it VS Code's configuration.
import * as fs from "node:fs";
import * as path from "node:path";

export type Schedule = "layered" | "eager";

export interface Settings {
  /** These three name programs or code to run: read from the user's own settings only. */
  serverCommand: string[];
  cli: string[] | null;
  modules: string[];
  inlayHints: { layers: boolean; types: boolean; values: boolean };
  codeLens: { layers: boolean };
  run: {
    schedule: Schedule;
    serial: boolean;
    seed: number | null;
    maxConcurrency: number | null;
    revealOutput: boolean;
  };
}

export const DEFAULT_SERVER_COMMAND: readonly string[] = ["cst", "lsp"];
export const PYTHON_MODULE_ARGS: readonly string[] = ["-m", "constellation.server"];

/**
 * The server's environment. `python -m` puts the current folder (the workspace) first on
 * sys.path, so a workspace file named like a module the server imports (`hmac.py`) would run
 * before any trust decision: PYTHONSAFEPATH (Python 3.11+, which the server needs) keeps it off.
 */
export function serverEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PYTHONSAFEPATH: "1" };
}

/** Reads one dotted key below the `constellation` section; undefined when unset. */
export type SettingReader = (key: string) => unknown;

const bool = (value: unknown, fallback: boolean): boolean =>
  typeof value === "boolean" ? value : fallback;

// JSON settings may hold 3.0 for 3; anything not a whole number counts as unset.
const wholeNumber = (value: unknown, min: number): number | null =>
  typeof value === "number" && Number.isInteger(value) && value >= min ? value : null;

/** A command given as one string is split on whitespace (`"cst lsp"` is `["cst", "lsp"]`). */
export function parseCommand(value: unknown): string[] {
  if (typeof value === "string") {
    return value.trim().split(/\s+/).filter((part) => part.length > 0);
  }
  if (Array.isArray(value) && value.every((part) => typeof part === "string")) {
    return (value as string[]).filter((part) => part.length > 0);
  }
  return [];
}

/**
 * `get` reads the effective value; `userGet` the user-level value only (VS Code: `inspect()`'s
 * `globalValue`), used for the settings that choose what runs, so that a workspace's
 * `.vscode/settings.json` cannot choose it even where the setting's scope would allow it.
 */
export function readSettings(get: SettingReader, userGet: SettingReader = get): Settings {
  const command = parseCommand(userGet("server.command"));
  const cli = parseCommand(userGet("cli"));
  const modules = userGet("modules");
  const schedule = get("run.schedule");
  return {
    serverCommand: command.length > 0 ? command : [...DEFAULT_SERVER_COMMAND],
    cli: Array.isArray(userGet("cli")) && cli.length > 0 ? cli : null,
    modules: Array.isArray(modules) ? modules.filter((m): m is string => typeof m === "string" && m.length > 0) : [],
    inlayHints: {
      layers: bool(get("inlayHints.layers"), true),
      types: bool(get("inlayHints.types"), false),
      values: bool(get("inlayHints.values"), true),
    },
    codeLens: { layers: bool(get("codeLens.layers"), true) },
    run: {
      schedule: schedule === "eager" ? "eager" : "layered",
      serial: bool(get("run.serial"), false),
      seed: wholeNumber(get("run.seed"), Number.MIN_SAFE_INTEGER),
      maxConcurrency: wholeNumber(get("run.maxConcurrency"), 1),
      revealOutput: bool(get("run.revealOutput"), true),
    },
  };
}

/** The part of VS Code's `WorkspaceConfiguration` read here (kept apart: this file has no `vscode`). */
export interface ConfigurationLike {
  get(key: string): unknown;
  inspect(key: string): { defaultValue?: unknown; globalValue?: unknown } | undefined;
}

/**
 * The client's settings from VS Code's configuration of `constellation`. The settings that
 * choose what runs are the user's value (`inspect().globalValue`), else the default: never a
 * workspace's or folder's, whatever VS Code would resolve. They are `application` settings
 * (package.json): a `machine` one is read, in a remote window (code-server, Remote-SSH, WSL),
 * from the remote machine's settings only, so the user's value was not applied there.
 */
export function readConfiguration(config: ConfigurationLike): Settings {
  return readSettings(
    (key) => config.get(key),
    (key) => {
      const values = config.inspect(key);
      return values?.globalValue ?? values?.defaultValue;
    },
  );
}

/** The `initializationOptions` the server expects (see the README, section Editors). */
export function initializationOptions(settings: Settings, trusted: boolean) {
  // trust, `cli` and `modules` are only read from here by the server: configuration answers
  // can come from the workspace's files (and can only lower trust)
  return {
    trusted,
    inlayHints: { ...settings.inlayHints },
    codeLens: { ...settings.codeLens },
    modules: [...settings.modules],
    ...(settings.cli ? { cli: [...settings.cli] } : {}),
  };
}

export interface RunPipelineArgs {
  uri: string;
  inputs?: Record<string, unknown>;
  useExamples?: boolean;
  schedule?: Schedule;
  serial?: boolean;
  seed?: number;
  maxConcurrency?: number;
  /** `cst run --resume [RUN]`: true for the file's last run, or a run id (Re-run failed). */
  resume?: boolean | string;
  /** `cst run --target NAME...`: only what these bindings need (Run to here). */
  target?: string[];
  /** `cst run --from NAME`: NAME and its downstream, the rest from the last record (Re-run from here). */
  from?: string;
}

/**
 * The single argument of `constellation.runPipeline`: the run settings, then whatever the
 * caller (a code lens from the server, or a keybinding's args) asked for explicitly.
 */
export function runPipelineArgs(
  uri: string,
  settings: Settings,
  overrides: Partial<RunPipelineArgs> = {},
): RunPipelineArgs {
  const args: RunPipelineArgs = {
    uri,
    schedule: settings.run.schedule,
    serial: settings.run.serial,
  };
  if (settings.run.seed !== null) args.seed = settings.run.seed;
  if (settings.run.maxConcurrency !== null) args.maxConcurrency = settings.run.maxConcurrency;
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined && value !== null) (args as unknown as Record<string, unknown>)[key] = value;
  }
  args.uri = uri;
  return args;
}

export interface PathEnvironment {
  PATH?: string;
  PATHEXT?: string;
}

/** Finds an executable like the shell would; returns its full path or undefined. */
export function findOnPath(
  program: string,
  env: PathEnvironment,
  platform: NodeJS.Platform = process.platform,
  isExecutable: (file: string) => boolean = isExecutableFile,
): string | undefined {
  const extensions =
    platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  if (program.includes("/") || (platform === "win32" && program.includes("\\"))) {
    return extensions.map((ext) => program + ext).find(isExecutable);
  }
  const separator = platform === "win32" ? ";" : ":";
  for (const dir of (env.PATH ?? "").split(separator)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, program + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return false;
    if (process.platform === "win32") return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Why this command was chosen, for the server output channel. */
  description: string;
}

/** The one message for a server that did not start: what failed, what was tried, the fix. */
export function startFailureMessage(reason: string, launch?: ServerLaunch): string {
  let text = `Constellation: the language server did not start. ${reason}`;
  if (!launch) return text;
  text += ` Tried: ${launch.description}.`;
  if (launch.args.join(" ").endsWith(PYTHON_MODULE_ARGS.join(" "))) {
    // the usual cause of a fallback that ends at once: that Python lacks the package
    text += " If that Python has no constellation-lang, install it there (pip install constellation-lang) or set constellation.server.command.";
  }
  return `${text} Its output is in 'Constellation Language Server'.`;
}

export interface LaunchContext {
  /** Resolves a program name (or a path) to a path, or undefined when it is not installed. */
  find: (program: string) => string | undefined;
  /** The interpreter the Python extension has selected (program and its arguments), if any. */
  pythonInterpreter?: string[];
  /** The workspace folder, given only when the workspace is trusted: its `.venv` may be used. */
  trustedFolder?: string;
  platform?: NodeJS.Platform;
}

/** Where a workspace's virtual environment keeps `cst`. */
export function venvCst(folder: string, platform: NodeJS.Platform = process.platform): string {
  return platform === "win32"
    ? path.win32.join(folder, ".venv", "Scripts", "cst.exe")
    : path.posix.join(folder, ".venv", "bin", "cst");
}

/**
 * The configured command if its program exists. When the program is the bare `cst` and it is
 * not on PATH: the workspace's `.venv/bin/cst` (trusted workspaces only: it is the workspace's
 * code), then the selected Python interpreter (else `python3`) with `-m constellation.server`.
 * Throws one sentence for the user, naming everything tried, when nothing can be started.
 */
export function resolveServerCommand(configured: string[], context: LaunchContext): ServerLaunch {
  const [program, ...args] = configured.length > 0 ? configured : [...DEFAULT_SERVER_COMMAND];
  const found = context.find(program);
  if (found) {
    return { command: found, args, description: `${[program, ...args].join(" ")} (${found})` };
  }
  // Only the bare name falls back: a path the user wrote must exist as written.
  if (program !== "cst" && program !== "cst.exe") {
    throw new Error(
      `The language server command '${program}' was not found. ` +
        `Check the setting constellation.server.command.`,
    );
  }
  const tried = ["'cst' is not on PATH"];
  if (context.trustedFolder) {
    const candidate = venvCst(context.trustedFolder, context.platform);
    const inVenv = context.find(candidate);
    if (inVenv) {
      return { command: inVenv, args, description: `${tried[0]}; using the workspace's ${inVenv} ${args.join(" ")}`.trimEnd() };
    }
    tried.push(`nor in ${candidate}`);
  } else {
    tried.push("the workspace's .venv is not used because the workspace is not trusted");
  }
  const [python, ...pythonArgs] =
    context.pythonInterpreter && context.pythonInterpreter.length > 0
      ? context.pythonInterpreter
      : ["python3"];
  const pythonPath = context.find(python);
  if (!pythonPath) {
    throw new Error(
      `${tried.join(", ")}, and no Python interpreter ('${python}') was found to run ` +
        `'python -m constellation.server'. Install the constellation-lang package ` +
        `(pip install constellation-lang) or set constellation.server.command.`,
    );
  }
  return {
    command: pythonPath,
    args: [...pythonArgs, ...PYTHON_MODULE_ARGS],
    description: `${tried.join(", ")}; using ${pythonPath} ${[...pythonArgs, ...PYTHON_MODULE_ARGS].join(" ")}`,
  };
}
