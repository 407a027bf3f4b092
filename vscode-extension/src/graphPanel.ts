// `Constellation: Show Graph`: the graph view (webview/graph, bundled into dist/webview/graph.js)
// beside the editor. It shows the graph of `constellation/graph` (docs/graph.md) for the
// document it follows, asks again as the document changes (the view keeps zoom and
// selection), selects the node under the cursor, reveals a binding when its node is clicked,
// receives the document's run events (`constellation/runEvent`), and marks the node a debug
// session is stopped before (debug.ts's stopBoard, also when the view opens after the stop).
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { nodeAt, type GraphData, type RunEvent } from "../webview/graph/model";
import { stopBoard } from "./debug";

export const GRAPH_REQUEST = "constellation/graph";
const REFRESH_MS = 120;

type Request = (uri: string) => Promise<GraphData>;

interface FromView {
  type: string;
  name?: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  line?: number | null;
  column?: number | null;
  text?: string;
}

export class GraphPanel implements vscode.Disposable {
  private static current: GraphPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private graph: GraphData | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private ready = false;
  private queued: unknown[] = [];
  private eventBatch: RunEvent[] = [];
  private eventTimer: NodeJS.Timeout | undefined;

  /** Opens the view beside the editor of `uri`, or points the open one at it. */
  static show(extensionUri: vscode.Uri, uri: string, request: Request): GraphPanel {
    if (GraphPanel.current) {
      GraphPanel.current.follow(uri);
      GraphPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return GraphPanel.current;
    }
    const panel = vscode.window.createWebviewPanel("constellation.graph", "Constellation Graph", {
      viewColumn: vscode.ViewColumn.Beside,
      preserveFocus: true,
    }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")],
    });
    GraphPanel.current = new GraphPanel(panel, extensionUri, uri, request);
    return GraphPanel.current;
  }

  /** Forwards a run event to the open view when it shows that document. */
  static runEvent(event: RunEvent & { uri?: string }): void {
    const view = GraphPanel.current;
    if (!view || event.uri !== view.uri) return;
    view.eventBatch.push(event);
    // one message per few milliseconds however many events: the view applies them per frame
    view.eventTimer ??= setTimeout(() => {
      view.eventTimer = undefined;
      const events = view.eventBatch;
      view.eventBatch = [];
      view.send({ type: "events", events });
    }, 16);
  }

  /** A debug session stopped or went on (debug.ts's stopBoard says where each program stands). */
  static stopped(): void {
    GraphPanel.current?.sendStop();
  }

  private sendStop(): void {
    if (!this.graph) return;
    const position = stopBoard.positionIn(vscode.Uri.parse(this.uri).fsPath);
    const node = position ? nodeAt(this.graph, position) : undefined;
    this.send({ type: "stopped", name: node?.name ?? null });
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private uri: string,
    private readonly request: Request,
  ) {
    panel.webview.html = html(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromView) => void this.onMessage(m)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === this.uri) this.scheduleRefresh();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor?.document.languageId === "constellation") this.follow(editor.document.uri.toString());
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document.uri.toString() === this.uri) this.selectAt(e.selections[0].active);
      }),
    );
    this.updateTitle();
    void this.refresh();
  }

  private follow(uri: string): void {
    if (uri === this.uri) return;
    this.uri = uri;
    this.updateTitle();
    void this.refresh();
  }

  private updateTitle(): void {
    const name = this.uri.split("/").pop() ?? this.uri;
    this.panel.title = `Graph: ${decodeURIComponent(name)}`;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), REFRESH_MS);
  }

  private async refresh(): Promise<void> {
    try {
      const first = this.graph === undefined;
      this.graph = await this.request(this.uri);
      this.send({ type: "graph", graph: this.graph });
      this.sendStop();
      const editor = vscode.window.activeTextEditor;
      if (first && editor?.document.uri.toString() === this.uri) this.selectAt(editor.selection.active);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      void vscode.window.setStatusBarMessage(`Constellation graph: ${message}`, 5000);
    }
  }

  private selectAt(position: vscode.Position): void {
    if (!this.graph) return;
    const node = nodeAt(this.graph, { line: position.line, character: position.character });
    if (node) this.send({ type: "select", name: node.name });
  }

  private send(message: unknown): void {
    if (!this.ready) {
      this.queued.push(message);
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  private async onMessage(m: FromView): Promise<void> {
    if (m.type === "ready") {
      this.ready = true;
      const queued = this.queued;
      this.queued = [];
      for (const message of queued) void this.panel.webview.postMessage(message);
      return;
    }
    if (m.type === "copy" && typeof m.text === "string") {
      await vscode.env.clipboard.writeText(m.text);
      return;
    }
    if (m.type !== "reveal") return;
    let range: vscode.Range | undefined;
    if (m.range) range = new vscode.Range(m.range.start.line, m.range.start.character, m.range.end.line, m.range.end.character);
    else if (typeof m.line === "number") {
      const p = new vscode.Position(m.line - 1, Math.max(0, (m.column ?? 1) - 1));
      range = new vscode.Range(p, p);
    }
    if (!range) return;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri);
    await vscode.window.showTextDocument(vscode.Uri.parse(this.uri), {
      viewColumn: editor?.viewColumn ?? vscode.ViewColumn.One,
      selection: range,
    });
  }

  dispose(): void {
    if (GraphPanel.current === this) GraphPanel.current = undefined;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.eventTimer) clearTimeout(this.eventTimer);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

/** The page: only our own script (by nonce), nothing from the network. */
function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString("base64");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", "graph.js"));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // the stylesheet is injected by the script, and timeline bars are placed by style attributes
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `img-src ${webview.cspSource} data:`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Constellation Graph</title>
</head>
<body>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
