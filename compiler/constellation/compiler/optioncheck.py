"""Validation of `with` clauses (LANGUAGE.md §6.3): E016, E017, E019, W001-W003.

Used by the checker for every call; produces the typed `CallOptions` the runtime consumes.
"""

from __future__ import annotations

import re

from constellation.compiler import ast
from constellation.compiler.diagnostics import Fix, Related, TextEdit
from constellation.compiler.options import CallOptions
from constellation.compiler.suggest import closest_word
from constellation.compiler.typeops import is_subtype, wrap_result
from constellation.compiler.types import ERROR, Type, type_str
from constellation.compiler.vocabulary import (
    DURATION_UNITS_MS, OPTION_BY_KEY, PRIORITY_LEVELS, STREAMING_OPTIONS,
)

_SUFFIXED = re.compile(r"(\d+)(\.\d+)?([A-Za-z_][A-Za-z0-9_]*)")
_DURATION_HELP = "expected a duration such as 500ms, 5s, 2min, 1h or 1d"
_UNITS = ", ".join(list(DURATION_UNITS_MS)[:-1]) + " or " + list(DURATION_UNITS_MS)[-1]


class _Invalid(Exception):
    def __init__(self, constraint: str, replacement: str | None = None):
        super().__init__(constraint)
        self.constraint = constraint
        self.replacement = replacement


class OptionChecker:
    def __init__(self, checker) -> None:
        self.checker = checker

    def validate(self, call: ast.Call, fn, declared: Type, scope) -> Type:
        """Check every option of `call`; store CallOptions for resolved calls; return the
        call's type after options (`on_error: wrap` wraps it)."""
        first: dict[str, ast.Option] = {}
        values: dict[str, object] = {}
        invalid: set[str] = set()
        fallback: ast.Expr | None = None
        for index, opt in enumerate(call.options):
            key = opt.key.text
            if key in first:
                self.duplicate(call, index, first[key])
                if opt.fallback is not None:
                    self.checker.infer(opt.fallback, scope)
                continue
            first[key] = opt
            if key == "fallback":
                fallback = opt.fallback
                self.check_fallback(opt, fn, declared, scope)
            elif key in STREAMING_OPTIONS:
                self.checker._report("W003", f"'{key}' is a streaming option and is ignored by "
                                             "this runtime", opt.key.span,
                                     fixes=(self.removal_fix(call, index),))
            else:
                try:
                    values[key] = self.value(key, opt)
                except _Invalid as bad:
                    invalid.add(key)
                    self.invalid(key, opt, bad)
                    continue
                if key == "retry" and int(values[key]) > 10:  # type: ignore[call-overload]
                    self.checker._report("W002", f"High retry count ({values[key]}); consider "
                                                 "fewer retries with exponential backoff",
                                         opt.value.span)
        self.without_effect(call, first, values, invalid)
        options = self.build(values, fallback)
        if fn is not None:
            self.checker.result.call_options[id(call)] = options
        if options.on_error == "wrap" and declared is not ERROR:
            return wrap_result(declared)
        return declared

    # -- diagnostics -------------------------------------------------------------------------
    def duplicate(self, call: ast.Call, index: int, first: ast.Option) -> None:
        opt = call.options[index]
        where = self.checker.pos(first.key.span.start)
        self.checker._report("E019", f"Duplicate option '{opt.key.text}' (first given at {where})",
                             opt.key.span,
                             related=(Related(first.key.span,
                                              f"'{first.key.text}' is first given here"),),
                             fixes=(self.removal_fix(call, index),))

    def invalid(self, key: str, opt: ast.Option, bad: _Invalid) -> None:
        value = opt.value
        assert value is not None  # only keys with values can be invalid
        fixes = ()
        if bad.replacement is not None:
            fixes = (Fix(f"Change to '{bad.replacement}'",
                         (TextEdit(value.span, bad.replacement),)),)
        self.checker._report("E016", f"Invalid value for '{key}': {value.text} "
                                     f"({bad.constraint})", value.span, fixes=fixes)

    def check_fallback(self, opt: ast.Option, fn, declared: Type, scope) -> None:
        if opt.fallback is None:
            return
        t = self.checker.infer(opt.fallback, scope)
        if fn is None or declared is ERROR or t is ERROR or is_subtype(t, declared):
            return
        self.checker._report("E017", f"Fallback type mismatch: '{fn.name}' returns "
                                     f"{type_str(declared)} but the fallback is {type_str(t)}",
                             opt.fallback.span)

    def without_effect(self, call: ast.Call, first: dict[str, ast.Option],
                       values: dict[str, object], invalid: set[str]) -> None:
        """W001; an invalid value counts as present (its E016 says enough)."""
        retry = "retry" in invalid or (values.get("retry") or 0) > 0
        delay = "delay" in first
        index = {o: i for i, o in enumerate(call.options)}
        if delay and not retry:
            self.no_effect(call, index, first["delay"], "'delay' has no effect without 'retry'")
        if "backoff" in first and not (retry and delay):
            missing = [f"'{k}'" for k, present in (("retry", retry), ("delay", delay))
                       if not present]
            self.no_effect(call, index, first["backoff"],
                           "'backoff' has no effect without " + " and ".join(missing))
        if "cache_backend" in first and "cache" not in first:
            self.no_effect(call, index, first["cache_backend"],
                           "'cache_backend' has no effect without 'cache'")

    def no_effect(self, call: ast.Call, index: dict[int, int], opt: ast.Option,
                  message: str) -> None:
        self.checker._report("W001", message, opt.key.span,
                             fixes=(self.removal_fix(call, index[opt]),))

    def removal_fix(self, call: ast.Call, index: int) -> Fix:
        """Remove one option with its separating comma (or the whole `with` clause)."""
        opts = call.options
        opt = opts[index]
        if index > 0:
            span = ast.Span(opts[index - 1].span.end, opt.span.end)
        elif len(opts) > 1:
            span = ast.Span(opt.span.start, opts[1].span.start)
        else:
            text = self.checker.source.text
            start = text.rfind("with", call.span.start, opt.span.start)
            start = opt.span.start if start < 0 else start
            while start > 0 and text[start - 1] in " \t\r\n":
                start -= 1
            span = ast.Span(start, opt.span.end)
        return Fix(f"Remove '{opt.key.text}'", (TextEdit(span, ""),))

    # -- values ------------------------------------------------------------------------------
    def value(self, key: str, opt: ast.Option) -> object:
        """Read one value by its key's kind in the vocabulary's option table."""
        v = opt.value
        spec = OPTION_BY_KEY[key]  # the parser rejects unknown keys
        if spec.kind == "bool":
            if v is None:
                return True
            if v.kind == "bool":
                return v.text == "true"
            raise _Invalid("expected true or false")
        assert v is not None  # the grammar gives every other key a value
        if spec.kind == "whole":
            return whole(v, minimum=spec.minimum or 0)
        if spec.kind == "duration":
            return duration(v)
        if spec.kind == "word":
            return word(v, spec.allowed)
        if spec.kind == "priority":
            if v.kind == "int":
                return max(0, min(100, int(v.text)))
            return PRIORITY_LEVELS[word(v, spec.allowed)]
        if spec.kind == "string":
            if v.kind != "string" or "${" in v.text:
                raise _Invalid("expected a plain string")
            return unquote(v.text)
        if spec.kind == "rate":
            return rate(v)
        raise _Invalid("unknown option")  # unreachable: fallback and streaming keys never come here

    @staticmethod
    def build(values: dict[str, object], fallback: ast.Expr | None) -> CallOptions:
        throttle = values.get("throttle")
        return CallOptions(
            retry=int(values.get("retry", 0)),
            timeout_ms=values.get("timeout"),
            delay_ms=values.get("delay"),
            backoff=str(values.get("backoff", "fixed")),
            fallback=fallback,
            cache_ms=values.get("cache"),
            cache_backend=str(values.get("cache_backend", "memory")),
            throttle=throttle if isinstance(throttle, tuple) else None,
            concurrency=values.get("concurrency"),
            on_error=str(values.get("on_error", "propagate")),
            lazy=bool(values.get("lazy", False)),
            priority=int(values.get("priority", 50)),
        )


def whole(v: ast.OptValue, minimum: int) -> int:
    if v.kind != "int":
        raise _Invalid("expected a whole number")
    n = int(v.text)
    if n < minimum:
        raise _Invalid("must be > 0" if minimum == 1 else f"must be >= {minimum}")
    return n


def duration(v: ast.OptValue, help_text: str = _DURATION_HELP) -> int:
    if v.kind != "suffixed":
        raise _Invalid(help_text)
    negative = v.text.startswith("-")
    m = _SUFFIXED.fullmatch(v.text.lstrip("-"))
    if m is None or m.group(2):
        raise _Invalid(help_text)
    unit = m.group(3)
    if unit not in DURATION_UNITS_MS:
        raise _Invalid(f"unknown duration unit '{unit}'; use {_UNITS}")
    ms = int(m.group(1)) * DURATION_UNITS_MS[unit]
    if negative or ms <= 0:
        raise _Invalid("must be > 0")
    return ms


def rate(v: ast.OptValue) -> tuple[int, int]:
    help_text = "expected a rate such as 10/1s"
    if v.kind != "rate" or "/" not in v.text:
        raise _Invalid(help_text)
    count, window = v.text.split("/", 1)
    if not count.isdigit():
        raise _Invalid(help_text)
    window_ms = duration(ast.OptValue("suffixed", window, v.span), help_text)
    if int(count) <= 0:
        raise _Invalid("must be > 0")
    return int(count), window_ms


def word(v: ast.OptValue, valid: tuple[str, ...]) -> str:
    if v.kind == "word" and v.text in valid:
        return v.text
    replacement = closest_word(v.text, valid) if v.kind == "word" else None
    raise _Invalid("expected one of " + ", ".join(valid), replacement)


def unquote(text: str) -> str:
    body = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)
