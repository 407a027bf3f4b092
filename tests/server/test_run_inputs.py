"""`constellation/checkInputs` (issue 16 item 5): an editor's run form gets each input with its
declared type and `@example`, and each typed text checked by the rules `cst run` applies, over
the real server (pytest-lsp, stdio)."""

import pytest
from pytest_lsp import LanguageClient

from server_support import open_doc, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORM = ('@example("u-42")\nin userId: String\n@example(3)\nin count: Int\n'
        "in limits: { max: Int, ratio: Float }\nin note: Optional<String>\n"
        "in maybe: Optional<Int>\n"
        "user = GetUser(userId)\nout user\nout count\nout limits\nout note\nout maybe\n")


async def check(client: LanguageClient, uri: str, inputs: dict | None = None) -> dict:
    params = {"uri": uri} if inputs is None else {"uri": uri, "inputs": inputs}
    return plain(await client.protocol.send_request_async("constellation/checkInputs", params))


async def test_the_form_lists_each_input_with_its_type_and_example(client: LanguageClient):
    uri, _ = await open_doc(client, FORM)
    result = await check(client, uri)
    fields = {f["name"]: f for f in result["inputs"]}
    assert list(fields) == ["userId", "count", "limits", "note", "maybe"]  # declaration order
    assert [(f["type"], f["example"], f["optional"]) for f in fields.values()] == [
        ("String", "u-42", False), ("Int", "3", False),
        ("{ max: Int, ratio: Float }", None, False), ("Optional<String>", None, True),
        ("Optional<Int>", None, True)]
    assert fields["count"]["range"]["start"]["line"] == 3  # the declaration, for a reveal
    assert result["compileErrors"] == 0 and result["ready"] is False  # nothing typed yet


async def test_each_text_is_checked_by_the_rules_of_cst_run(client: LanguageClient):
    uri, _ = await open_doc(client, FORM)
    result = await check(client, uri, {"userId": "42", "count": "abc",
                                       "limits": '{"max": 2}', "maybe": ""})
    fields = {f["name"]: f for f in result["inputs"]}
    assert fields["userId"]["error"] is None and fields["userId"]["value"] == "42"  # a String stays raw
    assert fields["count"]["error"] == "Input 'count': expected Int, got \"abc\""
    assert "value" not in fields["count"]
    assert fields["limits"]["error"] == ("Input 'limits': expected { max: Int, ratio: Float }, "
                                         'got {"max": 2}')
    assert fields["maybe"] == {**fields["maybe"], "error": None, "value": None}  # empty: null
    assert fields["note"]["error"] is None and "value" not in fields["note"]  # not typed
    assert result["ready"] is False
    result = await check(client, uri, {"userId": "u-1", "count": "9223372036854775808",
                                       "limits": '{"max": 2, "ratio": 1}', "note": "", "maybe": "7"})
    fields = {f["name"]: f for f in result["inputs"]}
    assert fields["count"]["error"] == "Input 'count': expected Int, got 9223372036854775808"
    result = await check(client, uri, {"userId": "u-1", "count": " 12 ",
                                       "limits": '{"max": 2, "ratio": 1}', "note": "", "maybe": "7"})
    assert [f["error"] for f in result["inputs"]] == [None] * 5
    assert {f["name"]: f["value"] for f in result["inputs"]} == {
        "userId": "u-1", "count": 12, "limits": {"max": 2, "ratio": 1.0}, "note": "", "maybe": 7}
    assert result["ready"] is True


async def test_an_empty_field_of_a_required_input_says_what_it_needs(client: LanguageClient):
    uri, _ = await open_doc(client, FORM)
    result = await check(client, uri, {"count": "  "})
    assert {f["name"]: f["error"] for f in result["inputs"]}["count"] == \
        "Input 'count' needs a value of type Int"


async def test_a_file_with_compile_errors_says_so(client: LanguageClient):
    uri, _ = await open_doc(client, "in n: Int\nx = Nope(n)\ny = n +\nout x\n")
    result = await check(client, uri, {"n": "1"})
    assert result["compileErrors"] >= 2 and result["ready"] is False


async def test_bad_params_are_answered_with_a_sentence(client: LanguageClient):
    with pytest.raises(Exception, match="uri"):
        await client.protocol.send_request_async("constellation/checkInputs", {"inputs": {}})
    uri, _ = await open_doc(client, FORM)
    with pytest.raises(Exception, match="maps each input name"):
        await check(client, uri, {"count": 3})
