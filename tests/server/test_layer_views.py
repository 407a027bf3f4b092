"""Layers are shown only where they exist, and what the editor shows of layers and runs is
readable (issue 13, items 8 and 9; plain-text hovers of item 10), through real clients.

A binding on a cycle, or reading one, or reading a call to an undefined function, cannot run:
no hover, inlay hint, code lens or Show Layers entry gives it a layer, and where one is shown it
is the layer `cst layers` shows."""

import json
import re
import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import client_capabilities

from server_support import (
    EXAMPLES, REPO, corpus_expected, corpus_file, find, fresh_uri, initialize,
    open_doc, pos, server_config, tdi,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = (EXAMPLES / "profile.cst").read_text()
USER_T = "{ id: String, name: String, email: String }"
CYCLE = ("in s: String\na = Trim(b)\nb = Uppercase(a)\nc = Lowercase(b)\nd = Trim(s)\n"
         "out c\nout d\n")
UNKNOWN = ('in s: String\na = Nope(s)\nb = Uppercase(a)\nc = "${b}!"\nd = Trim(s)\n'
           "out c\nout d\n")
LAYER_WORDS = re.compile(r"layer \d")


async def hover(client, uri, text, needle, delta=0):
    h = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(uri), position=find(text, needle, delta=delta)))
    return h.contents.value


async def inlay(client, uri, text):
    return await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=tdi(uri), range=lsp.Range(start=pos(0, 0), end=pos(text.count("\n") + 1, 0))))


async def lenses_below_the_top(client, uri):
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    return [(l.range.start.line, l.command.title) for l in lenses if l.range.start.line > 0]


async def show_layers(client, uri):
    return await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.showLayers", arguments=[{"uri": uri}]))


def names_by_layer(result):
    return {entry["layer"]: [n["name"] for n in entry["nodes"]] for entry in result["layers"]}


# -- item 8: no layer where none exists -------------------------------------------------------

async def test_a_cycle_and_what_reads_it_show_no_layer(client: LanguageClient):
    uri, _ = await open_doc(client, CYCLE)
    hints = await inlay(client, uri, CYCLE)
    assert [(h.position.line, h.label) for h in hints] == [(4, "layer 1")]
    for name in ("a = ", "b = ", "c = "):
        text = await hover(client, uri, CYCLE, name)
        assert "**no layer**" in text and not LAYER_WORDS.search(text), text
    assert "it is on a circular dependency" in await hover(client, uri, CYCLE, "a = ")
    assert "cannot be computed" in await hover(client, uri, CYCLE, "c = ")
    # `d` is the only call that can run: one layer, not the plan's two
    assert await hover(client, uri, CYCLE, "d = ") == (
        "```constellation\nd: String\n```\n\n**layer 1 of 1** · no other call runs in this layer"
        "\n\nproduced by `Trim`")
    text = await hover(client, uri, CYCLE, "Trim(b", delta=1)
    assert "this call: **no layer**" in text and not LAYER_WORDS.search(text), text
    result = await show_layers(client, uri)
    assert names_by_layer(result) == {0: ["s"], 1: ["d"]}
    assert (result["depth"], result["width"], result["unlayered"]) == (1, 1, ["a", "b", "c"])


async def test_what_reads_an_undefined_function_shows_no_layer(client: LanguageClient):
    uri, _ = await open_doc(client, UNKNOWN)
    hints = await inlay(client, uri, UNKNOWN)
    assert [(h.position.line, h.label) for h in hints] == [(4, "layer 1")]
    assert "its function is not defined" in await hover(client, uri, UNKNOWN, "a = ")
    for name in ("b = ", "c = "):
        text = await hover(client, uri, UNKNOWN, name)
        assert "**no layer**" in text and not LAYER_WORDS.search(text), text
    text = await hover(client, uri, UNKNOWN, "Uppercase(", delta=1)
    assert "this call: **no layer**" in text and not LAYER_WORDS.search(text), text
    result = await show_layers(client, uri)
    assert names_by_layer(result) == {0: ["s"], 1: ["d"]}
    assert result["unlayered"] == ["a", "b", "c"]


# -- item 9: the layer hint reads as prose, the layer is shown once ----------------------------

async def test_the_layer_hint_counts_repeated_functions_in_prose(client: LanguageClient):
    text = ("in s: String\na = Trim(s)\nb = Trim(s)\nc = Trim(s)\nd = Uppercase(s)\n"
            "e = Lowercase(s)\nf = Trim(s)\ng = TextLength(s)\nh = Uppercase(d)\n"
            "out a\nout b\nout c\nout e\nout f\nout g\nout h\n")
    uri, _ = await open_doc(client, text)
    hints = {h.position.line: h for h in await inlay(client, uri, text)}
    # as many functions as fit in VS Code's default maximum length (43), the rest counted
    assert hints[1].label == "layer 1 · beside Trim ×3 and 3 more"
    assert hints[1].tooltip == ("layer 1 of 2: runs in parallel with 6 other calls: "
                                "Trim ×3, Uppercase, Lowercase, TextLength")
    assert hints[4].label == "layer 1 · beside Trim ×4 and 2 more"
    assert hints[2].tooltip.endswith("other calls: Trim ×3, Uppercase, Lowercase, TextLength")
    assert hints[8].label == "layer 2"
    assert not any("with" in h.label.split() for h in hints.values())
    assert all(len(h.label) <= 43 for h in hints.values())
    h = await hover(client, uri, text, "a = ")
    assert "**layer 1 of 2** · runs alongside `Trim` ×3, `Uppercase`, `Lowercase`, " \
           "`TextLength`" in h


@pytest.mark.corpus
async def test_the_rate_limiting_demo_counts_its_calls(client: LanguageClient):
    """The issue's example: `with RateLimitedApi, RateLimitedApi, RateLimitedApi +5 more`."""
    text = corpus_file("modules/example-app/examples/rate-limiting-demo.cst").read_text()
    uri, _ = await open_doc(client, text)
    lines = text.split("\n")
    hints = {binding_ending_at(lines, h.position.line): h for h in await inlay(client, uri, text)}
    assert hints["resp1"].label == "layer 1 · beside 8 other calls"
    assert hints["resp1"].tooltip == ("layer 1 of 1: runs in parallel with 8 other calls: "
                                      "RateLimitedApi ×4, ResourceIntensiveTask ×4")


async def test_no_layer_lens_by_default(client: LanguageClient):
    """The inlay hint shows the layer; a `layer N` lens above the line would say it again."""
    uri, _ = await open_doc(client, PROFILE)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    assert [(l.range.start.line, l.command.title) for l in lenses] == [
        (0, "▶ Run pipeline"), (0, "▶ Run with examples"), (0, "Layers")]


LENS_OPTIONS = {"inlayHints": {"layers": False}, "codeLens": {"layers": True}}


@pytest_lsp.fixture(config=server_config(), scope="module")
async def lens_client(lsp_client: LanguageClient):
    """A user who wants the layer as a lens instead of an inlay hint."""
    await initialize(lsp_client, options=LENS_OPTIONS)
    yield
    await lsp_client.shutdown_session()


async def test_layer_lenses_instead_of_hints_only_where_a_layer_exists(lens_client: LanguageClient):
    client = lens_client
    uri, _ = await open_doc(client, PROFILE)
    assert await lenses_below_the_top(client, uri) == [
        (5, "layer 1"), (6, "layer 1"), (7, "layer 1"), (8, "layer 2")]
    assert [h for h in await inlay(client, uri, PROFILE)] == []
    for text in (CYCLE, UNKNOWN):
        uri, _ = await open_doc(client, text)
        assert await lenses_below_the_top(client, uri) == [(4, "layer 1")]


async def test_show_layers_lists_each_binding_once_in_source_order(client: LanguageClient):
    text = ("in s: String\np = Uppercase(r)\nq = { a: Uppercase(Trim(s)), b: Lowercase(Trim(s)) }\n"
            "r = Trim(s)\nout p\nout q\n")
    uri, _ = await open_doc(client, text)
    result = await show_layers(client, uri)
    layers = {entry["layer"]: [(n["name"], n["modules"], n["calls"], n["line"])
                               for n in entry["nodes"]] for entry in result["layers"]}
    assert layers == {
        0: [("s", [], 0, 1)],
        1: [("q", ["Trim"], 2, 3), ("r", ["Trim"], 1, 4)],
        2: [("p", ["Uppercase"], 1, 2), ("q", ["Uppercase", "Lowercase"], 2, 3)],
    }
    assert (result["depth"], result["width"], result["unlayered"]) == (2, 3, [])


# -- agreement with `cst layers` ---------------------------------------------------------------

def cst_layers(text: str) -> dict:
    """`cst layers --json` of the text, read as the server reads a file in examples/."""
    done = subprocess.run(
        [sys.executable, "-m", "constellation.cli.main", "layers", "-", "--json",
         "--stdin-filename", str(EXAMPLES / "agreement.cst")],
        input=text, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def binding_ending_at(lines: list[str], line: int) -> str:
    """The binding whose declaration ends on `line` (hints follow the declaration)."""
    while not (m := re.match(r"\s*([A-Za-z_][\w-]*)\s*=(?![=>])", lines[line])):
        line -= 1
    return m.group(1)


# appended to a valid corpus file: bindings that cannot run, beside the ones that can
BROKEN_TAIL = ("\nzzCycleA = Trim(zzCycleB)\nzzCycleB = Uppercase(zzCycleA)\n"
               "zzReadsCycle = Lowercase(zzCycleB)\nzzUnknown = NoSuchModule(zzReadsCycle)\n")


@pytest.mark.corpus
async def test_every_layer_shown_is_the_one_cst_layers_shows(client: LanguageClient):
    """Each valid corpus file with a cycle and an undefined call added: the editor shows the
    layers `cst layers --json` shows for the file as it was, and none for the added bindings."""
    mismatches = []
    for entry in corpus_expected():
        if not entry["valid"] or not entry.get("layers"):
            continue
        text = corpus_file(entry["path"]).read_text()
        cli = cst_layers(text)
        cli_layer = {n["name"]: layer["layer"] for layer in cli["layers"] for n in layer["nodes"]
                     if "@" not in n["name"]}
        anonymous = any("@" in n["name"] for layer in cli["layers"] for n in layer["nodes"])
        text += BROKEN_TAIL
        uri, _ = await open_doc(client, text, fresh_uri(entry["path"].replace("/", "_")))
        lines = text.split("\n")
        for hint in await inlay(client, uri, text):
            name = binding_ending_at(lines, hint.position.line)
            shown = int(re.match(r"layer (\d+)", hint.label).group(1))
            if len(hint.label) > 43:  # VS Code's default maximum length would cut it
                mismatches.append(f"{entry['path']}: hint {hint.label!r} is too long")
            if cli_layer.get(name) != shown:
                mismatches.append(f"{entry['path']}: hint {name} layer {shown}, cst {cli_layer.get(name)}")
        for name in ("zzCycleA", "zzReadsCycle", "zzUnknown"):
            shown = await hover(client, uri, text, f"{name} =")
            if LAYER_WORDS.search(shown):
                mismatches.append(f"{entry['path']}: hover of {name}: {shown!r}")
        result = await show_layers(client, uri)
        listed = {(n["name"], layer["layer"]) for layer in result["layers"] for n in layer["nodes"]}
        for layer in result["layers"]:
            names = [n["name"] for n in layer["nodes"]]
            if len(set(names)) != len(names) or any("@" in n for n in names):
                mismatches.append(f"{entry['path']}: layer {layer['layer']} lists {names}")
        expected = set(cli_layer.items())
        if (not expected <= listed) if anonymous else expected != listed:
            mismatches.append(f"{entry['path']}: Show Layers {sorted(listed ^ expected)} differ")
        depth = max(layer["layer"] for layer in cli["layers"])
        width = max((sum(n["kind"] == "module" for n in layer["nodes"])
                     for layer in cli["layers"]), default=0)
        if (result["depth"], result["width"]) != (depth, width):
            mismatches.append(f"{entry['path']}: depth and width {result['depth']}, "
                              f"{result['width']}, cst {depth}, {width}")
    assert not mismatches, "\n".join(mismatches)


# -- item 10 (part): plain-text hovers --------------------------------------------------------

def plaintext_emacs() -> lsp.ClientCapabilities:
    """eglot without markdown-mode: `contentFormat` is ["plaintext"]."""
    caps = client_capabilities("emacs")
    caps.text_document.hover.content_format = [lsp.MarkupKind.PlainText]
    return caps


@pytest_lsp.fixture(config=server_config(), scope="module")
async def plain_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=plaintext_emacs(), initialization_options={"debounceMs": 150, "trusted": True}))
    yield
    await lsp_client.shutdown_session()


async def test_a_client_without_markdown_gets_plain_text_hovers(plain_client: LanguageClient):
    client = plain_client
    uri, _ = await open_doc(client, PROFILE)
    h = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(uri), position=find(PROFILE, "user = ")))
    assert h.contents.kind == lsp.MarkupKind.PlainText
    assert h.contents.value == (f"user: {USER_T}\n\nlayer 1 of 2 · runs alongside GetOrders, "
                                "GetPreferences\n\nproduced by GetUser")
    h = await client.text_document_hover_async(lsp.HoverParams(
        text_document=tdi(uri), position=find(PROFILE, "GetUser(", delta=3)))
    assert h.contents.value == (f"GetUser(userId: String) -> {USER_T}\n\n"
                                "Fetches a user account from the user service (100 ms).\n\n"
                                "this call: layer 1 of 2")
    text = 'in s: String\nr = Uppercase(s) with retry: 2, timeout: 500ms\nout r\n'
    uri, _ = await open_doc(client, text)
    for needle in ("retry", "500ms", "s: String"):
        h = await client.text_document_hover_async(lsp.HoverParams(
            text_document=tdi(uri), position=find(text, needle, delta=1)))
        assert h.contents.kind == lsp.MarkupKind.PlainText
        assert "`" not in h.contents.value and "**" not in h.contents.value, h.contents.value


# -- item 9: a run's values, readable -----------------------------------------------------------

def run_params(uri, **extra):
    return lsp.ExecuteCommandParams(command="constellation.runPipeline", arguments=[{"uri": uri, **extra}])


def completed_values(client, uri):
    return {e["name"]: e for e in client.run_events
            if e.get("uri") == uri and e.get("event") == "node_completed"}


@pytest.mark.slow
async def test_a_run_value_gets_its_own_hint_and_shows_in_the_hover(client: LanguageClient):
    uri, _ = await open_doc(client, PROFILE)
    result = await client.workspace_execute_command_async(run_params(uri, inputs={"userId": "u-42"}))
    assert result["status"] == "completed", result
    events = completed_values(client, uri)
    hints = [h for h in await inlay(client, uri, PROFILE) if h.position.line == 5]
    layer, value = hints
    # VS Code's maximumLength (43) counts a line's hints together: beside a value the layer
    # hint is brief, its tooltip still names the calls that run with it
    assert layer.label == "layer 1"
    assert "runs in parallel with 2 other calls: GetOrders, GetPreferences" in layer.tooltip
    # the whole value, its own hint, spaced from the layer hint on both sides of the gap
    assert value.label == "= " + json.dumps(events["user"]["value"], ensure_ascii=False)
    assert len(value.label) > 43  # what VS Code's default maximumLength cut to `=…`
    assert (layer.padding_left, layer.padding_right, value.padding_left) == (True, True, True)
    ms = events["user"]["duration_ms"]
    assert value.tooltip.startswith(f"user took {ms:,.0f} ms in the last run:\n{{\n  \"id\": \"u-42\"")

    text = await hover(client, uri, PROFILE, "user = ")
    assert text.endswith(f"produced by `GetUser`\n\nlast run: {ms:,.0f} ms\n\n```json\n"
                         + json.dumps(events["user"]["value"], ensure_ascii=False, indent=2)
                         + "\n```")


@pytest.mark.slow
async def test_a_huge_value_is_abbreviated_in_its_hint(client: LanguageClient):
    text = "in s: String\nbig = Uppercase(s)\nxs = [big, big]\nout xs\n"
    uri, _ = await open_doc(client, text)
    result = await client.workspace_execute_command_async(run_params(uri, inputs={"s": "x" * 20_000}))
    assert result["status"] == "completed", result
    (value,) = [h for h in await inlay(client, uri, text) if h.position.line == 2]
    assert value.label.startswith('= ["XXXX')
    assert value.label.endswith(f"… ({len(json.dumps(result['outputs']['xs'])) - 400:,} more characters)")
    assert len(value.label) < 450
    assert value.tooltip.startswith('xs in the last run:\n[\n  "XXXX')
    assert len(value.tooltip) < 4100


def no_inlay_hints_emacs() -> lsp.ClientCapabilities:
    """eglot 1.9 (Emacs 29's): no inlay hints at all."""
    caps = client_capabilities("emacs")
    caps.text_document.inlay_hint = None
    return caps


@pytest_lsp.fixture(config=server_config(), scope="module")
async def hintless_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=no_inlay_hints_emacs(), initialization_options={"debounceMs": 150, "trusted": True}))
    yield
    await lsp_client.shutdown_session()


async def test_a_client_without_inlay_hints_gets_the_layer_lenses(hintless_client: LanguageClient):
    # the layer is shown once: as a lens where the client cannot draw the hint
    uri, _ = await open_doc(hintless_client, PROFILE)
    assert await lenses_below_the_top(hintless_client, uri) == [
        (5, "layer 1"), (6, "layer 1"), (7, "layer 1"), (8, "layer 2")]
