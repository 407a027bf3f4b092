// The run form in a webview panel beside the editor (form.ts builds the page and reads its
// messages): each field checked by the server's `constellation/checkInputs` as the user types,
// the texts remembered per file for the next run. A file with compile errors gets no form: it
// offers the Problems panel instead.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { acceptedValues, type CheckInputsResult, formHtml, formUpdate, initialTexts, readMessage } from "./form";

/** What the user chose: inputs to run with, the @example values, or nothing (closed). */
export type FormChoice = { inputs: Record<string, unknown> } | { useExamples: true } | undefined;

export type CheckInputs = (texts?: Record<string, string>) => Promise<CheckInputsResult>;

const memoryKey = (uri: string) => `constellation.inputTexts:${uri}`;

let openForm: vscode.WebviewPanel | undefined;

export async function askInputs(uri: string, check: CheckInputs, memory: vscode.Memento | undefined): Promise<FormChoice> {
  const first = await check();
  const fileName = vscode.Uri.parse(uri).path.split("/").pop() ?? uri;
  if (first.compileErrors > 0) {
    const count = first.compileErrors === 1 ? "1 error" : `${first.compileErrors} errors`;
    const choice = await vscode.window.showErrorMessage(
      `Constellation: ${fileName} has ${count}; fix them before running.`,
      "Show Problems",
    );
    if (choice) void vscode.commands.executeCommand("workbench.actions.view.problems");
    return undefined;
  }
  if (first.inputs.length === 0) return { inputs: {} };
  openForm?.dispose(); // one form at a time: the last Run asked for wins
  const remembered = memory?.get<Record<string, unknown>>(memoryKey(uri));
  const texts = initialTexts(first.inputs, remembered);
  const panel = vscode.window.createWebviewPanel(
    "constellation.inputForm",
    `Run ${fileName}`,
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
    { enableScripts: true, localResourceRoots: [] },
  );
  openForm = panel;
  panel.webview.html = formHtml({
    title: `Run ${fileName}`,
    fields: first.inputs,
    texts,
    nonce: randomBytes(16).toString("base64"),
    cspSource: panel.webview.cspSource,
    hasExamples: first.inputs.some((field) => field.example !== null),
  });
  return new Promise<FormChoice>((resolve) => {
    let settled = false;
    let latest = 0; // answers can come back out of order: only the last check counts
    const finish = (choice: FormChoice) => {
      if (settled) return;
      settled = true;
      resolve(choice);
      panel.dispose();
    };
    panel.onDidDispose(() => {
      if (openForm === panel) openForm = undefined;
      finish(undefined);
    });
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const message = readMessage(raw);
      if (!message) return;
      try {
        switch (message.type) {
          case "change": {
            const seq = ++latest;
            const result = await check(message.texts);
            if (seq === latest && !settled) void panel.webview.postMessage(formUpdate(result));
            return;
          }
          case "run": {
            const result = await check(message.texts);
            const values = acceptedValues(result);
            if (!values) {
              if (!settled) void panel.webview.postMessage(formUpdate(result));
              return;
            }
            await memory?.update(memoryKey(uri), message.texts);
            finish({ inputs: values });
            return;
          }
          case "examples":
            finish({ useExamples: true });
            return;
          case "reveal": {
            const field = first.inputs.find((input) => input.name === message.name);
            const start = field?.range?.start;
            if (!start) return;
            const position = new vscode.Position(start.line, start.character);
            await vscode.window.showTextDocument(vscode.Uri.parse(uri), {
              viewColumn: vscode.ViewColumn.One,
              selection: new vscode.Range(position, position),
              preserveFocus: true,
            });
            return;
          }
          case "cancel":
            finish(undefined);
        }
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        void vscode.window.showErrorMessage(`Constellation: could not check the inputs. ${text}`);
      }
    });
  });
}
