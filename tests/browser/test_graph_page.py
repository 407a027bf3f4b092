"""The graph page (`cst graph --format html`, `cst run --report`) in a real headless Chromium
(issue 16, items 1, 3, 4 and 6): its nodes and bands are `cst layers`', a click posts the
reveal message, run events change `data-state`, the report has the run's states, timeline and
values, and nothing is fetched from the network. The browser and the CLI's pages and runs are
the session's (conftest.py): a test reads them, it does not change them."""

from __future__ import annotations

import json

import pytest

from page_support import EXAMPLES, missing

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no browser: {missing()}")

PROFILE = EXAMPLES / "profile.cst"
FAILING = ("in q: String\nbad = AlwaysFailsService(q)\nafter = Uppercase(bad)\n"
           "fine = Trim(q)\nout after\nout fine\n")
FAN_OUT = "in s: String\n" + "".join(f"f{i} = Trim(s)\n" for i in range(40)) + \
    "all = [" + ", ".join(f"f{i}" for i in range(40)) + "]\nout all\n"
NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# an input, calls, inline values of a call (shout, label) and a constant (n)
INLINE = ('@example("  hello ")\nin q: String\nt = Trim(q)\nshout = "${t}!"\nup = Uppercase(shout)\n'
          'n = 3\nlabel = "${up} ${n}"\nout label\n')
# a chain of five layers: twice as wide as a side panel
CHAIN = "in s: String\nc0 = Trim(s)\n" + "".join(f"c{i} = Trim(c{i - 1})\n" for i in range(1, 4)) + "out c3\n"


NODES = "[...document.querySelectorAll('[data-node]')]"


def test_nodes_and_bands_are_those_of_cst_layers(browser, made):
    assert browser.open(made.graph_page(PROFILE))["requests"] == []
    shown = browser.eval(f"{NODES}.map(e => [e.dataset.node, Number(e.dataset.layer)])")
    layers = made.layers(PROFILE)
    expected = [(n["name"], layer["layer"]) for layer in layers for n in layer["nodes"]]
    assert sorted(map(tuple, shown)) == sorted(expected)
    # the header counts layers as `cst layers` does ("2 layer(s) of calls"): not the inputs' band
    calls = len(layers) - 1
    assert browser.eval("document.querySelector('.status').textContent") == \
        f"{len(expected)} nodes · {calls} layers of calls"
    bands = browser.eval("[...document.querySelectorAll('[data-band]')].map(b => "
                         "[Number(b.dataset.band), b.getBoundingClientRect().left, b.getBoundingClientRect().right])")
    assert [b[0] for b in bands] == list(range(len(layers)))
    assert all(a[2] <= b[1] for a, b in zip(bands, bands[1:])), "bands left to right, by layer"
    # every node lies inside its layer's band
    boxes = browser.eval(f"{NODES}.map(e => [Number(e.dataset.layer), e.getBoundingClientRect().left, "
                         "e.getBoundingClientRect().right])")
    for layer, left, right in boxes:
        band = next(b for b in bands if b[0] == layer)
        assert band[1] <= left and right <= band[2]


@pytest.mark.corpus
def test_a_corpus_pipeline_has_as_many_nodes_and_bands(browser, made):
    from corpus_support import corpus_dir
    source = corpus_dir() / "modules" / "example-app" / "examples" / "fan-out-fan-in.cst"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    browser.open(made.graph_page(source))
    expected = made.layers(source)
    assert browser.eval(f"{NODES}.length") == sum(len(layer["nodes"]) for layer in expected)
    assert browser.eval("document.querySelectorAll('[data-band]').length") == len(expected)


def test_a_click_posts_the_reveal_message(browser, made):
    browser.open(made.graph_page(PROFILE))
    browser.click("[data-node=orders]")
    posted = browser.eval("window.constellationMessages")
    reveal = [m for m in posted if m["type"] == "reveal"]
    assert [m["name"] for m in reveal] == ["orders"]
    line = PROFILE.read_text().splitlines()[reveal[0]["range"]["start"]["line"]]
    assert line.startswith("orders = GetOrders(")
    assert browser.eval("document.querySelector('[data-node=orders]').classList.contains('selected')")


STOPPED = f"{NODES}.filter(e => e.dataset.stopped === 'true').map(e => e.dataset.node)"


def post_message(browser, message: dict) -> None:
    """A message as the extension posts it to the webview (a window `message` event)."""
    browser.eval(f"(async () => {{ window.postMessage({json.dumps(message)}, '*'); "
                 f"await new Promise(r => setTimeout(r, 0)); await {NEXT_FRAME}; }})()")


def test_the_stop_message_marks_where_a_debug_session_is_stopped(browser, made):
    browser.open(made.graph_page(PROFILE))
    assert browser.eval(STOPPED) == []
    post_message(browser, {"type": "stopped", "name": "orders"})
    assert browser.eval(STOPPED) == ["orders"]
    post_message(browser, {"type": "stopped", "name": "user"})  # a step: the mark moves
    assert browser.eval(STOPPED) == ["user"]
    # the mark stays when the graph is drawn again (an edit while stopped)
    graph = browser.eval("JSON.parse(document.getElementById('constellation-data').textContent).graph")
    browser.eval(f"window.constellationGraph.setGraph({json.dumps(graph)})")
    assert browser.eval(STOPPED) == ["user"]
    post_message(browser, {"type": "stopped", "name": None})  # resumed, or between layers
    assert browser.eval(STOPPED) == []


def feed_one_by_one(browser, events: list[dict]) -> list[list]:
    """Feeds the events one at a time; after each, the state its node shows."""
    return browser.eval(f"""(async () => {{
      const seen = [];
      for (const e of {json.dumps(events)}) {{
        window.constellationGraph.feed(e);
        await {NEXT_FRAME};
        if (e.name) {{
          const el = document.querySelector(`[data-node="${{e.name}}"]`);
          seen.push([e.event, e.name, el && el.getAttribute('data-state')]);
        }}
      }}
      return seen;
    }})()""")


def test_run_events_change_data_state_as_they_arrive(browser, made):
    events = made.run(PROFILE, "--examples").events
    browser.open(made.graph_page(PROFILE))
    assert browser.eval(f"{NODES}.filter(e => e.hasAttribute('data-state')).length") == 0
    seen = feed_one_by_one(browser, events)
    expected = {"node_started": "running", "node_completed": "completed"}
    assert [(e, n, expected[e]) for e, n, _ in seen] == [tuple(s) for s in seen]
    # the four calls, and the input: settled, with its value, as the run started
    assert browser.eval(f"{NODES}.filter(e => e.dataset.state === 'completed').length") == 5
    assert browser.eval("document.querySelector('[data-node=userId]').dataset.state") == "completed"
    assert browser.eval("document.getElementById('app').dataset.run") == "completed"


def node_states(browser) -> dict:
    return browser.eval(f"Object.fromEntries({NODES}.map(e => [e.dataset.node, e.dataset.state || null]))")


def test_inputs_and_inline_values_settle_with_what_they_read(browser, made):
    source = made.source("inline.cst", INLINE)
    events = made.run(source, "--examples").events
    browser.open(made.graph_page(source))
    kinds = browser.eval(f"Object.fromEntries({NODES}.map(e => [e.dataset.node, e.dataset.kind]))")
    assert kinds == {"q": "input", "t": "call", "shout": "inline", "up": "call", "n": "inline", "label": "inline"}
    started = [e for e in events if e["event"] == "run_started"]
    browser.eval(f"(async () => {{ window.constellationGraph.feed({json.dumps(started)}); await {NEXT_FRAME}; }})()")
    # as the run starts: the input and the constant have their values; the rest waits for t
    assert node_states(browser) == {"q": "completed", "t": "pending", "shout": "pending", "up": "pending",
                                    "n": "completed", "label": "pending"}
    t_done = next(i for i, e in enumerate(events) if e["event"] == "node_completed" and e["name"] == "t")
    browser.eval(f"(async () => {{ window.constellationGraph.feed({json.dumps(events[1:t_done + 1])}); "
                 f"await {NEXT_FRAME}; }})()")
    assert node_states(browser)["shout"] == "completed" and node_states(browser)["label"] == "pending"
    browser.eval(f"(async () => {{ window.constellationGraph.feed({json.dumps(events[t_done + 1:])}); "
                 f"await {NEXT_FRAME}; }})()")
    assert set(node_states(browser).values()) == {"completed"}
    browser.eval("window.constellationGraph.showPane('results')")
    assert json.loads(browser.eval("document.querySelector('[data-value=q] .json-string').textContent")) == "  hello "


def test_an_inline_value_of_a_failed_call_is_skipped(browser, made):
    source = made.source("failing-inline.cst", FAILING + 'why = "${bad}?"\nout why\n')
    run = made.run(source, "-i", "q=x")
    browser.open(run.report)
    browser.eval(NEXT_FRAME)
    assert node_states(browser) == {"q": "completed", "bad": "failed", "after": "skipped", "fine": "completed",
                                    "why": "skipped"}
    assert browser.eval("document.querySelector('[data-node=why] .node-state').textContent") == \
        "skipped: dependency failed"


def test_failed_skipped_and_retrying_states(browser, made):
    source = made.source("failing.cst", FAILING)
    events = made.run(source, "-i", "q=x").events
    browser.open(made.graph_page(source))
    seen = feed_one_by_one(browser, events)
    final = {name: state for _, name, state in seen}
    assert final == {"bad": "failed", "after": "skipped", "fine": "completed"}
    assert browser.eval("document.querySelector('[data-node=bad] .node-state').textContent") \
        .startswith("failed: Service failed")
    browser.eval("window.constellationGraph.showPane('results')")
    assert "Service failed for: x" in browser.eval("document.querySelector('.errors').textContent")
    browser.eval("window.constellationGraph.showPane('graph')")
    assert browser.eval("document.querySelector('[data-node=after] .node-state').textContent") == \
        "skipped: dependency failed"
    flaky = made.source("flaky.cst", "in q: String\np = FlakyService(q) with retry: 2, delay: 10ms\nout p\n")
    events = made.run(flaky, "-i", "q=x").events
    browser.open(made.graph_page(flaky))
    states = [s for _, _, s in feed_one_by_one(browser, events)]
    assert "retrying" in states and states[-1] == "completed", states


def test_the_report_has_states_timeline_and_values(browser, made):
    run = made.run(PROFILE, "--examples")
    assert f"wrote the run's report to {run.report}" in run.stderr
    assert browser.open(run.report)["requests"] == []
    browser.eval(NEXT_FRAME)
    assert node_states(browser) == {"userId": "completed", "user": "completed", "orders": "completed",
                                    "preferences": "completed", "profile": "completed"}
    bars = browser.eval("[...document.querySelectorAll('[data-timeline-bar]')].map(b => "
                        "[b.closest('[data-layer]').dataset.layer, b.dataset.timelineBar, b.classList.contains('critical')])")
    assert sorted((layer, name) for layer, name, _ in bars) == [
        ("1", "orders"), ("1", "preferences"), ("1", "user"), ("2", "profile")]
    critical = [name for _, name, c in bars if c]
    assert critical[-1] == "profile" and len(critical) == 2  # the slowest of layer 1, then profile
    sentence = browser.eval("document.querySelector('.eager').textContent")
    assert sentence.startswith("eager would have") or sentence.startswith("eager would have taken as long"), sentence
    browser.eval("window.constellationGraph.showPane('results')")
    output = browser.eval("document.querySelector('[data-output=profile]').textContent")
    assert "u-42" in output
    # the four calls' values and the input's
    assert browser.eval("[...document.querySelectorAll('[data-value]')].map(e => e.dataset.value)") == [
        "userId", "user", "orders", "preferences", "profile"]
    browser.click("[data-output=profile] .copy")
    copied = [m for m in browser.eval("window.constellationMessages") if m["type"] == "copy"]
    completed = next(e for e in run.events if e["event"] == "run_completed")
    assert json.loads(copied[0]["text"]) == completed["outputs"]["profile"]


def test_a_report_shows_every_node_of_the_run_with_a_state(browser, made):
    run = made.run(made.source("inline.cst", INLINE), "--examples")
    browser.open(run.report)
    browser.eval(NEXT_FRAME)
    assert node_states(browser) == {name: "completed" for name in ("q", "t", "shout", "up", "n", "label")}
    browser.eval("window.constellationGraph.showPane('results')")
    label = browser.eval("document.querySelector('[data-output=label] .json-string').textContent")
    assert json.loads(label) == "HELLO! 3"


TIMELINE_BARS = "[...document.querySelectorAll('[data-timeline-bar]')].map(b => b.dataset.timelineBar).sort()"


def test_an_edit_after_a_run_keeps_the_run_on_its_timeline(browser, made):
    run = made.run(PROFILE, "--examples")
    browser.open(run.report)
    browser.eval(NEXT_FRAME)
    assert browser.eval(TIMELINE_BARS) == ["orders", "preferences", "profile", "user"]
    # the edit deletes `orders` (and BuildProfile's argument): the graph loses it, the run did not
    graph = browser.eval("JSON.parse(document.getElementById('constellation-data').textContent).graph")
    gone = next(n["id"] for n in graph["nodes"] if n["name"] == "orders")
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != gone]
    graph["edges"] = [e for e in graph["edges"] if gone not in (e["source"], e["target"])]
    browser.eval(f"window.constellationGraph.setGraph({json.dumps(graph)})")
    assert browser.eval(f"{NODES}.length") == 4
    browser.eval("window.constellationGraph.showPane('graph')")
    browser.eval("window.constellationGraph.showPane('timeline')")  # drawn again
    assert browser.eval(TIMELINE_BARS) == ["orders", "preferences", "profile", "user"]
    browser.eval("window.constellationGraph.showPane('results')")
    assert "orders" in browser.eval("[...document.querySelectorAll('[data-value]')].map(e => e.dataset.value)")


INSIDE = f"""(() => {{
  const panel = document.querySelector('.canvas').getBoundingClientRect();
  return {NODES}.concat([...document.querySelectorAll('[data-group]')]).map(e => {{
    const b = e.getBoundingClientRect();
    return [e.dataset.node || e.dataset.group, b.left >= panel.left && b.right <= panel.right &&
            b.top >= panel.top && b.bottom <= panel.bottom];
  }});
}})()"""


def test_fit_shows_the_whole_graph_in_a_side_panel(browser, made, tmp_path):
    page = made.graph_page(made.source("chain.cst", CHAIN))
    with browser.viewport(480, 600):
        browser.open(page)
        width = browser.eval("document.querySelector('.viewport').getBoundingClientRect().width / "
                             "Number(document.getElementById('app').dataset.zoom)")
        assert width > 2 * 480, "the graph is far wider than the panel"
        browser.eval("window.constellationGraph.fit()")
        inside = browser.eval(INSIDE)
        assert len(inside) == 5 and all(ok for _, ok in inside), inside
        zoom = float(browser.eval("document.getElementById('app').dataset.zoom"))
        assert zoom < 0.55  # Fit used to stop there, the graph clipped
        # the names are drawn (this zoom is above the one that hides them) and nothing is noted
        assert browser.eval("document.querySelector('.canvas').classList.contains('far')") is False
        assert browser.eval("document.querySelector('.zoom-note').hidden") is True
        browser.click(".zoom-in")
        assert not all(ok for _, ok in browser.eval(INSIDE))
        browser.click(".fit")
        assert all(ok for _, ok in browser.eval(INSIDE))
        browser.screenshot(tmp_path / "fitted.png")
    # fitted, and not zoomed since: a wider panel fits it again, larger
    browser.eval(NEXT_FRAME)
    assert float(browser.eval("document.getElementById('app').dataset.zoom")) > zoom
    assert all(ok for _, ok in browser.eval(INSIDE))


def test_fit_says_when_the_names_are_too_small_to_draw(browser, made):
    with browser.viewport(480, 600):
        browser.open(made.graph_page(made.source("fan.cst", FAN_OUT)))
        browser.click("[data-group]")  # forty calls in one column: far taller than the panel
        browser.eval(NEXT_FRAME)
        browser.click(".fit")
        inside = browser.eval(INSIDE)
        assert len(inside) == 42 and all(ok for _, ok in inside)
        assert browser.eval("document.querySelector('.canvas').classList.contains('far')") is True
        note = browser.eval("(n => n.hidden ? null : n.textContent)(document.querySelector('.zoom-note'))")
        assert note is not None and note.startswith("names hidden at ") and "zoom in" in note
        browser.click(".zoom-in")
        browser.click(".zoom-in")
        browser.click(".zoom-in")
        browser.click(".zoom-in")
        assert browser.eval("document.querySelector('.zoom-note').hidden") is True


def test_an_error_of_the_report_reveals_its_position(browser, made):
    run = made.run(made.source("failing.cst", FAILING), "-i", "q=x")
    assert run.returncode == 1
    browser.open(run.report)
    browser.eval("window.constellationGraph.showPane('results')")
    browser.click(".errors a")
    reveal = [m for m in browser.eval("window.constellationMessages") if m["type"] == "reveal"]
    assert (reveal[0]["line"], reveal[0]["column"]) == (2, 7)


def test_an_edit_keeps_zoom_and_selection_and_a_stale_graph_shows_a_banner(browser, made):
    browser.open(made.graph_page(PROFILE))
    browser.click("[data-node=user]")
    browser.click(".zoom-in")
    zoom = browser.eval("document.getElementById('app').dataset.zoom")
    graph = browser.eval("JSON.parse(document.getElementById('constellation-data').textContent).graph")
    graph["nodes"].append({**graph["nodes"][1], "id": 99, "name": "extra", "names": ["extra"]})
    graph["edges"].append({"source": 0, "target": 99})
    # the edit is a patch: the nodes it did not change are the same elements, and those of the
    # other columns (the new node makes room in layer 1's) stay where they were
    where = "Object.fromEntries({NODES}.filter(e => e.keptMark).map(e => [e.dataset.node, e.getAttribute('transform')]))"
    before = browser.eval(f"({NODES}.forEach(e => e.keptMark = true), {where.format(NODES=NODES)})")
    browser.eval(f"window.constellationGraph.setGraph({json.dumps(graph)})")
    assert browser.eval(f"{NODES}.length") == 6
    after = browser.eval(where.format(NODES=NODES))
    assert sorted(after) == sorted(before)
    assert (after["userId"], after["profile"]) == (before["userId"], before["profile"])
    assert browser.eval("document.getElementById('app').dataset.zoom") == zoom
    assert browser.eval("document.querySelector('[data-node=user]').classList.contains('selected')")
    assert browser.eval("document.querySelector('.banner').hidden")
    stale = {**graph, "stale": True, "errors": [{"code": "E001", "message": "Undefined name 'nope'.",
                                                 "range": {"start": {"line": 6, "character": 19},
                                                           "end": {"line": 6, "character": 23}}}]}
    browser.eval(f"window.constellationGraph.setGraph({json.dumps(stale)})")
    banner = browser.eval("(b => b.hidden ? null : b.textContent)(document.querySelector('.banner'))")
    assert "showing the last good graph" in banner and "line 7" in banner and "nope" in banner
    assert browser.eval(f"{NODES}.length") == 6


def test_a_wide_fan_out_collapses_and_expands(browser, made):
    browser.open(made.graph_page(made.source("fan.cst", FAN_OUT)))
    assert browser.eval("document.querySelector('[data-group]').dataset.members") == "40"
    assert browser.eval(f"{NODES}.length") == 2  # s and all
    browser.click("[data-group]")
    browser.eval(NEXT_FRAME)
    assert browser.eval(f"{NODES}.length") == 42
    assert browser.eval("document.querySelectorAll('[data-group]').length") == 0


def test_search_marks_matches(browser, made):
    browser.open(made.graph_page(PROFILE))
    browser.command(op="eval", expr="(i => { i.value = 'getorders'; i.dispatchEvent(new Event('input')); })"
                                    "(document.querySelector('.search'))")
    assert browser.eval("[...document.querySelectorAll('.node.match')].map(e => e.dataset.node)") == ["orders"]


def test_the_page_fetches_nothing(browser, made):
    report = made.run(PROFILE, "--examples").report
    text = report.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    browser.open(report)
    for pane in ("timeline", "results", "graph"):
        browser.eval(f"window.constellationGraph.showPane('{pane}')")
    browser.click(".fit")
    assert browser.requests() == []
    assert browser.errors() == []
