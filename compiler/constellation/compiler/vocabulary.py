"""The language's vocabulary, written once (LANGUAGE.md §1.3, §1.7, §4, §6).

Reserved words, the option table (key, value kind, allowed values, the editor's texts),
duration units and built-in type names. The lexer, the option checker and the server's texts
import from here; the TextMate and Emacs grammars and the lark grammar are checked against it
by tests/architecture/test_vocabulary.py. `as_json()` is the form tools outside Python read:
vscode-extension/scripts/vocabulary.json, which that test checks and rewrites (`--write`).

This module imports nothing of ours, so anything may import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# §1.3, in the order of the spec (the keyword completion list follows it).
RESERVED_WORDS: tuple[str, ...] = (
    "type", "in", "out", "if", "else", "true", "false", "use", "as", "and", "or", "not",
    "when", "branch", "otherwise", "with", "lazy", "match", "is",
)
RESERVED: frozenset[str] = frozenset(RESERVED_WORDS)

PRIORITY_LEVELS: dict[str, int] = {
    "critical": 100, "high": 80, "normal": 50, "low": 20, "background": 0,
}


@dataclass(frozen=True)
class OptionSpec:
    """One `with` key. `kind` names how its value is read (§6.3): whole (>= minimum),
    duration, word (one of `allowed`), priority (a word of `allowed` or a number), string,
    rate, bool (may stand bare), expr (fallback) or streaming (ignored, W003)."""

    key: str
    kind: str
    doc: str  # hover and completion text
    allowed: tuple[str, ...] = ()  # the words a `word`/`priority` value may be
    minimum: int | None = None  # for `whole`
    value_docs: dict[str, str] = field(default_factory=dict)  # hover text per value word
    suggestions: tuple[str, ...] = ()  # completion values, in order

    @property
    def streaming(self) -> bool:
        return self.kind == "streaming"


_STREAM_JOIN = "Streaming join (ignored)."
_STREAM_WINDOW = "Streaming window (ignored)."

# In the order of the "valid options" list of the unknown-option message (§2.5).
OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("retry", "whole", minimum=0, suggestions=("1", "2", "3"), doc=(
        "Number of additional attempts after a failed one (`retry: 3` = at most 4 attempts). "
        "A whole number >= 0.")),
    OptionSpec("timeout", "duration", suggestions=("500ms", "1s", "5s", "30s", "1min"), doc=(
        "Time limit per attempt; an attempt exceeding it is cancelled and counts as a "
        "failure. A duration such as 500ms, 5s, 2min.")),
    OptionSpec("delay", "duration", suggestions=("100ms", "500ms", "1s"), doc=(
        "Base wait before each retry (without it retries are immediate). A duration; needs "
        "`retry`.")),
    OptionSpec("backoff", "word", allowed=("fixed", "linear", "exponential"),
               suggestions=("fixed", "linear", "exponential"), value_docs={
                   "fixed": "Every retry waits `delay`.",
                   "linear": "Retry k waits `delay` × k.",
                   "exponential": "Retry k waits `delay` × 2^(k−1).",
               }, doc=(
        "How the wait grows between retries: `fixed` (d), `linear` (d·k) or `exponential` "
        "(d·2^(k−1)), each capped at 30 s. Needs `retry` and `delay`.")),
    OptionSpec("fallback", "expr", doc=(
        "Value used when the call has failed after all attempts: an expression of the call's "
        "return type, evaluated only if needed.")),
    OptionSpec("cache", "duration", suggestions=("30s", "5min", "1h", "1d"), doc=(
        "Memoise successful results for this long (a TTL duration), shared by all call sites "
        "with the same arguments.")),
    OptionSpec("cache_backend", "string", suggestions=('"memory"',), doc=(
        "Name of the cache store (`\"memory\"` is the default store). Needs `cache`.")),
    OptionSpec("throttle", "rate", suggestions=("10/1s", "100/1min"), doc=(
        "Rate limit as a token bucket: `N/duration`, e.g. `10/1s`, shared by call sites with "
        "the same rate.")),
    OptionSpec("concurrency", "whole", minimum=1, suggestions=("1", "2", "4"), doc=(
        "At most N simultaneous executions of this function (shared by call sites with the "
        "same limit). A whole number > 0.")),
    OptionSpec("on_error", "word", allowed=("propagate", "skip", "log", "wrap"),
               suggestions=("propagate", "skip", "log", "wrap"), value_docs={
                   "propagate": "The failure propagates: dependent calls are skipped and the "
                                "run fails.",
                   "skip": "The call yields the zero value of its return type.",
                   "log": "The failure is written to the run log and the call yields the zero "
                          "value.",
                   "wrap": "The call yields `{ value: Optional<R>, error: Optional<String> }`.",
               }, doc=(
        "What a final failure becomes: `propagate` (default), `skip` (zero value), `log` "
        "(run-log entry, zero value) or `wrap` ({ value, error }).")),
    OptionSpec("lazy", "bool", suggestions=("true", "false"), value_docs={
        "true": "Run only if demanded.", "false": "Run in its layer (the default).",
    }, doc="Run the call only when its value is first demanded (`lazy` or `lazy: true`)."),
    OptionSpec("priority", "priority", allowed=tuple(PRIORITY_LEVELS),
               suggestions=tuple(PRIORITY_LEVELS),
               value_docs={name: f"Priority {value} of 0-100."
                           for name, value in PRIORITY_LEVELS.items()}, doc=(
        "Scheduling priority under bounded scheduling: critical (100), high (80), normal "
        "(50), low (20), background (0), or a number 0-100.")),
    OptionSpec("batch", "streaming", suggestions=("10", "100"),
               doc="Streaming option (batch size); ignored by this runtime."),
    OptionSpec("batch_timeout", "streaming", suggestions=("1s",),
               doc="Streaming option (batch timeout); ignored by this runtime."),
    OptionSpec("window", "streaming",
               suggestions=("tumbling(5s)", "sliding(10s, 5s)", "count(100)"),
               value_docs={"tumbling": _STREAM_WINDOW, "sliding": _STREAM_WINDOW,
                           "count": _STREAM_WINDOW}, doc=(
        "Streaming option (`tumbling(D)`, `sliding(D, D)`, `count(N)`); ignored by this "
        "runtime.")),
    OptionSpec("checkpoint", "streaming", suggestions=("30s",),
               doc="Streaming option (checkpoint interval); ignored by this runtime."),
    OptionSpec("join", "streaming", suggestions=("combine_latest", "zip", "buffer(1s)"),
               value_docs={"combine_latest": _STREAM_JOIN, "zip": _STREAM_JOIN,
                           "buffer": _STREAM_JOIN}, doc=(
        "Streaming option (`combine_latest`, `zip`, `buffer(D)`); ignored by this runtime.")),
)
OPTION_BY_KEY: dict[str, OptionSpec] = {o.key: o for o in OPTIONS}
OPTION_KEYS: tuple[str, ...] = tuple(o.key for o in OPTIONS)
EXECUTION_OPTIONS: tuple[str, ...] = tuple(o.key for o in OPTIONS if not o.streaming)
STREAMING_OPTIONS: tuple[str, ...] = tuple(o.key for o in OPTIONS if o.streaming)
# For the editors' grammars: the `f(...)` heads an option value may have (`tumbling(5s)`) and
# the bare words it may be (`exponential`, `zip`).
OPTION_FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys(
    w for o in OPTIONS for w in o.value_docs if any(s.startswith(w + "(") for s in o.suggestions)))
OPTION_WORDS: tuple[str, ...] = tuple(dict.fromkeys(
    w for o in OPTIONS for w in (*o.allowed, *o.value_docs)
    if w not in ("true", "false") and w not in OPTION_FUNCTIONS))

# §1.7: unit -> (milliseconds, name), smallest first.
DURATION_UNITS: dict[str, tuple[int, str]] = {
    "ms": (1, "milliseconds"), "s": (1000, "seconds"), "min": (60_000, "minutes"),
    "h": (3_600_000, "hours"), "d": (86_400_000, "days"),
}
DURATION_UNITS_MS: dict[str, int] = {u: ms for u, (ms, _) in DURATION_UNITS.items()}

# §4: the built-in type names with their hover text.
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
BUILTIN_TYPE_NAMES: tuple[str, ...] = tuple(BUILTIN_TYPE_DOCS)
BUILTIN_TYPES: frozenset[str] = frozenset(BUILTIN_TYPE_NAMES)
# How many type arguments each generic built-in takes (`Map<String, V>`: two).
BUILTIN_TYPE_ARITY: dict[str, int] = {"List": 1, "Seq": 1, "Candidates": 1, "Optional": 1,
                                      "Map": 2}


def as_json() -> dict:
    """Everything above as JSON (vscode-extension/scripts/vocabulary.json is this output)."""
    return {
        "reserved": list(RESERVED_WORDS),
        "options": [{**asdict(o), "allowed": list(o.allowed),
                     "suggestions": list(o.suggestions)} for o in OPTIONS],
        "option_functions": list(OPTION_FUNCTIONS),
        "option_words": list(OPTION_WORDS),
        "duration_units": {u: ms for u, (ms, _) in DURATION_UNITS.items()},
        "builtin_types": list(BUILTIN_TYPE_NAMES),
    }

