// "Re-run failed" (README, *Runs that remember*): after a run that failed, the same run again
// with `resume`, so the server's `cst run --resume` reuses every call that completed and runs
// only what failed and what depends on it. Pure logic (no `vscode` import), unit tested.
import type { RunResult } from "./format";
import type { RunPipelineArgs } from "./settings";

/** The run to repeat: the same inputs and settings, resuming the file's last run (whole plan). */
export function rerunFailedArgs(last: RunPipelineArgs): RunPipelineArgs {
  const { from: _from, resume: _resume, ...same } = last;
  return { ...same, resume: true };
}

/**
 * The notification after a run whose calls failed: which failed and how many did not run
 * because of them; undefined when nothing can be re-run (a rejected or cancelled run, a run
 * that failed before any call).
 */
export function failedRunNotice(result: RunResult | undefined): string | undefined {
  if (!result || result.status !== "failed") return undefined;
  const nodes = result.nodes ?? [];
  const failed = nodes.filter((node) => node.status === "failed").map((node) => node.name);
  if (failed.length === 0) return undefined;
  const skipped = nodes.filter((node) => node.status === "skipped").length;
  const names = failed.length <= 3 ? failed.join(", ") : `${failed.slice(0, 3).join(", ")} and ${failed.length - 3} more`;
  const after = skipped ? `; ${skipped} call${skipped === 1 ? "" : "s"} after ${failed.length === 1 ? "it" : "them"} did not run` : "";
  return `Constellation: ${names} failed${after}. Re-run failed runs only ${failed.length === 1 ? "it" : "them"} and what depends on ${failed.length === 1 ? "it" : "them"}, reusing the rest.`;
}

/**
 * A partial run asked for by a lens (`▶ Run to here`: `target`, `↻ Re-run from here`: `from`)
 * takes the inputs of the document's last run, so it does not ask for them again; a run that
 * names its own inputs (or examples), and a whole run, keep theirs.
 */
export function withLastInputs(overrides: Partial<RunPipelineArgs>, last: RunPipelineArgs | undefined): Partial<RunPipelineArgs> {
  if (!last || overrides.inputs !== undefined || overrides.useExamples) return overrides;
  if (!overrides.target?.length && !overrides.from && !overrides.resume) return overrides;
  const kept: Partial<RunPipelineArgs> = {};
  if (last.inputs !== undefined) kept.inputs = last.inputs;
  if (last.useExamples) kept.useExamples = true;
  return { ...kept, ...overrides };
}
