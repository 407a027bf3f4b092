"""The graph view's speed in a real headless Chromium (issue 16's targets).

    .venv/bin/python benchmarks/graph.py [--rounds N] [--width W] [--depth D]

On a generated pipeline of W × D calls (default 100 × 10 = 1,000 calls, each reading two calls
of the layer before, so nothing collapses):
* the graph drawn: layout and render of the whole graph, until the next frame is painted
  (target ≤ 300 ms), and the layout alone;
* an edit: a graph with one more binding (the view keeps every other node where it was and
  patches the picture: the new node, the edges; zoom and selection stay) until the next frame
  (target ≤ 100 ms after the new data), beside the same edits drawn anew without the patch (the
  baseline: layout and every element made again); an edit that changes no
  structure (new ranges only) beside it; and what the server's `constellation/graph` answer
  costs to build from the Analysis;
* a run: the real `cst run --events` stream of the pipeline replayed at the pace its events
  were made, batched per animation frame: the longest frame and the frames over 50 ms
  (target: none).
Needs node, playwright-core (npm ci in vscode-extension/) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from page_support import Browser, missing  # noqa: E402

NEXT_PAINT = "new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"


def pipeline(width: int, depth: int) -> str:
    out = ["use stdlib.string", "in text: String"]
    out += [f"a0_{i} = trim(text)" for i in range(width)]
    for layer in range(1, depth):
        out += [f"a{layer}_{i} = concat(a{layer - 1}_{i}, a{layer - 1}_{(i * 7 + 3) % width})"
                for i in range(width)]
    out += [f"out a{depth - 1}_{i}" for i in range(width)]
    return "\n".join(out) + "\n"


def cst(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "constellation.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, check=True, timeout=600)


def server_answer_ms(text: str, rounds: int) -> float:
    from constellation.compiler import analyze
    from constellation.compiler.stdlib import stdlib_registry
    from constellation.server.graph_view import graph_json
    from constellation.server.positions import Positions

    analysis = analyze(text, stdlib_registry())
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        json.dumps(graph_json(analysis, Positions(analysis.source)))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(browser: Browser, expr: str, rounds: int, how: str = "setGraph") -> tuple[float, float]:
    """Median (until painted, layout) of `rounds` graphs given to the view's `how`: `setGraph`
    (an edit: patches the picture) or `redraw` (forgets it and draws everything)."""
    values = browser.eval(f"""(async () => {{
      const g0 = JSON.parse(document.getElementById('constellation-data').textContent).graph;
      const out = [];
      for (let k = 0; k < {rounds}; k++) {{
        const g = {expr};
        const t = performance.now();
        await window.constellationGraph.{how}(g);
        await {NEXT_PAINT};
        out.push([performance.now() - t, Number(document.getElementById('app').dataset.layoutMs)]);
      }}
      return out;
    }})()""")
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def replay(browser: Browser, events: list[dict]) -> dict:
    return browser.eval(f"""(async () => {{
      const events = {json.dumps(events)};
      const gaps = [];
      let last = performance.now(), running = true;
      const tick = (now) => {{ gaps.push(now - last); last = now; if (running) requestAnimationFrame(tick); }};
      requestAnimationFrame(tick);
      const start = performance.now();
      let i = 0;
      await new Promise((done) => {{
        const pump = () => {{
          const now = performance.now() - start;
          while (i < events.length && (events[i].t_ms ?? 0) <= now) window.constellationGraph.feed(events[i++]);
          if (i < events.length) setTimeout(pump, 4); else done();
        }};
        pump();
      }});
      await new Promise(r => setTimeout(r, 200));
      running = false;
      const states = [...document.querySelectorAll('[data-state]')].length;
      gaps.shift();
      return {{ events: events.length, frames: gaps.length, longest: Math.max(...gaps),
               over50: gaps.filter(g => g > 50).length, states,
               took: performance.now() - start, status: document.getElementById('app').dataset.run }};
    }})()""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--depth", type=int, default=10)
    args = parser.parse_args()
    why = missing()
    if why:
        print(f"benchmarks/graph.py needs a browser: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "big.cst"
        text = pipeline(args.width, args.depth)
        source.write_text(text)
        cst("graph", str(source), "--format", "html", "-o", str(folder / "big.html"), cwd=folder)
        run = subprocess.run([sys.executable, "-m", "constellation.cli.main", "run", str(source),
                              "-i", "text= hi ", "--events"], cwd=folder, capture_output=True,
                             text=True, timeout=600, env={**os.environ})
        events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        calls = args.width * args.depth
        browser = Browser()
        try:
            browser.open(folder / "big.html")
            load_ms = float(browser.eval("document.getElementById('app').dataset.renderMs"))
            draw, layout = measure(browser, "(() => { const g = structuredClone(g0); "
                                   "g.nodes.forEach(n => n.name += '_' + k); return g; })()", args.rounds)
            # each round adds one more binding to what is drawn (k + 1 extra ones), read by nothing
            grow = ("(() => { const g = structuredClone(g0); const n = g.nodes[g.nodes.length - 1]; "
                    "for (let j = 0; j <= k; j++) { g.nodes.push({...n, id: 100000 + j, name: 'extra' + j, "
                    "names: ['extra' + j], output: false}); g.edges.push({source: n.id, target: 100000 + j}); } "
                    "return g; })()")
            browser.eval("window.constellationGraph.redraw(JSON.parse(document.getElementById("
                         "'constellation-data').textContent).graph)")
            edit, edit_layout = measure(browser, grow, args.rounds)
            browser.eval("window.constellationGraph.redraw(JSON.parse(document.getElementById("
                         "'constellation-data').textContent).graph)")
            full, full_layout = measure(browser, grow, args.rounds, how="redraw")
            same, _ = measure(browser, "(() => { const g = structuredClone(g0); g.nodes.forEach(n => "
                              "{ n.range = {...n.range, start: {...n.range.start, line: n.range.start.line + k + 1}}; }); "
                              "return g; })()", args.rounds)
            browser.open(folder / "big.html")
            stream = replay(browser, events)
        finally:
            browser.close()
    server = server_answer_ms(text, args.rounds)
    load = os.getloadavg()[0]
    print(f"graph view of {calls} calls ({calls + 1} nodes, {args.depth + 1} layers), "
          f"median of {args.rounds}; machine load {load:.1f} on {os.cpu_count()} cores")
    print(f"  first draw when the page opened (script only):     {load_ms:7.1f} ms")
    print(f"  graph drawn (layout + render, until painted):      {draw:7.1f} ms   target ≤ 300 ms")
    print(f"    of which the layout:                             {layout:7.1f} ms")
    print(f"  an edit (one more binding), until painted:         {edit:7.1f} ms   target ≤ 100 ms")
    print(f"    of which the layout:                             {edit_layout:7.1f} ms")
    print(f"  the same edit drawn anew (no patch), until painted:{full:7.1f} ms   "
          f"(layout {full_layout:.1f} ms); the patch takes {edit / full:.2f}× its time")
    print(f"  an edit that changes no structure, until painted:  {same:7.1f} ms")
    print(f"  the server's constellation/graph answer (JSON):    {server:7.1f} ms")
    print(f"  a run's {stream['events']} events replayed at their pace ({stream['took']:.0f} ms): "
          f"longest frame {stream['longest']:.1f} ms, {stream['over50']} of {stream['frames']} frames over "
          f"50 ms (target: none); {stream['states']} nodes with a state, run {stream['status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
