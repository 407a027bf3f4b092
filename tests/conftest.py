"""Every test starts with no run records and an empty persistent cache, as a fresh checkout
would: `cst run` records into, and caches in, a database of the test's own (a test that needs
another sets CONSTELLATION_RUNS_DB itself)."""

from __future__ import annotations

import itertools

import pytest

_SERIAL = itertools.count()


@pytest.fixture(scope="session")
def _records_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("records")


@pytest.fixture(autouse=True)
def _own_runs_db(_records_folder, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_RUNS_DB", str(_records_folder / f"runs-{next(_SERIAL)}.db"))


def pytest_collection_modifyitems(items):
    """`./dev test` runs on several workers (pytest-xdist, --dist loadgroup): a file's tests
    stay on one worker, in order, sharing their module fixtures (LSP servers, a browser), and
    tests/dask shares one worker and so one LocalCluster."""
    for item in items:
        folder = item.path.parent.name
        item.add_marker(pytest.mark.xdist_group("dask" if folder == "dask" else item.nodeid.split("::")[0]))
