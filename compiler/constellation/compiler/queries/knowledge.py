"""What the editor says about options, annotations, built-in types and keywords.

Static text only; everything about a particular program comes from its Analysis. The words and
their texts are `constellation.compiler.vocabulary`'s; only the annotations' are the editor's.
"""

from __future__ import annotations

from constellation.compiler import vocabulary
from constellation.compiler.vocabulary import BUILTIN_TYPE_DOCS, OPTIONS, RESERVED_WORDS

OPTION_DOCS: dict[str, str] = {o.key: o.doc for o in OPTIONS}
VALUE_DOCS: dict[str, dict[str, str]] = {o.key: o.value_docs for o in OPTIONS if o.value_docs}
# Suggested values per option key, in completion order.
OPTION_VALUES: dict[str, list[str]] = {o.key: list(o.suggestions) for o in OPTIONS
                                       if o.suggestions}
DURATION_UNITS = {unit: name for unit, (_, name) in vocabulary.DURATION_UNITS.items()}

ANNOTATION_DOCS: dict[str, str] = {
    "example": "`@example(value)`: a constant example value for the input, used by `Run with examples`.",
    "source": "`@source(...)`: a deployment annotation, ignored by this runtime.",
    "sink": "`@sink(...)`: a deployment annotation, ignored by this runtime.",
}

KEYWORDS = RESERVED_WORDS
