"""The project configuration (`constellation.compiler.project`): the one reader of
constellation.toml for the CLI, the server, the runtime and the Dask backend."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from constellation.compiler.project import KEYS, ProjectConfig, find_config


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "app" / "deep").mkdir(parents=True)
    (tmp_path / "app" / "deep" / "main.cst").write_text("in x: Int\nout x\n")
    monkeypatch.chdir(tmp_path)  # sentences name the file relative to here
    return tmp_path


def write(project: Path, text: str, where: str = "") -> Path:
    path = project / where / "constellation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_found_beside_or_above_the_file_the_nearest_first(project: Path):
    cst = project / "app" / "deep" / "main.cst"
    assert find_config(cst) is None and ProjectConfig.find(cst) is None
    assert find_config(None) is None
    top = write(project, 'modules = ["top.py"]\n')
    assert find_config(cst) == top
    assert ProjectConfig.find(cst).folder == project
    near = write(project, 'modules = ["near.py"]\n', "app/deep")
    assert find_config(cst) == near  # beside the file
    assert find_config(project / "app" / "deep") == near  # a folder is looked in itself
    assert find_config(project / "app") == top
    assert ProjectConfig.find(cst).modules == ("near.py",)
    # a file that does not exist yet (an unsaved buffer, `--stdin-filename`) is placed too
    assert find_config(project / "app" / "deep" / "unsaved.cst") == near


def test_a_folder_named_like_the_file_is_no_configuration(project: Path):
    (project / "app" / "constellation.toml").mkdir()
    assert find_config(project / "app" / "deep" / "main.cst") is None


def test_every_key_is_read_into_a_typed_frozen_value(project: Path):
    path = write(project, 'modules = ["lib/a.py", "pkg.mod"]\nexecutor = "dask"\n'
                          'dask_address = "tcp://10.0.0.1:8786"\ndask_colocate = ["F", "G"]\n')
    config = ProjectConfig.load(path)
    assert config == ProjectConfig(path, modules=("lib/a.py", "pkg.mod"), executor="dask",
                                   dask_address="tcp://10.0.0.1:8786", dask_colocate=("F", "G"))
    assert config.folder == project and config.errors == () == config.executor_errors
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.modules = ()  # type: ignore[misc]
    empty = ProjectConfig.load(write(project, ""))
    assert (empty.modules, empty.executor, empty.dask_address, empty.dask_colocate) == (
        (), None, None, ())


def test_an_unknown_key_is_a_sentence_with_did_you_mean_and_loads_no_module(project: Path):
    config = ProjectConfig.load(write(project, 'module = ["a.py"]\ndask_adress = "local"\n'
                                               'flavour = 1\n'))
    keys = ", ".join(KEYS)
    assert config.errors == (
        f"constellation.toml: unknown key 'module' (did you mean 'modules'?); the keys are {keys}",
        f"constellation.toml: unknown key 'dask_adress' (did you mean 'dask_address'?); the keys "
        f"are {keys}",
        f"constellation.toml: unknown key 'flavour'; the keys are {keys}",
    )
    assert config.modules == ()


def test_the_sentence_names_the_file_from_the_current_folder(project: Path, monkeypatch):
    path = write(project, "modulez = []\n", "app")
    monkeypatch.chdir(project / "app" / "deep")
    assert ProjectConfig.load(path).errors[0].startswith(
        f"{os.path.join('..', 'constellation.toml')}: unknown key 'modulez' (did you mean "
        "'modules'?)")


@pytest.mark.parametrize("text", ['modules = "lib/a.py"', "modules = [1, 2]",
                                  "modules = { a = 1 }", 'modules = ["a.py", ["b.py"]]'])
def test_modules_of_the_wrong_shape(project: Path, text: str):
    config = ProjectConfig.load(write(project, text + "\n"))
    assert config.errors == ("constellation.toml: 'modules' must be a list of strings, such as "
                             'modules = ["package.module", "relative/file.py"]',)
    assert config.modules == ()


def test_executor_settings_of_the_wrong_shape_are_the_runs_problem(project: Path):
    """`cst check` loads modules and must not fail on them; `cst run` reports them."""
    path = write(project, 'modules = ["a.py"]\nexecutor = 1\ndask_address = ["x"]\n'
                          'dask_colocate = "F"\n')
    config = ProjectConfig.load(path)
    assert config.errors == () and config.modules == ("a.py",)
    assert config.executor_errors == (
        f"{path}: 'executor' must be a string",
        f"{path}: 'dask_address' must be a string",
        f"{path}: 'dask_colocate' must be a list of function names",
    )
    assert (config.executor, config.dask_address, config.dask_colocate) == (None, None, ())


def test_a_toml_syntax_error_gives_its_line(project: Path):
    config = ProjectConfig.load(write(project, 'modules = [\n  "a.py",\n  b.py\n]\n'))
    assert len(config.errors) == 1
    assert config.errors[0].startswith("constellation.toml: invalid TOML: ")
    assert "line 3" in config.errors[0]
    assert config.modules == () and config.executor_errors == ()


def test_a_file_that_is_not_utf8_is_a_sentence(project: Path):
    path = project / "constellation.toml"
    path.write_bytes(b'modules = ["caf\xe9.py"]\n')
    (error,) = ProjectConfig.load(path).errors
    assert error.startswith("constellation.toml: cannot read the file: ")
    assert "Traceback" not in error
