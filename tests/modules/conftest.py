from modules_support import demo_registry, fast_time  # noqa: F401  (fixtures)
