"""A pipeline's identity (runtime/identity.py) is its executable Plan's: the same for the Plan
read back from JSON or pickle, for moved code and comments; different for a changed option,
type or edge."""

from __future__ import annotations

import pickle

from constellation.compiler import analyze
from constellation.compiler.plan_json import plan_from_json, plan_to_json
from constellation.runtime.identity import plan_hash
from constellation.runtime.modules import base_registry

PIPELINE = 'in s: String\nline = trim(s) with retry: 2\nspan = concat(line, "!")\nout span\n'


def hash_of(text: str) -> str:
    analysis = analyze(text, base_registry())
    assert analysis.valid, [d.message for d in analysis.diagnostics]
    return plan_hash(analysis)


def test_a_plan_read_back_has_its_analysis_identity():
    analysis = analyze(PIPELINE, base_registry())
    assert analysis.valid
    plan = analysis.executable_plan
    assert plan_hash(plan_from_json(plan_to_json(plan))) == plan_hash(analysis)
    assert plan_hash(pickle.loads(pickle.dumps(plan))) == plan_hash(analysis)


def test_comments_and_moved_code_keep_the_identity():
    moved = ('# a comment\n\nin s: String\nline  =  trim(s)   with retry: 2\n\n'
             'span = concat(line, "!")\nout span\n')
    assert hash_of(moved) == hash_of(PIPELINE)


def test_a_changed_option_type_or_edge_changes_it():
    base = hash_of(PIPELINE)
    assert hash_of(PIPELINE.replace("retry: 2", "retry: 3")) != base
    record = PIPELINE.replace("trim(s)", "trim(s.a)")
    assert hash_of(record.replace("in s: String", "in s: { a: String, b: Int }")) != \
        hash_of(record.replace("in s: String", "in s: { a: String }"))
    assert hash_of(PIPELINE.replace("concat(line,", "concat(s,")) != base


def test_the_walks_shortcut_for_calls_of_values_writes_what_the_general_walk_does(monkeypatch):
    from constellation.runtime import identity

    text = ('in s: String\nin n: Int\na = trim(s)\nb = concat(a, a)\nc = concat(b, "!")\n'
            'd = concat(trim(b), c) with retry: 2\ne = concat(d, c)\nout e\nout a\n')
    analysis = analyze(text, base_registry())
    assert analysis.valid, [d.message for d in analysis.diagnostics]
    assert identity._CALL_OF_REFS  # the IR still has the shape the shortcut writes
    shortcut = plan_hash(analysis)
    monkeypatch.setattr(identity, "_CALL_OF_REFS", False)
    assert plan_hash(analysis) == shortcut
