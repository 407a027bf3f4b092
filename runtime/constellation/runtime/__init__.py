from constellation.runtime.modules import module  # noqa: F401  (modules engineer)
