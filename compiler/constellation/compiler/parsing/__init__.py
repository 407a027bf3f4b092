"""The parser's parts; `constellation.compiler.parser` is its entry (`parse`)."""
