"""VS Code's run form (issue 16 item 5) in a real headless Chromium: the page the extension
makes (src/form.ts, through form_page.mjs) checked by the real server's
`constellation/checkInputs` as the extension does it — each field with its declared type, `abc`
in an Int field answered with the error beside that field, and Run sending the values the
server coerced to their types."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from page_support import REPO, missing

sys.path.insert(0, str(REPO / "tests" / "server"))
from raw_lsp import StdioServer  # noqa: E402

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no browser: {missing()}")

FORM_PAGE = REPO / "tests" / "browser" / "form_page.mjs"
FORM = ('@example("u-42")\nin userId: String\n@example(3)\nin count: Int\n'
        "in limits: { max: Int, ratio: Float }\n"
        "next = count + 1\nout next\nout userId\nout limits\n")
MESSAGES = ("new Promise(r => { const t = setInterval(() => { const m = window.hostMessages || []; "
            "if (m.length) { clearInterval(t); r(m.splice(0)); } }, 20); })")


def form_js(command: str, data: dict) -> str:
    """form.ts's own answer (the page, or the update and the values) through form_page.mjs."""
    return subprocess.run(["node", str(FORM_PAGE), command], input=json.dumps(data), text=True,
                          capture_output=True, check=True, timeout=60).stdout


class Host:
    """What the extension's inputForm.ts does with the page's messages, over the real server."""

    def __init__(self, server: StdioServer, uri: str, browser):
        self.server, self.uri, self.browser = server, uri, browser
        self.ran_with: dict | None = None

    def check(self, texts: dict | None = None) -> dict:
        params = {"uri": self.uri} if texts is None else {"uri": self.uri, "inputs": texts}
        return self.server.call("constellation/checkInputs", params)["result"]

    def serve(self) -> list[dict]:
        """Answers the messages the page has posted (waiting for the first); returns them."""
        messages = self.browser.eval(MESSAGES)
        for message in messages:
            if message["type"] not in ("change", "run"):
                continue
            answer = json.loads(form_js("update", self.check(message["texts"])))
            if message["type"] == "run" and answer["values"] is not None:
                self.ran_with = answer["values"]
            else:
                self.browser.eval(f"(async () => {{ window.postMessage({json.dumps(answer['update'])}, '*'); "
                                  "await new Promise(r => setTimeout(r, 50)); })()")
        return messages


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with StdioServer() as s:
        s.initialize({"trusted": True})
        yield s


def open_form(server, browser, folder: Path) -> Host:
    source = folder / "form.cst"
    source.write_text(FORM)
    uri = source.as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "constellation", "version": 1, "text": FORM}})
    host = Host(server, uri, browser)
    page = folder / "form.html"
    page.write_text(form_js("page", {"title": "Run form.cst", "fields": host.check()["inputs"]}))
    browser.open(page, host="vscode", ready="#form")
    assert browser.errors() == []
    return host


FIELD = "(n => document.querySelector(`[data-field='${n}']`))"


def test_each_field_shows_its_type_and_starts_from_its_example(server, browser, tmp_path):
    host = open_form(server, browser, tmp_path)
    fields = browser.eval("[...document.querySelectorAll('[data-field]')].map(f => "
                          "[f.dataset.field, f.querySelector('.type').textContent, f.querySelector('[data-input]').value])")
    assert fields == [["userId", "String", "u-42"], ["count", "Int", "3"],
                      ["limits", "{ max: Int, ratio: Float }", ""]]
    assert browser.eval(f"{FIELD}('limits').querySelector('[data-input]').tagName") == "TEXTAREA"  # a record
    host.serve()  # the page checks what it opened with: limits is empty
    assert browser.eval(f"{FIELD}('limits').querySelector('[data-error]').textContent") == \
        "Input 'limits' needs a value of type { max: Int, ratio: Float }"
    assert browser.eval("document.getElementById('run').disabled")


def test_abc_in_an_int_field_shows_the_error_beside_it_and_run_sends_typed_values(server, browser, tmp_path):
    host = open_form(server, browser, tmp_path)
    host.serve()
    browser.type("[data-input=count]", "abc")
    host.serve()
    error = browser.eval(f"{FIELD}('count').querySelector('[data-error]').textContent")
    assert error == "Input 'count': expected Int, got \"abc\""
    assert browser.eval(f"{FIELD}('count').classList.contains('invalid')")
    assert browser.eval(f"{FIELD}('userId').querySelector('[data-error]').textContent") == ""
    # beside the field: right under its own box (above its @example), above the next field
    box = browser.eval(f"(f => [f.querySelector('[data-input]').getBoundingClientRect().bottom, "
                       f"f.querySelector('[data-error]').getBoundingClientRect().top, "
                       f"{FIELD}('limits').getBoundingClientRect().top])({FIELD}('count'))")
    assert box[0] <= box[1] < box[2] and box[1] - box[0] < 8, box
    assert browser.eval("document.getElementById('run').disabled")
    assert browser.eval("document.getElementById('status').textContent") == "2 inputs need fixing."
    browser.screenshot(tmp_path / "form.png")
    browser.type("[data-input=count]", "12")
    browser.type("[data-input=limits]", '{"max": 2, "ratio": 1}')
    host.serve()
    assert browser.eval("[...document.querySelectorAll('[data-error]')].map(e => e.textContent)") == ["", "", ""]
    assert not browser.eval("document.getElementById('run').disabled")
    browser.click("#run")
    posted = host.serve()
    assert [m["type"] for m in posted] == ["run"]
    assert posted[0]["texts"] == {"userId": "u-42", "count": "12", "limits": '{"max": 2, "ratio": 1}'}
    # the run gets values of the declared types (the server read them), not the texts typed
    assert host.ran_with == {"userId": "u-42", "count": 12, "limits": {"max": 2, "ratio": 1}}
    assert type(host.ran_with["count"]) is int
