"""Run-time failures (LANGUAGE.md §8.6, §10.6): a message, the function or operator, a position."""

from __future__ import annotations


class RunError(Exception):
    """A failure of a node or inline expression; `node` is the plan node where it happened
    (None while it is still inside the expression that raised it)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 function: str | None = None, node: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.function = function
        self.node = node

    def to_json(self) -> dict:
        return {"message": self.message, "line": self.line, "column": self.column,
                "function": self.function}

    def __str__(self) -> str:
        where = f" at {self.line}:{self.column}" if self.line is not None else ""
        return f"{self.message}{where}"


class InputError(Exception):
    """Inputs rejected before the run starts (all problems at once)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# What a module may raise to end the process or the loop (sys.exit, KeyboardInterrupt, a
# stray GeneratorExit): each fails the module's own call, the run goes on (issue 13 item 5).
MODULE_EXITS = (SystemExit, KeyboardInterrupt, GeneratorExit)


def exit_message(name: str, exc: BaseException) -> str:
    """The failure of a call whose module raised one of MODULE_EXITS."""
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return (f"'{name}' called sys.exit({code}): a module cannot end the run; raise an "
                f"exception to fail its call")
    text = str(exc)
    return f"'{name}' raised {type(exc).__name__}" + (f": {text}" if text else "")


def failure_message(exc: BaseException) -> str:
    """The user-facing text of an exception raised by a module implementation."""
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        text = f"missing key {exc.args[0]!r}"
    return text or type(exc).__name__
