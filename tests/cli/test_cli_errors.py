"""User mistakes are sentences with exit status 2, never tracebacks (the conftest asserts that)."""

from __future__ import annotations

from pathlib import Path


def test_help_lists_the_subcommands(cst):
    result = cst("--help")
    assert result.code == 0
    for name in ("check", "layers", "graph", "modules", "fmt", "lsp"):
        assert name in result.out


def test_no_command_prints_usage_with_status_2(cst):
    result = cst()
    assert result.code == 2 and "usage: cst" in result.err


def test_missing_file(cst, tmp_path: Path):
    for command in (["check"], ["layers"], ["graph"], ["fmt", "--check"]):
        result = cst(*command, "missing.cst", cwd=tmp_path)
        assert result.code == 2, (command, result)
        assert result.err.strip() == "missing.cst: no such file"
        assert result.out == ""


def test_directory_and_non_utf8_files(cst, tmp_path: Path, write):
    (tmp_path / "folder.cst").mkdir()
    assert cst("check", "folder.cst", cwd=tmp_path).err.strip() == \
        "folder.cst: no .cst files in this folder"
    assert cst("run", "folder.cst", cwd=tmp_path).err.strip() == \
        "folder.cst: is a directory, not a .cst file"
    (tmp_path / "latin1.cst").write_bytes(b"in x: String\n# caf\xe9\nout x\n")
    result = cst("check", "latin1.cst", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == ("latin1.cst:2: the file is not UTF-8 text "
                                  "(invalid byte 0xe9 at byte offset 18)")


def test_a_file_that_cannot_be_read_does_not_hide_the_others(cst, write, tmp_path: Path):
    """Every other file is still checked (or formatted) and reported; exit status 2."""
    write("bad.cst", "in x: Int\ny = Foo(x)\nout y\n")
    (tmp_path / "bin.cst").write_bytes(b"\xff\xfe\x00binary")
    result = cst("check", "bad.cst", "gone.cst", "bin.cst", cwd=tmp_path)
    assert result.code == 2
    assert "bad.cst:2:5: error E002: Undefined function 'Foo'" in result.out
    assert "gone.cst: no such file" in result.err and "bin.cst:1: the file is not UTF-8" in result.err
    assert "2 files could not be checked." in result.err
    files = cst("check", "bad.cst", "gone.cst", "--format", "json", cwd=tmp_path).json()["files"]
    assert [(f["path"], len(f["diagnostics"]), f.get("error")) for f in files] == [
        ("bad.cst", 1, None), ("gone.cst", 0, "gone.cst: no such file")]
    write("ugly.cst", "in  x:Int\nout x\n")
    write("broken.cst", "x = (\nout x\n")
    result = cst("fmt", "ugly.cst", "broken.cst", cwd=tmp_path)
    assert result.code == 2 and "reformatted ugly.cst" in result.out
    assert "broken.cst: not formatted" in result.err
    assert (tmp_path / "ugly.cst").read_text() == "in x: Int\nout x\n"


def test_broken_module_file_names_file_and_exception(cst, write, tmp_path: Path):
    write("mods/broken.py", "import os\n\nvalue = x + 1\n")
    write("p.cst", "in x: Int\nout x\n")
    result = cst("check", "p.cst", "--modules", "mods/broken.py", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == ("mods/broken.py: cannot import: NameError: name 'x' is not "
                                  "defined (line 3)")


def test_bad_constellation_toml(cst, write, tmp_path: Path):
    write("constellation.toml", "modules = ['nope.py'\n")
    write("app/p.cst", "in x: Int\nout x\n")
    result = cst("check", "app/p.cst", cwd=tmp_path)
    assert result.code == 2 and result.err.startswith("constellation.toml: invalid TOML: ")
    write("constellation.toml", "modules = ['nope.py']\n")
    result = cst("modules", "app", cwd=tmp_path)
    assert result.code == 2 and result.err.strip() == "nope.py: module file not found"


def test_modules_json_lists_what_loaded_and_the_errors(cst, write, tmp_path: Path):
    write("good.py", "from constellation.runtime import module\n\n@module\n"
                     "def Good(x: int) -> int:\n    return x\n")
    write("bad.py", "raise RuntimeError('boom')\n")
    result = cst("modules", "--json", "--modules", "good.py", "--modules", "bad.py",
                 cwd=tmp_path)
    assert result.code == 2
    data = result.json()
    assert "Good" in {f["qualified"] for f in data["functions"]}
    assert data["errors"] == ["bad.py: cannot import: RuntimeError: boom (line 1)"]
    assert result.err.strip() == data["errors"][0]


def test_bad_module_signature(cst, write, tmp_path: Path):
    write("m.py", "from constellation.runtime import module\n\n@module\n"
                  "def Bad(x: set[int]) -> int:\n    return 1\n")
    result = cst("modules", "--modules", "m.py", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("m.py: Cannot declare module 'Bad' (")
    assert "parameter 'x' has an unsupported type hint 'set[int]'" in result.err


def test_lsp_address_must_be_host_and_port(cst):
    result = cst("lsp", "--tcp", "localhost")
    assert result.code == 2
    assert result.err.strip() == "--tcp localhost: expected HOST:PORT, such as 127.0.0.1:2087"
    assert cst("lsp", "--tcp", "a:1", "--ws", "b:2").code == 2  # one transport at a time


def test_modules_of_a_missing_path(cst, tmp_path: Path):
    result = cst("modules", "nowhere", cwd=tmp_path)
    assert result.code == 2 and result.err.strip() == "nowhere: no such file or folder"
