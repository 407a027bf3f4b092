// A headless Chromium (Debian's, driven by playwright-core from vscode-extension/node_modules)
// that tests/browser and benchmarks/graph.py command over JSON lines on stdin/stdout:
//   {"op": "open", "path": "/x.html", "host"?: "plain" | "vscode", "ready"?: "css"}
//                                        -> {"requests": [urls other than the file itself]}
//   {"op": "eval", "expr": "js"}         -> {"value": <the awaited result, JSON>}
//   {"op": "click", "selector": "css"}   -> {}
//   {"op": "screenshot", "path": "p.png"} -> {}
//   {"op": "viewport", "width": w, "height": h} -> {}  (the page's size: a side panel's, say)
//   {"op": "metrics"}                    -> {"value": {ScriptDuration, RecalcStyleDuration, ...}}
// Every request the page makes other than its own file is recorded and aborted: the pages
// must work offline.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(repo, "vscode-extension", "package.json"));
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
let viewport = { width: 1400, height: 900 };
// one page per kind, kept for the whole session (a navigation is far cheaper than a new page):
// "plain" for the graph page; "vscode" for pages written for a VS Code webview, whose host
// gives them acquireVsCodeApi (here: their messages go to window.hostMessages)
const VSCODE_HOST = `window.acquireVsCodeApi = () => ({
  postMessage: (m) => (window.hostMessages = window.hostMessages || []).push(m),
  getState: () => undefined, setState: () => undefined });`;
const pages = {};
let page;
let own = "";
let requests = [];
let errors = [];

async function pageFor(host) {
  if (pages[host]) return pages[host];
  const p = await context.newPage();
  await p.setViewportSize(viewport);
  if (host === "vscode") await p.addInitScript(VSCODE_HOST);
  await p.route("**/*", (route) => {
    const url = route.request().url();
    if (url === own) return route.continue();
    requests.push(url);
    return route.abort();
  });
  p.on("pageerror", (e) => { if (p === page) errors.push(String(e)); });
  p.on("console", (m) => { if (p === page && m.type() === "error") errors.push(m.text()); });
  pages[host] = p;
  return p;
}

async function handle(cmd) {
  switch (cmd.op) {
    case "open": {
      page = await pageFor(cmd.host ?? "plain");
      requests = [];
      errors = [];
      own = pathToFileURL(cmd.path).href;
      await page.goto(own);
      await page.waitForSelector(cmd.ready ?? "body[data-ready=true]", { timeout: cmd.timeout ?? 30000 });
      return { requests, errors };
    }
    case "eval":
      return { value: await page.evaluate(cmd.expr), requests, errors };
    case "metrics": {
      // main-thread time by kind (script, style, layout), from the DevTools protocol
      const session = await context.newCDPSession(page);
      await session.send("Performance.enable");
      const { metrics } = await session.send("Performance.getMetrics");
      await session.detach();
      return { value: Object.fromEntries(metrics.map((m) => [m.name, m.value])) };
    }
    case "click":
      await page.click(cmd.selector);
      return {};
    case "type":
      // real key presses into a field (input events as a user makes them)
      await page.fill(cmd.selector, "");
      await page.type(cmd.selector, cmd.text);
      return {};
    case "screenshot":
      await page.screenshot({ path: cmd.path, fullPage: false });
      return {};
    case "viewport":
      // every page of the session, and those made later
      viewport = { width: cmd.width, height: cmd.height };
      for (const p of Object.values(pages)) await p.setViewportSize(viewport);
      return {};
  }
  throw new Error(`unknown op ${cmd.op}`);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let answer;
  try {
    answer = { ok: true, ...(await handle(JSON.parse(line))) };
  } catch (e) {
    answer = { ok: false, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
