"""The CLI is tested as a subprocess: the installed `cst` console script."""

from cli_support import corpus, cst, write  # noqa: F401  (fixtures)
