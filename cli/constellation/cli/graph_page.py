"""The graph view as one self-contained HTML file: `cst graph --format html` and
`cst run --report`.

The page is the renderer the VS Code webview uses (vscode-extension/webview/graph, bundled with
elkjs into assets/graph.js, committed so that the package needs no Node.js; the extension's
tests check it matches a fresh build) with the data inlined: it loads nothing from anywhere.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

# The page may run only its own inline script and styles: no network, no other origin.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")


def bundle() -> str:
    return resources.files("constellation.cli").joinpath("assets/graph.js").read_text("utf-8")


def _script_safe(text: str) -> str:
    """JSON or code that cannot end the <script> element holding it."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _inline_code(code: str) -> str:
    # rewriting code could change a regular expression; the build never makes these
    if "</script" in code.lower() or "<!--" in code:
        raise ValueError("The graph bundle holds '</script' or '<!--': it cannot be inlined.")
    return code


def page(title: str, graph: dict, events: list[dict] | None = None, pane: str | None = None) -> str:
    data: dict = {"graph": graph}
    if events is not None:
        data["events"] = events
    if pane is not None:
        data["pane"] = pane
    payload = _script_safe(json.dumps(data, ensure_ascii=False, default=str))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f'<script type="application/json" id="constellation-data">{payload}</script>\n'
        f"<script>{_inline_code(bundle())}</script>\n</body>\n</html>\n"
    )


def write_page(path: str | Path, text: str) -> Path:
    target = Path(path)
    target.write_text(text, encoding="utf-8")
    return target
