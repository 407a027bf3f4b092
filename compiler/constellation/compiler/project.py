"""The project configuration: finding and reading `constellation.toml`.

The one reader of the file for every package: the CLI and the runtime load modules from it,
the Dask backend reads its executor settings, and the server finds it to scope a document's
modules and runs. It lives in the compiler because it is pure data (the standard library's
tomllib), importable by all of them.

Problems are sentences, never exceptions: those that stop the modules loading (`errors`) are
reported wherever modules are loaded (`cst check`, `cst run`, the editor's signatures); the
executor settings' own (`executor_errors`) only when a run chooses its executor.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONFIG_NAME", "KEYS", "ProjectConfig", "find_config"]

CONFIG_NAME = "constellation.toml"
RUNS_DB_DEFAULT = ".constellation/runs.db"
# every key constellation.toml may hold
KEYS = ("modules", "executor", "dask_address", "dask_colocate", "runs_db")


def find_config(start: str | os.PathLike[str] | None) -> Path | None:
    """The `constellation.toml` beside or above `start` (a file or a folder), or None."""
    if start is None:
        return None
    try:
        here = Path(start).resolve()
        if not here.is_dir():
            here = here.parent
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return folder / CONFIG_NAME
    except OSError:  # an unreadable folder on the way up: no configuration
        return None
    return None


@dataclass(frozen=True)
class ProjectConfig:
    """One `constellation.toml`, read and checked."""

    path: Path
    modules: tuple[str, ...] = ()  # module specs; empty when `errors` is not
    executor: str | None = None
    dask_address: str | None = None
    dask_colocate: tuple[str, ...] = ()
    # where run records and the persistent cache live (relative to the file's folder); None:
    # the default, .constellation/runs.db beside the file
    runs_db: str | None = None
    # the file is unreadable, not TOML (with its line), has an unknown key, or `modules` has
    # the wrong shape: no module of it is loaded
    errors: tuple[str, ...] = ()
    # an executor setting of the wrong shape (reported by the run that reads it)
    executor_errors: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        """Where the file is: module specs and runs start from here."""
        return self.path.parent

    @property
    def runs_db_path(self) -> Path:
        """The run records' database: `runs_db` (relative to this file's folder), else
        `.constellation/runs.db` beside the file."""
        return self.folder / (self.runs_db or RUNS_DB_DEFAULT)

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None) -> ProjectConfig | None:
        """The configuration beside or above `start`, read; None when there is none."""
        path = find_config(start)
        return None if path is None else cls.load(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProjectConfig:
        """The configuration in the file `path` (its problems as sentences, not raised)."""
        path = Path(path)
        shown = _display(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            return cls(path, errors=(f"{shown}: cannot read the file: {exc}",))
        except tomllib.TOMLDecodeError as exc:  # its message ends with the line and column
            return cls(path, errors=(f"{shown}: invalid TOML: {exc}",))
        settings, executor_errors = _executor_settings(path, data)
        unknown = [key for key in data if key not in KEYS]
        if unknown:  # a misspelt `modules` would load nothing, and say nothing
            from constellation.compiler.suggest import closest_word

            errors = []
            for key in unknown:
                close = closest_word(key, KEYS)
                hint = f" (did you mean '{close}'?)" if close else ""
                errors.append(f"{shown}: unknown key '{key}'{hint}; the keys are "
                              + ", ".join(KEYS))
            return cls(path, errors=tuple(errors), executor_errors=executor_errors, **settings)
        specs = data.get("modules", [])
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            return cls(path, errors=(f"{shown}: 'modules' must be a list of strings, such as "
                                     f"modules = [\"package.module\", \"relative/file.py\"]",),
                       executor_errors=executor_errors, **settings)
        return cls(path, modules=tuple(specs), executor_errors=executor_errors, **settings)


def _executor_settings(path: Path, data: dict) -> tuple[dict, tuple[str, ...]]:
    """The well-shaped executor settings of `data`, and a sentence for each ill-shaped one."""
    found: dict = {}
    errors = []
    for key in ("executor", "dask_address", "runs_db"):
        if key in data:
            if isinstance(data[key], str):
                found[key] = data[key]
            else:
                errors.append(f"{path}: '{key}' must be a string")
    if "dask_colocate" in data:
        names = data["dask_colocate"]
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            found["dask_colocate"] = tuple(names)
        else:
            errors.append(f"{path}: 'dask_colocate' must be a list of function names")
    return found, tuple(errors)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
