"""The formatting response replaces only the lines that differ (line_edits)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from constellation.server.features.formatting import line_edits


def apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "}\n", "\n", "x = 1\n", "y", "z\r\n"]),
                 max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(lines, lines)
def test_edits_turn_the_old_text_into_the_new(old, new):
    edits = line_edits(old, new)
    assert apply(old, edits) == new
    ends = [0]
    for start, end, _ in edits:  # in order, not overlapping, each a real change
        assert ends[-1] <= start <= end
        ends.append(end)
    assert all(start < end or text for start, end, text in edits)


def test_one_changed_line_is_one_small_edit():
    old = "".join(f"v{i} = {i}\n" for i in range(1000))
    new = old.replace("v500 = 500\n", "v500 = 501\n")
    (edit,) = line_edits(old, new)
    assert old[edit[0]:edit[1]] == "v500 = 500\n" and edit[2] == "v500 = 501\n"
    assert line_edits(old, old) == []
