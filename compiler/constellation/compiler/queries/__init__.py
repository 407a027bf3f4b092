"""Queries over an Analysis in editor terms: offsets, labels and kinds as plain enums.

Each editor feature is a query here (hover, completion, symbols, inlay hints, code lenses,
navigation, semantic tokens, ...) that the language server only converts from and to LSP's
types. Nothing here knows LSP (an import contract checks it). The queries read an Analysis
through `reading.py` alone, and views derived from one Analysis are cached on it
(`reading.cached`), never in module globals.
"""
