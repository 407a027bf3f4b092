"""Whole-document semantic tokens from per-declaration pieces (encode_by_declaration) are the
tokens of the whole text lexed at once (encode), before and after edits that move
declarations, change what a name is, or break the text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constellation.compiler import analyze
from constellation.compiler.stdlib import stdlib_registry
from constellation.compiler.queries.semantic_tokens import TokenPieces, encode, encode_by_declaration
from corpus_support import corpus_dir

REGISTRY = stdlib_registry()
CORPUS = sorted(corpus_dir().rglob("*.cst")) if corpus_dir().is_dir() else []

PROGRAM = """use stdlib.math
# a comment
in seed: Int
in name: String  # trailing
type Row = { label: String, size: Int }
size = add(seed, 1)
word = Uppercase(name) with retry: 2, timeout: 5s
row = { label: "${word}-x", size: size * 2 }
big = branch { row.size > 3 -> "big", otherwise -> "small" }
note = "multi
line ${name} string"
out big
out note
"""

EDITS = [
    ("size = add(seed, 1)", "size = add(seed, 2)"),                   # a number
    ("in seed: Int\n", "in seed: Int\nin extra: Int\n"),               # declarations move down
    ("size = add(seed, 2)", "size = add(size2, 1)\nsize2 = seed"),    # a name becomes a binding
    ("use stdlib.math\n", ""),                                         # `add` loses its namespace
    ("in name: String", "in name: String\nin 名前x: Int"),              # wide characters (E020)
    ("big = branch", "big = branch {"),                                # a syntax error
    ('note = "multi', 'note = "multi\n\n'),                            # a string grows
]


def same(text: str, encoding: str, pieces: TokenPieces | None = None) -> None:
    analysis = analyze(text, REGISTRY)
    assert encode_by_declaration(analysis, encoding, pieces=pieces) == encode(analysis, encoding, None)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_pieces_give_the_whole_texts_tokens_through_edits(encoding):
    text = PROGRAM
    pieces = TokenPieces()
    same(text, encoding, pieces)
    for before, after in EDITS:
        assert before in text
        text = text.replace(before, after, 1)
        same(text, encoding, pieces)
        same(PROGRAM, encoding, pieces)  # and back: the old pieces are reused


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="the shared corpus is absent (CONSTELLATION_CORPUS)")
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_pieces_on_the_corpus(path):
    for encoding in ("utf-16", "utf-8"):
        same(path.read_text(encoding="utf-8"), encoding)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, len(PROGRAM)), st.integers(0, 12),
                          st.sampled_from(["", "x", "(", '"', "\n", "# c\n", "add", "${", "}",
                                           "in q: Int\n", "é", "😀"])), max_size=4))
def test_pieces_after_random_edits(edits):
    text = PROGRAM
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    for encoding in ("utf-16", "utf-8"):
        analysis = analyze(text, REGISTRY)
        pieces = encode_by_declaration(analysis, encoding)
        whole = encode(analysis, encoding, None)
        if analysis.valid:
            assert pieces == whole
        # always a well-formed encoding: lines never go back, positions within the text
        lines = analysis.source.line_starts
        line = char = 0
        for k in range(0, len(pieces), 5):
            dl, dc, length = pieces[k:k + 3]
            assert dl >= 0 and length > 0 and (dl > 0 or dc >= 0)
            line, char = line + dl, (char + dc if dl == 0 else dc)
            assert line < len(lines)


def test_a_new_document_is_cut_into_pieces_from_one_lexer_pass():
    """More new declarations than _LEX_WHOLE: pieces come from the whole text's tokens, and
    equal the ones a declaration lexed alone gives (a later edit reuses them)."""
    from constellation.compiler.queries import semantic_tokens as S

    lines = ["in v0: Int", 'label = "a\nb ${v0}"  # two lines']
    lines += [f"v{i} = add(v{i - 1}, {i})  # step {i}" for i in range(1, 200)]
    text = "\n".join(lines + ["out v199", "out label"]) + "\n"
    assert len(lines) > S._LEX_WHOLE
    pieces = S.TokenPieces()
    same(text, "utf-16", pieces)
    same(text.replace("add(v99, 99)", "add(v98, 99)"), "utf-16", pieces)
    # broken: an unterminated string runs into the next declarations' lines
    broken = text.replace('label = "a\nb ${v0}"', 'label = "a\nb ${v0}')
    analysis = analyze(broken, REGISTRY)
    data = encode_by_declaration(analysis, "utf-16", pieces=S.TokenPieces())
    line = 0
    for k in range(0, len(data), 5):
        assert data[k] >= 0 and data[k + 2] > 0
        line += data[k]
    assert line < len(analysis.source.line_starts)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=1500),
       st.lists(st.tuples(st.integers(0, 1500), st.integers(0, 6),
                          st.lists(st.integers(0, 3), max_size=6)), max_size=3))
def test_token_edit_turns_the_old_numbers_into_the_new(old, changes):
    from constellation.compiler.queries.semantic_tokens import token_edit

    new = list(old)
    for at, cut, inserted in changes:
        new[at:at + cut] = inserted
    start, deleted, inserted = token_edit(old, new)
    assert old[:start] + inserted + old[start + deleted:] == new
    assert start + deleted <= len(old)
    assert len(inserted) <= sum(len(i) for _, _, i in changes) + (len(new) if changes else 0)
