import assert from "node:assert/strict";
import { test } from "node:test";
import { isotonic, layoutGraph } from "../../webview/graph/layout";
import { collapseFanOuts, type GraphData, type GraphNode } from "../../webview/graph/model";

const r = { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
const n = (id: number, name: string, layer: number | null, kind: GraphNode["kind"] = "call"): GraphNode =>
  ({ id, name, module: kind === "call" ? `M${id}` : null, kind, layer, range: r });

function graph(nodes: GraphNode[], edges: [number, number][]): GraphData {
  return { version: 1, depth: 3, layers: [], nodes, edges: edges.map(([source, target]) => ({ source, target })),
    outputs: [], inputs: [], stale: false, errors: [] };
}

test("bands are the compiler's layers, left to right, and every edge points right", () => {
  // c is an inline value of layer 1 reading b (layer 1): a sub-column inside band 1
  const g = graph([n(0, "s", 0, "input"), n(1, "a", 1), n(2, "b", 1), n(3, "c", 1, "inline"), n(4, "d", 2), n(5, "x", null)],
    [[0, 1], [0, 2], [2, 3], [1, 4], [3, 4]]);
  const layout = layoutGraph(collapseFanOuts(g, new Set()), 4);
  assert.deepEqual(layout.bands.map((b) => b.layer), [0, 1, 2, 4]);
  for (let i = 1; i < layout.bands.length; i++) {
    assert.ok(layout.bands[i].x >= layout.bands[i - 1].x + layout.bands[i - 1].width, "bands do not overlap");
  }
  const p = (name: string) => layout.positions.get(name)!;
  for (const [a, b] of [["s", "a"], ["s", "b"], ["b", "c"], ["a", "d"], ["c", "d"]]) assert.ok(p(a).x < p(b).x, `${a} -> ${b}`);
  for (const node of g.nodes) {
    const band = layout.bands.find((b) => b.layer === (node.layer ?? 4))!;
    const at = p(node.name);
    assert.ok(at.x >= band.x && at.x + at.width <= band.x + band.width, `${node.name} inside its band`);
  }
  // nodes of one column never overlap
  const ys = ["a", "b"].map((k) => p(k).y).sort((x, y) => x - y);
  assert.ok(ys[1] - ys[0] >= p("a").height);
});

test("crossings are removed where an order without them exists", () => {
  // two chains given crosswise: a0->b1, a1->b0 ... ordering must untangle them
  const nodes = [n(0, "a0", 1), n(1, "a1", 1), n(2, "a2", 1), n(3, "b0", 2), n(4, "b1", 2), n(5, "b2", 2)];
  const g = graph(nodes, [[0, 5], [1, 4], [2, 3]]);
  assert.equal(layoutGraph(collapseFanOuts(g, new Set()), 4).crossings, 0);
});

test("an edit keeps the order the picture had", () => {
  const nodes = [n(0, "s", 0, "input"), n(1, "a", 1), n(2, "b", 1), n(3, "c", 1)];
  const g = graph(nodes, [[0, 1], [0, 2], [0, 3]]);
  const first = layoutGraph(collapseFanOuts(g, new Set()), 4);
  const order = (l: typeof first) => ["a", "b", "c"].sort((x, y) => l.positions.get(x)!.y - l.positions.get(y)!.y);
  const edited = graph([...nodes, n(4, "d", 1)], [[0, 1], [0, 2], [0, 3], [0, 4]]);
  const second = layoutGraph(collapseFanOuts(edited, new Set()), 4, first);
  assert.deepEqual(order(second), order(first));
});

test("a small edit keeps every node still in its column where it was", () => {
  // 30 calls of layer 1 reading s, 30 of layer 2 each reading one of them
  const nodes = [n(0, "s", 0, "input")];
  const edges: [number, number][] = [];
  for (let i = 1; i <= 30; i++) {
    nodes.push(n(i, `a${i}`, 1), n(100 + i, `b${i}`, 2));
    edges.push([0, i], [i, 100 + i]);
  }
  const first = layoutGraph(collapseFanOuts(graph(nodes, edges), new Set()), 4);
  // one more binding reading a1, and b30 deleted
  const edited = graph([...nodes.filter((x) => x.name !== "b30"), n(999, "extra", 2)],
    [...edges.filter(([, t]) => t !== 130), [1, 999]]);
  const second = layoutGraph(collapseFanOuts(edited, new Set()), 4, first);
  for (const node of edited.nodes) {
    if (node.name === "extra") continue;
    assert.deepEqual(second.positions.get(node.name), first.positions.get(node.name), node.name);
  }
  const extra = second.positions.get("extra")!;
  assert.equal(extra.x, second.positions.get("b1")!.x, "in band 2");
  for (let i = 1; i < 30; i++) {
    const other = second.positions.get(`b${i}`)!;
    assert.ok(Math.abs(other.y - extra.y) >= other.height, `extra does not overlap b${i}`);
  }
  // the column is full around a1: the extra node takes the free row nearest it, above b1
  assert.equal(extra.y, second.positions.get("b1")!.y - 64);
  assert.equal(second.top, extra.y);
  assert.equal(second.crossings, 0);
});

test("a large edit lays the graph out again", () => {
  const nodes = [n(0, "s", 0, "input"), ...Array.from({ length: 10 }, (_, i) => n(i + 1, `a${i}`, 1))];
  const edges = nodes.slice(1).map((x): [number, number] => [0, x.id]);
  const first = layoutGraph(collapseFanOuts(graph(nodes, edges), new Set()), 4);
  const more = Array.from({ length: 10 }, (_, i) => n(i + 50, `c${i}`, 1));
  const second = layoutGraph(collapseFanOuts(graph([...nodes, ...more], [...edges, ...more.map((x): [number, number] => [0, x.id])]), new Set()), 4, first);
  // laid out again: s moves to the middle of its readers, twice as many now
  assert.equal(second.top, 0);
  assert.ok(second.positions.get("s")!.y > first.positions.get("s")!.y + 200);
});

test("isotonic regression: the closest non-decreasing sequence", () => {
  assert.deepEqual(isotonic([1, 3, 2, 4]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(isotonic([5, 4, 3]), [4, 4, 4]);
  assert.deepEqual(isotonic([]), []);
});
