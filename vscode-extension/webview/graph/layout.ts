// Positions of the view's nodes: the compiler's layers are the bands, left to right; inside a
// band, nodes are ordered to reduce edge crossings (barycentre sweeps, the ordering phase of
// Sugiyama's layered layout, keeping the best order found) and placed close to the nodes they
// connect to (isotonic regression keeps the order and the spacing). Layers are never chosen
// here. Pure and linear-ish: a 1,000-node graph is laid out in milliseconds (elkjs' layered
// algorithm, tried first, took 20 s of CPU on it: see docs/graph.md).

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
  bands: { layer: number; x: number; width: number }[];
  width: number;
  height: number;
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
  // start from the previous picture where there is one (an edit keeps the order it had)
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
  const top = Math.min(...all.map((i) => i.y));
  const xs: number[] = [];
  let x = 0;
  for (let c = 0; c < columns.length; c++) {
    const layer = columns[c][0]?.layer;
    if (c > 0) x += NODE_WIDTH + (columns[c - 1][0]?.layer === layer ? COLUMN_GAP : COLUMN_GAP + BAND_GAP);
    xs.push(x);
  }
  const positions = new Map<string, Placed>();
  let height = 0;
  for (const it of all) {
    const y = it.y - top;
    positions.set(it.key, { x: xs[it.column], y, width: NODE_WIDTH, height: NODE_HEIGHT });
    height = Math.max(height, y + NODE_HEIGHT);
  }
  const bands: Layout["bands"] = [];
  for (let c = 0; c < columns.length; c++) {
    const layer = columns[c][0].layer;
    const last = bands[bands.length - 1];
    if (last && last.layer === layer) last.width = xs[c] + NODE_WIDTH + 12 - last.x;
    else bands.push({ layer, x: xs[c] - 12, width: NODE_WIDTH + 24 });
  }
  return { positions, bands, width: x + NODE_WIDTH, height, crossings };
}
