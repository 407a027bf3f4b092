"""`cst test [PATH...]`: run the pipeline tests (`*.cst-test.yaml`, runtime/cases.py) by
replay, report like pytest, `--junit FILE` for CI, `--json` for editors (VS Code's Test
Explorer); exit status 1 when a case fails."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from constellation.cli._shared import UserError, add_modules_option


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "test", help="run pipeline tests (*.cst-test.yaml) without calling any module",
        description="Run the pipeline test cases at or under PATH (default: the current "
                    "folder): each replays its pipeline with the modules' results taken from "
                    "its fixtures, serially and seeded, and checks the expected outputs. "
                    "`cst run FILE --save-test NAME` writes a case from a real run.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="case files or folders to search for *.cst-test.yaml")
    parser.add_argument("--junit", metavar="FILE.xml", help="also write a JUnit XML report")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (each case's status and its failures "
                             "with their lines) instead of the report")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    add_modules_option(parser)
    parser.set_defaults(func=test_command)


def test_command(args: argparse.Namespace) -> int:
    from constellation.runtime.cases import CaseError, find_cases, load_case, run_case

    try:
        files = find_cases(args.paths)
    except CaseError as exc:
        raise UserError(f"cst test: {exc}") from None
    t0 = time.perf_counter()
    text = not args.json
    if text:
        print(f"cst test: {len(files)} case{'s' if len(files) != 1 else ''}")
    outcomes, broken, order = [], [], []
    for path in files:
        try:
            case = load_case(path)
            outcome = run_case(case, *compile_case(case, tuple(args.modules)))
        except CaseError as exc:
            broken.append((path, str(exc)))
            order.append(broken[-1])
            mark = "E"
        else:
            outcomes.append(outcome)
            order.append(outcome)
            mark = "." if outcome.passed else "F"
        if text and not args.quiet:
            print(f"{_shown(path)} {mark}")
    failed = [o for o in outcomes if not o.passed]
    elapsed = time.perf_counter() - t0
    if text:
        _text_report(outcomes, failed, broken, elapsed)
    else:
        print(json.dumps(_json_report(order, elapsed), ensure_ascii=False))
    if args.junit:
        write_junit(args.junit, outcomes, broken, elapsed)
    return 1 if failed or broken else 0


def _text_report(outcomes, failed, broken, elapsed: float) -> None:
    if broken:
        _banner("ERRORS")
        for path, message in broken:
            _banner(path.name, "_")
            print(message)
    if failed:
        _banner("FAILURES")
        for o in failed:
            _banner(o.case.name, "_")
            for expectation, message in o.failures:
                where = f"{_shown(o.case.path)}:{expectation.line}" if expectation and \
                    expectation.line else _shown(o.case.path)
                print(f"{where}: {message}")
    parts = [f"{len(failed)} failed"] if failed else []
    parts += [f"{len(outcomes) - len(failed)} passed"]
    parts += [f"{len(broken)} error{'s' if len(broken) != 1 else ''}"] if broken else []
    _banner(", ".join(parts) + f" in {elapsed:.2f}s")


def _json_report(order: list, elapsed: float) -> dict:
    """`--json` (README, *Pipeline tests*): each case in order with its absolute file (links
    kept: the path the editor named, not its target), status
    and failures at their 1-based lines (null where a failure has none, e.g. a call without a
    fixture); what VS Code's Test Explorer reads."""
    from constellation.runtime.cases import SUFFIX

    cases = []
    for item in order:
        if isinstance(item, tuple):  # a case file that cannot be used: (path, sentence)
            path, message = item
            line = re.match(re.escape(str(path)) + r":(\d+):", message)
            cases.append({"file": os.path.abspath(path), "name": path.name.removesuffix(SUFFIX),
                          "status": "error", "duration_ms": 0.0,
                          "failures": [{"line": int(line[1]) if line else None,
                                        "message": message}]})
            continue
        cases.append({"file": os.path.abspath(item.case.path), "name": item.case.name,
                      "status": "passed" if item.passed else "failed",
                      "duration_ms": round(item.duration_ms, 3),
                      "failures": [{"line": e.line if e else None, "message": m}
                                   for e, m in item.failures]})
    totals = {status: sum(1 for c in cases if c["status"] == status)
              for status in ("passed", "failed", "error")}
    return {"cases": cases, **totals, "seconds": round(elapsed, 3)}


def compile_case(case, extra_modules: tuple[str, ...]):
    """(the pipeline's Analysis, its registry) for a case; a CaseError if either cannot be
    had. Compile errors reject the case's run, each with its line."""
    from constellation.compiler import analyze
    from constellation.runtime.cases import CaseError
    from constellation.runtime.modules import load_config_registry

    try:
        text = case.pipeline.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{case.path}: pipeline {case.pipeline}: cannot read it: {exc}") from None
    registry, errors = load_config_registry(case.pipeline, extra_modules)
    if errors:
        raise CaseError(f"{case.path}: " + "; ".join(errors))
    return analyze(text, registry), registry


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _banner(text: str, fill: str = "=") -> None:
    width = 79
    text = f" {text} "
    left = max((width - len(text)) // 2, 3)
    print(f"{fill * left}{text}{fill * max(width - left - len(text), 3)}")


def write_junit(path: str, outcomes, broken, elapsed: float) -> None:
    """JUnit XML: one testsuite, one testcase per case (classname: its folder)."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for o in outcomes if not o.passed)
    suite = ET.Element("testsuite", name="cst test", tests=str(len(outcomes) + len(broken)),
                       failures=str(failures), errors=str(len(broken)), time=f"{elapsed:.3f}")
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", name=o.case.name,
                             classname=_shown(o.case.path.parent).replace(os.sep, "."),
                             file=_shown(o.case.path), time=f"{o.duration_ms / 1000:.3f}")
        if not o.passed:
            lines = [f"{_shown(o.case.path)}:{e.line}: {m}" if e and e.line else m
                     for e, m in o.failures]
            failure = ET.SubElement(case, "failure", message=o.failures[0][1])
            failure.text = "\n".join(lines)
    for case_path, message in broken:
        case = ET.SubElement(suite, "testcase", name=case_path.name, file=_shown(case_path))
        ET.SubElement(case, "error", message=message).text = message
    try:
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the JUnit report: {exc.strerror or exc}") from None
    print(f"wrote {path}", file=sys.stderr)
