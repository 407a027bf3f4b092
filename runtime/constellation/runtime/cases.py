"""Pipeline tests (`cst test`): case files, their fixtures, and running a case by replay.

A case is a YAML file `NAME.cst-test.yaml` (README, *Pipeline tests*):

    pipeline: profile.cst          # relative to the case file
    inputs: {userId: u-42}
    seed: 0                        # optional: runs are serial and seeded
    fixtures:                      # module results used instead of calling the modules
      - {module: GetUser, args: [u-42], value: {id: u-42, name: User u-42}}
      - {module: GetOrders, args: [u-42], error: service unavailable}
    fixtures_from_run: last        # optional: also every module result of a recorded run
    expect:
      status: completed            # optional
      outputs: {profile: {...}}    # exact values of these outputs
      fields: {profile.orderCount: 2, profile.tags.0: new}   # a value at a path
      errors: [timed out]          # optional: each a part of some run error's message

Module results are substituted at the registry: the pipeline's plan runs against its registry
with every module function replaced by a lookup in the fixtures (by module and the hash of its
arguments; the same names and signatures, so the plan's functions resolve to them), so the run
goes as always and no module is called; a call without a fixture fails with a sentence naming
it. The CLI compiles the pipeline (`cst test`); the runtime only runs its plan.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from constellation.compiler.registry import Registry
from constellation.runtime import identity

SUFFIX = ".cst-test.yaml"
KEYS = ("pipeline", "inputs", "seed", "fixtures", "fixtures_from_run", "expect")
EXPECT_KEYS = ("status", "outputs", "fields", "errors")


class CaseError(Exception):
    """A case file that cannot be used; str() is a sentence with its file and line."""


@dataclass
class Expectation:
    what: str  # "status", "outputs.NAME", "fields.PATH", "errors"
    expected: object
    line: int | None


@dataclass
class Case:
    path: Path
    name: str
    pipeline: Path
    inputs: dict
    seed: int
    fixtures: list[dict]
    fixtures_from_run: str | None
    expectations: list[Expectation]


@dataclass
class Outcome:
    case: Case
    failures: list[tuple[Expectation | None, str]] = field(default_factory=list)
    duration_ms: float = 0.0
    status: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


# -- reading ----------------------------------------------------------------------------------
def find_cases(paths: list[str]) -> list[Path]:
    """The case files at or under `paths` (default: the current folder), sorted."""
    found: list[Path] = []
    for given in paths or ["."]:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{SUFFIX}")
                            if not any(part.startswith(".") for part in p.parts[len(path.parts):]))
        elif path.is_file():
            found.append(path)
        else:
            raise CaseError(f"{given}: no such file or folder")
    return found


def _lines(text: str) -> dict[tuple, int]:
    """(key, subkey, ...) -> 1-based line of each mapping key of the document."""
    out: dict[tuple, int] = {}

    def walk(node, trail: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = trail + (key.value,)
                out[here] = key.start_mark.line + 1
                walk(value, here)

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    except yaml.YAMLError:
        pass
    return out


def load_case(path: Path) -> Case:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read the case: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise CaseError(f"{path}{where}: not valid YAML: "
                        f"{getattr(exc, 'problem', None) or exc}") from None
    lines = _lines(text)
    if not isinstance(data, dict):
        raise CaseError(f"{path}:1: a case is a mapping with 'pipeline', 'inputs', 'fixtures' "
                        f"and 'expect'")
    for key in data:
        if key not in KEYS:
            raise CaseError(f"{path}:{lines.get((key,), 1)}: unknown key '{key}'; a case has "
                            + ", ".join(KEYS))
    if not isinstance(data.get("pipeline"), str):
        raise CaseError(f"{path}:{lines.get(('pipeline',), 1)}: 'pipeline' must name the .cst "
                        f"file (relative to the case)")
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise CaseError(f"{path}:{lines.get(('inputs',), 1)}: 'inputs' must map input names "
                        f"to values")
    fixtures = data.get("fixtures") or []
    if not isinstance(fixtures, list) or not all(
            isinstance(f, dict) and isinstance(f.get("module"), str)
            and isinstance(f.get("args", []), list) and ("value" in f or "error" in f)
            for f in fixtures):
        raise CaseError(f"{path}:{lines.get(('fixtures',), 1)}: each fixture is "
                        f"{{module: NAME, args: [...], value: V}} or {{..., error: MESSAGE}}")
    expect = data.get("expect") or {}
    if not isinstance(expect, dict) or any(k not in EXPECT_KEYS for k in expect):
        raise CaseError(f"{path}:{lines.get(('expect',), 1)}: 'expect' may hold "
                        + ", ".join(EXPECT_KEYS))
    expectations = []
    if "status" in expect:
        expectations.append(Expectation("status", expect["status"],
                                        lines.get(("expect", "status"))))
    for group in ("outputs", "fields"):
        entries = expect.get(group) or {}
        if not isinstance(entries, dict):
            raise CaseError(f"{path}:{lines.get(('expect', group), 1)}: 'expect.{group}' maps "
                            f"names to values")
        for name, value in entries.items():
            expectations.append(Expectation(f"{group}.{name}", value,
                                            lines.get(("expect", group, str(name)))))
    if "errors" in expect:
        expectations.append(Expectation("errors", list(expect["errors"] or []),
                                        lines.get(("expect", "errors"))))
    run = data.get("fixtures_from_run")
    return Case(path, path.name[:-len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem,
                (path.parent / data["pipeline"]), inputs, int(data.get("seed") or 0), fixtures,
                None if run is None else str(run), expectations)


# -- writing (`cst run FILE --save-test NAME`) ------------------------------------------------
def save_case(folder: Path, name: str, pipeline: Path, inputs: dict, results: list[dict],
              outputs: dict, status: str) -> Path:
    """A case replaying a real run: its inputs, its modules' results as fixtures, and its
    outputs and status as the expectation."""
    path = folder / f"{name}{SUFFIX}"
    seen, fixtures = set(), []
    for r in results:
        key = (r["module"], json.dumps(r["args"], sort_keys=True))
        if key in seen:
            continue
        seen.add(key)
        entry = {"module": r["module"], "args": r["args"]}
        entry.update({"error": r["error"]} if r["error"] is not None else {"value": r["value"]})
        fixtures.append(entry)
    document = {"pipeline": _relative(pipeline, folder), "inputs": inputs,
                "fixtures": fixtures, "expect": {"status": status, "outputs": outputs}}
    header = (f"# A pipeline test (cst test): saved from a run of {pipeline.name}.\n"
              f"# Fixtures are the modules' results in that run; edit expect to taste.\n")
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                                            width=100, default_flow_style=None), encoding="utf-8")
    return path


def _relative(path: Path, folder: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), folder.resolve())


# -- replay -----------------------------------------------------------------------------------
class Fixtures:
    """Module results by (module, arguments' hash)."""

    def __init__(self, entries: list[dict]):
        self.by_key: dict[tuple[str, str], dict] = {}
        for e in entries:
            self.by_key.setdefault((e["module"], identity.args_hash(list(e.get("args") or []))), e)

    def function(self, qualified: str):
        async def replay(*args):
            entry = self.by_key.get((qualified, identity.args_hash(list(args))))
            if entry is None:
                shown = ", ".join(json.dumps(a, ensure_ascii=False) for a in args)
                raise LookupError(f"no fixture for {qualified}({shown}): add one to the case, "
                                  f"or save it again from a run")
            if entry.get("error") is not None:
                raise RuntimeError(entry["error"])
            return entry.get("value")
        replay.__qualname__ = f"fixture of {qualified}"
        return replay


def replay_registry(registry: Registry, fixtures: Fixtures) -> Registry:
    """`registry` with every module function answered from the fixtures (the standard
    library still computes)."""
    functions = [f if f.higher_order or (f.namespace or "").startswith("stdlib") else
                 dataclasses.replace(f, impl=fixtures.function(f.qualified))
                 for f in registry.functions]
    return Registry(functions)


def recorded_results(case: Case) -> list[dict]:
    from constellation.runtime.records import reader
    from constellation.runtime.records.store import Unavailable, connect, locate

    try:
        conn = connect(locate(case.pipeline), create=False)
    except Unavailable as exc:
        raise CaseError(f"{case.path}: fixtures_from_run: {exc}") from None
    try:
        run_id = reader.find_run(conn, case.fixtures_from_run,
                                 file=str(case.pipeline.resolve())
                                 if case.fixtures_from_run == "last" else None)
        return reader.module_results(conn, run_id)
    except reader.NotFound as exc:
        raise CaseError(f"{case.path}: fixtures_from_run: {exc}") from None
    finally:
        conn.close()


def run_case(case: Case, program, registry: Registry) -> Outcome:
    """Replay `case` with `program` (the pipeline's Analysis or executable Plan) and its
    `registry`: serial, seeded, in memory (no record, no persistent cache)."""
    import time

    from constellation.runtime.api import run
    from constellation.runtime.inputs import RunRejected
    from constellation.runtime.limits import reset_shared_state

    outcome = Outcome(case)
    t0 = time.perf_counter()
    entries = list(case.fixtures)
    if case.fixtures_from_run is not None:
        entries += recorded_results(case)
    reset_shared_state()  # each case starts as a fresh process would
    try:
        result = run(program, case.inputs, registry=replay_registry(registry, Fixtures(entries)),
                     serial=True, seed=case.seed, file=str(case.pipeline))
    except RunRejected as exc:
        outcome.failures.append((None, "the run was rejected: " + "; ".join(
            f"{e['message']}" + (f" (line {e['line']})" if e.get("line") else "")
            for e in exc.errors)))
        outcome.duration_ms = (time.perf_counter() - t0) * 1000
        return outcome
    outcome.status = result.status
    outcome.failures += check(case, result)
    outcome.duration_ms = (time.perf_counter() - t0) * 1000
    return outcome


_MISSING = object()


def _at(value: object, path: list[str]) -> object:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and \
                -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _same(got: object, expected: object) -> bool:
    """Equal as values: numbers by value (YAML writes 157 for 157.0), never a bool for a
    number, lists and records element by element."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(_same(got[k], expected[k]) for k in got)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(_same, got, expected))
    return got == expected


def check(case: Case, result) -> list[tuple[Expectation, str]]:
    """The expectations the run does not meet, each with what differs."""
    failures = []
    errors = [e["message"] for e in result.errors]
    for e in case.expectations:
        if e.what == "status":
            if result.status != e.expected:
                detail = f"; errors: {'; '.join(errors)}" if errors else ""
                failures.append((e, f"status: expected {e.expected}, got {result.status}{detail}"))
        elif e.what == "errors":
            for part in e.expected:
                if not any(str(part) in m for m in errors):
                    failures.append((e, f"errors: no error mentions {part!r} (errors: "
                                        f"{errors or 'none'})"))
        else:
            group, _, name = e.what.partition(".")
            if group == "outputs":
                got = result.outputs.get(name, _MISSING)
            else:
                head, *rest = name.split(".")
                got = _at(result.outputs.get(head, _MISSING), rest) \
                    if head in result.outputs else _MISSING
            if got is _MISSING:
                failures.append((e, f"{name}: expected {_shown(e.expected)}, but the run has no "
                                    f"such {'output' if group == 'outputs' else 'field'}"
                                 + (f" (errors: {'; '.join(errors)})" if errors else "")))
            elif not _same(got, e.expected):
                failures.append((e, f"{name}: expected {_shown(e.expected)}, got {_shown(got)}"))
    return failures
