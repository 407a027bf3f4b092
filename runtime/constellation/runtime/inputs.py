"""Run inputs (LANGUAGE.md §10.1): validated all at once before anything runs."""

from __future__ import annotations

from constellation.compiler import types as T
from constellation.compiler.inputs import check_input, input_types
from constellation.runtime import values


class RunRejected(Exception):
    """The run cannot start: compile errors or bad inputs. `errors` are
    `{"message", "line", "column"}` dicts, every problem at once."""

    def __init__(self, errors: list[dict]):
        super().__init__("\n".join(e["message"] for e in errors))
        self.errors = errors


def plan_of(program):
    """The executable plan of an Analysis, or the plan itself."""
    return getattr(program, "executable_plan", program)


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
        if name in given:
            error, value = check_input(name, given[name], t)
            if error is None:
                out[name] = value
            else:
                problem(error, name)
        elif use_examples and plan.examples.get(name):
            out[name] = values.coerce(plan.examples[name][0], t)
        elif isinstance(t, T.OptionalT):
            out[name] = None
        else:
            problem(f"Missing input '{name}'", name)
    if problems:
        raise RunRejected(problems)
    return out
