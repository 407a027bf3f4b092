from constellation.runtime.modules import module  # noqa: F401  (modules engineer)
from constellation.runtime.api import events, run, run_async  # noqa: F401,E402  (runtime)
from constellation.runtime.errors import RunError  # noqa: F401,E402
from constellation.runtime.executor import NodeReport, RunResult  # noqa: F401,E402
from constellation.runtime.inputs import RunRejected  # noqa: F401,E402
from constellation.runtime.limits import (  # noqa: F401,E402
    CacheStore, register_cache_store, reset_shared_state)
