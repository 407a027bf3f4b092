"""The checker's parts by concern; `constellation.compiler.checker` is its entry (`check`).
Options are checked by optioncheck.py."""
