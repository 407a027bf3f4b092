"""Module-call options (LANGUAGE.md §6.4, §10.2, §11.5 rows). Sleeps are scaled by
CONSTELLATION_TIME_SCALE=0.1 (see conftest); timings are asserted as ratios."""

import pytest

from runtime_helpers import node_events


# -- eager, lazy and demand-driven calls ------------------------------------------------------
UNTAKEN = ('in c: Boolean\nin s: String\nx = if (c) AlwaysFailsService(s) else "ok"\nout x')


def test_eager_call_in_untaken_branch_runs_and_is_logged_as_not_needed(execute, recorder):
    result, _ = execute(UNTAKEN, {"c": False, "s": "v"})
    assert result.status == "completed" and result.outputs == {"x": "ok"}
    assert recorder.count("AlwaysFailsService") == 1
    assert result.log == ["'AlwaysFailsService' at 3:12 failed but its value was not needed: "
                          "Service failed for: v"]


def test_a_failure_handled_by_on_error_is_not_logged_as_not_needed(execute):
    """The fallback's failure was awaited (by the fallback evaluation) and on_error handled it:
    §10.2 logs only failures no output awaited."""
    text = ('in r: String\n'
            'e = AlwaysFailsService(r) with fallback: AlwaysFailsService("f"), on_error: skip\n'
            'out e')
    result, _ = execute(text, {"r": "r"})
    assert result.status == "completed" and result.outputs == {"e": ""}
    assert result.log == []


def test_eager_call_in_taken_branch_fails_the_run(execute):
    result, _ = execute(UNTAKEN, {"c": True, "s": "v"})
    assert result.status == "failed"
    assert result.errors == [{"message": "Service failed for: v", "line": 3, "column": 12,
                              "function": "AlwaysFailsService"}]
    assert result.log == []


def test_lazy_call_not_demanded_never_runs(execute, recorder):
    text = ('in c: Boolean\nin s: String\ny = AlwaysFailsService(s) with lazy\n'
            'x = if (c) y else "ok"\nout x')
    result, events = execute(text, {"c": False, "s": "v"})
    assert result.outputs == {"x": "ok"} and recorder.count() == 0
    assert node_events(events, "node_skipped", "y")[0]["reason"] == "not demanded"
    assert [n.status for n in result.nodes if n.name == "y"] == ["skipped"]


def test_lazy_call_runs_once_for_two_demands(execute, recorder):
    text = ('in s: String\ny = SlowQuery(s) with lazy\na = y + "1"\nb = y + "2"\n'
            'out a\nout b')
    result, _ = execute(text, {"s": "q"})
    assert result.outputs == {"a": "Result for: q1", "b": "Result for: q2"}
    assert recorder.count("SlowQuery") == 1


def test_lazy_call_without_demand_in_outputs(execute, recorder):
    result, _ = execute("in s: String\nz = SlowQuery(s) with lazy\nout s", {"s": "q"})
    assert result.outputs == {"s": "q"} and recorder.count() == 0


# -- retry, fallback, on_error ------------------------------------------------------------------
def test_retry_until_success(execute, recorder):
    result, events = execute("in r: String\nx = FlakyService(r) with retry: 2\nout x", {"r": "r"})
    assert result.outputs == {"x": "Success for: r"}
    assert recorder.count("FlakyService") == 3
    assert [e["attempt"] for e in node_events(events, "node_started", "x")] == [1, 2, 3]
    assert node_events(events, "node_completed", "x")[0]["attempts"] == 3


def test_retries_exhausted(execute, recorder):
    result, events = execute("in r: String\nx = FlakyService(r) with retry: 1\nout x", {"r": "r"})
    assert result.status == "failed"
    assert result.errors[0]["message"] == ("'FlakyService' failed after 2 attempts: "
                                           "Service temporarily unavailable (attempt 2)")
    assert len(node_events(events, "node_retrying", "x")) == 1


def test_fallback_only_after_retries_then_on_error_not_needed(execute, recorder):
    text = ('in r: String\nx = AlwaysFailsService(r) with retry: 2, fallback: "fb", '
            'on_error: skip\nout x')
    result, _ = execute(text, {"r": "r"})
    assert result.outputs == {"x": "fb"} and recorder.count("AlwaysFailsService") == 3


@pytest.mark.parametrize("mode,value,log", [
    ("skip", "", []),
    ("log", "", ["on_error=log: 'AlwaysFailsService' at 2:5 failed: Service failed for: r"]),
    ("wrap", {"value": None, "error": "Service failed for: r"}, []),
])
def test_on_error_variants(execute, mode, value, log):
    result, _ = execute(f"in r: String\nx = AlwaysFailsService(r) with on_error: {mode}\nout x",
                        {"r": "r"})
    assert result.status == "completed"
    assert result.outputs == {"x": value} and result.log == log


def test_on_error_wrap_success(execute):
    result, _ = execute("in r: String\nx = Uppercase(r) with on_error: wrap\nout x", {"r": "r"})
    assert result.outputs == {"x": {"value": "R", "error": None}}


def test_failing_fallback_then_skip(execute, recorder):
    text = ('in r: String\nx = AlwaysFailsService(r) with fallback: AlwaysFailsService("f"), '
            'on_error: skip\nout x')
    result, _ = execute(text, {"r": "r"})
    assert result.outputs == {"x": ""}
    first, second = recorder.of("AlwaysFailsService")
    assert first.args == ("r",) and second.args == ("f",) and second.start >= first.end


FALLBACK = 'in s: String\nr = {call}(s) with fallback: Uppercase(Trim(s))\nout r'


def test_fallback_calls_are_demand_driven(execute, recorder):
    result, _ = execute(FALLBACK.format(call="AlwaysFailsService"), {"s": "x"})
    assert result.outputs == {"r": "X"}
    failed = recorder.of("AlwaysFailsService")[0]
    assert [c.name for c in recorder.calls] == ["AlwaysFailsService", "Trim", "Uppercase"]
    assert all(c.start >= failed.end for c in recorder.calls[1:])


def test_fallback_with_one_scheduler_slot(execute, recorder, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_SCHEDULER_ENABLED", "true")
    monkeypatch.setenv("CONSTELLATION_SCHEDULER_MAX_CONCURRENCY", "1")
    result, _ = execute(FALLBACK.format(call="AlwaysFailsService"), {"s": "x"})
    assert result.outputs == {"r": "X"}


def test_fallback_not_needed_is_skipped(execute, recorder):
    result, events = execute(FALLBACK.format(call="Lowercase"), {"s": "X"})
    assert result.outputs == {"r": "x"}
    assert recorder.count("Trim") == recorder.count("Uppercase") == 0
    assert {e["name"] for e in node_events(events, "node_skipped")} == {"Trim@2", "Uppercase@2"}


def test_permit_released_before_fallback(execute, recorder):
    text = ('in s: String\nr = AlwaysFailsService(s) with concurrency: 1, '
            'fallback: AlwaysFailsService("f") with concurrency: 1, fallback: "fb"\nout r')
    result, _ = execute(text, {"s": "x"})
    assert result.outputs == {"r": "fb"} and recorder.count("AlwaysFailsService") == 2


# -- timeout and backoff ------------------------------------------------------------------------
def test_timeout_per_attempt_with_retry(execute, recorder):
    text = "in r: String\nx = TimeoutProneService(r) with timeout: 500ms, retry: 1\nout x"
    result, _ = execute(text, {"r": "r"})
    assert result.outputs == {"x": "Response for: r"}
    assert recorder.count("TimeoutProneService") == 2
    # scaled: first attempt cut at 50 ms (not its 300 ms), second takes 10 ms
    assert result.duration_ms < 0.5 * 300


def test_timeout_without_retry_fails(execute):
    text = "in r: String\nx = TimeoutProneService(r) with timeout: 500ms\nout x"
    result, _ = execute(text, {"r": "r"})
    assert result.errors[0]["message"] == "'TimeoutProneService' timed out after 500ms"


@pytest.mark.parametrize("backoff,waits", [
    ("fixed", [100, 100, 100]), ("linear", [100, 200, 300]), ("exponential", [100, 200, 400]),
])
def test_backoff_sequence(execute, backoff, waits):
    text = (f"in r: String\nx = AlwaysFailsService(r) with retry: 3, delay: 100ms, "
            f"backoff: {backoff}\nout x")
    result, events = execute(text, {"r": "r"})
    retries = node_events(events, "node_retrying", "x")
    assert [e["delay_ms"] for e in retries] == pytest.approx([w * 0.1 for w in waits])
    started = [e["t_ms"] for e in node_events(events, "node_started", "x")]
    gaps = [b - a for a, b in zip(started, started[1:])]
    assert all(g >= w * 0.1 * 0.9 for g, w in zip(gaps, waits))
    assert result.errors[0]["message"].startswith("'AlwaysFailsService' failed after 4 attempts")


def test_backoff_is_capped_at_30_seconds(execute, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.001")
    text = ("in r: String\nx = AlwaysFailsService(r) with retry: 3, delay: 20s, "
            "backoff: exponential\nout x")
    _, events = execute(text, {"r": "r"})
    assert [e["delay_ms"] for e in node_events(events, "node_retrying")] == pytest.approx(
        [20.0, 30.0, 30.0])


# -- cache ---------------------------------------------------------------------------------------
CACHED = "in q: String\na = SlowQuery(q) with cache: 1min\nb = SlowQuery(q) with cache: 1min\nout a\nout b"


def test_cache_single_flight_and_across_runs(execute, recorder):
    result, events = execute(CACHED, {"q": "q"})
    assert result.outputs == {"a": "Result for: q", "b": "Result for: q"}
    assert recorder.count("SlowQuery") == 1
    assert sorted(e["cache_hit"] for e in node_events(events, "node_completed")) == [False, True]
    execute(CACHED, {"q": "q"})
    assert recorder.count("SlowQuery") == 1  # a second run in the same process: 0


def test_cache_stores_only_real_successes(execute, recorder):
    text = 'in r: String\nx = FlakyService(r) with cache: 1min, fallback: "fb"\nout x'
    seen = []
    for _ in range(4):
        before = recorder.count("FlakyService")
        result, _ = execute(text, {"r": "r"})
        seen.append((result.outputs["x"], recorder.count("FlakyService") - before))
    assert seen == [("fb", 1), ("fb", 1), ("Success for: r", 1), ("Success for: r", 0)]


def test_cache_hit_still_wraps(execute):
    text = ("in q: String\na = Uppercase(q) with cache: 1min\n"
            "b = Uppercase(q) with cache: 1min, on_error: wrap\nout a\nout b")
    execute(text, {"q": "q"})
    result, _ = execute(text, {"q": "q"})
    assert result.outputs == {"a": "Q", "b": {"value": "Q", "error": None}}


def test_named_cache_backends_are_separate_stores(execute, recorder):
    text = ('in q: String\na = Uppercase(q) with cache: 1min, cache_backend: "one"\n'
            'b = Uppercase(q) with cache: 1min, cache_backend: "two"\nout a\nout b')
    execute(text, {"q": "q"})
    assert recorder.count("Uppercase") == 2


# -- throttle, concurrency, priority ---------------------------------------------------------
def test_throttle_token_bucket(execute, recorder, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.3")
    text = "in r: String\n" + "".join(
        f'x{i} = RateLimitedApi("{i}") with throttle: 2/1s\n' for i in range(5)) + \
        "".join(f"out x{i}\n" for i in range(5))
    result, _ = execute(text, {"r": "r"})
    assert result.status == "completed"
    starts = sorted(c.start for c in recorder.of("RateLimitedApi"))
    rel = [s - starts[0] for s in starts]
    window = 1.0 * 0.3  # 1 s scaled
    assert rel[1] < window * 0.2
    for k, expected in ((2, 0.5), (3, 1.0), (4, 1.5)):
        assert rel[k] == pytest.approx(expected * window, rel=0.25, abs=0.01)


def test_concurrency_limit_serialises_calls(execute, recorder, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_TIME_SCALE", "0.5")  # 100 ms calls: well above noise
    body = "".join(f'x{i} = ResourceIntensiveTask("{i}"){{opt}}\nout x{i}\n' for i in range(3))
    free, _ = execute(body.replace("{opt}", ""))
    limited, _ = execute(body.replace("{opt}", " with concurrency: 2"))
    assert limited.duration_ms / free.duration_ms == pytest.approx(2.0, rel=0.3)
    # never more than 2 at once
    calls = recorder.calls[3:]
    for c in calls:
        assert sum(1 for d in calls if d.start < c.start < d.end) <= 1


def test_priority_order_under_bounded_scheduling(execute, recorder, monkeypatch):
    monkeypatch.setenv("CONSTELLATION_SCHEDULER_ENABLED", "true")
    monkeypatch.setenv("CONSTELLATION_SCHEDULER_MAX_CONCURRENCY", "1")
    text = ('in s: String\na = QuickCheck("a") with priority: low\n'
            'b = QuickCheck("b") with priority: critical\nc = QuickCheck("c")\n'
            'out a\nout b\nout c')
    result, _ = execute(text, {"s": "s"})
    assert result.status == "completed"
    assert [c.args[0] for c in recorder.calls] == ["b", "c", "a"]


def test_calls_of_a_released_layer_are_admitted_in_source_order(execute, recorder):
    """§6.4 item 8: calls that become ready together are all queued before any is admitted,
    and equal priorities go in source order, whichever call's task resumed first (`b`'s
    input settled first, `a`'s input released the layer)."""
    text = ('in s: String\nx = SlowQuery(s)\ny = QuickCheck(s)\na = QuickCheck(x)\n'
            'b = QuickCheck(y)\nout a\nout b')
    execute(text, {"s": "s"}, max_concurrency=1)
    second = [c.args[0] for c in recorder.of("QuickCheck")][1:]
    assert second == ["Result for: s", "valid"]  # a (reads x) before b (reads y)


def test_max_concurrency_argument_bounds_parallel_calls(execute, recorder):
    text = "".join(f'x{i} = SlowQuery("{i}")\nout x{i}\n' for i in range(4))
    execute(text, max_concurrency=2)
    calls = recorder.calls
    for c in calls:
        assert sum(1 for d in calls if d.start <= c.start < d.end) <= 2


def test_higher_order_calls_take_no_slot_and_their_inner_calls_do(execute, recorder):
    text = ("in qs: List<String>\nuse stdlib.collection\n"
            "rs = map(qs, (q) => SlowQuery(q))\nout rs")
    result, _ = execute(text, {"qs": ["a", "b", "c"]}, max_concurrency=1)
    assert result.outputs["rs"] == ["Result for: a", "Result for: b", "Result for: c"]
    calls = sorted(recorder.of("SlowQuery"), key=lambda c: c.start)
    assert all(b.start >= a.end for a, b in zip(calls, calls[1:]))  # one slot: one at a time


def peak_overlap(calls) -> int:
    return max(sum(1 for d in calls if d.start <= c.start < d.end) for c in calls)


def test_concurrency_semaphores_are_per_function_and_limit(execute, recorder):
    two = "".join(f'a{i} = ResourceIntensiveTask("a{i}") with concurrency: 2\nout a{i}\n'
                  for i in range(4))
    three = "".join(f'b{i} = ResourceIntensiveTask("b{i}") with concurrency: 3\nout b{i}\n'
                    for i in range(4))
    execute(two + three)
    calls = recorder.of("ResourceIntensiveTask")
    assert peak_overlap([c for c in calls if c.args[0][0] == "a"]) == 2
    assert peak_overlap([c for c in calls if c.args[0][0] == "b"]) == 3
    assert peak_overlap(calls) == 5  # the two limits never share one semaphore
