"""Finding and opening the records database (run records and the persistent cache).

Where: CONSTELLATION_RUNS_DB, else `runs_db` of the nearest constellation.toml (default
`.constellation/runs.db` beside it), else `.constellation/runs.db` in the workspace root (the
nearest folder above holding `.git`, else the current folder).

Opening never raises for the database's own faults (corrupt, locked, read-only, a newer
schema): it raises `Unavailable`, whose text is one sentence for the user.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from constellation.compiler.project import RUNS_DB_DEFAULT, ProjectConfig
from constellation.runtime.records.schema import SchemaTooNew, migrate

ENV = "CONSTELLATION_RUNS_DB"
BUSY_ENV = "CONSTELLATION_RUNS_DB_BUSY_MS"
BUSY_TIMEOUT_MS = 10_000  # a concurrent writer holds the lock for one batch: milliseconds


def busy_timeout_ms() -> int:
    """How long to wait for another process's lock before giving up (CONSTELLATION_RUNS_DB_BUSY_MS)."""
    text = os.environ.get(BUSY_ENV, "").strip()
    return int(text) if text.isdigit() else BUSY_TIMEOUT_MS


class Unavailable(Exception):
    """The database cannot be used; str() says why, in one line."""


def locate(start: str | os.PathLike[str] | None) -> Path:
    """The records database for a pipeline file (or a folder: `cst runs`)."""
    given = os.environ.get(ENV, "").strip()
    if given:
        return Path(given).expanduser().resolve()
    here = Path(start).resolve() if start and start != "<stdin>" else Path.cwd()
    config = ProjectConfig.find(here)
    if config is not None and not config.errors:
        return config.runs_db_path.resolve()
    folder = here if here.is_dir() else here.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate / RUNS_DB_DEFAULT
    return Path.cwd() / RUNS_DB_DEFAULT


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """An open, migrated connection in WAL mode with a busy timeout; `Unavailable` if not."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise Unavailable(f"{path}: no run has been recorded here yet")
        busy = busy_timeout_ms()
        conn = sqlite3.connect(path, timeout=busy / 1000, isolation_level=None,
                               check_same_thread=False)
    except OSError as exc:
        raise Unavailable(f"{path}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise Unavailable(f"{path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except SchemaTooNew as exc:
        conn.close()
        raise Unavailable(f"{path}: {exc}") from None
    except sqlite3.DatabaseError as exc:  # not a database, locked, read-only, disk full
        conn.close()
        raise Unavailable(f"{path}: {reason(exc)}") from None
    return conn


_SHARED: dict[Path, tuple[sqlite3.Connection, threading.Lock]] = {}
_SHARED_LOCK = threading.Lock()


def shared(path: Path) -> tuple[sqlite3.Connection, threading.Lock]:
    """The process's connection to the database at `path` (opened once, as `connect`), with
    the lock its transactions take. Kept open: closing the last connection to a WAL database
    checkpoints it, which a run's record should not wait for (SQLite checkpoints as the log
    grows, and when the process ends)."""
    with _SHARED_LOCK:
        found = _SHARED.get(path)
        if found is None:
            found = _SHARED[path] = (connect(path), threading.Lock())
        return found


def forget(path: Path) -> None:
    """A fault on the shared connection: the next use opens it afresh."""
    with _SHARED_LOCK:
        found = _SHARED.pop(path, None)
    if found is not None:
        try:
            found[0].close()
        except sqlite3.Error:
            pass


def reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"the file is not a usable SQLite database ({text}); move it away to start afresh"
    if "locked" in text or "busy" in text:
        return f"the database stayed locked by another process ({text})"
    if "readonly" in text or "read-only" in text:
        return f"the database is read-only ({text})"
    return text
