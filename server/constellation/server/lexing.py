"""The compiler's lexer tokens (`parser.tokenize`), for semantic tokens."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


_CACHE: dict[str, list] = {}
_CACHE_SIZE = 4


def tokens(text: str) -> list:
    """Tokens of a text, remembered for the last few texts (a new document's full tokens and
    range requests ask for the same version)."""
    hit = _CACHE.get(text)
    if hit is not None:
        return hit
    result = _tokenize(text)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[text] = result
    return result


def _tokenize(text: str) -> list:
    try:
        from constellation.compiler.parser import tokenize
    except ImportError:
        try:  # the lexer module defines it; the parser re-exports it (contract)
            from constellation.compiler.lexer import tokenize
        except ImportError:
            log.warning("constellation.compiler.parser.tokenize is not available")
            return []
    return tokenize(text)
