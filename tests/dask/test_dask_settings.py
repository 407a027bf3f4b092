"""Choosing the executor (flag, environment, constellation.toml, API) and how modules reach
workers, without a cluster."""

from __future__ import annotations

import os

import pytest

from dask_helpers import PROBE_MODULES


def test_executor_defaults_and_local_address():
    from constellation.runtime.dask_backend import check_executor

    assert check_executor(None, None) == ("local", None)
    assert check_executor("dask", None) == ("dask", "local")
    assert check_executor("dask", "tcp://10.1.2.3:8786") == ("dask", "tcp://10.1.2.3:8786")
    assert check_executor("dask", "scheduler.internal:8786")[1] == "scheduler.internal:8786"


@pytest.mark.parametrize("executor, address, message", [
    ("ray", None, "Unknown executor 'ray' (use local or dask)"),
    ("dask", "somewhere", "Dask address 'somewhere' is not tcp://host:port or 'local'"),
])
def test_bad_settings_are_sentences(executor, address, message):
    from constellation.runtime.config import RunConfig

    with pytest.raises(ValueError) as caught:
        RunConfig.resolve(executor=executor, dask_address=address)
    assert str(caught.value) == message


def test_environment_selects_the_executor(monkeypatch):
    from constellation.runtime.config import RunConfig

    monkeypatch.setenv("CONSTELLATION_EXECUTOR", "dask")
    monkeypatch.setenv("CONSTELLATION_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    config = RunConfig.resolve()
    assert (config.executor, config.dask_address) == ("dask", "tcp://127.0.0.1:8786")
    assert RunConfig.resolve(executor="local").executor == "local"  # explicit wins


@pytest.fixture
def project(tmp_path):
    (tmp_path / "constellation.toml").write_text(
        'modules = []\nexecutor = "dask"\ndask_address = "tcp://10.0.0.1:8786"\n'
        'dask_colocate = ["FlakyService"]\n')
    (tmp_path / "p.cst").write_text('x = "a"\nout x\n')
    return tmp_path / "p.cst"


def test_constellation_toml_keys(project):
    from constellation.runtime.dask_backend import cli_settings

    assert cli_settings(str(project), None, None, None) == {
        "executor": "dask", "dask_address": "tcp://10.0.0.1:8786",
        "dask_colocate": ("FlakyService",)}


def test_flag_then_environment_then_toml(project, monkeypatch):
    from constellation.runtime.dask_backend import cli_settings

    flags = cli_settings(str(project), "local", "local", ["A"])
    assert flags == {"executor": "local", "dask_address": "local", "dask_colocate": ("A",)}
    monkeypatch.setenv("CONSTELLATION_EXECUTOR", "local")
    monkeypatch.setenv("CONSTELLATION_DASK_ADDRESS", "tcp://h:1")
    # left None so that RunConfig.resolve reads the environment
    assert cli_settings(str(project), None, None, None)["executor"] is None
    assert cli_settings(str(project), None, None, None)["dask_address"] is None


def test_toml_values_of_the_wrong_shape(tmp_path):
    from constellation.runtime.dask_backend import cli_settings

    (tmp_path / "constellation.toml").write_text('dask_colocate = "FlakyService"\n')
    with pytest.raises(ValueError, match="'dask_colocate' must be a list of function names"):
        cli_settings(str(tmp_path / "p.cst"), None, None, None)


def test_cli_rejects_a_bad_address_with_a_sentence(project, capsys):
    from constellation.cli.main import main

    assert main(["run", str(project), "--executor", "dask", "--dask-address", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert "Dask address 'nowhere' is not tcp://host:port or 'local'" in err
    assert "Traceback" not in err


def test_cli_help_lists_the_executor_options(capsys):
    from constellation.cli.main import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for option in ("--executor {local,dask}", "--dask-address", "--dask-colocate"):
        assert option in out


# -- how modules reach workers ------------------------------------------------------------------
def test_module_file_source_and_import_and_by_value(registry):
    from constellation.compiler import types as T
    from constellation.compiler.registry import Function
    from constellation.runtime.dask_backend import module_source

    file_source = module_source(registry.lookup("ProcessId"))
    assert file_source.kind == "file" and file_source.shown.endswith("probe.py")
    assert file_source.text == PROBE_MODULES
    lookup = Function("Lookup", None, (("x", T.STRING),), T.STRING, impl=os.path.basename)
    assert module_source(lookup).kind == "import"  # posixpath: installed on every worker

    def main_fn(x):
        return x
    main_fn.__module__ = "__main__"
    assert module_source(Function("M", None, (("x", T.STRING),), T.STRING, impl=main_fn)) \
        is None  # pickled by value


def test_a_worker_without_the_file_imports_the_shipped_text(tmp_path, registry):
    pytest.importorskip("distributed")
    from constellation.runtime.dask_backend import module_source
    from constellation.runtime.dask_worker import ModuleSource, load_worker_modules

    source = module_source(registry.lookup("ProcessId"))
    elsewhere = ModuleSource(source.key, "file", source.shown, "/nonexistent/probe.py",
                             source.text)
    loaded = load_worker_modules("t1", [elsewhere], str(tmp_path), "tcp://w:1")
    assert loaded.errors == {}
    assert loaded.functions["ProcessId"]("x") == os.getpid()
    shipped = tmp_path / "constellation-modules" / "t1" / source.key / "probe.py"
    assert shipped.read_text() == source.text
    for name in loaded.sys_names:
        import sys
        sys.modules.pop(name, None)


def test_an_unimportable_module_is_one_sentence(tmp_path):
    pytest.importorskip("distributed")
    from constellation.runtime.dask_worker import ModuleSource, load_worker_modules

    broken = ModuleSource("_cst_module_x_broken", "file", "modules/broken.py",
                          str(tmp_path / "broken.py"), "import definitely_not_installed\n")
    missing = ModuleSource("acme.models", "import", "acme.models")
    loaded = load_worker_modules("t2", [broken, missing], str(tmp_path), "tcp://w:1")
    assert loaded.errors == {
        "_cst_module_x_broken": "Module modules/broken.py cannot be imported on Dask worker "
                                "tcp://w:1: ModuleNotFoundError: No module named "
                                "'definitely_not_installed'",
        "acme.models": "Module acme.models cannot be imported on Dask worker tcp://w:1: "
                       "ModuleNotFoundError: No module named 'acme'"}
