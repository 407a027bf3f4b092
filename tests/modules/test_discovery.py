"""constellation.toml discovery, module loading and import-failure sentences."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from constellation.compiler import types as T
from constellation.compiler.project import find_config
from constellation.runtime.modules import (ModuleLoadError, load_config_registry, load_modules,
                                           load_registry)

GOOD = textwrap.dedent('''
    from dataclasses import dataclass
    from constellation.runtime import module

    @dataclass
    class Pair:
        left: str
        right: str

    @module
    def Swap(p: Pair) -> Pair:
        """Swaps the two sides."""
        return Pair(p.right, p.left)

    def helper(x: int) -> int:  # not decorated: not a module
        return x
''')


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "pkgs" / "mypack").mkdir(parents=True)
    (tmp_path / "pkgs" / "mypack" / "__init__.py").write_text("")
    (tmp_path / "pkgs" / "mypack" / f"tools_{tmp_path.name[-8:]}.py").write_text(
        "from constellation.runtime import module\n\n"
        "@module(namespace='tools')\ndef Double(x: int) -> int:\n    return 2 * x\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "pairs.py").write_text(GOOD)
    (tmp_path / "app" / "deep").mkdir(parents=True)
    (tmp_path / "app" / "deep" / "main.cst").write_text("in x: Int\nout x\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_find_config_looks_beside_then_above(project: Path):
    cst = project / "app" / "deep" / "main.cst"
    assert find_config(cst) is None
    (project / "constellation.toml").write_text('modules = ["lib/pairs.py"]\n')
    assert find_config(cst) == project / "constellation.toml"
    (project / "app" / "constellation.toml").write_text("modules = []\n")
    assert find_config(cst) == project / "app" / "constellation.toml"
    assert find_config(project / "app") == project / "app" / "constellation.toml"


def test_config_file_and_package_specs_are_loaded_relative_to_the_config(project: Path):
    tools = next((project / "pkgs" / "mypack").glob("tools_*.py")).stem
    (project / "pkgs" / "constellation.toml").write_text(
        f'modules = ["mypack.{tools}", "../lib/pairs.py"]\n')
    cst = project / "pkgs" / "x.cst"
    registry, errors = load_config_registry(cst)
    assert errors == []
    swap = registry.lookup("Swap")
    assert swap is not None and swap.doc == "Swaps the two sides."
    assert swap.source_file == str(project / "lib" / "pairs.py")
    assert registry.lookup("tools.Double").impl(21) == 42
    assert registry.lookup("helper") is None


def test_extra_modules_resolve_from_the_current_directory(project: Path):
    registry, errors = load_config_registry(project / "app" / "deep" / "main.cst",
                                            extra_modules=["lib/pairs.py"])
    assert errors == []
    assert registry.lookup("Swap").impl({"left": "a", "right": "b"}) == {"left": "b", "right": "a"}


def test_load_registry_raises_with_every_sentence(project: Path):
    registry = load_registry(["lib/pairs.py"], project)
    assert registry.lookup("Swap") is not None
    with pytest.raises(ModuleLoadError) as info:
        load_registry(["lib/nothing.py", "no_such_package_xyz"], project)
    assert info.value.errors == [
        f"{os.path.join('lib', 'nothing.py')}: module file not found",
        "no_such_package_xyz: cannot import: ModuleNotFoundError: No module named "
        "'no_such_package_xyz'",
    ]


def test_a_module_file_that_fails_to_import_is_one_sentence(project: Path):
    (project / "examples").mkdir()
    (project / "examples" / "broken.py").write_text("import os\n\nvalue = x + 1\n")
    functions, errors = load_modules(["examples/broken.py"], project)
    assert functions == []
    assert errors == ["examples/broken.py: cannot import: NameError: name 'x' is not defined "
                      "(line 3)"]


def test_syntax_errors_and_bad_signatures_are_sentences(project: Path):
    (project / "lib" / "syntax.py").write_text("def f(:\n")
    (project / "lib" / "badsig.py").write_text(
        "from constellation.runtime import module\n\n@module\ndef F(x: set[int]) -> int:\n"
        "    return 1\n")
    _, errors = load_modules(["lib/syntax.py", "lib/badsig.py"], project)
    assert errors[0].startswith("lib/syntax.py: cannot import: SyntaxError: ")
    assert errors[0].endswith("(line 1)")
    assert errors[1].startswith("lib/badsig.py: Cannot declare module 'F' (")
    assert "parameter 'x' has an unsupported type hint 'set[int]'" in errors[1]
    assert "Traceback" not in "".join(errors)


def test_a_name_two_modules_declare_is_an_error_not_a_silent_replacement(project: Path):
    for name, hint in (("one", "str"), ("two", "int")):
        (project / "lib" / f"{name}.py").write_text(
            "from constellation.runtime import module\n\n@module\n"
            f"def Dup(x: {hint}) -> {hint}:\n    return x\n")
    (project / "constellation.toml").write_text('modules = ["lib/one.py", "lib/two.py"]\n')
    registry, errors = load_config_registry(project / "app" / "main.cst", ["lib/one.py"])
    assert errors == [f"{os.path.join('lib', 'two.py')} (line 4): 'Dup' is already defined in "
                      f"{os.path.join('lib', 'one.py')} (line 4); rename one of them or give it "
                      "a namespace (@module(namespace=...))"]
    # the first stays; the same file given again (here by --modules) is no conflict
    assert registry.lookup("Dup").params[0][1] == T.STRING


@pytest.mark.parametrize("text, message", [
    ("modules = [", "constellation.toml: invalid TOML: "),
    ('modules = "lib/pairs.py"', "constellation.toml: 'modules' must be a list of strings"),
    ("modules = [1, 2]", "constellation.toml: 'modules' must be a list of strings"),
    ('module = ["lib/pairs.py"]', "constellation.toml: unknown key 'module' (did you mean "
                                  "'modules'?); the keys are modules, executor, dask_address"),
])
def test_bad_configs_are_sentences(project: Path, text: str, message: str):
    (project / "constellation.toml").write_text(text)
    registry, errors = load_config_registry(project / "app" / "deep" / "main.cst")
    assert len(errors) == 1 and errors[0].startswith(message)
    assert registry.lookup("Swap") is None


def test_an_edited_module_file_is_reloaded(project: Path):
    path = project / "lib" / "pairs.py"
    load_modules(["lib/pairs.py"], project)
    path.write_text(GOOD.replace("Swap", "Flip"))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    functions, _ = load_modules(["lib/pairs.py"], project)
    assert [f.name for f in functions] == ["Flip"]
