"""What the editor says about options, annotations, built-in types and keywords.

Static text only; everything about a particular program comes from its Analysis.
"""

from __future__ import annotations

from constellation.compiler.options import PRIORITY_LEVELS

OPTION_DOCS: dict[str, str] = {
    "retry": "Number of additional attempts after a failed one (`retry: 3` = at most 4 attempts). A whole number >= 0.",
    "timeout": "Time limit per attempt; an attempt exceeding it is cancelled and counts as a failure. A duration such as 500ms, 5s, 2min.",
    "delay": "Base wait before each retry (without it retries are immediate). A duration; needs `retry`.",
    "backoff": "How the wait grows between retries: `fixed` (d), `linear` (d·k) or `exponential` (d·2^(k−1)), each capped at 30 s. Needs `retry` and `delay`.",
    "fallback": "Value used when the call has failed after all attempts: an expression of the call's return type, evaluated only if needed.",
    "cache": "Memoise successful results for this long (a TTL duration), shared by all call sites with the same arguments.",
    "cache_backend": "Name of the cache store (`\"memory\"` is the default store). Needs `cache`.",
    "throttle": "Rate limit as a token bucket: `N/duration`, e.g. `10/1s`, shared by call sites with the same rate.",
    "concurrency": "At most N simultaneous executions of this function (shared by call sites with the same limit). A whole number > 0.",
    "on_error": "What a final failure becomes: `propagate` (default), `skip` (zero value), `log` (run-log entry, zero value) or `wrap` ({ value, error }).",
    "lazy": "Run the call only when its value is first demanded (`lazy` or `lazy: true`).",
    "priority": "Scheduling priority under bounded scheduling: critical (100), high (80), normal (50), low (20), background (0), or a number 0-100.",
    "batch": "Streaming option (batch size); ignored by this runtime.",
    "batch_timeout": "Streaming option (batch timeout); ignored by this runtime.",
    "window": "Streaming option (`tumbling(D)`, `sliding(D, D)`, `count(N)`); ignored by this runtime.",
    "checkpoint": "Streaming option (checkpoint interval); ignored by this runtime.",
    "join": "Streaming option (`combine_latest`, `zip`, `buffer(D)`); ignored by this runtime.",
}

VALUE_DOCS: dict[str, dict[str, str]] = {
    "backoff": {
        "fixed": "Every retry waits `delay`.",
        "linear": "Retry k waits `delay` × k.",
        "exponential": "Retry k waits `delay` × 2^(k−1).",
    },
    "on_error": {
        "propagate": "The failure propagates: dependent calls are skipped and the run fails.",
        "skip": "The call yields the zero value of its return type.",
        "log": "The failure is written to the run log and the call yields the zero value.",
        "wrap": "The call yields `{ value: Optional<R>, error: Optional<String> }`.",
    },
    "priority": {name: f"Priority {value} of 0-100." for name, value in PRIORITY_LEVELS.items()},
    "lazy": {"true": "Run only if demanded.", "false": "Run in its layer (the default)."},
    "join": {"combine_latest": "Streaming join (ignored).", "zip": "Streaming join (ignored).",
             "buffer": "Streaming join (ignored)."},
    "window": {"tumbling": "Streaming window (ignored).", "sliding": "Streaming window (ignored).",
               "count": "Streaming window (ignored)."},
}

# Suggested values per option key, in completion order.
OPTION_VALUES: dict[str, list[str]] = {
    "retry": ["1", "2", "3"],
    "timeout": ["500ms", "1s", "5s", "30s", "1min"],
    "delay": ["100ms", "500ms", "1s"],
    "backoff": ["fixed", "linear", "exponential"],
    "cache": ["30s", "5min", "1h", "1d"],
    "cache_backend": ['"memory"'],
    "throttle": ["10/1s", "100/1min"],
    "concurrency": ["1", "2", "4"],
    "on_error": ["propagate", "skip", "log", "wrap"],
    "lazy": ["true", "false"],
    "priority": list(PRIORITY_LEVELS),
    "batch": ["10", "100"],
    "batch_timeout": ["1s"],
    "window": ["tumbling(5s)", "sliding(10s, 5s)", "count(100)"],
    "checkpoint": ["30s"],
    "join": ["combine_latest", "zip", "buffer(1s)"],
}

DURATION_UNITS = {"ms": "milliseconds", "s": "seconds", "min": "minutes", "h": "hours", "d": "days"}

BUILTIN_TYPE_DOCS: dict[str, str] = {
    "String": "Unicode text.",
    "Int": "64-bit signed integer.",
    "Float": "IEEE-754 double.",
    "Boolean": "`true` or `false`.",
    "List": "`List<T>`: an ordered list of T.",
    "Seq": "`Seq<T>`: another name for `List<T>`.",
    "Candidates": "`Candidates<T>`: another name for `List<T>`.",
    "Optional": "`Optional<T>`: a T or null.",
    "Map": "`Map<String, V>`: string keys to values of V.",
}

ANNOTATION_DOCS: dict[str, str] = {
    "example": "`@example(value)`: a constant example value for the input, used by `Run with examples`.",
    "source": "`@source(...)`: a deployment annotation, ignored by this runtime.",
    "sink": "`@sink(...)`: a deployment annotation, ignored by this runtime.",
}

KEYWORDS = ("type", "in", "out", "if", "else", "true", "false", "use", "as", "and", "or", "not",
            "when", "branch", "otherwise", "with", "lazy", "match", "is")
