"""The compiler's lexer tokens (`parser.tokenize`), for semantic tokens and folding."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def tokens(text: str) -> list:
    try:
        from constellation.compiler.parser import tokenize
    except ImportError:
        try:  # the lexer module defines it; the parser re-exports it (contract)
            from constellation.compiler.lexer import tokenize
        except ImportError:
            log.warning("constellation.compiler.parser.tokenize is not available")
            return []
    return tokenize(text)
