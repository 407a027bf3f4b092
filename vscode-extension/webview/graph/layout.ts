// Positions of the view's nodes by ELK's layered algorithm, left to right, with the compiler's
// layers as partitions: every node of layer k lies left of every node of layer k + 1, and ELK
// only orders the nodes inside a band (crossing minimisation) — it never chooses a layer.

import ELK, { type ElkNode } from "elkjs/lib/elk.bundled.js";
import type { ViewGraph } from "./model";

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 54;

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
}

const elk = new ELK();

/** ELK's options: fewer crossing-minimisation sweeps on large graphs, so 1,000 nodes stay fast. */
export function layoutOptions(size: number): Record<string, string> {
  return {
    "elk.algorithm": "layered",
    "elk.direction": "RIGHT",
    "elk.partitioning.activate": "true",
    "elk.spacing.nodeNode": "14",
    "elk.layered.spacing.nodeNodeBetweenLayers": "46",
    "elk.layered.crossingMinimization.strategy": "LAYER_SWEEP",
    "elk.layered.thoroughness": size > 300 ? "1" : "7",
    "elk.layered.nodePlacement.strategy": size > 300 ? "SIMPLE" : "BRANDES_KOEPF",
    "elk.edgeRouting": "POLYLINE",
    "elk.layered.unnecessaryBendpoints": "false",
    "elk.separateConnectedComponents": "false",
  };
}

export async function layoutGraph(view: ViewGraph, unlayered: number): Promise<Layout> {
  const children = view.nodes.map((n) => ({
    id: n.key,
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    layoutOptions: { "elk.partitioning.partition": String(n.layer ?? unlayered) },
  }));
  const edges = view.edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] }));
  const graph: ElkNode = { id: "root", layoutOptions: layoutOptions(children.length), children, edges };
  const result = await elk.layout(graph);
  const positions = new Map<string, Placed>();
  const extent = new Map<number, { min: number; max: number }>();
  for (const c of result.children ?? []) {
    const placed = { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? NODE_WIDTH, height: c.height ?? NODE_HEIGHT };
    positions.set(c.id, placed);
  }
  for (const n of view.nodes) {
    const p = positions.get(n.key)!;
    const layer = n.layer ?? unlayered;
    const e = extent.get(layer) ?? { min: Infinity, max: -Infinity };
    e.min = Math.min(e.min, p.x);
    e.max = Math.max(e.max, p.x + p.width);
    extent.set(layer, e);
  }
  const bands = [...extent.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([layer, e]) => ({ layer, x: e.min - 12, width: e.max - e.min + 24 }));
  return { positions, bands, width: result.width ?? 0, height: result.height ?? 0 };
}
