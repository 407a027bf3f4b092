"""End to end: a batch Emacs with editors/emacs/constellation.el, eglot and the real `cst lsp`.

Skipped when Emacs or eglot is absent (Debian: `apt-get install emacs-nox elpa-eglot`; Emacs 29
has eglot built in). The trust question is answered by the test as the user would
(`yes-or-no-p`), and what the server then does is read from flymake's diagnostics.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EMACS_DIR = REPO / "editors" / "emacs"
DEMO_MODULES = REPO / "examples" / "modules" / "demo.py"
# eglot (Debian's elpa folder or built in) and this set-up, trust answers kept in CST_TRUST_FILE
PRELUDE = r"""
(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
  (add-to-list 'load-path dir))
(add-to-list 'load-path (getenv "CST_EMACS_DIR"))
(require 'eglot)
(require 'constellation)
(setq constellation-trust-file (getenv "CST_TRUST_FILE"))
"""
# a module call (undefined unless the workspace's modules are loaded) and an unrelated error
DOC = "in userId: String\nuser = GetUser(userId)\nout user\nout missing\n"

SCRIPT = PRELUDE + r"""
(defvar cst-asked 0)
(advice-add 'yes-or-no-p :override
            (lambda (&rest _) (setq cst-asked (1+ cst-asked)) (equal (getenv "CST_ANSWER") "yes")))
(find-file (getenv "CST_DOC"))
(eglot-ensure)
(run-hooks 'post-command-hook)
(let ((deadline (+ (float-time) 60)) codes)
  (while (and (< (float-time) deadline)
              (not (member "E001" codes)))
    (accept-process-output nil 0.1)
    (setq codes (mapcar (lambda (d) (and (string-match "\\[\\(E[0-9]+\\)\\]" (flymake-diagnostic-text d))
                                         (match-string 1 (flymake-diagnostic-text d))))
                        (flymake-diagnostics))))
  (princ (format "RESULT %s\n"
                 (json-encode (list :asked cst-asked :codes (vconcat codes)
                                    :risky (if (risky-local-variable-p 'constellation-server-command) t :json-false))))))
(when (eglot-current-server) (eglot-shutdown (eglot-current-server)))
"""


def find_emacs() -> str:
    emacs = shutil.which("emacs")
    if not emacs:
        pytest.skip("Emacs is not installed (apt-get install emacs-nox elpa-eglot)")
    has_eglot = subprocess.run([emacs, "--batch", "-Q", "--eval", (
        "(progn (dolist (d (file-expand-wildcards \"/usr/share/emacs/site-lisp/elpa/*\"))"
        " (add-to-list 'load-path d)) (require 'eglot))")], capture_output=True, timeout=60)
    if has_eglot.returncode != 0:
        pytest.skip("eglot is not available to Emacs (apt-get install elpa-eglot, or Emacs 29+)")
    return emacs


def run_emacs(emacs: str, workspace: Path, answer: str) -> dict:
    script = workspace.parent / "probe.el"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(CST_EMACS_DIR=str(EMACS_DIR), CST_TRUST_FILE=str(workspace.parent / "trust.eld"),
               CST_ANSWER=answer, CST_DOC=str(workspace / "doc.cst"), HOME=str(workspace.parent))
    completed = subprocess.run([emacs, "--batch", "-Q", "-l", str(script)], cwd=workspace, env=env,
                               capture_output=True, text=True, timeout=120)
    lines = [line for line in (completed.stdout + completed.stderr).splitlines() if line.startswith("RESULT ")]
    assert lines, f"Emacs printed no result (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    return json.loads(lines[-1][len("RESULT "):])


def run_doc_script(workspace: Path, script_text: str, name: str, timeout: int) -> dict:
    """Emacs in batch on `workspace/doc.cst` with `script_text` loaded; its last RESULT line."""
    script = workspace.parent / name
    script.write_text(script_text)
    env = {**os.environ, "CST_EMACS_DIR": str(EMACS_DIR), "CST_TRUST_FILE": str(workspace.parent / "trust.eld"),
           "CST_DOC": str(workspace / "doc.cst"), "HOME": str(workspace.parent),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([find_emacs(), "--batch", "-Q", "-l", str(script)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    return json.loads(lines[-1][len("RESULT "):])


def page_data(page: str) -> dict:
    """The data a graph or report page embeds."""
    import re
    return json.loads(re.search(r'<script type="application/json" id="constellation-data">(.*?)</script>',
                                page, re.S).group(1))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "modules").mkdir(parents=True)
    shutil.copy(DEMO_MODULES, root / "modules" / "demo.py")
    (root / "constellation.toml").write_text('modules = ["modules/demo.py"]\n')
    (root / "doc.cst").write_text(DOC)
    return root


def test_emacs_asks_once_per_root_and_the_answer_decides_what_the_server_loads(workspace: Path):
    emacs = find_emacs()
    first = run_emacs(emacs, workspace, answer="yes")
    assert first["asked"] == 1
    assert first["codes"] == ["E001"], "trusted: the workspace's GetUser is known"
    assert first["risky"] is True, "a .dir-locals.el cannot choose the server command unasked"

    again = run_emacs(emacs, workspace, answer="no")  # the remembered yes counts; no question
    assert again["asked"] == 0 and again["codes"] == ["E001"]

    trust = workspace.parent / "trust.eld"
    trust.write_text(f'(("{workspace}/"))')  # a remembered no
    untrusted = run_emacs(emacs, workspace, answer="yes")
    assert untrusted["asked"] == 0
    assert sorted(untrusted["codes"]) == ["E001", "E002"], "untrusted: stdlib signatures only"


CANCEL_SCRIPT = r"""
(add-to-list 'load-path (getenv "CST_EMACS_DIR"))
(require 'constellation)
(constellation--on-run-event '(:event "node_cancelled" :uri "file:///x.cst" :name "slow" :duration_ms 850))
(constellation--on-run-event '(:event "layer_cancelled" :uri "file:///x.cst" :layer 1 :duration_ms 880))
(princ (format "RESULT %s\n" (json-encode (with-current-buffer (constellation--run-buffer "file:///x.cst")
                                            (buffer-string)))))
"""


def test_a_cancelled_call_and_layer_read_cancelled(tmp_path: Path):
    """A started call that a cancel stopped is `cancelled` (not skipped), its layer too."""
    emacs = find_emacs()
    script = tmp_path / "cancel.el"
    script.write_text(CANCEL_SCRIPT)
    env = {**os.environ, "CST_EMACS_DIR": str(EMACS_DIR), "HOME": str(tmp_path)}
    done = subprocess.run([emacs, "--batch", "-Q", "-l", str(script)], env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    text = json.loads(lines[-1][len("RESULT "):])
    assert "  ⊘ slow cancelled after 850 ms" in text and "layer 1 cancelled after 880 ms" in text, text


MARKS_SCRIPT = r"""
(add-to-list 'load-path (getenv "CST_EMACS_DIR"))
(require 'constellation)
(find-file (getenv "CST_DOC"))
(defvar cst-uri (concat "file://" (buffer-file-name)))
(defun cst-marks ()
  (let (marks)
    (dolist (o (overlays-in (point-min) (point-max)))
      (when (overlay-get o 'constellation-run)
        (push (list :line (line-number-at-pos (overlay-start o)) :state (overlay-get o 'constellation-state)
                    :text (string-trim (substring-no-properties (overlay-get o 'after-string))))
              marks)))
    (vconcat (sort marks (lambda (a b) (< (plist-get a :line) (plist-get b :line)))))))
(defun cst-call (name layer line) (list :node name :name name :module (concat "demo." name) :layer layer :line line :column 7))
(defun cst-ev (fields &optional name layer line)
  (constellation--on-run-event (append (list :uri cst-uri) fields (and name (cst-call name layer line)))))
(defvar cst-out nil)
(defun cst-note (key) (setq cst-out (plist-put cst-out key (cst-marks))))
(cst-ev (list :event "run_started" :t_ms 0 :file "x" :nodes 4 :depth 3 :layers []
              :calls (vector (cst-call "bad" 1 2) (cst-call "slow" 1 3) (cst-call "after" 2 4) (cst-call "retried" 1 5))))
(cst-note :pending)
(cst-ev (list :event "node_started" :t_ms 1 :attempt 1) "slow" 1 3)
(cst-ev (list :event "node_started" :t_ms 1 :attempt 1) "bad" 1 2)
(cst-ev (list :event "node_failed" :t_ms 30 :duration_ms 29 :error (list :message "Service failed for: x" :line 2 :column 7)) "bad" 1 2)
(cst-ev (list :event "node_skipped" :t_ms 31 :reason "dependency failed" :dependency "bad") "after" 2 4)
(cst-ev (list :event "node_retrying" :t_ms 32 :attempt 1 :error "connection reset" :delay_ms 100) "retried" 1 5)
(cst-note :before-frame)
(accept-process-output nil 0.15)
(cst-note :live)
(accept-process-output nil 0.7)
(cst-note :ticked)
(cst-ev (list :event "node_completed" :t_ms 900 :duration_ms 899 :value (list :id "u1") :cache_hit :json-false :attempts 1) "slow" 1 3)
(cst-ev (list :event "node_completed" :t_ms 901 :duration_ms 0.1 :value "x" :cache_hit t :attempts 0) "retried" 1 5)
(accept-process-output nil 0.15)
(cst-note :completed)
(goto-char (point-min)) (forward-line 1) (insert "# two new\n# lines\n")
(cst-note :moved)
(cst-ev (list :event "run_completed" :t_ms 950 :status "failed" :duration_ms 950))
(cst-note :finished)
(cst-ev (list :event "run_started" :t_ms 0 :file "x" :nodes 1 :depth 1 :layers [] :calls (vector (cst-call "only" 1 3))))
(cst-note :next-run)
(princ (format "RESULT %s\n" (json-encode cst-out)))
"""


def test_emacs_marks_each_call_line_with_its_run_state(tmp_path: Path):
    """Overlays per call with the state and a text after the line, from the events as they
    arrive (batched per frame), moving with edits, cleared by the next run."""
    emacs = find_emacs()
    doc = tmp_path / "pipeline.txt"
    doc.write_text("in s: String\nbad = X(s)\nslow = Y(s)\nafter = Z(bad)\nretried = W(s)\nout after\n")
    script = tmp_path / "marks.el"
    script.write_text(MARKS_SCRIPT)
    env = {**os.environ, "CST_EMACS_DIR": str(EMACS_DIR), "HOME": str(tmp_path), "CST_DOC": str(doc)}
    done = subprocess.run([emacs, "--batch", "-Q", "-l", str(script)], env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    out = json.loads(lines[-1][len("RESULT "):])
    table = lambda key: [(m["line"], m["state"], m["text"]) for m in out[key]]
    assert table("pending") == [(2, "pending", "… pending · layer 1"), (3, "pending", "… pending · layer 1"),
                                (4, "pending", "… pending · layer 2"), (5, "pending", "… pending · layer 1")]
    assert table("before-frame") == table("pending"), "a burst of events is drawn once, in the next frame"
    live = {m["line"]: m for m in out["live"]}
    assert live[2]["text"] == "✗ failed after 29 ms: Service failed for: x"
    assert live[3]["state"] == "running" and live[3]["text"].startswith("▷ running ")
    assert live[4]["text"] == "⊘ skipped: bad failed"
    assert live[5]["text"] == "↻ retrying · attempt 2 (connection reset)"
    ticked = {m["line"]: m for m in out["ticked"]}
    assert ticked[3]["text"] != live[3]["text"], "the elapsed time of a running call ticks"
    completed = {m["line"]: m for m in out["completed"]}
    assert completed[3]["text"] == '✓ 899 ms = {"id":"u1"}'
    assert completed[5]["state"] == "cached" and completed[5]["text"] == '✓ cached = "x"'
    assert [m["line"] for m in out["moved"]] == [4, 5, 6, 7], "the marks moved with their lines"
    assert {m["line"]: m["text"] for m in out["finished"]}[5] == "✓ 899 ms"
    assert table("next-run") == [(3, "pending", "… pending · layer 1")]


def readme_eglot_tcp_snippet() -> str:
    """The README's eglot set-up for `cst lsp --tcp` (Security, listening transports)."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("```elisp\n;; Emacs (eglot): a (HOST PORT) contact")
    return readme[start + len("```elisp\n"):readme.index("```", start + 3)]


TCP_SCRIPT = PRELUDE + r"""
(advice-add 'yes-or-no-p :override (lambda (&rest _) t))
SNIPPET
(find-file (getenv "CST_DOC"))
(eglot-ensure)
(run-hooks 'post-command-hook)
(let ((deadline (+ (float-time) 60)) texts)
  (while (and (< (float-time) deadline) (null texts))
    (accept-process-output nil 0.1)
    (setq texts (mapcar #'flymake-diagnostic-text (flymake-diagnostics))))
  (princ (format "RESULT %s\n" (json-encode (vconcat texts)))))
"""


def test_the_readme_eglot_set_up_connects_over_tcp_with_the_token(tmp_path: Path):
    import socket

    emacs = find_emacs()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path),
           "CST_EMACS_DIR": str(EMACS_DIR), "CST_TRUST_FILE": str(tmp_path / "trust.eld"),
           "CST_DOC": str(tmp_path / "doc.cst")}
    env.pop("CONSTELLATION_LSP_TOKEN", None)
    (tmp_path / "doc.cst").write_text("in a: Int\nout missing\n")
    server = subprocess.Popen([sys.executable, "-m", "constellation.server", "--tcp", f"127.0.0.1:{port}"],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in server.stderr.readline()
        script = tmp_path / "tcp.el"
        script.write_text(TCP_SCRIPT.replace("SNIPPET", readme_eglot_tcp_snippet().replace("2087", str(port))))
        done = subprocess.run([emacs, "--batch", "-Q", "-l", str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("RESULT ")]
        assert lines, done.stdout + done.stderr
        assert any("E001" in text for text in json.loads(lines[-1][len("RESULT "):])), lines
    finally:
        server.kill()
        server.wait()


GRAPH_SCRIPT = PRELUDE + r"""
(setq constellation-trusted t)
(defvar cst-opened nil)
(setq browse-url-browser-function (lambda (url &rest _) (push url cst-opened)))
(find-file (getenv "CST_DOC"))
(goto-char (point-max))
(insert "extra = Trim(userId)\nout extra\n")  ; not saved: the graph is of the buffer
(let ((file (constellation-graph)))
  (setq constellation-trusted nil)
  (princ (format "RESULT %s\n"
                 (json-encode (list :file file :opened (vconcat cst-opened)
                                    :page (with-temp-buffer (insert-file-contents file) (buffer-string))
                                    :refused (condition-case err (progn (constellation-graph) :json-false)
                                               (user-error (error-message-string err))))))))
"""


def test_the_graph_command_writes_the_page_and_opens_it(workspace: Path):
    """M-x constellation-graph writes `cst graph --format html` of the buffer to a temporary
    file and opens it with browse-url; an untrusted workspace gets a sentence."""
    (workspace / "doc.cst").write_text("in userId: String\nuser = GetUser(userId)\nout user\n")
    result = run_doc_script(workspace, GRAPH_SCRIPT, "graph.el", timeout=120)
    assert result["file"].endswith(".html")
    assert len(result["opened"]) == 1 and result["opened"][0].endswith(Path(result["file"]).name)
    data = page_data(result["page"])
    assert {n["name"]: n["layer"] for n in data["graph"]["nodes"]} == {"userId": 0, "user": 1, "extra": 1}
    assert "trust it first" in result["refused"]


REPORT_SCRIPT = PRELUDE + r"""
(setq constellation-trusted t)
(defvar cst-opened nil)
(setq browse-url-browser-function (lambda (url &rest _) (push url cst-opened)))
(find-file (getenv "CST_DOC"))
(eglot-ensure)
(run-hooks 'post-command-hook)
(let ((deadline (+ (float-time) 60)))
  (while (and (< (float-time) deadline) (not (eglot-current-server)))
    (accept-process-output nil 0.1)))
(let ((before (condition-case err (progn (constellation-report) :json-false)
                (user-error (error-message-string err)))))
  (constellation-run-pipeline t)  ; with the @example inputs
  (let ((deadline (+ (float-time) 60)))
    (while (and (< (float-time) deadline) (not constellation--report))
      (accept-process-output nil 0.1)))
  (let ((file (constellation-report)))
    (princ (format "RESULT %s\n"
                   (json-encode (list :before before :file file :opened (vconcat cst-opened)
                                      :page (with-temp-buffer (insert-file-contents file) (buffer-string))))))))
(when (eglot-current-server) (eglot-shutdown (eglot-current-server)))
"""


def test_the_report_command_opens_the_last_runs_report(workspace: Path):
    """M-x constellation-report opens the page `cst run --report` writes, which the server's
    run of the buffer wrote (states, timeline, values); before any run it says to run first."""
    (workspace / "doc.cst").write_text((REPO / "examples" / "profile.cst").read_text())
    result = run_doc_script(workspace, REPORT_SCRIPT, "report.el", timeout=180)
    assert "run the pipeline first" in result["before"]
    assert result["file"].endswith(".html")
    assert len(result["opened"]) == 1 and result["opened"][0].endswith(Path(result["file"]).name)
    data = page_data(result["page"])
    assert {n["name"] for n in data["graph"]["nodes"]} == {"userId", "user", "orders", "preferences", "profile"}
    assert {e["name"] for e in data["events"] if e["event"] == "node_completed"} == \
        {"user", "orders", "preferences", "profile"}
    final = next(e for e in data["events"] if e["event"] == "run_completed")
    assert final["status"] == "completed" and "u-42" in json.dumps(final["outputs"])
