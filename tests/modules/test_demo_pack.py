"""The examples pack of LANGUAGE.md §7.6 behaves as specified."""

from __future__ import annotations

import inspect
import time

import anyio
import pytest

from constellation.compiler.registry import ModuleFailure

SIGNATURES = {
    "Uppercase": "Uppercase(text: String) -> String",
    "Lowercase": "Lowercase(text: String) -> String",
    "Trim": "Trim(text: String) -> String",
    "Replace": "Replace(text: String, find: String, replace: String) -> String",
    "WordCount": "WordCount(text: String) -> Int",
    "TextLength": "TextLength(text: String) -> Int",
    "Contains": "Contains(text: String, substring: String) -> Boolean",
    "SplitLines": "SplitLines(text: String) -> List<String>",
    "Split": "Split(text: String, delimiter: String) -> List<String>",
    "SumList": "SumList(numbers: List<Int>) -> Int",
    "Average": "Average(numbers: List<Int>) -> Float",
    "Max": "Max(numbers: List<Int>) -> Int",
    "Min": "Min(numbers: List<Int>) -> Int",
    "FilterGreaterThan": "FilterGreaterThan(numbers: List<Int>, threshold: Int) -> List<Int>",
    "MultiplyEach": "MultiplyEach(numbers: List<Int>, multiplier: Int) -> List<Int>",
    "Range": "Range(start: Int, end: Int) -> List<Int>",
    "FormatNumber": "FormatNumber(number: Int) -> String",
    "SlowQuery": "SlowQuery(query: String) -> String",
    "SlowApiCall": "SlowApiCall(endpoint: String) -> String",
    "ExpensiveCompute": "ExpensiveCompute(data: String) -> String",
    "FlakyService": "FlakyService(request: String) -> String",
    "TimeoutProneService": "TimeoutProneService(request: String) -> String",
    "RateLimitedApi": "RateLimitedApi(request: String) -> String",
    "ResourceIntensiveTask": "ResourceIntensiveTask(task: String) -> String",
    "QuickCheck": "QuickCheck(data: String) -> String",
    "DeepAnalysis": "DeepAnalysis(data: String) -> String",
    "AlwaysFailsService": "AlwaysFailsService(request: String) -> String",
}


def call(registry, name, *args):
    impl = registry.lookup(name).impl
    if inspect.iscoroutinefunction(impl):
        return anyio.run(impl, *args)
    return impl(*args)


def test_every_spec_function_is_root_level_with_its_signature(demo_registry):
    for name, signature in SIGNATURES.items():
        f = demo_registry.lookup(name)
        assert f is not None, name
        assert f.namespace is None and f.signature() == signature and f.doc


@pytest.mark.parametrize("name, args, expected", [
    ("Uppercase", ("straße",), "STRASSE"),
    ("Lowercase", ("HeLLo",), "hello"),
    ("Trim", ("\t\x01 hi there \n\x00",), "hi there"),
    ("Replace", ("a.b.c", ".", "-"), "a-b-c"),
    ("WordCount", ("  one two\t\nthree  ",), 3),
    ("WordCount", ("",), 0),
    ("TextLength", ("héllo😀",), 6),
    ("Contains", ("Hello", "ell"), True),
    ("Contains", ("Hello", "ELL"), False),
    ("SplitLines", ("a\n\nb\n\n",), ["a", "", "b"]),
    ("SplitLines", ("",), []),
    ("Split", ("a1b22c3", "[0-9]+"), ["a", "b", "c"]),
    ("Split", ("a, b,,c", ",\\s*"), ["a", "b", "", "c"]),
    ("Split", ("a1b2c", "([0-9])"), ["a", "b", "c"]),
    ("Split", ("abc", ""), ["a", "b", "c"]),
    ("Split", (",a,,b,,", ","), ["", "a", "", "b"]),
    ("Split", ("", ","), []),
    ("SumList", ([],), 0),
    ("SumList", ([1, 2, 3],), 6),
    ("Average", ([],), 0.0),
    ("Average", ([1, 2],), 1.5),
    ("Max", ([3, 9, 2],), 9),
    ("Max", ([],), 0),
    ("Min", ([3, -9, 2],), -9),
    ("Min", ([],), 0),
    ("FilterGreaterThan", ([5, 1, 7, 3], 3), [5, 7]),
    ("MultiplyEach", ([1, -2], 3), [3, -6]),
    ("Range", (2, 5), [2, 3, 4, 5]),
    ("Range", (5, 2), []),
    ("FormatNumber", (1234567,), "1,234,567"),
    ("FormatNumber", (-1000,), "-1,000"),
    ("FormatNumber", (12,), "12"),
    ("SlowQuery", ("q",), "Result for: q"),
    ("SlowApiCall", ("/users",), "API response from: /users"),
    ("ExpensiveCompute", ("abc",), "Computed: ABC"),
    ("RateLimitedApi", ("r",), "Rate-limited response for: r"),
    ("ResourceIntensiveTask", ("t",), "Completed: t"),
    ("QuickCheck", ("A Complex case",), "needs-deep-analysis"),
    ("QuickCheck", ("simple",), "valid"),
    ("DeepAnalysis", ("d",), "Deep analysis of: d"),
])
def test_behaviour(demo_registry, fast_time, name, args, expected):
    result = call(demo_registry, name, *args)
    assert result == expected and type(result) is type(expected)


def test_failures_are_module_failures(demo_registry):
    with pytest.raises(ModuleFailure, match="^Service failed for: x$"):
        call(demo_registry, "AlwaysFailsService", "x")
    with pytest.raises(ModuleFailure, match="Invalid regular expression"):
        call(demo_registry, "Split", "abc", "(")
    with pytest.raises(ModuleFailure, match="Integer overflow in 'SumList'"):
        call(demo_registry, "SumList", [2**62, 2**62])


@pytest.fixture
def demo_module(demo_registry):
    import sys
    module_file = demo_registry.lookup("Uppercase").source_file
    return next(m for m in list(sys.modules.values())
                if getattr(m, "__file__", None) == module_file)


def test_flaky_counter(demo_registry, demo_module):
    demo_module.reset_counters()
    outcomes = []
    for _ in range(6):
        try:
            outcomes.append(call(demo_registry, "FlakyService", "r"))
        except ModuleFailure as exc:
            outcomes.append(str(exc))
    assert outcomes == ["Service temporarily unavailable (attempt 1)",
                        "Service temporarily unavailable (attempt 2)", "Success for: r",
                        "Service temporarily unavailable (attempt 4)",
                        "Service temporarily unavailable (attempt 5)", "Success for: r"]
    demo_module.reset_counters()
    with pytest.raises(ModuleFailure, match=r"\(attempt 1\)"):
        call(demo_registry, "FlakyService", "r")


def elapsed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_sleeps_follow_the_time_scale_read_at_call_time(demo_registry, monkeypatch):
    """A ratio in the same run: scale 0.2 vs 0.02 of SlowQuery's 500 ms."""
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.2")
    slow = elapsed(call, demo_registry, "SlowQuery", "q")
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.02")
    fast = elapsed(call, demo_registry, "SlowQuery", "q")
    assert slow > 4 * fast


def test_timeout_prone_service_is_slow_only_the_first_time(demo_registry, demo_module,
                                                           monkeypatch):
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.05")
    demo_module.reset_counters()
    first = elapsed(call, demo_registry, "TimeoutProneService", "r")
    second = elapsed(call, demo_registry, "TimeoutProneService", "r")
    assert first > 10 * second  # 3 s vs 100 ms, scaled alike
    assert call(demo_registry, "TimeoutProneService", "r") == "Response for: r"


def test_profile_services_build_a_profile_from_a_user_id(demo_registry, fast_time):
    user = call(demo_registry, "GetUser", "u-42")
    orders = call(demo_registry, "GetOrders", "u-42")
    prefs = call(demo_registry, "GetPreferences", "u-42")
    profile = call(demo_registry, "BuildProfile", user, orders, prefs)
    assert user["id"] == "u-42" and list(user) == ["id", "name", "email"]
    assert orders and all(list(o) == ["id", "item", "amount"] for o in orders)
    assert all(isinstance(o["amount"], float) for o in orders)
    assert profile["userId"] == "u-42" and profile["orderCount"] == len(orders)
    assert profile["totalSpent"] == round(sum(o["amount"] for o in orders), 2)
    assert profile["theme"] == prefs["theme"]
    assert call(demo_registry, "GetOrders", "u-42") == orders  # deterministic per user id
