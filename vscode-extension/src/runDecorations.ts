// The run in the code: a gutter mark and a short text after each binding line, from the
// `constellation/runEvent` notifications as they arrive (batched per frame). The states and
// texts are runstate.ts's; this module only draws them, follows the edits, and asks for the
// graph a run starts on (its inputs and inline bindings get marks from it).
import * as vscode from "vscode";
import type { GraphData } from "../webview/graph/model";
import type { RunEvent } from "./format";
import { CALL_STATES, type CallState, FrameBatcher, lineEdit, RunMarks } from "./runstate";

/** Theme colours of the after-line text: those of VS Code's own test results. */
const TEXT_COLORS: Record<CallState, string> = {
  pending: "testing.iconQueued",
  running: "testing.runAction",
  retrying: "testing.iconQueued",
  completed: "testing.iconPassed",
  cached: "testing.iconPassed",
  failed: "testing.iconFailed",
  skipped: "testing.iconSkipped",
  cancelled: "testing.iconSkipped",
};

const TICK_MS = 250; // a running call's elapsed time, redrawn while calls run

export class RunDecorations implements vscode.Disposable {
  private readonly marks = new RunMarks();
  private readonly types: Map<CallState, vscode.TextEditorDecorationType>;
  private readonly batcher = new FrameBatcher(() => this.render());
  private readonly subscriptions: vscode.Disposable[] = [];
  private uri: string | undefined;
  private ticker: NodeJS.Timeout | undefined;

  private run = 0; // which run_started the graph asked for belongs to

  constructor(
    extensionUri: vscode.Uri,
    /** `constellation/graph` of a document (graphPanel.ts GRAPH_REQUEST). */
    private readonly graphOf: (uri: string) => Thenable<GraphData>,
  ) {
    const icon = (state: CallState, theme: string) => vscode.Uri.joinPath(extensionUri, "images", "run", `${state}-${theme}.svg`);
    this.types = new Map(
      CALL_STATES.map((state) => [
        state,
        vscode.window.createTextEditorDecorationType({
          light: { gutterIconPath: icon(state, "light") },
          dark: { gutterIconPath: icon(state, "dark") },
          gutterIconSize: "80%",
          overviewRulerColor: state === "failed" ? new vscode.ThemeColor("testing.iconFailed") : undefined,
          overviewRulerLane: vscode.OverviewRulerLane.Left,
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          after: {
            color: new vscode.ThemeColor(TEXT_COLORS[state]),
            // the server's inlay hints of the line (layer, value) come right after this text at
            // the line's end: a gap on the right keeps "✓ 52 ms" apart from "layer 1 = …"
            margin: "0 1.5em 0 2em",
            fontStyle: "italic",
          },
        }),
      ]),
    );
    this.subscriptions.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.batcher.request()),
      vscode.workspace.onDidChangeTextDocument((event) => this.followEdits(event)),
    );
  }

  /** A run of `uri` begins: the previous run's marks go. */
  reset(uri: string): void {
    this.uri = uri;
    this.marks.clear();
    this.batcher.flush();
  }

  apply(event: RunEvent): void {
    const uri = typeof event.uri === "string" ? event.uri : undefined;
    if (uri !== undefined && uri !== this.uri) {
      if (event.event !== "run_started") return; // a late event of another document's run
      this.uri = uri;
    }
    if (!this.marks.apply(event)) return;
    if (event.event === "run_started" && this.uri !== undefined) this.askGraph(this.uri);
    if (this.marks.finished) this.batcher.flush();
    else this.batcher.request();
    this.tick();
  }

  /** The run's graph, asked for as it starts (the document's text is still the one that runs). */
  private askGraph(uri: string): void {
    const run = ++this.run;
    new Promise<GraphData>((resolve) => resolve(this.graphOf(uri))).then(
      (graph) => {
        if (run !== this.run || uri !== this.uri || !graph || graph.stale) return;
        this.marks.useGraph(graph);
        this.batcher.request();
      },
      () => undefined, // no server, or it failed: the calls' marks are still there
    );
  }

  private tick(): void {
    if (this.marks.ticking && !this.ticker) {
      this.ticker = setInterval(() => {
        if (this.marks.ticking) this.batcher.request();
        else this.stopTicking();
      }, TICK_MS);
    } else if (!this.marks.ticking) {
      this.stopTicking();
    }
  }

  private stopTicking(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private followEdits(event: vscode.TextDocumentChangeEvent): void {
    if (event.document.uri.toString() !== this.uri || event.contentChanges.length === 0) return;
    // each change's range is in the document before the event: apply from the bottom up
    const changes = [...event.contentChanges].sort((a, b) => b.range.start.line - a.range.start.line);
    let changed = false;
    for (const change of changes) {
      const last = change.range.start.line + change.text.split("\n").length - 1;
      const lastText = last < event.document.lineCount ? event.document.lineAt(last).text : "";
      changed = this.marks.edit(lineEdit(change.range, change.text, lastText)) || changed;
    }
    if (changed) this.batcher.request();
  }

  private render(): void {
    const editors = vscode.window.visibleTextEditors.filter((editor) => editor.document.uri.toString() === this.uri);
    const byState = new Map<CallState, vscode.DecorationOptions[]>(CALL_STATES.map((state) => [state, []]));
    // the server's layer hints (on unless turned off) already name each line's layer
    const layerShown = vscode.workspace.getConfiguration("constellation").get<boolean>("inlayHints.layers", true);
    const lines = this.marks.lines(layerShown);
    for (const editor of editors) {
      for (const list of byState.values()) list.length = 0;
      for (const mark of lines) {
        if (mark.line > editor.document.lineCount) continue;
        byState.get(mark.state)!.push({
          range: editor.document.lineAt(mark.line - 1).range, // the text after it goes at its end
          hoverMessage: new vscode.MarkdownString(mark.hover),
          renderOptions: { after: { contentText: mark.text } },
        });
      }
      for (const [state, type] of this.types) editor.setDecorations(type, byState.get(state)!);
    }
  }

  dispose(): void {
    this.stopTicking();
    this.batcher.dispose();
    for (const type of this.types.values()) type.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}
