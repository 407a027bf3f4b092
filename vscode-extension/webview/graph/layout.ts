// Positions of the view's nodes: the compiler's layers are the bands, left to right; inside a
// band, nodes are ordered to reduce edge crossings (barycentre sweeps, the ordering phase of
// Sugiyama's layered layout, keeping the best order found) and placed close to the nodes they
// connect to (isotonic regression keeps the order and the spacing). Layers are never chosen
// here. Pure and linear-ish: a 1,000-node graph is laid out in milliseconds (elkjs' layered
// algorithm, tried first, took 20 s of CPU on it: see docs/graph.md). A small edit keeps the
// picture: the nodes still in their column stay where they were, the new ones go to the free
// row nearest their neighbours or into a row made there (unless that adds many crossings).

import type { ViewGraph } from "./model";

export const NODE_WIDTH = 160;
export const NODE_HEIGHT = 52;
const ROW_GAP = 12;
const COLUMN_GAP = 34;
const BAND_GAP = 22;
const STEP = NODE_HEIGHT + ROW_GAP;

export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  positions: Map<string, Placed>;
  slots: Map<string, string>; // each node's column as "layer:sub-column" (kept across edits)
  bands: { layer: number; x: number; width: number }[];
  width: number;
  top: number; // the least height: 0, or above it after an edit placed a node there
  height: number; // the greatest height reached (the bottom of the lowest node)
  crossings: number;
}

interface Item {
  key: string;
  layer: number;
  column: number; // global column: bands left to right, sub-columns inside a band
  preds: Item[];
  succs: Item[];
  pos: number; // index in its column
  y: number;
}

/**
 * Columns: inside a band, a node that reads a node of the same layer (an inline value of a
 * call's result) goes one sub-column right of it, so every edge points right.
 */
function assignColumns(items: Item[], order: Item[]): Item[][] {
  const sub = new Map<Item, number>();
  for (const it of order) {
    let s = 0;
    for (const p of it.preds) if (p.layer === it.layer) s = Math.max(s, (sub.get(p) ?? 0) + 1);
    sub.set(it, s);
  }
  const layers = [...new Set(items.map((i) => i.layer))].sort((a, b) => a - b);
  const widths = new Map<number, number>();
  for (const it of items) widths.set(it.layer, Math.max(widths.get(it.layer) ?? 0, sub.get(it)! + 1));
  const first = new Map<number, number>();
  let next = 0;
  for (const l of layers) {
    first.set(l, next);
    next += widths.get(l)!;
  }
  const columns: Item[][] = Array.from({ length: next }, () => []);
  for (const it of items) {
    it.column = first.get(it.layer)! + sub.get(it)!;
    columns[it.column].push(it);
  }
  return columns;
}

/** Topological order of the items (edges point from a node to its readers). */
function topo(items: Item[]): Item[] {
  const indegree = new Map<Item, number>(items.map((i) => [i, i.preds.length]));
  const queue = items.filter((i) => i.preds.length === 0);
  for (let k = 0; k < queue.length; k++) {
    for (const s of queue[k].succs) {
      const d = indegree.get(s)! - 1;
      indegree.set(s, d);
      if (d === 0) queue.push(s);
    }
  }
  // what is left is on a cycle (a file with errors): after the rest, in source order
  if (queue.length < items.length) {
    const placed = new Set(queue);
    for (const i of items) if (!placed.has(i)) queue.push(i);
  }
  return queue;
}

/** Crossings of the edges between each pair of columns, by counting inversions (Fenwick tree). */
export function countCrossings(columns: Item[][]): number {
  const groups = new Map<string, [number, number][]>();
  for (const col of columns) {
    for (const it of col) {
      for (const s of it.succs) {
        const key = `${it.column}>${s.column}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key)!.push([it.pos, s.pos]);
      }
    }
  }
  let total = 0;
  for (const edges of groups.values()) {
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const size = Math.max(...edges.map((e) => e[1])) + 2;
    const tree = new Array<number>(size + 1).fill(0);
    let seen = 0;
    for (const [, t] of edges) {
      // edges seen so far that end below t cross this one
      let le = 0;
      for (let i = t + 1; i > 0; i -= i & -i) le += tree[i];
      total += seen - le;
      for (let i = t + 1; i <= size; i += i & -i) tree[i] += 1;
      seen += 1;
    }
  }
  return total;
}

function fraction(it: Item, columns: Item[][]): number {
  const n = columns[it.column].length;
  return n <= 1 ? 0.5 : it.pos / (n - 1);
}

/** Orders one column by the mean position of its neighbours (nodes without any keep theirs). */
function sortByBarycentre(col: Item[], columns: Item[][], neighbours: (i: Item) => Item[]): void {
  const key = new Map<Item, number>();
  for (const it of col) {
    const ns = neighbours(it);
    key.set(it, ns.length ? ns.reduce((s, n) => s + fraction(n, columns), 0) / ns.length : fraction(it, columns));
  }
  col.sort((a, b) => key.get(a)! - key.get(b)! || a.pos - b.pos);
  col.forEach((it, i) => (it.pos = i));
}

function orderColumns(columns: Item[][], sweeps: number): number {
  let best = countCrossings(columns);
  let bestOrder = columns.map((c) => [...c]);
  for (let k = 0; k < sweeps && best > 0; k++) {
    for (let c = 1; c < columns.length; c++) sortByBarycentre(columns[c], columns, (i) => i.preds);
    for (let c = columns.length - 2; c >= 0; c--) sortByBarycentre(columns[c], columns, (i) => i.succs);
    const now = countCrossings(columns);
    if (now < best) {
      best = now;
      bestOrder = columns.map((col) => [...col]);
    }
  }
  columns.forEach((col, c) => {
    col.splice(0, col.length, ...bestOrder[c]);
    col.forEach((it, i) => (it.pos = i));
  });
  return best;
}

/** The non-decreasing sequence closest to `values` (least squares): pool adjacent violators. */
export function isotonic(values: number[]): number[] {
  const blocks: { sum: number; count: number }[] = [];
  for (const v of values) {
    blocks.push({ sum: v, count: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1], a = blocks[blocks.length - 2];
      if (a.sum / a.count <= b.sum / b.count) break;
      a.sum += b.sum;
      a.count += b.count;
      blocks.pop();
    }
  }
  const out: number[] = [];
  for (const b of blocks) for (let i = 0; i < b.count; i++) out.push(b.sum / b.count);
  return out;
}

/** Each node near the mean height of its neighbours, in its column's order, STEP apart. */
function placeColumn(col: Item[], neighbours: (i: Item) => Item[], weight: number): void {
  const desired = col.map((it) => {
    const ns = neighbours(it);
    const target = ns.length ? ns.reduce((s, n) => s + n.y, 0) / ns.length : it.y;
    return it.y + (target - it.y) * weight;
  });
  const fitted = isotonic(desired.map((d, i) => d - i * STEP));
  col.forEach((it, i) => (it.y = fitted[i] + i * STEP));
}

/** Share of the nodes an edit may add, remove or move to another column and keep the picture. */
const SMALL_EDIT = 0.05;

export function layoutGraph(view: ViewGraph, unlayered: number, previous?: Layout): Layout {
  const items = new Map<string, Item>();
  view.nodes.forEach((n) => {
    items.set(n.key, { key: n.key, layer: n.layer ?? unlayered, column: 0, preds: [], succs: [], pos: 0, y: 0 });
  });
  for (const e of view.edges) {
    const a = items.get(e.from), b = items.get(e.to);
    if (!a || !b) continue;
    a.succs.push(b);
    b.preds.push(a);
  }
  const all = [...items.values()];
  const columns = assignColumns(all, topo(all));
  const kept = previous ? keptPlaces(columns, all, previous) : undefined;
  if (kept) {
    // a small edit: what was drawn stays where it was, the rest goes where there is room,
    // unless that adds more than two crossings per edge it added (then the order is worked
    // out again)
    placeAround(columns, kept);
    const crossings = countCrossings(columns);
    let newEdges = 0;
    for (const it of all) if (!kept.has(it)) newEdges += it.preds.length + it.succs.length;
    if (crossings <= previous!.crossings + 2 * newEdges) return measure(columns, all, crossings, 0);
  }
  const crossings = orderAndPlace(columns, all, previous);
  return measure(columns, all, crossings, Math.min(...all.map((i) => i.y)));
}

/** A full layout: orders each column (from the previous picture's order where there is one). */
function orderAndPlace(columns: Item[][], all: Item[], previous?: Layout): number {
  for (const col of columns) {
    const prev = (it: Item) => previous?.positions.get(it.key)?.y;
    col.sort((a, b) => (prev(a) ?? Infinity) - (prev(b) ?? Infinity));
    col.forEach((it, i) => (it.pos = i));
  }
  const sweeps = all.length > 2000 ? 2 : all.length > 300 ? 4 : 12;
  const crossings = orderColumns(columns, sweeps);
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  for (const col of columns) {
    const offset = ((tallest - col.length) * STEP) / 2;
    col.forEach((it, i) => (it.y = offset + i * STEP));
  }
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 1; c < columns.length; c++) placeColumn(columns[c], (i) => i.preds, 0.7);
    for (let c = columns.length - 2; c >= 0; c--) placeColumn(columns[c], (i) => i.succs, 0.5);
  }
  return crossings;
}

/**
 * The heights of the nodes that keep their place after an edit: those of the previous picture
 * still in the same column. Undefined when the edit is not small (it added, removed or moved
 * more than SMALL_EDIT of the nodes): the graph is then laid out again.
 */
function keptPlaces(columns: Item[][], all: Item[], previous: Layout): Map<Item, number> | undefined {
  const slot = slotsOf(columns);
  const kept = new Map<Item, number>();
  for (const it of all) {
    const p = previous.positions.get(it.key);
    if (p && previous.slots.get(it.key) === slot(it)) kept.set(it, p.y);
  }
  const changed = (all.length - kept.size) + (previous.positions.size - kept.size);
  return changed <= Math.max(8, SMALL_EDIT * all.length) ? kept : undefined;
}

/**
 * Kept nodes at their heights; each other node in the free row nearest its neighbours, or, when
 * its column has none near them, in a row made there (the nodes below it move down one).
 */
function placeAround(columns: Item[][], kept: Map<Item, number>): void {
  const placed = new Set<Item>();
  for (const [it, y] of kept) {
    it.y = y;
    placed.add(it);
  }
  for (const col of columns) {
    const here = col.filter((it) => placed.has(it));
    for (const it of col) {
      if (placed.has(it)) continue;
      const near = it.preds.filter((p) => placed.has(p));
      const others = near.length ? near : it.succs.filter((s) => placed.has(s));
      const bottom = here.length ? Math.max(...here.map((h) => h.y)) + STEP : 0;
      const wanted = others.length ? others.reduce((s, n) => s + n.y, 0) / others.length : bottom;
      const free = freeRow(here.map((h) => h.y), wanted);
      if (Math.abs(free - wanted) <= STEP) {
        it.y = free;
      } else {
        // no room near its neighbours: the nodes of this column from there down move one row
        const below = here.filter((h) => h.y + STEP / 2 > wanted);
        it.y = Math.min(...below.map((h) => h.y));
        for (const h of below) h.y += STEP;
      }
      here.push(it);
      placed.add(it);
    }
    col.sort((a, b) => a.y - b.y);
    col.forEach((it, i) => (it.pos = i));
  }
}

/** The height nearest `wanted` at least STEP from every height of `taken`. */
function freeRow(taken: number[], wanted: number): number {
  const free = (y: number) => taken.every((t) => Math.abs(t - y) >= STEP - 0.5);
  let best = Infinity;
  for (const y of [wanted, ...taken.flatMap((t) => [t - STEP, t + STEP])]) {
    if (Math.abs(y - wanted) < Math.abs(best - wanted) && free(y)) best = y;
  }
  return best;
}

/** A node's column named by its layer and its sub-column in the band, which an edit elsewhere keeps. */
function slotsOf(columns: Item[][]): (it: Item) => string {
  const first = new Map<number, number>();
  columns.forEach((col, c) => {
    if (col.length && !first.has(col[0].layer)) first.set(col[0].layer, c);
  });
  return (it) => `${it.layer}:${it.column - first.get(it.layer)!}`;
}

function columnXs(columns: Item[][]): number[] {
  const xs: number[] = [];
  let x = 0;
  for (let c = 0; c < columns.length; c++) {
    const layer = columns[c][0]?.layer;
    if (c > 0) x += NODE_WIDTH + (columns[c - 1][0]?.layer === layer ? COLUMN_GAP : COLUMN_GAP + BAND_GAP);
    xs.push(x);
  }
  return xs;
}

/** Positions, bands and extent; heights are shifted up by `top` (0 keeps them as they are). */
function measure(columns: Item[][], all: Item[], crossings: number, top: number): Layout {
  const xs = columnXs(columns);
  const slot = slotsOf(columns);
  const positions = new Map<string, Placed>();
  const slots = new Map<string, string>();
  let height = 0;
  let least = Infinity;
  for (const it of all) {
    const y = it.y - top;
    positions.set(it.key, { x: xs[it.column], y, width: NODE_WIDTH, height: NODE_HEIGHT });
    slots.set(it.key, slot(it));
    height = Math.max(height, y + NODE_HEIGHT);
    least = Math.min(least, y);
  }
  const bands: Layout["bands"] = [];
  for (let c = 0; c < columns.length; c++) {
    const layer = columns[c][0].layer;
    const last = bands[bands.length - 1];
    if (last && last.layer === layer) last.width = xs[c] + NODE_WIDTH + 12 - last.x;
    else bands.push({ layer, x: xs[c] - 12, width: NODE_WIDTH + 24 });
  }
  const width = (xs[xs.length - 1] ?? 0) + NODE_WIDTH;
  return { positions, slots, bands, width, top: Math.min(0, least), height, crossings };
}
