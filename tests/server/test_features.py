"""Every editor feature through a real client, with exact results on examples/profile.cst
(the DESIGN.md example), corpus files and small programs."""

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from server_support import EXAMPLES, corpus_file, find, fresh_uri, open_doc, pos, tdi

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = (EXAMPLES / "profile.cst").read_text()
USER_T = "{ id: String, name: String, email: String }"


async def open_profile(client):
    uri, diags = await open_doc(client, PROFILE)
    assert [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == []
    return uri


def at(client, text, needle, nth=0, delta=0):
    """Position of a needle in the client's encoding (ASCII texts: same in every encoding)."""
    return find(text, needle, nth, delta)


# -- hover --------------------------------------------------------------------------------------

async def hover(client, uri, position):
    return await client.text_document_hover_async(lsp.HoverParams(text_document=tdi(uri), position=position))


async def test_hover_binding_shows_type_layer_siblings_and_module(client: LanguageClient):
    uri = await open_profile(client)
    h = await hover(client, uri, at(client, PROFILE, "user = "))
    assert h.contents.kind == lsp.MarkupKind.Markdown
    assert h.contents.value == (
        f"```constellation\nuser: {USER_T}\n```\n\n"
        "**layer 1 of 2** · runs alongside `GetOrders`, `GetPreferences`\n\n"
        "produced by `GetUser`")
    assert h.range == lsp.Range(start=pos(5, 0), end=pos(5, 4))
    h = await hover(client, uri, at(client, PROFILE, "profile = ", delta=2))
    assert "**layer 2 of 2** · no other call runs in this layer" in h.contents.value
    assert "produced by `BuildProfile`" in h.contents.value


async def test_hover_names_the_calls_that_give_a_binding_its_layer(client: LanguageClient):
    """An expression over several calls is produced by those of its own layer (the last to
    run), not by the first call written."""
    text = ('in s: String\nr = "${TextLength(s)} ${Uppercase(Trim(s))}"\n'
            'q = { a: Uppercase(Trim(s)), b: Lowercase(Trim(s)) }\nout r\nout q\n')
    uri, _ = await open_doc(client, text)
    h = await hover(client, uri, at(client, text, "r = "))
    assert "**layer 2 of 2**" in h.contents.value
    assert h.contents.value.endswith("produced by `Uppercase`")
    h = await hover(client, uri, at(client, text, "q = "))
    assert h.contents.value.endswith("produced by `Uppercase`, `Lowercase`")


async def test_hover_module_name_shows_signature_docstring_and_layer(client: LanguageClient):
    uri = await open_profile(client)
    h = await hover(client, uri, at(client, PROFILE, "GetUser(", delta=3))
    assert h.contents.value == (
        f"```constellation\nGetUser(userId: String) -> {USER_T}\n```\n\n"
        "Fetches a user account from the user service (100 ms).\n\n"
        "this call: **layer 1 of 2**")
    assert h.range == lsp.Range(start=pos(5, 7), end=pos(5, 14))


async def test_hover_input_shows_type_and_examples(client: LanguageClient):
    uri = await open_profile(client)
    h = await hover(client, uri, at(client, PROFILE, "userId: String", delta=1))
    assert h.contents.value == ('```constellation\nin userId: String\n```\n\n'
                                'input (available before layer 1)\n\n@example: `"u-42"`')


async def test_hover_type_and_options(client: LanguageClient):
    text = ('type Pair = { a: Int, b: Int }\nin p: Pair\n'
            'r = Uppercase("x") with retry: 2, backoff: exponential, delay: 1s, timeout: 500ms\nout r\nout p\n')
    uri, _ = await open_doc(client, text)
    h = await hover(client, uri, at(client, text, "Pair", nth=1, delta=1))
    assert h.contents.value == "```constellation\ntype Pair = { a: Int, b: Int }\n```"
    h = await hover(client, uri, at(client, text, "retry", delta=1))
    assert h.contents.value.startswith("**retry** — Number of additional attempts")
    h = await hover(client, uri, at(client, text, "exponential", delta=2))
    assert h.contents.value == "`backoff: exponential` — Retry k waits `delay` × 2^(k−1)."
    h = await hover(client, uri, at(client, text, "500ms", delta=1))
    assert h.contents.value == "`timeout: 500ms` — 500 ms"
    h = await hover(client, uri, at(client, text, "Int", delta=1))
    assert h.contents.value == "```constellation\nInt\n```\n\nbuilt-in type: 64-bit signed integer."


# -- inlay hints and code lens ------------------------------------------------------------------

async def inlay(client, uri, text):
    lines = text.count("\n") + 1
    return await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=tdi(uri), range=lsp.Range(start=pos(0, 0), end=pos(lines, 0))))


async def test_inlay_hints_name_the_layer_and_its_other_calls(client: LanguageClient):
    uri = await open_profile(client)
    hints = await inlay(client, uri, PROFILE)
    assert [(h.position.line, h.position.character, h.label) for h in hints] == [
        (5, 22, "layer 1 · beside GetOrders, GetPreferences"),
        (6, 26, "layer 1 · beside GetUser, GetPreferences"),
        (7, 36, "layer 1 · beside GetUser, GetOrders"),
        (8, 49, "layer 2"),
    ]
    assert all(h.padding_left for h in hints)


async def test_calls_to_undefined_functions_get_no_layer_annotations(client: LanguageClient):
    """`Uppercas` (E002) cannot run: no hint gives it a layer, and it is not named among the
    calls that run with `Uppercase` (lenses: test_layer_views.py)."""
    text = "in s: String\na = Uppercas(s)\nb = Uppercase(s)\nout a\nout b\n"
    uri, _ = await open_doc(client, text)
    hints = await inlay(client, uri, text)
    assert [(h.position.line, h.label) for h in hints] == [(2, "layer 1")]


async def test_code_lenses_run_commands(client: LanguageClient):
    """The layers are inlay hints by default, so no `layer N` lens repeats them."""
    uri = await open_profile(client)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=tdi(uri)))
    assert [(l.range.start.line, l.command.title, l.command.command) for l in lenses] == [
        (0, "▶ Run pipeline", "constellation.runPipeline"),
        (0, "▶ Run with examples", "constellation.runPipeline"),
        (0, "Layers", "constellation.showLayers"),
    ]
    assert list(lenses[1].command.arguments) == [{"uri": uri, "useExamples": True}]


async def test_show_layers_command(client: LanguageClient):
    uri = await open_profile(client)
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="constellation.showLayers", arguments=[{"uri": uri}]))
    layers = {entry["layer"]: [(n["name"], n["kind"], n["module"], n["line"]) for n in entry["nodes"]]
              for entry in result["layers"]}
    assert layers == {
        0: [("userId", "input", None, 4)],
        1: [("user", "module", "GetUser", 6), ("orders", "module", "GetOrders", 7),
            ("preferences", "module", "GetPreferences", 8)],
        2: [("profile", "module", "BuildProfile", 9)],
    }


@pytest.mark.corpus
async def test_inlay_hints_on_a_corpus_file(client: LanguageClient):
    text = corpus_file("modules/example-app/examples/fan-out-fan-in.cst").read_text()
    uri, _ = await open_doc(client, text)
    hints = await inlay(client, uri, text)
    assert [h.label for h in hints] == [
        "layer 1 · beside SlowApiCall, SlowQuery",
        "layer 1 · beside FlakyService, SlowQuery",
        "layer 1 · beside FlakyService, SlowApiCall",
    ]
    assert [h.position.line for h in hints] == [13, 14, 15]


# -- completion and signature help --------------------------------------------------------------

async def complete(client, uri, position):
    result = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=tdi(uri), position=position))
    return result.items if hasattr(result, "items") else result


async def test_completion_contexts(client: LanguageClient):
    text = ('use stdlib.math\nin userId: String\nuser = GetUser(userId)\n'
            'x = Uppercase(userId) with retry: 2, backoff: \nout user\n')
    uri, _ = await open_doc(client, text)
    items = await complete(client, uri, at(client, text, "backoff: ", delta=len("backoff: ")))
    assert [i.label for i in items] == ["fixed", "linear", "exponential"]

    items = await complete(client, uri, at(client, text, "retry", delta=0))
    labels = [i.label for i in items]
    assert "timeout" in labels and "retry" in labels and "on_error" in labels


async def test_completion_option_keys_skip_given_ones(client: LanguageClient):
    text = 'in s: String\nx = Uppercase(s) with retry: 2, \nout x\n'
    uri, _ = await open_doc(client, text)
    items = await complete(client, uri, at(client, text, "retry: 2, ", delta=len("retry: 2, ")))
    labels = [i.label for i in items]
    assert "retry" not in labels and labels[:3] == ["timeout", "delay", "backoff"]


async def test_completion_record_fields_and_namespaces(client: LanguageClient):
    text = 'in userId: String\nuser = GetUser(userId)\nn = user.\nm = stdlib.\nout user\n'
    uri, _ = await open_doc(client, text)
    items = await complete(client, uri, at(client, text, "user.", delta=5))
    assert [(i.label, i.detail) for i in items] == [("id", "String"), ("name", "String"), ("email", "String")]
    items = await complete(client, uri, at(client, text, "stdlib.", delta=7))
    labels = {i.label for i in items}
    assert {"identity", "math", "string", "list", "collection", "compare", "debug", "convert"} <= labels


async def test_completion_of_fields_of_a_lambda_parameter_as_the_dot_is_typed(client: LanguageClient):
    """`it.` does not parse yet; the fields still come, from the parameter's own scope (another
    lambda's `it` is another type)."""
    text = ('in items: List<{ name: String, price: Int }>\nin tags: List<{ label: String }>\n'
            'a = map(items, (it) => it.)\nb = map(tags, (it) => it.label)\nout a\nout b\n')
    uri, _ = await open_doc(client, text)
    items = await complete(client, uri, at(client, text, "it.)", delta=3))
    assert [(i.label, i.detail) for i in items] == [("name", "String"), ("price", "Int")]
    items = await complete(client, uri, at(client, text, "it.label", delta=3))
    assert [i.label for i in items] == ["label"]


async def test_completion_where_a_declaration_starts_and_where_none_applies(client: LanguageClient):
    text = 'in x: Int\n\nout x\n# about x.\ns = "total: x."\nout s\n'
    uri, _ = await open_doc(client, text)
    labels = [i.label for i in await complete(client, uri, lsp.Position(line=1, character=0))]
    assert {"in", "out", "x"} <= set(labels) and "String" not in labels  # not a type position
    assert list(await complete(client, uri, at(client, text, "about x.", delta=8))) == []  # comment
    assert list(await complete(client, uri, at(client, text, "total: x.", delta=9))) == []  # string
    text = 'in a: Int\nb = a + 1\nc = \nout \n'
    uri, _ = await open_doc(client, text)
    labels = [i.label for i in await complete(client, uri, at(client, text, "c = ", delta=4))]
    assert {"a", "b", "add"} <= set(labels) and "c" not in labels  # c cannot read itself
    labels = [i.label for i in await complete(client, uri, at(client, text, "out ", delta=4))]
    assert sorted(labels) == ["a", "b", "c"]  # `out` names a value: no functions, no keywords


@pytest.mark.parametrize("text,marker,offered", [
    ('x = Concat("Hello\nworld", Upp', "Upp", True),  # after a string of two lines
    ('msg = "Hello\nworld foo', "foo", False),  # on a string's second line
    ('x = "${ f("}") } tail', "tail", False),  # past an interpolation holding a "}"
    ('x = "total ${ Upp', "Upp", True),  # in an interpolation: code
    ('in a: Int\nx = a + Upp', "Upp", True),  # an operand, not a type
    ('type T = Int\n  | Str', "Str", True),  # a type continued on its own line
])
async def test_completion_knows_strings_and_comments_across_lines(client: LanguageClient, text,
                                                                  marker, offered):
    uri, _ = await open_doc(client, text)
    items = list(await complete(client, uri, at(client, text, marker, delta=len(marker))))
    labels = {i.label for i in items}
    assert bool(items) == offered, labels
    if marker == "Upp":
        assert "Uppercase" in labels
    if marker == "Str":
        assert "String" in labels and "Uppercase" not in labels


async def test_completion_general_has_values_functions_with_snippets_and_keywords(client: LanguageClient):
    text = 'in userId: String\nuser = GetUser(userId)\nx = \nout user\n'
    uri, _ = await open_doc(client, text)
    items = {i.label: i for i in await complete(client, uri, at(client, text, "x = ", delta=4))}
    assert items["userId"].detail == "input: String"
    assert items["user"].detail == f"binding: {USER_T}"
    fn = items["GetUser"]
    assert fn.kind == lsp.CompletionItemKind.Function
    assert fn.detail == f"GetUser(userId: String) -> {USER_T}"
    if client.profile == "visual-studio-code":
        assert fn.insert_text == "GetUser(${1:userId})"
        assert fn.insert_text_format == lsp.InsertTextFormat.Snippet
    assert "stdlib" in items and "match" in items and "with" in items


async def test_completion_types_uses_and_annotations(client: LanguageClient):
    text = 'type Pair = { a: Int }\nuse stdlib.\n@\nin p: \nout p\n'
    uri, _ = await open_doc(client, text)
    items = [i.label for i in await complete(client, uri, at(client, text, "in p: ", delta=6))]
    assert items[:5] == ["String", "Int", "Float", "Boolean", "List"] and "Pair" in items
    items = [i.label for i in await complete(client, uri, at(client, text, "use stdlib.", delta=11))]
    assert "stdlib.math" in items and "stdlib.string" in items
    items = [i.label for i in await complete(client, uri, at(client, text, "@", delta=1))]
    assert items == ["example", "source", "sink"]


@pytest.mark.parametrize("eol", ["\r", "\r\n"], ids=["lone-cr", "crlf"])
async def test_completion_in_a_file_whose_lines_end_in_cr(client: LanguageClient, eol):
    """LSP lines end at `\\r\\n` and a lone `\\r` too: the cursor's declaration and line are
    the editor's, not the text since the last `\\n` (which, in a lone-`\\r` file, is all of it)."""
    from lsp_text import position

    text = eol.join(["type Pair = { a: Int }", "use stdlib.", "in a: Int", "b = a + 1",
                     "c = ", "out ", "in p: ", "d = b.", "out b", ""])

    async def labels_at(marker):
        line, character = position(text, text.index(marker) + len(marker), "utf-16")
        return [i.label for i in await complete(client, uri, pos(line, character))]

    uri, _ = await open_doc(client, text)
    labels = await labels_at("out ")
    assert not {"Int", "Pair", "add", "in"} & set(labels)  # `out` names a value, nothing else
    if eol == "\r\n":  # (the language ends lines at \n alone: a lone \r does not split declarations)
        assert sorted(labels) == ["a", "b", "c", "d", "p"]
    labels = await labels_at("c = ")
    assert "add" in labels and "c" not in labels and "Int" not in labels  # not a type position
    assert eol == "\r" or {"a", "b"} <= set(labels)
    assert (await labels_at("in p: "))[:5] == ["String", "Int", "Float", "Boolean", "List"]
    assert "stdlib.math" in await labels_at("use stdlib.")
    assert await labels_at("d = b.") == []  # an Int has no fields


async def test_signature_help_tracks_the_active_argument(client: LanguageClient):
    text = 'in userId: String\nuser = GetUser(userId)\np = BuildProfile(user, \nout user\n'
    uri, _ = await open_doc(client, text)
    help_ = await client.text_document_signature_help_async(lsp.SignatureHelpParams(
        text_document=tdi(uri), position=at(client, text, "(user, ", delta=7)))
    (sig,) = help_.signatures
    assert sig.label.startswith("BuildProfile(user: ")
    assert [p.label.split(":")[0] for p in sig.parameters] == ["user", "orders", "preferences"]
    assert help_.active_parameter == 1


# -- navigation ---------------------------------------------------------------------------------

async def test_references_and_highlights_of_a_function_are_its_calls(client: LanguageClient):
    text = ('use stdlib.string as st\nin s: String\na = stdlib.string.trim(s)\nb = st.trim(a)\n'
            'c = Trim(b)\nout c\n')
    uri, _ = await open_doc(client, text)
    at_trim = at(client, text, "trim(a)", delta=1)
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=tdi(uri), position=at_trim,
        context=lsp.ReferenceContext(include_declaration=False)))
    # however the call is written; the demo pack's own Trim is another function
    assert [(r.range.start.line, r.range.start.character, r.range.end.character)
            for r in refs] == [(2, 4, 22), (3, 4, 11)]
    marks = await client.text_document_document_highlight_async(lsp.DocumentHighlightParams(
        text_document=tdi(uri), position=at_trim))
    assert [m.range.start.line for m in marks] == [2, 3]
    text = 'in s: String\na = GetUser(s)\nb = GetUser(s)\nout a\nout b\n'
    uri, _ = await open_doc(client, text)
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=tdi(uri), position=at(client, text, "GetUser", delta=2),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert refs[0].uri.endswith("demo.py") and [r.range.start.line for r in refs[1:]] == [1, 2]


async def test_definition_of_values_and_modules(client: LanguageClient):
    uri = await open_profile(client)
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=tdi(uri), position=at(client, PROFILE, "(user,", delta=2)))
    assert loc.uri == uri and loc.range == lsp.Range(start=pos(5, 0), end=pos(5, 4))
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=tdi(uri), position=at(client, PROFILE, "GetUser(", delta=2)))
    assert loc.uri.endswith("/examples/modules/demo.py")
    source_line = (EXAMPLES / "modules" / "demo.py").read_text().splitlines()[loc.range.start.line]
    assert "GetUser" in source_line or source_line.startswith("@module")


async def test_references_and_highlights(client: LanguageClient):
    uri = await open_profile(client)
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=tdi(uri), position=at(client, PROFILE, "userId", nth=1),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert [(r.range.start.line, r.range.start.character) for r in refs] == [(3, 3), (5, 15), (6, 19), (7, 29)]
    marks = await client.text_document_document_highlight_async(lsp.DocumentHighlightParams(
        text_document=tdi(uri), position=at(client, PROFILE, "orders", nth=1)))
    assert [(m.range.start.line, m.kind) for m in marks] == [
        (6, lsp.DocumentHighlightKind.Write), (8, lsp.DocumentHighlightKind.Read)]


async def test_rename_and_its_refusals(client: LanguageClient):
    uri = await open_profile(client)
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=tdi(uri), position=at(client, PROFILE, "userId", nth=1), new_name="uid"))
    assert sorted((e.range.start.line, e.range.start.character) for e in edit.changes[uri]) == [
        (3, 3), (5, 15), (6, 19), (7, 29)]
    assert {e.new_text for e in edit.changes[uri]} == {"uid"}
    with pytest.raises(Exception, match="reserved word"):
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=tdi(uri), position=at(client, PROFILE, "userId", nth=1), new_name="match"))
    with pytest.raises(Exception, match="already taken"):
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=tdi(uri), position=at(client, PROFILE, "user ="), new_name="orders"))


async def test_document_and_workspace_symbols(client: LanguageClient):
    uri = await open_profile(client)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=tdi(uri)))
    assert [(s.name, s.kind) for s in symbols] == [
        ("userId", lsp.SymbolKind.Field), ("user", lsp.SymbolKind.Variable),
        ("orders", lsp.SymbolKind.Variable), ("preferences", lsp.SymbolKind.Variable),
        ("profile", lsp.SymbolKind.Variable), ("profile", lsp.SymbolKind.Event)]
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="preferences"))
    files = {Path(s.location.uri).name for s in found}
    assert "profile.cst" in files


async def test_document_symbols_follow_edits(client: LanguageClient):
    """Symbols are remembered between answers by everything they show: a line added above
    moves the ranges, a changed type changes the detail."""
    text = 'in n: Int\na = n + 1\nb = "${a}!"\nout b\n'
    uri, _ = await open_doc(client, text)

    async def symbols():
        found = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=tdi(uri)))
        return [(s.name, s.detail, s.range.start.line, s.range.end.line, s.range.end.character)
                for s in found]

    assert await symbols() == [("n", "input", 0, 0, 9), ("a", "Int", 1, 1, 9),
                               ("b", "String", 2, 2, 11), ("b", "output", 3, 3, 5)]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=pos(1, 0), end=pos(1, 9)), text='# first\na = "x"')]))
    assert await symbols() == [("n", "input", 0, 0, 9), ("a", "String", 2, 2, 7),
                               ("b", "String", 3, 3, 11), ("b", "output", 4, 4, 5)]


async def test_folding_ranges(client: LanguageClient):
    text = '# one\n# two\nin s: String\nr = branch {\n  s == "a" -> Uppercase(s),\n  otherwise -> s\n}\nout r\n'
    uri, _ = await open_doc(client, text)
    ranges = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=tdi(uri)))
    assert [(r.start_line, r.end_line, r.kind) for r in ranges] == [
        (0, 1, lsp.FoldingRangeKind.Comment), (3, 6, lsp.FoldingRangeKind.Region)]


# -- semantic tokens ----------------------------------------------------------------------------

def decode(data, legend):
    out, line, char = [], 0, 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i:i + 5]
        line += dl
        char = dc if dl else char + dc
        names = [m for b, m in enumerate(legend.token_modifiers) if mods & (1 << b)]
        out.append((line, char, length, legend.token_types[kind], names))
    return out


async def test_semantic_tokens_full_and_range(client: LanguageClient):
    legend = client.init_result.capabilities.semantic_tokens_provider.legend
    text = 'use stdlib.math\nin s: String  # note\nr = Trim(s) with retry: 1\nout r\n'
    uri, _ = await open_doc(client, text)
    full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=tdi(uri)))
    tokens = decode(full.data, legend)
    assert tokens[:3] == [(0, 0, 3, "keyword", []), (0, 4, 6, "namespace", []),
                          (0, 10, 1, "punctuation", [])]
    assert (1, 3, 1, "variable", ["declaration", "readonly"]) in tokens
    assert (1, 6, 6, "type", ["defaultLibrary"]) in tokens
    assert (1, 14, 6, "comment", []) in tokens
    assert (2, 4, 4, "function", []) in tokens
    assert (2, 17, 5, "property", []) in tokens
    assert (2, 24, 1, "number", []) in tokens
    part = await client.text_document_semantic_tokens_range_async(lsp.SemanticTokensRangeParams(
        text_document=tdi(uri), range=lsp.Range(start=pos(2, 0), end=pos(2, 30))))
    # range results are absolute like full ones: the first delta counts from line 0
    assert decode(part.data, legend) == [t for t in tokens if t[0] == 2]
    # CRLF: the same tokens; a comment ends where the editor's line does, before the \r
    crlf, _ = await open_doc(client, text.replace("\n", "\r\n"))
    full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=tdi(crlf)))
    assert decode(full.data, legend) == tokens


async def test_semantic_tokens_delta_sends_what_changed(client: LanguageClient):
    """After an edit the client asks for the delta from its previous result: applying the
    edits gives the full tokens of the new text; an unknown previous result gets them whole."""
    text = "".join(f"v{i} = add({'v' + str(i - 1) if i else '1'}, {i})\n" for i in range(300))
    text += "out v299\n"
    uri, _ = await open_doc(client, text)
    doc = tdi(uri)
    first = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=doc))
    assert first.result_id
    line = 150
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=pos(line, 0), end=pos(line, 0)), text="# note\n")]))
    delta = await client.text_document_semantic_tokens_full_delta_async(
        lsp.SemanticTokensDeltaParams(text_document=doc, previous_result_id=first.result_id))
    assert isinstance(delta, lsp.SemanticTokensDelta) and delta.result_id != first.result_id
    data = list(first.data)
    for edit in sorted(delta.edits, key=lambda e: e.start, reverse=True):
        data[edit.start:edit.start + edit.delete_count] = edit.data or []
    again = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=doc))
    assert data == list(again.data)
    assert sum(len(e.data or []) for e in delta.edits) < 20  # the comment and one shifted line
    stale = await client.text_document_semantic_tokens_full_delta_async(
        lsp.SemanticTokensDeltaParams(text_document=doc, previous_result_id="no such result"))
    assert isinstance(stale, lsp.SemanticTokens) and list(stale.data) == data


@pytest.mark.corpus
async def test_semantic_tokens_cover_a_large_file(client: LanguageClient):
    legend = client.init_result.capabilities.semantic_tokens_provider.legend
    text = corpus_file("vscode-extension/src/test/fixtures/perf-large.cst").read_text()
    uri, _ = await open_doc(client, text)
    full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=tdi(uri)))
    tokens = decode(full.data, legend)
    assert tokens[-1][0] >= text.rstrip("\n").count("\n") - 1  # no size cutoff: reaches the end
    kinds = {t[3] for t in tokens}
    assert {"keyword", "variable", "type", "comment", "operator", "punctuation"} <= kinds


@pytest.mark.parametrize("accent", ["", "é"])
async def test_semantic_tokens_of_one_long_line_are_linear(client: LanguageClient, accent):
    """Ratio in one run: a line of 10x the tokens takes well under 25x the time (columns
    are not re-measured from the start of the line for every token)."""
    import time

    async def timed(n: int) -> tuple[float, str, list[int]]:
        text = f"in a{accent}: Int\nx = " + " + ".join([f"a{accent}"] * n) + "\nout x\n"
        uri, _ = await open_doc(client, text)
        start = time.perf_counter()
        full = await client.text_document_semantic_tokens_full_async(
            lsp.SemanticTokensParams(text_document=tdi(uri)))
        return time.perf_counter() - start, text, full.data

    small, _, _ = await timed(5_000)
    large, text, data = await timed(50_000)
    legend = client.init_result.capabilities.semantic_tokens_provider.legend
    last_a = [t for t in decode(data, legend) if t[0] == 1][-1]
    line = text.split("\n")[1]
    prefix = line[:line.rindex(f"a{accent}")]
    unit = "utf-8" if client.profile == "neovim" else "utf-16-le"
    assert last_a[1] == len(prefix.encode(unit)) // (1 if unit == "utf-8" else 2)
    assert large < small * 25


# -- formatting and code actions ----------------------------------------------------------------

async def test_formatting_uses_the_shared_formatter(client: LanguageClient):
    from constellation.compiler.formatter import format_source
    text = 'in s:String\nr=Trim( s )   # keep me\nout r'
    uri, _ = await open_doc(client, text)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=tdi(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    (edit,) = edits
    assert edit.new_text == format_source(text)
    assert "# keep me" in edit.new_text
    assert edit.range.start == pos(0, 0) and edit.range.end == pos(2, 5)


async def test_formatting_replaces_only_the_lines_that_change(client: LanguageClient):
    """The cursor, marks and diagnostics of the other lines stay where they are."""
    text = 'in s: String\nr = Trim(s)\nt = Trim( r )\nu = Trim(t)\nout u\n'
    uri, _ = await open_doc(client, text)
    (edit,) = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=tdi(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert edit.range == lsp.Range(start=pos(2, 0), end=pos(3, 0))
    assert edit.new_text == "t = Trim(r)\n"


async def actions(client, uri, rng):
    return await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=tdi(uri), range=rng, context=lsp.CodeActionContext(diagnostics=[])))


async def test_quick_fixes(client: LanguageClient):
    text = 'in s: String\nr = Uppercse(s) + missing\nunused = Trim(s)\nout r\n'
    uri, _ = await open_doc(client, text)
    found = await actions(client, uri, lsp.Range(start=pos(1, 0), end=pos(2, 16)))
    titles = [a.title for a in found]
    did_you_mean = next(a for a in found if a.diagnostics and a.diagnostics[0].code == "E002")
    (edit,) = did_you_mean.edit.changes[uri]
    assert edit.new_text == "Uppercase" and edit.range == lsp.Range(start=pos(1, 4), end=pos(1, 12))
    declare = next(a for a in found if a.title == "Declare the missing input 'missing'")
    (edit,) = declare.edit.changes[uri]
    assert edit.new_text == "in missing: String\n" and edit.range.start == pos(1, 0)
    assert all(a.kind == lsp.CodeActionKind.QuickFix for a in found)
    assert "Remove unused binding 'unused'" not in titles  # the file has errors: no unused hints yet


@pytest.mark.parametrize("text,declared", [
    ("in y: Int\nz = add(x, 1)\nout z\nout y\n", "in x: Int\n"),  # the parameter's type
    ("in xs: List<Int>\nz = filter(xs, (n) => m > n)\nout z\n", "in m: Int\n"),  # the operand's
    ("in c: Boolean\nz = c and flag\nout z\n", "in flag: Boolean\n"),
    ("out z\nz = add(x, 1)\nin y: Int", "\nin x: Int\n"),  # no line break at the end
    ("in y: Int\r\nz = add(x, y)\r\nout z\r\n", "in x: Int\r\n"),
])
async def test_declaring_a_missing_input_fixes_its_use(client: LanguageClient, text, declared):
    """The input gets the type its use wants, on a line of its own: the fix leaves no error."""
    uri, diags = await open_doc(client, text)
    (e001,) = [d for d in diags if d.code == "E001"]
    found = await actions(client, uri, e001.range)
    (declare,) = [a for a in found if a.title.startswith("Declare the missing input")]
    (edit,) = declare.edit.changes[uri]
    assert edit.new_text == declared
    offset = len("".join(text.splitlines(keepends=True)[:edit.range.start.line])) \
        + edit.range.start.character
    fixed = text[:offset] + edit.new_text + text[offset:]
    from constellation.compiler import analyze
    from constellation.compiler.stdlib import stdlib_registry
    assert analyze(fixed, stdlib_registry()).diagnostics == []


async def test_remove_unused_binding(client: LanguageClient):
    text = 'in s: String\nunused = Trim(s)\nr = Uppercase(s)\nout r\n'
    uri, _ = await open_doc(client, text)
    found = await actions(client, uri, lsp.Range(start=pos(1, 0), end=pos(1, 3)))
    (remove,) = [a for a in found if a.title == "Remove unused binding 'unused'"]
    (edit,) = remove.edit.changes[uri]
    assert edit.new_text == "" and edit.range == lsp.Range(start=pos(1, 0), end=pos(2, 0))


async def test_definition_of_a_type_alias(client: LanguageClient):
    text = 'type Pair = { a: Int, b: Int }\nin p: Pair\nout p\n'
    uri, _ = await open_doc(client, text)
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=tdi(uri), position=at(client, text, "Pair", nth=1, delta=2)))
    assert loc.range == lsp.Range(start=pos(0, 5), end=pos(0, 9))


async def test_semantic_tokens_split_multi_line_strings_in_client_units(client: LanguageClient):
    legend = client.init_result.capabilities.semantic_tokens_provider.legend
    text = 'in s: String\nr = "é😀\nx" + s\nout r\n'
    uri, _ = await open_doc(client, text)
    full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=tdi(uri)))
    strings = [t for t in decode(full.data, legend) if t[3] == "string"]
    first = len('"é😀'.encode("utf-8")) if client.profile == "neovim" else len('"é😀'.encode("utf-16-le")) // 2
    assert strings == [(1, 4, first, "string", []), (2, 0, 2, "string", [])]


async def test_quick_fixes_add_a_needed_option_and_rename_a_duplicate(client: LanguageClient):
    text = 'in s: String\nr = Uppercase(s) with delay: 1s\ny = Trim(s)\ny = Trim(r)\nout y\n'
    uri, _ = await open_doc(client, text)
    found = await actions(client, uri, lsp.Range(start=pos(1, 0), end=pos(3, 5)))
    add = next(a for a in found if a.title == "Add retry: 1")
    (edit,) = add.edit.changes[uri]
    assert edit.new_text == "retry: 1, " and edit.range == lsp.Range(start=pos(1, 22), end=pos(1, 22))
    remove = [a for a in found if a.diagnostics and a.diagnostics[0].code == "W001" and a is not add]
    assert remove, "the compiler's own fix (remove the option) is offered too"
    rename = next(a for a in found if a.title == "Rename this definition to 'y2'")
    (edit,) = rename.edit.changes[uri]
    assert edit.new_text == "y2" and edit.range == lsp.Range(start=pos(3, 0), end=pos(3, 1))


@pytest.mark.corpus
async def test_layer_hints_match_the_corpus_layers(client: LanguageClient):
    import re
    from server_support import corpus_expected
    mismatches = []
    for entry in corpus_expected():
        if not entry["valid"] or entry.get("layers") is None:
            continue
        text = corpus_file(entry["path"]).read_text()
        uri, _ = await open_doc(client, text, fresh_uri(entry["path"].replace("/", "_")))
        lines = text.split("\n")
        got = {}
        for hint in await inlay(client, uri, text):
            line = hint.position.line  # the end of the binding's declaration
            while not (m := re.match(r"\s*([A-Za-z_][\w-]*)\s*=(?![=>])", lines[line])):
                line -= 1
            got[m.group(1)] = int(re.match(r"layer (\d+)", hint.label).group(1))
        if got != entry["layers"]:
            mismatches.append(f"{entry['path']}: got {got}, expected {entry['layers']}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.corpus
async def test_hover_on_a_corpus_binding(client: LanguageClient):
    text = corpus_file("modules/example-app/examples/fan-out-fan-in.cst").read_text()
    uri, _ = await open_doc(client, text)
    h = await hover(client, uri, at(client, text, "activity =", delta=1))
    assert h.contents.value == ("```constellation\nactivity: String\n```\n\n"
                                "**layer 1 of 1** · runs alongside `FlakyService`, `SlowQuery`\n\n"
                                "produced by `SlowApiCall`")
