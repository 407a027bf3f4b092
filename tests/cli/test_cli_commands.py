"""check, layers, graph, modules and fmt on small files and on examples/."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import DEMO, EXAMPLES

TYPO = "in text: String\nshout = Uppercas(text)\nout shout\n"
WARN = "in text: String\nshout = Uppercase(text) with delay: 1s\nout shout\n"


def test_check_text_renders_position_message_line_and_caret(cst, write, tmp_path: Path):
    write("typo.cst", TYPO)
    result = cst("check", "typo.cst", "--modules", DEMO, cwd=tmp_path)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == ("typo.cst:2:9: error E002: Undefined function 'Uppercas'. "
                        "Did you mean 'Uppercase'?")
    assert lines[1] == "  shout = Uppercas(text)"
    assert lines[2] == "          ^^^^^^^^"
    assert lines[-1] == "1 error, 0 warnings in 1 file."


def test_check_json_and_exit_codes(cst, write, tmp_path: Path):
    write("typo.cst", TYPO)
    write("warn.cst", WARN)
    write("ok.cst", "in x: Int\ny = x + 1\nout y\n")
    result = cst("check", "--format", "json", "ok.cst", "warn.cst", "typo.cst",
                 "--modules", DEMO, cwd=tmp_path)
    assert result.code == 1
    files = result.json()["files"]
    assert [f["path"] for f in files] == ["ok.cst", "warn.cst", "typo.cst"]
    assert files[0]["diagnostics"] == []
    (warning,) = files[1]["diagnostics"]
    assert {k: warning[k] for k in ("code", "severity", "line", "column", "end_line",
                                    "end_column")} == {
        "code": "W001", "severity": "warning", "line": 2, "column": 30, "end_line": 2,
        "end_column": 35}
    assert warning["message"] == "'delay' has no effect without 'retry'"
    (error,) = files[2]["diagnostics"]
    assert (error["code"], error["severity"], error["line"], error["column"],
            error["end_line"], error["end_column"]) == ("E002", "error", 2, 9, 2, 17)
    # warnings alone do not fail; no problems at all says so
    assert cst("check", "warn.cst", "--modules", DEMO, cwd=tmp_path).code == 0
    clean = cst("check", "ok.cst", cwd=tmp_path)
    assert clean.code == 0 and clean.out.strip() == "1 file checked: no problems."


def test_check_finds_constellation_toml(cst):
    result = cst("check", "--format", "json", *sorted(EXAMPLES.glob("*.cst")))
    assert result.code == 0, result
    assert all(f["diagnostics"] == [] for f in result.json()["files"]), result.out


def test_layers_json_of_the_profile_example(cst):
    result = cst("layers", EXAMPLES / "profile.cst", "--json")
    assert result.code == 0, result
    layers = result.json()["layers"]
    assert [entry["layer"] for entry in layers] == [0, 1, 2]
    assert layers[0]["nodes"] == [{"name": "userId", "kind": "input", "module": None,
                                   "line": 4}]
    assert sorted((n["name"], n["kind"], n["module"], n["line"])
                  for n in layers[1]["nodes"]) == [
        ("orders", "module", "GetOrders", 7), ("preferences", "module", "GetPreferences", 8),
        ("user", "module", "GetUser", 6)]
    assert layers[2]["nodes"] == [{"name": "profile", "kind": "module",
                                   "module": "BuildProfile", "line": 9}]


def test_layers_table_says_what_runs_in_parallel(cst):
    result = cst("layers", EXAMPLES / "profile.cst")
    assert result.code == 0, result
    assert re.search(r"3 calls run in parallel: (user|orders|preferences)", result.out)
    for name in ("GetUser", "GetOrders", "GetPreferences", "BuildProfile", "userId"):
        assert name in result.out


def test_layers_refuses_a_pipeline_with_errors(cst, write, tmp_path: Path):
    write("typo.cst", TYPO)
    result = cst("layers", "typo.cst", "--modules", DEMO, cwd=tmp_path)
    assert result.code == 2
    assert "typo.cst:2:9: error E002" in result.err
    assert "typo.cst: the pipeline has 1 error; fix it first" in result.err


def test_graph_dot_ranks_nodes_by_layer(cst):
    result = cst("graph", EXAMPLES / "profile.cst")
    assert result.code == 0, result
    dot = result.out
    assert dot.startswith("digraph pipeline {") and dot.rstrip().endswith("}")
    blocks = re.findall(r"subgraph layer_(\d+) \{(.*?)\n  \}", dot, re.S)
    names = {int(k): body for k, body in blocks}
    assert "userId" in names[0]
    assert all(f in names[1] for f in ("GetUser", "GetOrders", "GetPreferences"))
    assert "BuildProfile" in names[2] and "rank=same" in names[2]
    ids = dict(re.findall(r'(n\d+) \[shape=\w+, label="(\w+)', dot))
    by_name = {v: k for k, v in ids.items()}
    for fetch in ("user", "orders", "preferences"):
        assert f"{by_name['userId']} -> {by_name[fetch]};" in dot
        assert f"{by_name[fetch]} -> {by_name['profile']};" in dot


def test_graph_mermaid(cst):
    result = cst("graph", EXAMPLES / "profile.cst", "--format", "mermaid")
    assert result.code == 0, result
    text = result.out
    assert text.startswith("flowchart TD")
    assert 'subgraph layer1["layer 1"]' in text and 'subgraph layer2["layer 2"]' in text
    assert re.search(r'n\d+\["profile<br/>BuildProfile"\]', text)
    assert len(re.findall(r"n\d+ --> n\d+", text)) == 6  # 3 input reads + 3 fetches read


def test_modules_json_lists_stdlib_and_the_pack(cst):
    result = cst("modules", "--json", EXAMPLES)
    assert result.code == 0, result
    functions = {f["qualified"]: f for f in result.json()["functions"]}
    assert functions["Uppercase"]["signature"] == "Uppercase(text: String) -> String"
    assert functions["Uppercase"]["source_file"] == str(DEMO)
    assert functions["stdlib.math.add"]["params"][0] == {
        "name": "a", "type": {"kind": "prim", "name": "Int"}}
    assert functions["GetUser"]["result"]["kind"] == "record"
    # from elsewhere, with --modules instead of a constellation.toml
    plain = cst("modules", "--json", "/")
    assert "Uppercase" not in {f["qualified"] for f in plain.json()["functions"]}
    extra = cst("modules", "--json", "--modules", DEMO, "/")
    assert "GetOrders" in {f["qualified"] for f in extra.json()["functions"]}


def test_modules_table(cst):
    result = cst("modules", EXAMPLES)
    assert result.code == 0
    assert "functions visible from" in result.out
    assert "BuildProfile(user: { id: String" in result.out


def test_fmt_check_rewrite_and_syntax_errors(cst, write, tmp_path: Path):
    from constellation.compiler.formatter import format_source

    messy = "in   x:Int\ny=x+1\n\n\n\nout    y"
    canonical = format_source(messy)
    assert canonical != messy
    write("messy.cst", messy)
    write("tidy.cst", canonical)
    result = cst("fmt", "--check", "messy.cst", "tidy.cst", cwd=tmp_path)
    assert result.code == 1
    assert result.out.splitlines()[0] == "would reformat messy.cst"
    assert (tmp_path / "messy.cst").read_text() == messy  # --check changes nothing
    assert cst("fmt", "--check", "tidy.cst", cwd=tmp_path).code == 0
    rewrite = cst("fmt", "messy.cst", cwd=tmp_path)
    assert rewrite.code == 0 and "reformatted messy.cst" in rewrite.out
    assert (tmp_path / "messy.cst").read_text() == canonical
    write("broken.cst", "in x: Int\ny = (x + \nout y\n")
    refused = cst("fmt", "broken.cst", "messy.cst", cwd=tmp_path)
    assert refused.code == 2
    assert "broken.cst:" in refused.err and "error E020" in refused.err
    assert "broken.cst: not formatted: the file has 1 syntax error" in refused.err


def test_graph_of_unnamed_calls_inline_nodes_and_constants(cst, write, tmp_path: Path):
    write("g.cst", 'in name: String\nsuffix = "é!"\n'
                   'greeting = "héllo ${Uppercase(name)}${suffix}"\nout greeting\n')
    dot = cst("graph", "g.cst", "--modules", DEMO, cwd=tmp_path)
    assert dot.code == 0, dot
    assert '[shape=box, label="Uppercase@3"]' in dot.out
    assert 'label="greeting\\ninline"' in dot.out and 'label="suffix\\nconstant"' in dot.out
    assert "peripheries=2" in dot.out  # the output is marked
    mermaid = cst("graph", "g.cst", "--format", "mermaid", "--modules", DEMO, cwd=tmp_path)
    assert re.search(r'n\d+\("greeting<br/>inline"\)', mermaid.out)
    layers = cst("layers", "g.cst", "--json", "--modules", DEMO, cwd=tmp_path).json()["layers"]
    kinds = {n["name"]: (layer["layer"], n["kind"]) for layer in layers for n in layer["nodes"]}
    assert kinds == {"name": (0, "input"), "suffix": (0, "constant"),
                     "Uppercase@3": (1, "module"), "greeting": (1, "inline")}


def test_the_examples_are_formatted(cst):
    result = cst("fmt", "--check", *sorted(EXAMPLES.glob("*.cst")))
    assert result.code == 0, result


def test_a_byte_order_mark_is_not_part_of_the_text(cst, tmp_path: Path):
    """Windows editors save UTF-8 with a byte order mark: check reads past it (columns as the
    editor shows them) and fmt keeps it."""
    (tmp_path / "bom.cst").write_bytes(b"\xef\xbb\xbfin x:Int\ny = missing\nout y\n")
    check = cst("check", "--format", "json", "bom.cst", cwd=tmp_path)
    assert [(d["code"], d["line"], d["column"]) for d in check.json()["files"][0]["diagnostics"]] \
        == [("E001", 2, 5)]
    (tmp_path / "ok.cst").write_bytes(b"\xef\xbb\xbfin   x:Int\nout x\n")
    assert cst("fmt", "ok.cst", cwd=tmp_path).code == 0
    assert (tmp_path / "ok.cst").read_bytes() == b"\xef\xbb\xbfin x: Int\nout x\n"


def test_check_and_fmt_take_folders(cst, write, tmp_path: Path):
    """A folder stands for the .cst files below it (sorted), skipping hidden folders and
    node_modules; a folder without any is a user error."""
    write("a.cst", "in x: Int\nout x\n")
    (tmp_path / "sub").mkdir()
    write("sub/b.cst", "in x: Int\ny = missing\nout y\n")
    for skipped in (".git", "node_modules"):
        (tmp_path / skipped).mkdir()
        write(f"{skipped}/c.cst", "broken (\n")
    result = cst("check", "--format", "json", ".", cwd=tmp_path)
    assert result.code == 1
    assert [f["path"] for f in result.json()["files"]] == ["a.cst", "sub/b.cst"]
    assert cst("fmt", "--check", ".", cwd=tmp_path).code == 0
    (tmp_path / "empty").mkdir()
    empty = cst("check", "empty", cwd=tmp_path)
    assert empty.code == 2 and "empty: no .cst files in this folder" in empty.err


def test_standard_input_as_a_file(cst, write, tmp_path: Path):
    """'-' reads the pipeline from standard input (as editors' lint and format-on-save tools
    pipe the buffer); --stdin-filename names it and finds its constellation.toml."""
    checked = cst("check", "-", "--modules", DEMO, cwd=tmp_path, stdin=TYPO)
    assert checked.code == 1
    assert checked.out.startswith("<stdin>:2:9: error E002: Undefined function 'Uppercas'.")
    (tmp_path / "project").mkdir()
    write("project/constellation.toml", f'modules = ["{DEMO.as_posix()}"]\n')
    named = cst("check", "-", "--format", "json", "--stdin-filename", "project/p.cst",
                cwd=tmp_path, stdin=TYPO.replace("Uppercas(", "Uppercase("))
    assert named.code == 0, named  # Uppercase comes from the project's configuration
    assert named.json()["files"] == [{"path": "project/p.cst", "diagnostics": []}]
    unconfigured = cst("check", "-", cwd=tmp_path, stdin=TYPO.replace("Uppercas(", "Uppercase("))
    assert unconfigured.code == 1 and "Undefined function 'Uppercase'" in unconfigured.out

    pipeline = "in x: Int\ny = x + 1\nz = add(x, 2)\nout y\nout z\n"
    layers = cst("layers", "-", "--json", cwd=tmp_path, stdin=pipeline)
    assert [[n["name"] for n in layer["nodes"]] for layer in layers.json()["layers"]] \
        == [["x", "y"], ["z"]]  # y is inline (layer 0), z a call
    assert "flowchart TD" in cst("graph", "-", "--format", "mermaid", cwd=tmp_path,
                                 stdin=pipeline).out
    ran = cst("run", "-", "--json", "--input", "x=4", cwd=tmp_path, stdin=pipeline)
    assert ran.code == 0 and ran.json()["outputs"] == {"y": 5, "z": 6}


def test_fmt_formats_standard_input_to_standard_output(cst, tmp_path: Path):
    from constellation.compiler.formatter import format_source

    messy = "in   x:Int\ny=x+1\nout    y"
    formatted = cst("fmt", "-", cwd=tmp_path, stdin=messy)
    assert formatted.code == 0 and formatted.out == format_source(messy)
    assert cst("fmt", "--check", "-", cwd=tmp_path, stdin=messy).code == 1
    assert cst("fmt", "--check", "-", cwd=tmp_path, stdin=formatted.out).code == 0
    # a buffer with a syntax error is left alone: nothing on stdout, the error on stderr
    broken = cst("fmt", "-", "--stdin-filename", "b.cst", cwd=tmp_path, stdin="y = (1 +\nout y\n")
    assert broken.code == 2 and broken.out == ""
    assert "b.cst:2:1: error E020" in broken.err
    twice = cst("check", "-", "-", cwd=tmp_path, stdin=messy)
    assert twice.code == 2 and "can be given only once" in twice.err


def test_colours_on_request_and_never_with_no_color(cst, write, tmp_path: Path):
    """Plain text in a pipe (as every other test here reads it); FORCE_COLOR asks for ANSI
    colours, NO_COLOR refuses them (a terminal gets them by default)."""
    write("typo.cst", TYPO)
    coloured = cst("check", "typo.cst", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\x1b[1;31merror\x1b[0m" in coloured.out and "\x1b[1;31m^^^^^^^^\x1b[0m" in coloured.out
    plain = cst("check", "typo.cst", cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in plain.out and "error E002" in plain.out


def test_check_github_annotations(cst, write, tmp_path: Path):
    """`--format github`: one workflow command per diagnostic, positions 1-based like the
    text report, exit status as always."""
    write("typo.cst", TYPO)
    write("warn.cst", WARN)
    result = cst("check", "--format", "github", "typo.cst", "warn.cst", "--modules", DEMO,
                 cwd=tmp_path)
    assert result.code == 1
    assert result.out.splitlines() == [
        "::error file=typo.cst,line=2,col=9,endLine=2,endColumn=17,title=E002::"
        "Undefined function 'Uppercas'. Did you mean 'Uppercase'?",
        "::warning file=warn.cst,line=2,col=30,endLine=2,endColumn=35,title=W001::"
        "'delay' has no effect without 'retry'",
    ]


def test_github_annotations_escape_what_the_format_reserves():
    from constellation.cli.check import _escape

    assert _escape("50% done\nnext", False) == "50%25 done%0Anext"
    assert _escape("a:b,c", True) == "a%3Ab%2Cc" and _escape("a:b,c", False) == "a:b,c"


def test_the_pre_commit_hooks_name_real_commands(cst):
    hooks = (EXAMPLES.parent / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^  entry: (.+)$", hooks, re.M)
    assert entries == ["cst check", "cst fmt"]
    for entry in entries:
        assert cst(*entry.split()[1:], "--help").code == 0
    assert hooks.count(r"files: \.cst$") == len(entries)


def test_fmt_diff_shows_what_would_change_and_changes_nothing(cst, write, tmp_path: Path):
    from constellation.compiler.formatter import format_source

    messy = "in   x:Int\ny=x+1\nout y\n"
    write("messy.cst", messy)
    write("tidy.cst", format_source(messy))
    result = cst("fmt", "--diff", "messy.cst", "tidy.cst", cwd=tmp_path)
    assert result.code == 1
    assert result.out.splitlines() == [
        "--- messy.cst", "+++ messy.cst", "@@ -1,3 +1,3 @@",
        "-in   x:Int", "-y=x+1", "+in x: Int", "+y = x + 1", " out y"]
    assert "1 file would be reformatted, 1 already formatted." in result.err
    assert (tmp_path / "messy.cst").read_text() == messy
    assert cst("fmt", "--diff", "tidy.cst", cwd=tmp_path).code == 0
    piped = cst("fmt", "--diff", "-", cwd=tmp_path, stdin=messy)
    assert piped.code == 1 and piped.out.startswith("--- <stdin>\n+++ <stdin>\n")


def test_graph_html_and_report_name_a_path_they_cannot_write(cst, tmp_path):
    """`cst graph --format html -o` and `cst run --report` into a missing folder: a sentence."""
    target = tmp_path / "missing" / "graph.html"
    result = cst("graph", "profile.cst", "--format", "html", "-o", target, cwd=EXAMPLES)
    assert result.code == 2 and f"Cannot write {target}" in result.err, result
    result = cst("run", "profile.cst", "--examples", "--report", target, cwd=EXAMPLES)
    assert result.code == 0 and f"Cannot write {target}" in result.err, result
    ok = cst("graph", "profile.cst", "--format", "html", "-o", tmp_path / "g.html", cwd=EXAMPLES)
    assert ok.code == 0 and (tmp_path / "g.html").read_text().startswith("<!DOCTYPE html>")
