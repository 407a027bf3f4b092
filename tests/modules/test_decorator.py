"""The @module decorator: type hints -> signatures, and the cattrs adapter."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Dict, List, Optional, TypedDict

import anyio
import attrs
import pytest

from constellation.compiler import types as T
from constellation.compiler.registry import ModuleFailure
from constellation.runtime import module
from constellation.runtime.modules import (ModuleArgumentError, ModuleSignatureError,
                                           python_type_to_cst)


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Address(TypedDict):
    street: str
    zip: str


@attrs.define
class Account:
    owner: str
    tags: list[str]
    address: Address
    home: Point | None = None


@pytest.mark.parametrize("hint, expected", [
    (str, T.STRING), (int, T.INT), (float, T.FLOAT), (bool, T.BOOLEAN),
    (list[int], T.ListT(T.INT)), (List[str], T.ListT(T.STRING)),
    (dict[str, float], T.MapT(T.FLOAT)), (Dict[str, bool], T.MapT(T.BOOLEAN)),
    (int | None, T.OptionalT(T.INT)), (Optional[str], T.OptionalT(T.STRING)),
    (int | str, T.union([T.INT, T.STRING])),
    (int | str | None, T.OptionalT(T.union([T.INT, T.STRING]))),
    (list[dict[str, int | None]], T.ListT(T.MapT(T.OptionalT(T.INT)))),
])
def test_plain_hints_map_to_constellation_types(hint, expected):
    assert python_type_to_cst(hint) == expected


def test_records_from_dataclass_typeddict_and_attrs_keep_field_order():
    point = python_type_to_cst(Point)
    assert point.fields == (("x", T.INT), ("y", T.FLOAT))
    address = python_type_to_cst(Address)
    assert address.fields == (("street", T.STRING), ("zip", T.STRING))
    account = python_type_to_cst(Account)
    assert [n for n, _ in account.fields] == ["owner", "tags", "address", "home"]
    assert account.field_map["home"] == T.OptionalT(point)
    assert account.field_map["tags"] == T.ListT(T.STRING)
    assert T.type_str(address) == "{ street: String, zip: String }"


def test_decorator_builds_the_signature_doc_and_position():
    @module
    def Greet(name: str, times: int) -> list[str]:
        """Says hello.

        Several times."""
        return [f"hello {name}"] * times

    f = Greet.__constellation_function__
    assert f.signature() == "Greet(name: String, times: Int) -> List<String>"
    assert f.namespace is None and f.doc == "Says hello.\n\nSeveral times."
    assert f.source_file == __file__
    assert f.source_line == inspect.getsourcelines(Greet)[1] + 1  # the def, below the decorator
    assert f.impl("bob", 2) == ["hello bob", "hello bob"]
    assert Greet("x", 1) == ["hello x"]  # the function itself stays callable


def test_name_and_namespace_arguments():
    @module(name="Get-User", namespace="crm.people")
    def get_user(user_id: str) -> str:
        return user_id

    f = get_user.__constellation_function__
    assert (f.name, f.namespace, f.qualified) == ("Get-User", "crm.people", "crm.people.Get-User")


def test_adapter_converts_records_both_ways_in_declared_order():
    @module
    def Move(p: Point, account: Account) -> Account:
        assert isinstance(p, Point) and isinstance(account, Account)
        return Account(owner=account.owner.upper(), tags=account.tags + ["moved"],
                       address=account.address, home=p)

    impl = Move.__constellation_function__.impl
    # Int widened to Float (§4.5); extra keys are ignored by cattrs.
    out = impl({"x": 1, "y": 2}, {"tags": ["a"], "owner": "ann", "home": None,
                                  "address": {"zip": "1000", "street": "Main"}})
    assert out == {"owner": "ANN", "tags": ["a", "moved"],
                   "address": {"street": "Main", "zip": "1000"}, "home": {"x": 1, "y": 2.0}}
    assert list(out) == ["owner", "tags", "address", "home"]
    assert list(out["address"]) == ["street", "zip"]
    assert isinstance(out["home"]["y"], float)


def test_typeddict_result_is_reordered_to_its_declaration():
    @module
    def MakeAddress(zip: str) -> Address:
        return {"zip": zip, "street": "High Street"}  # written out of order

    out = MakeAddress.__constellation_function__.impl("9")
    assert list(out) == ["street", "zip"]


def test_optional_map_and_union_values_round_trip():
    @module
    def Echo(m: dict[str, int | None], u: int | str, o: list[Point] | None) -> dict[str, int | None]:
        return {**m, "u": u if isinstance(u, int) else len(u), "o": None if o is None else len(o)}

    impl = Echo.__constellation_function__.impl
    assert impl({"a": None, "b": 2}, "xyz", None) == {"a": None, "b": 2, "u": 3, "o": None}
    assert impl({}, 7, [{"x": 1, "y": 1.5}]) == {"u": 7, "o": 1}


def test_async_functions_stay_async():
    @module
    async def Later(p: Point) -> Point:
        await anyio.sleep(0)
        return Point(p.x + 1, p.y)

    impl = Later.__constellation_function__.impl
    assert inspect.iscoroutinefunction(impl)
    assert anyio.run(impl, {"x": 1, "y": 0.5}) == {"x": 2, "y": 0.5}


def test_sync_functions_stay_sync():
    @module
    def Now(x: int) -> int:
        return x

    assert not inspect.iscoroutinefunction(Now.__constellation_function__.impl)


def test_a_value_that_does_not_fit_is_a_sentence_naming_the_argument():
    @module
    def Area(p: Point) -> float:
        return p.x * p.y

    with pytest.raises(ModuleArgumentError, match=r"Argument 'p' of 'Area' does not fit Point"):
        Area.__constellation_function__.impl({"x": 1})


@pytest.mark.parametrize("source, message", [
    ("def F(x: set[int]) -> int: ...", r"'F'.*parameter 'x' has an unsupported type hint 'set\[int\]'"),
    ("def F(x) -> int: ...", r"'F'.*parameter 'x' has no type hint"),
    ("def F(x: int): ...", r"'F'.*return type hint is missing"),
    ("def F(x: int) -> None: ...", r"'F'.*return type hint is missing"),
    ("def F(x: dict[int, str]) -> int: ...", r"parameter 'x' has a dict key of type 'int' \(dict keys must be str\)"),
    ("def F(*xs: int) -> int: ...", r"parameter 'xs' must be a plain positional parameter"),
    ("def F(x: int) -> tuple[int, int]: ...", r"the return type has an unsupported type hint"),
    ("def F(x: 'Missing') -> int: ...", r"'F'.*type hints cannot be resolved"),
])
def test_unsupported_hints_name_the_function_and_parameter(source, message):
    namespace: dict = {}
    exec(source, namespace)
    with pytest.raises(ModuleSignatureError, match=message):
        module(namespace["F"])


def test_invalid_names_are_rejected():
    with pytest.raises(ModuleSignatureError, match="not a valid function name"):
        module(name="bad name")(lambda: 1)
    with pytest.raises(ModuleSignatureError, match="not a valid namespace"):
        @module(namespace="a..b")
        def F(x: int) -> int:
            return x


@dataclasses.dataclass
class Tree:
    value: int
    children: list[Tree]


def test_recursive_records_are_rejected():
    with pytest.raises(TypeError, match="refers to itself"):
        python_type_to_cst(Tree)


@dataclasses.dataclass
class Dangling:
    other: Unknown  # noqa: F821


def test_unresolvable_record_hints_are_a_sentence():
    with pytest.raises(ModuleSignatureError, match=r"'F'.*parameter 'x' has record class Dangling"):
        @module
        def F(x: list[Dangling]) -> int:
            return 1


def test_a_result_that_breaks_the_declared_type_fails_the_call_with_a_sentence():
    @module
    def Count(text: str) -> int:
        return text  # a bug in the module

    @module
    def Pair(x: int) -> Point:
        return {"x": x}  # missing field y

    with pytest.raises(ModuleFailure, match=r"^'Count' returned 'abc', which does not fit "
                                            r"its declared type Int$"):
        Count.__constellation_function__.impl("abc")
    with pytest.raises(ModuleFailure, match=r"'Pair' returned \{'x': 1\}, which does not fit "
                                            r"its declared type "
                                            r"\{ x: Int, y: Float \}"):
        Pair.__constellation_function__.impl(1)
