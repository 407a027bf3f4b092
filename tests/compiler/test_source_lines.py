"""The compiler's line index (`Source`) ends lines where LSP does (`\\n`, `\\r\\n`, a lone
`\\r`; not U+2028, `\\x0c`, `\\x85`...), converts to and from every position encoding as an LSP
client counts, and survives lone surrogates; diagnostics after a lone `\\r` name the line an
editor shows, in the analysis and in `cst check`."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

import lsp_text
from compiler_support import analyze_program
from constellation.compiler.source import Source, units

PIECES = lsp_text.LINE_BREAK_LIKE + ["a", " ", "é", "€", "😀", "\ud800", "\udfff", "x = 1"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(texts, texts, st.integers(0, 40), st.integers(0, 10))
def test_an_edited_line_index_is_the_line_index_of_the_edited_text(text, insert, at, remove):
    """`Source.edited` (the re-analysis of an edit) copies the index outside the changed
    stretch: it equals the index of the new text, `\r` and `\n` split by the edit included."""
    from constellation.compiler.parser import _common_ends

    at = min(at, len(text))
    new = text[:at] + insert + text[at + remove:]
    prefix, suffix = _common_ends(text, new)
    assert Source.edited(Source(text), new, prefix, suffix).line_starts \
        == Source(new).line_starts


@settings(max_examples=300, deadline=None)
@given(texts)
def test_lines_and_positions_are_those_of_an_lsp_client(text):
    source = Source(text)
    spans = lsp_text.lines(text)
    assert source.line_starts == [start for start, _ in spans]
    assert [source.line_text(n + 1) for n in range(len(spans))] == [text[a:b] for a, b in spans]
    inside_crlf = {i + 1 for i in range(len(text) - 1) if text[i:i + 2] == "\r\n"}
    for encoding in lsp_text.ENCODINGS:
        for offset in range(len(text) + 1):
            if offset not in inside_crlf:
                assert source.to_lsp(offset, encoding) == lsp_text.position(text, offset, encoding)
        for line in range(len(spans) + 2):
            for character in range(12):
                assert source.from_lsp(line, character, encoding) \
                    == lsp_text.offset(text, line, character, encoding), (encoding, line, character)
        assert units(text, encoding) == sum(lsp_text.unit_len(ch, encoding) for ch in text)


def test_an_offset_inside_crlf_is_the_end_of_its_line():
    assert Source("ab\r\ncd").to_lsp(3) == (0, 2)


PROGRAM = 'in x: Int\r\ry = "\u2028" +\rout y\n'  # line 4 starts at `out` for every editor


def test_diagnostics_after_a_lone_carriage_return_are_on_the_editors_line():
    analysis = analyze_program(PROGRAM)
    (d,) = [d for d in analysis.diagnostics if d.code == "E020"]
    assert analysis.source.format_pos(d.span.start) == "4:1"
    assert analysis.source.line_text(3) == 'y = "\u2028" +'


def test_cst_check_reports_the_editors_line_and_column(tmp_path):
    path = tmp_path / "lone-cr.cst"
    path.write_bytes(PROGRAM.encode("utf-8"))
    proc = subprocess.run([sys.executable, "-m", "constellation.cli.main", "check", "--format",
                           "json", str(path)], capture_output=True, timeout=60)
    (d,) = json.loads(proc.stdout)["files"][0]["diagnostics"]
    assert (d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) == ("E020", 4, 1, 4, 4)


def test_a_lone_surrogate_is_one_code_point_everywhere():
    text = 'in s: String\nr = "\ud800" + s\n# \udc00\nout r\n'
    analysis = analyze_program(text)
    assert not [d for d in analysis.diagnostics if d.is_error]
    source = analysis.source
    at = text.index("\ud800")
    assert [source.to_lsp(at + 1, e) for e in lsp_text.ENCODINGS] == [(1, 8), (1, 6), (1, 6)]
    assert source.from_lsp(1, 6, "utf-16") == at + 1


def test_cst_check_counts_lines_of_a_file_that_is_not_utf8_as_the_editor_does(tmp_path):
    path = tmp_path / "latin1.cst"
    path.write_bytes(b"in x: Int\r\ry = \"caf\xe9\"\rout y\n")
    proc = subprocess.run([sys.executable, "-m", "constellation.cli.main", "check", str(path)],
                          capture_output=True, timeout=60)
    assert b"latin1.cst:3: the file is not UTF-8 text" in proc.stderr, proc.stderr
