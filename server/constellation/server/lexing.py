"""The compiler's lexer tokens (`parser.tokenize`), for semantic tokens and folding."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def tokens(text: str) -> list:
    try:
        from constellation.compiler.parser import tokenize
    except ImportError:  # an older compiler without a token API: no lexical features
        log.warning("constellation.compiler.parser.tokenize is not available")
        return []
    return tokenize(text)
