// The graph view: one page for the VS Code webview, the `cst graph --format html` export and
// the `cst run --report` file. Data arrives as a JSON block in the page (the export) or as
// messages (`{type: "graph"}`, `{type: "events"}`, `{type: "select"}`, `{type: "stopped"}` from
// the extension).

import { layoutGraph, type Layout, type Placed } from "./layout";
import {
  collapseFanOuts, EventBatcher, graphSummary, groupState, RunModel, searchNodes, stateText,
  type GraphData, type RunEvent, type ViewGraph, type ViewNode,
} from "./model";
import { el, renderResults } from "./results";
import css from "./style.css";
import { computeTimeline, type Timeline } from "./timeline";

const SVG = "http://www.w3.org/2000/svg";
const MAX_RUNS = 5;
// zoomed out below this, names are too small to read: nodes are drawn without their texts
const FAR_SCALE = 0.35;
const MIN_ZOOM = 0.05;
const MAX_FIT = 1.25; // Fit does not blow a small graph up beyond this
const FIT_MARGIN = 12; // px around the fitted graph
// the bands reach this far above the highest node and below the lowest (drawBands)
const BAND_ABOVE = 30;
const BAND_BELOW = 40;

interface Outgoing {
  type: string;
  [key: string]: unknown;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Messages to the editor: the VS Code API in a webview; elsewhere a list and a DOM event. */
function makePoster(): (message: Outgoing) => void {
  if (typeof acquireVsCodeApi === "function") {
    const api = acquireVsCodeApi();
    return (m) => api.postMessage(m);
  }
  const w = window as unknown as { constellationMessages: Outgoing[] };
  w.constellationMessages = [];
  return (m) => {
    w.constellationMessages.push(m);
    window.dispatchEvent(new CustomEvent("constellation-message", { detail: m }));
  };
}

let poster: ((message: Outgoing) => void) | undefined;
function postToEditor(message: Outgoing): void {
  poster ??= makePoster();
  poster(message);
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

class GraphView {
  private graph: GraphData | undefined;
  private view: ViewGraph | undefined;
  private layout: Layout | undefined;
  private structureKey = "";
  private expanded = new Set<string>();
  private selected: string | undefined;
  private scale = 1;
  private tx = 20;
  private ty = 20;
  private fitted = false;
  private autoFit = false; // fitted, and neither zoomed nor panned since: a resize fits again
  private tooLarge = false; // the last Fit could not show it all, even at MIN_ZOOM
  private runs: RunModel[] = [];
  private shownRun = 0; // index into runs
  private elements = new Map<string, SVGGElement>(); // view key -> node element
  private states = new Map<string, Element>(); // view key -> its state text
  private looks = new Map<string, string>(); // view key -> how its node is drawn (Look.key)
  private readonly post = postToEditor;
  private readonly batcher = new EventBatcher((events) => this.applyEvents(events), (f) => requestAnimationFrame(f));
  private tick: number | undefined;
  private stalePanes = new Set<string>(["timeline", "results"]);
  private idByName = new Map<string, number>();
  private stoppedAt: string | null = null; // the node a debug session is stopped before
  private pendingGraph: Promise<void> = Promise.resolve();

  private readonly root = el("div", { id: "app" });
  private readonly banner = el("div", { class: "banner", hidden: "" });
  private readonly tip = el("div", { class: "tip", hidden: "" });
  private readonly status = el("span", { class: "status" });
  private readonly zoomNote = el("span", { class: "zoom-note", hidden: "" });
  private readonly searchBox = el("input", { type: "search", placeholder: "Search bindings or modules", class: "search" });
  private readonly runPicker = el("select", { class: "runs", title: "Last runs of this file", hidden: "" });
  private readonly svgRoot = svg("svg", { class: "canvas" });
  private readonly viewport = svg("g", { class: "viewport" });
  private readonly bandLayer = svg("g", { class: "bands" });
  private readonly edgeLayer = svg("g", { class: "edges" });
  private readonly nodeLayer = svg("g", { class: "nodes" });
  // one path for every edge: a thousand edges cost one element
  private readonly edgePath = svg("path", { class: "edge" });
  private readonly panes = {
    graph: el("div", { class: "pane graph-pane", "data-pane": "graph" }),
    timeline: el("div", { class: "pane timeline-pane", "data-pane": "timeline", hidden: "" }),
    results: el("div", { class: "pane results-pane", "data-pane": "results", hidden: "" }),
  };
  private readonly tabs = new Map<string, HTMLButtonElement>();

  constructor(parent: HTMLElement) {
    const bar = el("div", { class: "toolbar" });
    for (const name of ["graph", "timeline", "results"] as const) {
      const tab = el("button", { class: "tab", "data-tab": name }, name[0].toUpperCase() + name.slice(1));
      tab.addEventListener("click", () => this.showPane(name));
      this.tabs.set(name, tab);
      bar.append(tab);
    }
    const buttons: [string, string, () => void][] = [
      ["Fit", "fit", () => this.fit()],
      ["+", "zoom-in", () => this.zoom(1.25)],
      ["−", "zoom-out", () => this.zoom(0.8)],
    ];
    for (const [text, cls, action] of buttons) {
      const b = el("button", { class: `tool ${cls}`, title: cls }, text);
      b.addEventListener("click", action);
      bar.append(b);
    }
    this.searchBox.addEventListener("input", () => this.search());
    this.searchBox.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.search(true);
    });
    this.runPicker.addEventListener("change", () => {
      this.shownRun = Number(this.runPicker.value);
      this.refreshRun(true);
    });
    bar.append(this.searchBox, this.runPicker, this.status);
    this.edgeLayer.append(this.edgePath);
    this.viewport.append(this.bandLayer, this.edgeLayer, this.nodeLayer);
    this.nodeLayer.addEventListener("click", (ev) => this.onNodeClick(ev));
    this.svgRoot.addEventListener("mousemove", (ev) => this.showTip(ev));
    this.svgRoot.addEventListener("mouseleave", () => (this.tip.hidden = true));
    this.svgRoot.append(this.viewport);
    // over the picture, not in the toolbar: showing it must not resize what was just fitted
    this.panes.graph.append(this.svgRoot, this.zoomNote);
    this.root.append(bar, this.banner, this.panes.graph, this.panes.timeline, this.panes.results, this.tip);
    parent.append(this.root);
    this.tabs.get("graph")!.classList.add("active");
    this.wirePanZoom();
    // a panel resized (opened beside the editor, a sash dragged) is fitted again, unless the
    // user has zoomed or panned since the last Fit
    new ResizeObserver(() => {
      if (this.autoFit) this.fit();
    }).observe(this.svgRoot);
  }

  // ---- the graph ------------------------------------------------------------------------------

  /**
   * A new graph (an edit): laid out again only when its structure changed, and drawn as a patch
   * of what is on screen (`fresh`: forgets the picture and draws everything, as the first time).
   */
  setGraph(graph: GraphData, fresh = false): Promise<void> {
    this.pendingGraph = this.pendingGraph.then(() => this.applyGraph(graph, fresh));
    return this.pendingGraph;
  }

  private async applyGraph(graph: GraphData, fresh: boolean): Promise<void> {
    const started = performance.now();
    this.graph = graph;
    this.idByName = new Map(graph.nodes.map((n) => [n.name, n.id]));
    this.banner.hidden = !graph.stale;
    this.banner.textContent = graph.stale
      ? `The file has ${graph.errors.length} error(s): showing the last good graph. ` +
        (graph.errors[0] ? `First: line ${graph.errors[0].range ? graph.errors[0].range.start.line + 1 : "?"}: ${graph.errors[0].message}` : "")
      : "";
    if (fresh) this.forgetPicture();
    const view = collapseFanOuts(graph, this.expanded);
    const key = structureKey(view);
    this.view = view;
    if (key !== this.structureKey || !this.layout) {
      const t0 = performance.now();
      this.layout = layoutGraph(view, graph.depth + 1, this.layout);
      this.root.setAttribute("data-layout-ms", (performance.now() - t0).toFixed(1));
      this.structureKey = key;
      this.draw();
    }
    // same structure, new text (ranges, types): nothing drawn changes (tooltips read the view)
    if (!this.fitted) {
      this.fit();
      this.fitted = true;
    }
    this.refreshRun(false);
    const ms = performance.now() - started;
    this.root.setAttribute("data-render-ms", ms.toFixed(1));
    this.status.textContent = graphSummary(graph);
    document.body.setAttribute("data-ready", "true");
  }

  /** Drops the layout and every drawn node: the next graph is laid out and drawn anew. */
  private forgetPicture(): void {
    this.layout = undefined;
    this.structureKey = "";
    this.nodeLayer.replaceChildren();
    this.elements.clear();
    this.states.clear();
    this.looks.clear();
  }

  /**
   * Brings the picture to the layout: a node drawn the same way stays (moved if its place
   * changed), one drawn differently or new is made, one gone is removed; bands and edges (a
   * few elements) are drawn again. An edit so touches the nodes it changed, and zoom, pan,
   * selection and search marks stay.
   */
  private draw(): void {
    const { view, layout } = this;
    if (!view || !layout) return;
    this.drawBands(layout);
    this.edgePath.setAttribute("d", edgePath(view, layout));
    const shown = new Set<string>();
    let markup = "";
    for (const n of view.nodes) {
      shown.add(n.key);
      const p = layout.positions.get(n.key)!;
      const look = nodeLook(n);
      const g = this.elements.get(n.key);
      if (g && this.looks.get(n.key) === look.key) {
        const place = `translate(${p.x},${p.y})`;
        if (g.getAttribute("transform") !== place) g.setAttribute("transform", place);
        continue;
      }
      g?.remove();
      this.looks.set(n.key, look.key);
      markup += this.nodeMarkup(n, p, look);
    }
    for (const [key, g] of this.elements) {
      if (shown.has(key)) continue;
      g.remove();
      this.elements.delete(key);
      this.states.delete(key);
      this.looks.delete(key);
    }
    if (markup) {
      // new nodes as one parse: a thousand of them are far faster than element calls
      const before = this.nodeLayer.childElementCount;
      this.nodeLayer.insertAdjacentHTML("beforeend", markup);
      const children = this.nodeLayer.children;
      for (let i = before; i < children.length; i++) {
        const key = children[i].getAttribute("data-key")!;
        this.elements.set(key, children[i] as SVGGElement);
        this.states.set(key, children[i].querySelector(".node-state")!);
      }
    }
    if (this.selected && !shown.has(this.selected)) this.selected = undefined;
    if (this.searchBox.value.trim()) this.search();
    this.applyTransform();
    this.paintStopped();
  }

  private drawBands(layout: Layout): void {
    this.bandLayer.replaceChildren();
    const top = layout.top - BAND_ABOVE, height = layout.height + BAND_BELOW - top;
    for (const band of layout.bands) {
      const g = svg("g", { class: "band", "data-band": band.layer });
      g.append(svg("rect", { x: band.x, y: top, width: band.width, height, rx: 6 }));
      const label = svg("text", { x: band.x + 8, y: top + 18, class: "band-label" });
      label.textContent = band.layer > this.graph!.depth ? "no layer" : `layer ${band.layer}`;
      g.append(label);
      this.bandLayer.append(g);
    }
  }

  /** Marks the node a debug session is stopped before (null: running, or between layers). */
  markStopped(name: string | null): void {
    this.stoppedAt = name;
    this.paintStopped();
  }

  private paintStopped(): void {
    for (const g of this.elements.values()) g.removeAttribute("data-stopped");
    const id = this.stoppedAt === null ? undefined : this.idByName.get(this.stoppedAt);
    const v = id === undefined ? undefined : this.view?.byId.get(id);
    if (v) this.elements.get(v.key)?.setAttribute("data-stopped", "true");
  }

  /** A node's markup (its look, placed at `p`, selected or not). */
  private nodeMarkup(n: ViewNode, p: Placed, look: Look): string {
    const cls = `${look.cls}${this.selected === n.key ? " selected" : ""}`;
    return `<g class="${cls}" transform="translate(${p.x},${p.y})" ${look.who} data-key="${esc(n.key)}" data-layer="${n.layer ?? "none"}" data-kind="${n.node.kind}">` +
      `<rect width="${p.width}" height="${p.height}" rx="5"></rect>` +
      `<text x="8" y="17" class="node-name">${esc(look.title)}</text>` +
      `<text x="8" y="32" class="node-module">${esc(look.sub)}</text>` +
      `<text x="8" y="47" class="node-state"></text></g>`;
  }

  /** One listener for every node: a click reveals the binding, or expands a fan-out. */
  private onNodeClick(ev: MouseEvent): void {
    const g = (ev.target as Element).closest("g.node");
    if (!g || !this.view) return;
    ev.stopPropagation();
    const key = g.getAttribute("data-key")!;
    const n = this.view.nodes.find((v) => v.key === key);
    if (!n) return;
    if (n.members.length > 1) {
      this.expanded.add(n.key);
      void this.setGraph(this.graph!);
      return;
    }
    this.select(n.node.name);
    this.post({ type: "reveal", name: n.node.name, range: n.node.range });
  }

  /** One tooltip for every node (a <title> per node would double the elements to draw). */
  private showTip(ev: MouseEvent): void {
    const g = (ev.target as Element).closest("g.node");
    const n = g && this.view?.nodes.find((v) => v.key === g.getAttribute("data-key"));
    if (!n) {
      this.tip.hidden = true;
      return;
    }
    const run = this.current()?.nodes.get(n.node.name);
    this.tip.textContent = n.members.length > 1
      ? n.members.map((m) => m.name).join(", ")
      : [tipText(n), n.node.module ?? "", run ? stateText(run, this.current()!.elapsedMs(n.node.name)) : ""].filter(Boolean).join("\n");
    this.tip.style.left = `${ev.clientX + 12}px`;
    this.tip.style.top = `${ev.clientY + 12}px`;
    this.tip.hidden = false;
  }

  // ---- selection, search, zoom -----------------------------------------------------------------

  select(name: string | undefined, reveal = false): void {
    if (this.selected) this.elements.get(this.selected)?.classList.remove("selected");
    this.selected = undefined;
    if (!name || !this.view || !this.graph) return;
    const node = this.graph.nodes.find((n) => n.name === name || n.names?.includes(name));
    const viewNode = node ? this.view.byId.get(node.id) : undefined;
    if (!viewNode) return;
    this.selected = viewNode.key;
    this.elements.get(viewNode.key)?.classList.add("selected");
    if (reveal) this.centerOn(viewNode.key, true);
  }

  private search(jump = false): void {
    const found = new Set(searchNodes(this.graph!, this.searchBox.value).map((n) => this.view!.byId.get(n.id)!.key));
    for (const [key, g] of this.elements) g.classList.toggle("match", found.has(key));
    this.svgRoot.classList.toggle("searching", found.size > 0);
    if (found.size && (jump || found.size === 1)) this.centerOn([...found][0]);
  }

  private centerOn(key: string, onlyIfHidden = false): void {
    const p = this.layout?.positions.get(key);
    if (!p) return;
    const box = this.svgRoot.getBoundingClientRect();
    const left = p.x * this.scale + this.tx, top = p.y * this.scale + this.ty;
    const visible = left >= 0 && top >= 0 && left + p.width * this.scale <= box.width && top + p.height * this.scale <= box.height;
    if (onlyIfHidden && visible) return; // moving the cursor must not move a graph in view
    this.autoFit = false;
    this.tx = box.width / 2 - (p.x + p.width / 2) * this.scale;
    this.ty = box.height / 2 - (p.y + p.height / 2) * this.scale;
    this.applyTransform();
  }

  /**
   * The whole graph in the panel, centred, whatever its size: a graph larger than the panel is
   * scaled down as far as it takes (below FAR_SCALE its names are not drawn, and the toolbar
   * says so); only one too large even at MIN_ZOOM is left partly outside, to be panned to.
   */
  fit(): void {
    if (!this.layout) return;
    const box = this.svgRoot.getBoundingClientRect();
    const panelW = box.width || 800, panelH = box.height || 600;
    const c = contentBox(this.layout);
    const fits = Math.min((panelW - 2 * FIT_MARGIN) / c.width, (panelH - 2 * FIT_MARGIN) / c.height);
    this.scale = Math.min(MAX_FIT, Math.max(MIN_ZOOM, fits));
    this.tooLarge = fits < MIN_ZOOM;
    this.tx = this.tooLarge ? FIT_MARGIN - c.x * this.scale : (panelW - c.width * this.scale) / 2 - c.x * this.scale;
    this.ty = this.tooLarge ? FIT_MARGIN - c.y * this.scale : (panelH - c.height * this.scale) / 2 - c.y * this.scale;
    this.autoFit = true;
    this.applyTransform();
  }

  private zoom(factor: number, cx?: number, cy?: number): void {
    this.autoFit = false;
    const box = this.svgRoot.getBoundingClientRect();
    const x = cx ?? box.width / 2, y = cy ?? box.height / 2;
    const next = Math.min(4, Math.max(MIN_ZOOM, this.scale * factor));
    this.tx = x - ((x - this.tx) * next) / this.scale;
    this.ty = y - ((y - this.ty) * next) / this.scale;
    this.scale = next;
    this.applyTransform();
  }

  private applyTransform(): void {
    this.viewport.setAttribute("transform", `translate(${this.tx},${this.ty}) scale(${this.scale})`);
    // zoomed out, names are too small to read: not drawing them keeps large graphs fast
    const far = this.scale < FAR_SCALE;
    this.svgRoot.classList.toggle("far", far);
    this.root.setAttribute("data-zoom", this.scale.toFixed(3));
    const percent = `${Math.round(this.scale * 100)} %`;
    const note = this.autoFit && this.tooLarge
      ? `larger than the panel even at ${percent}: drag to pan`
      : far ? `names hidden at ${percent}: zoom in (+, wheel) to read them, drag to pan` : "";
    if (this.zoomNote.textContent !== note) this.zoomNote.textContent = note;
    this.zoomNote.hidden = note === "";
  }

  private wirePanZoom(): void {
    let drag: { x: number; y: number } | undefined;
    this.svgRoot.addEventListener("wheel", (e) => {
      e.preventDefault();
      const box = this.svgRoot.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1, e.clientX - box.left, e.clientY - box.top);
    }, { passive: false });
    this.svgRoot.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY };
    });
    window.addEventListener("pointermove", (e) => {
      if (!drag) return;
      if (e.clientX !== drag.x || e.clientY !== drag.y) this.autoFit = false;
      this.tx += e.clientX - drag.x;
      this.ty += e.clientY - drag.y;
      drag = { x: e.clientX, y: e.clientY };
      this.applyTransform();
    });
    window.addEventListener("pointerup", () => (drag = undefined));
  }

  // ---- runs --------------------------------------------------------------------------------------

  feed(events: RunEvent | RunEvent[]): void {
    this.batcher.push(events);
  }

  /** Applies a batch of events (once per animation frame) and redraws what changed. */
  private applyEvents(events: RunEvent[]): void {
    let touched: Set<string> | undefined = new Set<string>();
    for (const e of events) {
      if (e.event === "run_started" || (e.event === "run_rejected" && !this.current())) {
        this.runs.unshift(new RunModel(Date.now, this.graph));
        this.runs.length = Math.min(this.runs.length, MAX_RUNS);
        this.shownRun = 0;
        touched = undefined; // every node becomes pending
      }
      const changed = this.runs[0]?.apply(e) ?? [];
      if (touched) for (const name of changed) touched.add(name);
    }
    this.refreshRun(events.some((e) => e.event === "run_completed" || e.event === "run_rejected"), touched);
  }

  private current(): RunModel | undefined {
    return this.runs[this.shownRun];
  }

  private refreshRun(finished: boolean, touched?: Set<string>): void {
    const run = this.current();
    this.paintStates(touched);
    this.runPicker.hidden = this.runs.length < 2;
    if (!touched || finished) {
      this.runPicker.replaceChildren(...this.runs.map((r, i) => {
        const o = el("option", { value: String(i) }, `${i === 0 ? "last run" : `${i + 1} runs ago`}: ${r.status}`);
        if (i === this.shownRun) o.selected = true;
        return o;
      }));
    }
    if (run?.status === "running" && this.tick === undefined) {
      this.tick = window.setInterval(() => this.paintStates(this.runningNames()), 250);
    } else if (run?.status !== "running" && this.tick !== undefined) {
      window.clearInterval(this.tick);
      this.tick = undefined;
    }
    if (finished || run?.status !== "running") {
      // drawn when first shown: a thousand values cost nothing while the graph is looked at
      this.stalePanes = new Set(["timeline", "results"]);
      this.drawShownPane();
    }
    this.root.setAttribute("data-run", run?.status ?? "none");
  }

  private runningNames(): Set<string> {
    const names = new Set<string>();
    for (const [name, r] of this.current()?.nodes ?? []) if (r.state === "running" || r.state === "retrying") names.add(name);
    return names;
  }

  private drawShownPane(): void {
    if (this.stalePanes.has("timeline") && !this.panes.timeline.hidden) {
      this.stalePanes.delete("timeline");
      this.renderTimeline();
    }
    if (this.stalePanes.has("results") && !this.panes.results.hidden) {
      this.stalePanes.delete("results");
      this.renderResultsPane();
    }
  }

  /** The state of each node (of the `only` names: those a batch of events touched). */
  private paintStates(only?: Set<string>): void {
    const run = this.current();
    if (!this.view || !this.graph) return;
    let nodes: Iterable<ViewNode> = this.view.nodes;
    if (only) {
      const touched = new Set<ViewNode>();
      for (const name of only) {
        const id = this.idByName.get(name);
        const v = id === undefined ? undefined : this.view.byId.get(id);
        if (v) touched.add(v);
      }
      nodes = touched;
    }
    for (const n of nodes) {
      const g = this.elements.get(n.key);
      if (!g) continue;
      const text = this.states.get(n.key)!;
      const states = run ? n.members.map((m) => run.nodes.get(m.name)?.state) : [];
      const state = groupState(states);
      if (!run || state === undefined) {
        if (g.hasAttribute("data-state")) g.removeAttribute("data-state");
        if (text.textContent) text.textContent = "";
        continue;
      }
      if (g.getAttribute("data-state") !== state) g.setAttribute("data-state", state);
      const label = n.members.length > 1
        ? `${states.filter((s) => s === "completed" || s === "cached").length}/${n.members.length} done`
        : stateText(run.nodes.get(n.node.name), run.elapsedMs(n.node.name));
      const clipped = clip(label, 27);
      if (text.textContent !== clipped) text.textContent = clipped;
    }
  }

  private renderTimeline(): void {
    const pane = this.panes.timeline;
    pane.replaceChildren();
    const run = this.current();
    if (!run?.graph || run.status === "running" || run.status === "idle") {
      pane.append(el("p", { class: "hint" }, "The timeline appears when a run has finished."));
      return;
    }
    // on the graph the run ran on: an edit since must not take its calls off its timeline
    drawTimeline(pane, computeTimeline(run.graph, run), (name) => {
      this.showPane("graph");
      this.select(name, true);
    });
  }

  private renderResultsPane(): void {
    const run = this.current();
    renderResults(this.panes.results, run?.graph ?? this.graph, run, {
      reveal: (line, column, name) => this.post({ type: "reveal", name, line, column }),
      copy: (text) => {
        this.post({ type: "copy", text });
        void navigator.clipboard?.writeText(text).catch(() => undefined);
      },
    });
  }

  showPane(name: "graph" | "timeline" | "results"): void {
    for (const [key, pane] of Object.entries(this.panes)) pane.hidden = key !== name;
    for (const [key, tab] of this.tabs) tab.classList.toggle("active", key === name);
    this.drawShownPane();
  }
}

function drawTimeline(pane: HTMLElement, t: Timeline, select: (name: string) => void): void {
  pane.append(el("p", { class: "eager", "data-eager-ms": t.eagerMs.toFixed(1), "data-total-ms": t.totalMs.toFixed(1) }, t.sentence));
  pane.append(el("p", { class: "hint" },
    `critical path: ${t.criticalPath.join(" → ") || "none"} · time waited for layer barriers: ${Math.round(t.barrierWaitMs)} ms over ${t.bars.length} calls`));
  const total = Math.max(t.totalMs, ...t.bars.map((b) => b.endMs), 1);
  for (const layer of t.layers) {
    const section = el("div", { class: "tl-layer", "data-layer": String(layer.layer) });
    section.append(el("div", { class: "tl-layer-title" }, `layer ${layer.layer}`));
    for (const b of layer.bars) {
      const row = el("div", { class: `tl-row${b.critical ? " critical" : ""}`, "data-timeline-bar": b.name, "data-state": b.state });
      const label = el("span", { class: "tl-label", title: b.module ?? "" }, b.name);
      label.addEventListener("click", () => select(b.name));
      const track = el("div", { class: "tl-track" });
      if (b.waitMs > 0.5) {
        track.append(el("div", {
          class: "tl-wait",
          style: `left:${(b.readyMs / total) * 100}%;width:${(b.waitMs / total) * 100}%`,
          title: `waited ${Math.round(b.waitMs)} ms for layer ${b.layer} after its inputs were ready`,
        }));
      }
      track.append(el("div", {
        class: "tl-bar",
        style: `left:${(b.startMs / total) * 100}%;width:${Math.max(0.3, (b.durationMs / total) * 100)}%`,
        title: `${b.name}: ${Math.round(b.durationMs)} ms, from ${Math.round(b.startMs)} ms`,
      }));
      const figures = el("span", { class: "tl-figures" }, `${Math.round(b.durationMs)} ms` + (b.waitMs > 0.5 ? ` · waited ${Math.round(b.waitMs)} ms` : ""));
      row.append(label, track, figures);
      section.append(row);
    }
    pane.append(section);
  }
}

/** How a node is drawn, but for its place, selection and state: `key` tells two looks apart. */
interface Look {
  cls: string;
  who: string;
  title: string;
  sub: string;
  key: string;
}

function nodeLook(n: ViewNode): Look {
  const group = n.members.length > 1;
  const cls = `node kind-${n.node.kind}${n.node.output ? " output" : ""}${group ? " group" : ""}`;
  const who = group
    ? `data-group="${esc(n.key)}" data-members="${n.members.length}"`
    : `data-node="${esc(n.node.name)}"`;
  const title = group ? `${n.node.module} ×${n.members.length}` : clip(n.node.name, 22);
  const sub = group ? "fan-out: click to expand" : clip(`${n.node.kind}${n.node.module ? ` · ${n.node.module}` : ""}`, 25);
  return { cls, who, title, sub, key: `${cls}\u0000${who}\u0000${title}\u0000${sub}\u0000${n.layer}` };
}

/** Every edge as one path's data, from the right side of its source to the left of its reader. */
function edgePath(view: ViewGraph, layout: Layout): string {
  const parts: string[] = [];
  for (const e of view.edges) {
    const a = layout.positions.get(e.from);
    const b = layout.positions.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + a.width, y1 = a.y + a.height / 2, x2 = b.x, y2 = b.y + b.height / 2;
    const mid = (x1 + x2) / 2;
    parts.push(`M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
  }
  return parts.join("");
}

/** What the graph covers (nodes and their bands), in its own coordinates. */
function contentBox(layout: Layout): { x: number; y: number; width: number; height: number } {
  let left = Infinity, right = -Infinity;
  for (const b of layout.bands) {
    left = Math.min(left, b.x);
    right = Math.max(right, b.x + b.width);
  }
  for (const p of layout.positions.values()) {
    left = Math.min(left, p.x);
    right = Math.max(right, p.x + p.width);
  }
  if (left > right) left = right = 0;
  const top = layout.top - BAND_ABOVE, bottom = layout.height + BAND_BELOW;
  return { x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

function structureKey(view: ViewGraph): string {
  const nodes = view.nodes.map((n) => `${n.key}|${n.layer}|${n.node.kind}|${n.node.module}|${n.members.length}`).join(";");
  const edges = view.edges.map((e) => `${e.from}>${e.to}`).join(";");
  return `${nodes}#${edges}`;
}

function tipText(n: ViewNode): string {
  return `${n.node.name}${n.node.type ? `: ${n.node.type}` : ""}`;
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---- start -------------------------------------------------------------------------------------

interface PageData {
  graph?: GraphData;
  events?: RunEvent[];
  pane?: "graph" | "timeline" | "results";
}

function start(): void {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
  const view = new GraphView(document.body);
  const w = window as unknown as { constellationGraph: unknown };
  w.constellationGraph = {
    setGraph: (g: GraphData) => view.setGraph(g),
    redraw: (g: GraphData) => view.setGraph(g, true),
    feed: (events: RunEvent | RunEvent[]) => view.feed(events),
    select: (name: string) => view.select(name, true),
    showPane: (name: "graph" | "timeline" | "results") => view.showPane(name),
    fit: () => view.fit(),
    stopped: (name: string | null) => view.markStopped(name),
  };
  window.addEventListener("message", (ev: MessageEvent) => {
    const m = ev.data as { type?: string; graph?: GraphData; events?: RunEvent[]; name?: string | null };
    if (m?.type === "graph" && m.graph) void view.setGraph(m.graph);
    else if (m?.type === "events" && m.events) view.feed(m.events);
    else if (m?.type === "select") view.select(m.name ?? undefined, true);
    else if (m?.type === "stopped") view.markStopped(m.name ?? null);
  });
  postToEditor({ type: "ready" });
  const block = document.getElementById("constellation-data");
  if (block?.textContent) {
    const data = JSON.parse(block.textContent) as PageData;
    if (data.graph) {
      void view.setGraph(data.graph).then(() => {
        if (data.events?.length) view.feed(data.events);
        if (data.pane) view.showPane(data.pane);
      });
    }
  }
}

start();
