"""How a run is set up (issue 3 items 4, 6): schedule, serial, seed, bounded concurrency and
the executor, from explicit arguments first and the environment second."""

from __future__ import annotations

import os
from dataclasses import dataclass

from constellation.runtime.dask_backend import check_executor  # (it imports no Dask itself)


# -- configuration ----------------------------------------------------------------------------
def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int | None = None) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a whole number") from None


def time_scale() -> float:
    """CONSTELLATION_TIME_SCALE (default 1.0) shrinks simulated sleeps in the examples pack; the
    runtime scales option durations (timeout, delay, throttle window) by the same factor so
    that scaled runs keep their meaning."""
    try:
        return max(0.0, float(os.environ.get("CONSTELLATION_TIME_SCALE", "1.0")))
    except ValueError:
        return 1.0


@dataclass
class RunConfig:
    schedule: str = "layered"
    serial: bool = False
    seed: int | None = None
    max_concurrency: int | None = None  # None: unbounded
    executor: str = "local"  # local | dask (module calls on a Dask cluster, dask_backend.py)
    dask_address: str | None = None  # tcp://host:port, or "local" for a LocalCluster
    dask_colocate: tuple[str, ...] = ()  # functions whose calls stay on one worker per run

    @classmethod
    def resolve(cls, schedule=None, serial=None, seed=None, max_concurrency=None,
                executor=None, dask_address=None, dask_colocate=None) -> "RunConfig":
        """Explicit arguments win over the environment."""
        schedule = schedule or os.environ.get("CONSTELLATION_SCHEDULE") or "layered"
        if schedule not in ("layered", "eager"):
            raise ValueError(f"Unknown schedule '{schedule}' (use layered or eager)")
        if serial is None:
            serial = _env_flag("CONSTELLATION_SERIAL")
        if seed is None and os.environ.get("CONSTELLATION_SEED", "").strip():
            seed = _env_int("CONSTELLATION_SEED")
        if max_concurrency is None and _env_flag("CONSTELLATION_SCHEDULER_ENABLED"):
            max_concurrency = _env_int("CONSTELLATION_SCHEDULER_MAX_CONCURRENCY", 16)
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        executor, dask_address = check_executor(
            executor or os.environ.get("CONSTELLATION_EXECUTOR"),
            dask_address or os.environ.get("CONSTELLATION_DASK_ADDRESS"))
        return cls(schedule, bool(serial), seed, max_concurrency, executor, dask_address,
                   tuple(dask_colocate or ()))
