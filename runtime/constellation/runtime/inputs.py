"""Run inputs (LANGUAGE.md §10.1): validated all at once before anything runs."""

from __future__ import annotations

import json

from constellation.compiler import types as T
from constellation.runtime import values


class RunRejected(Exception):
    """The run cannot start: compile errors or bad inputs. `errors` are
    `{"message", "line", "column"}` dicts, every problem at once."""

    def __init__(self, errors: list[dict]):
        super().__init__("\n".join(e["message"] for e in errors))
        self.errors = errors


def _shown(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


# Values are checked and coerced recursively: deeper inputs are refused before that recursion
# could run out of stack (no declared type nests anywhere near this deep).
MAX_INPUT_DEPTH = 200


def nesting_depth(value: object, limit: int = MAX_INPUT_DEPTH) -> int:
    """How deep lists and objects nest in `value` (iteratively), stopping past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def plan_of(program):
    """The executable plan of an Analysis, or the plan itself."""
    return getattr(program, "executable_plan", program)


def input_types(program) -> dict[str, T.Type]:
    plan = plan_of(program)
    return {name: plan.nodes[plan.bindings[name]].type or T.ERROR for name in plan.inputs}


def prepare_inputs(program, given: dict, *, use_examples: bool = False) -> dict[str, object]:
    """Accepted and coerced input values, or RunRejected listing every problem."""
    plan = plan_of(program)
    declared = input_types(plan)
    problems: list[dict] = []
    out: dict[str, object] = {}

    def problem(message: str, name: str | None) -> None:
        line = col = None
        node_id = plan.bindings.get(name) if name else None
        if node_id is not None:
            line, col = plan.nodes[node_id].line, plan.nodes[node_id].column
        problems.append({"message": message, "line": line, "column": col})

    for name in given:
        if name not in declared:
            problem(f"Unknown input '{name}'", None)
    for name, t in declared.items():
        if name in given and nesting_depth(given[name]) > MAX_INPUT_DEPTH:
            problem(f"Input '{name}': the value is nested too deeply (inputs may nest at most "
                    f"{MAX_INPUT_DEPTH} levels)", name)
        elif name in given:
            ok, value = values.accept(given[name], t)
            if ok:
                out[name] = value
            else:
                problem(f"Input '{name}': expected {T.type_str(t)}, got {_shown(given[name])}", name)
        elif use_examples and plan.examples.get(name):
            out[name] = values.coerce(plan.examples[name][0], t)
        elif isinstance(t, T.OptionalT):
            out[name] = None
        else:
            problem(f"Missing input '{name}'", name)
    if problems:
        raise RunRejected(problems)
    return out


def parse_cli_value(text: str, t: T.Type) -> object:
    """`--input name=value`: strings raw, everything else as JSON (a bad JSON text is kept as
    a string so the type check reports it with the expected type)."""
    if t == T.STRING or (isinstance(t, T.OptionalT) and t.elem == T.STRING):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
