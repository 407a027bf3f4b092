"""The editor's queries over an Analysis (`compiler/queries/`), without LSP: contexts, items,
hints, lenses, symbols, fixes and folds in offsets and plain values, for texts whose lines end
at `\\n`, `\\r\\n` or a lone `\\r` (the server's tests check the same through a client)."""

from __future__ import annotations

import pytest

from compiler_support import REPO, registry_for_preset
from constellation.compiler.analysis import analyze
from constellation.compiler.queries import reading
from constellation.compiler.queries.code_actions import actions_in
from constellation.compiler.queries.code_lens import layer_lenses, partial_run_lenses
from constellation.compiler.queries.completion import MAX_ITEMS, ItemKind, complete
from constellation.compiler.queries.context import completion_context
from constellation.compiler.queries.folding import FoldKind, folds
from constellation.compiler.queries.hover import hover_at, plaintext
from constellation.compiler.queries.inlay_hints import HintKind, Shown, hints_in
from constellation.compiler.queries.navigation import call_sites, rename_problem
from constellation.compiler.queries.semantic_tokens import encode, full_data
from constellation.compiler.queries.signature_help import signature_at
from constellation.compiler.queries.symbols import SymbolKind, document_symbols

DEMO = registry_for_preset("stdlib+examples")
CURSOR = "‸"
PROFILE = (REPO / "examples" / "profile.cst").read_text()


def at_cursor(text: str, eol: str = "\n"):
    """The analysis of `text` (its lines ended by `eol`) without the cursor mark, and the
    cursor's offset."""
    text = text.replace("\n", eol)
    offset = text.index(CURSOR)
    return analyze(text.replace(CURSOR, ""), DEMO), offset


EOLS = pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "lone-cr"])


@EOLS
@pytest.mark.parametrize("text,kind,word,head", [
    ("in x: Int\nout ‸\n", "output", "", ""),
    ("in x: Int\nout x‸\n", "output", "x", ""),
    ("in x: Int\nc = ‸\n", "general", "", "c"),
    ("in x: Int\nc = x + ad‸\n", "general", "ad", "c"),
    ("in x: Int\n\n‸\nout x\n", "general", "", ""),  # a blank line: not after `in x:`
    ("in p: ‸\n", "type", "", ""),
    ("in p: Li‸\n", "type", "Li", ""),
    ("type T = Int\n  | St‸\n", "type", "St", ""),
    ("f = map(xs, (it: ‸\n", "type", "", ""),
    ("use stdlib.‸\n", "use", "stdlib.", ""),
    ("use stdlib.ma‸\n", "use", "stdlib.ma", ""),
    ("@‸\nin x: Int\n", "annotation", "", ""),
    ("@exa‸\nin x: Int\n", "annotation", "exa", ""),
    ("in r: { a: { b: Int } }\nq = r.a.‸\n", "dotted", "", "r.a"),
    ("in r: { a: Int }\nq = r.‸\n", "dotted", "", "r"),
    ("in s: String\nq = Uppercase(s) with ‸\n", "option-key", "", ""),
    ("in s: String\nq = Uppercase(s) with retry: 2, ti‸\n", "option-key", "ti", ""),
    ("in s: String\nq = Uppercase(s) with retry: 2, backoff: ‸\n", "option-value", "", "backoff"),
    ("in s: String\nq = Uppercase(s) with timeout: 5‸\n", "option-value", "5", "timeout"),
    ("in s: String\nq = Uppercase(s) with fallback: Trim(‸\n", "general", "", "q"),
    ("# about x.‸\nin x: Int\n", "none", "", ""),
    ('in x: Int\ns = "total: x.‸"\n', "none", "", ""),
    ('in x: Int\ns = "total ${ Upp‸', "general", "Upp", ""),
])
def test_the_context_at_the_cursor(text, kind, word, head, eol):
    analysis, offset = at_cursor(text, eol)
    ctx = completion_context(analysis, offset)
    assert (ctx.kind, ctx.word, ctx.head) == (kind, word, head)


def test_option_keys_already_given_are_left_out():
    analysis, offset = at_cursor("in s: String\nq = Uppercase(s) with retry: 2, delay: 1s, ‸\n")
    assert completion_context(analysis, offset).used_keys == ("retry", "delay")
    labels = [i.label for i in complete(analysis, offset, snippets=False).items]
    assert "retry" not in labels and "delay" not in labels and "timeout" in labels


@EOLS
def test_completion_items_in_every_line_ending(eol):
    text = "in a: Int\nb = a + 1\nc = ‸\nout b\n"
    analysis, offset = at_cursor(text, eol)
    found = complete(analysis, offset, snippets=True)
    kinds = {i.label: i.kind for i in found.items}
    assert "c" not in kinds and kinds["add"] is ItemKind.FUNCTION and kinds["match"] is ItemKind.KEYWORD
    add = next(i for i in found.items if i.label == "add")
    assert add.snippet is True and add.insert_text.startswith("add(${1:")
    if eol != "\r":  # (a lone \r is whitespace to the language: b's declaration is broken)
        assert kinds["a"] is ItemKind.FIELD and kinds["b"] is ItemKind.VARIABLE
    analysis, offset = at_cursor(text.replace("c = ‸", "out ‸"), eol)
    assert all(i.kind in (ItemKind.FIELD, ItemKind.VARIABLE) for i in complete(analysis, offset, False).items)


def test_a_space_opens_the_list_only_where_it_helps():
    analysis, offset = at_cursor("in a: Int\nc = ‸\n")
    assert complete(analysis, offset, False, after_space=True).items == []
    analysis, offset = at_cursor("in a: ‸\n")
    assert complete(analysis, offset, False, after_space=True).items


def test_thousands_of_names_are_narrowed_and_made_once_per_analysis():
    lines = ["in seed: Int"] + [f"{'ab'[i % 2]}{i} = seed + {i}" for i in range(2 * MAX_ITEMS)]
    text = "\n".join(lines + ["z = b‸", "out z"]) + "\n"
    analysis, offset = at_cursor(text)
    found = complete(analysis, offset, snippets=False)
    assert found.incomplete
    values = [i for i in found.items if i.kind is ItemKind.VARIABLE]
    assert len(values) == MAX_ITEMS and all("b" in i.label for i in values)
    assert any(i.kind is ItemKind.FUNCTION for i in found.items)
    cached = analysis.derived["completion values"]
    complete(analysis, offset, snippets=False)
    assert analysis.derived["completion values"] is cached  # a view of the snapshot, kept on it


@EOLS
def test_signature_help_follows_the_tokens(eol):
    analysis, offset = at_cursor("in userId: String\nuser = GetUser(userId)\n"
                                 "p = BuildProfile(user,\n  ‸\n", eol)
    sig = signature_at(analysis, offset)
    assert sig.label.startswith("BuildProfile(user: ") and sig.active == 1
    assert [p.split(":")[0] for p in sig.parameters] == ["user", "orders", "preferences"]
    analysis, offset = at_cursor('in s: String\nq = BuildProfile("a, (b", ‸\n', eol)
    assert signature_at(analysis, offset).active == 1  # a string's commas and brackets are text
    analysis, offset = at_cursor("in s: String\nq = BuildProfile([s, ‸\n", eol)
    assert signature_at(analysis, offset) is None  # in a list, not directly in the call


def test_hover_is_markdown_with_a_plain_text_form():
    analysis = analyze(PROFILE, DEMO)
    span, text = hover_at(analysis, PROFILE.index("user = "))
    assert PROFILE[span.start:span.end] == "user"
    assert "**layer 1 of 2** · runs alongside `GetOrders`, `GetPreferences`" in text
    assert "layer 1 of 2 · runs alongside GetOrders, GetPreferences" in plaintext(text)


def test_inlay_hints_of_the_visible_range_only():
    analysis = analyze(PROFILE, DEMO)
    every = hints_in(analysis, 0, len(PROFILE), Shown(types=True))
    assert [h.label for h in every if h.kind is HintKind.LAYER] == [
        "layer 1 · beside GetOrders, GetPreferences", "layer 1 · beside GetUser, GetPreferences",
        "layer 1 · beside GetUser, GetOrders", "layer 2"]
    start = PROFILE.index("orders =")
    end = PROFILE.index("\n", start)
    visible = hints_in(analysis, start, end, Shown(types=True))
    assert visible == [h for h in every if start <= h.offset <= end + 1 and h.offset > start]
    assert {h.kind for h in visible} == {HintKind.TYPE, HintKind.LAYER}


def test_an_older_analysis_keeps_answering_after_a_newer_one():
    """An Analysis is a value: the views cached on one are its own."""
    old = analyze(PROFILE, DEMO)
    old_lenses = layer_lenses(old)
    assert [(PROFILE[lens.offset:lens.offset + 4], lens.layer) for lens in old_lenses] == [
        ("user", 1), ("orde", 1), ("pref", 1), ("prof", 2)]
    edited = PROFILE.replace("profile = BuildProfile(user, orders, preferences)",
                             "profile = BuildProfile(user, orders, GetPreferences(user.id))")
    new = analyze(edited, DEMO)
    assert layer_lenses(new)[-1].layer == 3
    assert layer_lenses(old) is old_lenses and old_lenses[-1].layer == 2


def test_partial_run_lenses_go_above_each_binding_that_calls_a_module():
    """`▶ Run to here` (--target) and `↻ Re-run from here` (--from) on the bindings of the
    layer lenses, and on no input, constant or output."""
    analysis = analyze(PROFILE, DEMO)
    lenses = partial_run_lenses(analysis)
    starts = [lens.offset for lens in layer_lenses(analysis)]
    assert [lens.offset for lens in lenses] == [s for s in starts for _ in range(2)]
    names = ["user", "orders", "preferences", "profile"]
    assert [(lens.title, lens.arguments) for lens in lenses] == [
        pair for name in names for pair in (("▶ Run to here", {"target": [name]}),
                                             ("↻ Re-run from here", {"from": name}))]
    assert partial_run_lenses(analysis) is lenses  # made once per Analysis
    assert partial_run_lenses(analyze("in x: Int\ny = x + 1\nout y\n", DEMO)) == []


def test_document_symbols():
    text = "use stdlib.math as m\ntype T = Int\nin a: T\nb = a\nb = 2\nout b\n"
    symbols = document_symbols(analyze(text, DEMO))
    assert [(s.name, s.kind, s.detail) for s in symbols] == [
        ("stdlib.math as m", SymbolKind.IMPORT, "use"), ("T", SymbolKind.TYPE, "type"),
        ("a", SymbolKind.INPUT, "input"), ("b", SymbolKind.BINDING, "Int"),
        ("b", SymbolKind.BINDING, "(duplicate)"), ("b", SymbolKind.OUTPUT, "output")]
    assert text[symbols[0].selection.start:symbols[0].selection.end] == "stdlib.math"


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_folds_count_the_editors_lines(eol):
    # (not a lone \r: a comment runs to the language's line end, \n, §1.1)
    text = "# one\n# two\nin a: Int\nb = {\n  x: a,\n  y: a\n}\nout b\n".replace("\n", eol)
    found = [(f.first, f.last, f.kind) for f in folds(analyze(text, DEMO))]
    assert found == [(0, 1, FoldKind.COMMENT), (3, 6, FoldKind.REGION)]


@EOLS
def test_fixes_insert_and_remove_whole_editor_lines(eol):
    text = "in a: Int\nb = a + missing\nout b\n".replace("\n", eol)
    analysis = analyze(text, DEMO)
    (declare,) = [a for a in actions_in(analysis, 0, len(text)) if a.title.startswith("Declare")]
    ((span, new),) = declare.edits
    assert span.start == span.end == text.index("b = ") and new == f"in missing: Int{eol}"
    text = "in a: Int\nb = a\nc = a \nout b\n".replace("\n", eol)
    analysis = analyze(text, DEMO)
    (remove,) = [a for a in actions_in(analysis, 0, len(text)) if a.title.startswith("Remove")]
    ((span, new),) = remove.edits
    assert text[:span.start] + text[span.end:] == "in a: Int\nb = a\nout b\n".replace("\n", eol)


def test_navigation_finds_calls_and_refuses_taken_names():
    text = "use stdlib.string as st\nin s: String\na = stdlib.string.trim(s)\nb = st.trim(a)\nout b\n"
    analysis = analyze(text, DEMO)
    spans = call_sites(analysis, text.index("trim(a)") + 1)
    assert [text[s.start:s.end] for s in spans] == ["stdlib.string.trim", "st.trim"]
    _, sym = reading.symbol_at(analysis, text.index("a = "))
    assert rename_problem(analysis, sym, "s") == "The name 's' is already taken."
    assert rename_problem(analysis, sym, "with") == "'with' is a reserved word and cannot be used as a name."
    assert rename_problem(analysis, sym, "fresh") is None


def test_whole_document_tokens_are_made_once_per_analysis_and_encoding():
    analysis = analyze(PROFILE, DEMO)
    data = full_data(analysis, "utf-16")
    assert data == encode(analysis, "utf-16", None)
    assert full_data(analysis, "utf-16") is data and full_data(analysis, "utf-8") is not data
