"""`cst run --resume [RUN]`, `--target NAME...`, `--from NAME`: which calls run, and which
take their values from a run's record (runtime/partial.py does the work)."""

from __future__ import annotations

import os

from constellation.cli._shared import UserError


def plan_for(args, plan):
    """(the executable plan to run, the record's calls it may reuse (partial.Reuse) or None,
    a sentence for the user or None), from the pipeline's whole plan."""
    from constellation.runtime import partial

    resume, start, targets = (getattr(args, k, None) for k in ("resume", "from_", "target"))
    if not (resume or start or targets):
        return plan, None, None
    try:
        if start:
            return _from(args, plan, start)
        if targets:
            plan = partial.targets_subset(plan, targets)
        if resume:
            head, calls = _record(args, plan, resume, "--resume")
            return plan, partial.resume_values(head, calls), f"resuming run {head['id']}"
        return plan, None, None
    except partial.PartialRunError as exc:
        raise UserError(str(exc)) from None


def _record(args, plan, ref: str, option: str) -> tuple[dict, dict[int, dict]]:
    """The run `ref` of this pipeline (`last`: its latest), refused if its plan changed: its
    summary (reader.run_head) and its calls (reader.reusable_calls)."""
    from constellation.runtime.partial import PartialRunError
    from constellation.runtime.records import reader
    from constellation.runtime.records.store import Unavailable, connect, locate

    file = os.path.abspath(args.file)
    try:
        conn = connect(locate(args.file), create=False)
    except Unavailable as exc:
        raise PartialRunError(f"{option}: {exc}") from None
    try:
        run_id = reader.find_run(conn, ref, file=file)
        head = reader.run_head(conn, run_id)
        if head["file"] != file:
            raise PartialRunError(f"{option} {ref}: run {head['id']} ran {head['file']}, "
                                  f"not {file}")
        if head["plan_hash"] != _whole_plan_hash(args, plan):
            changed = _what_changed(plan, reader.run_detail(conn, run_id))
            raise PartialRunError(f"{option}: run {head['id']} ran another version of "
                                  f"{os.path.basename(file)}: {changed}; run it without "
                                  f"{option}")
        return head, reader.reusable_calls(conn, run_id)
    except reader.NotFound as exc:
        raise PartialRunError(f"{option}: {exc}") from None
    finally:
        conn.close()


def _whole_plan_hash(args, plan) -> str:
    from constellation.cli._recording import whole_plan_hash

    return whole_plan_hash(args, plan)


def _what_changed(plan, detail: dict) -> str:
    now = {(n.label, plan.functions[n.fn].qualified if n.fn is not None and n.fn >= 0 else None)
           for n in plan.nodes if n.kind == "module"}
    then = {(c["name"], c["module"]) for c in detail["calls"]}
    added = sorted(f"'{name}' ({module})" for name, module in now - then)
    removed = sorted(f"'{name}' ({module})" for name, module in then - now)
    parts = ([f"{', '.join(added)} added"] if added else []) + (
        [f"{', '.join(removed)} removed"] if removed else [])
    return "; ".join(parts) or "a call's arguments, options, an input or an output changed"


def _from(args, plan, name: str):
    """`--from NAME`: NAME and its downstream run; everything else takes its recorded value."""
    from constellation.runtime import partial

    start = partial.binding_ids(plan, [name], "--from")
    rerun = partial.downstream(plan, start)
    head, recorded = _record(args, plan, "last", "--from")
    values = {}
    for node in plan.nodes:
        c = recorded.get(node.id)
        if node.kind == "module" and node.id not in rerun and c and c["status"] == "completed" \
                and c["has_value"]:
            values[node.id] = c["value"]
    needed = [plan.nodes[n] for n in partial.upstream(plan, rerun) - rerun
              if plan.nodes[n].kind == "module" and not plan.nodes[n].demand_driven]
    missing = [n for n in needed if n.id not in values]
    if missing:
        shown = ", ".join(f"'{n.label}' ({recorded[n.id]['status'] if n.id in recorded else 'not run'})"
                          for n in sorted(missing, key=lambda n: n.id))
        raise partial.PartialRunError(
            f"--from {name}: run {head['id']} has no value of {shown}, which "
            f"'{name}' and what follows need; run without --from (or with --resume)")
    keep = rerun | set(values)
    outputs = [o for o in plan.outputs
               if all(plan.nodes[n].kind != "module" or n in keep
                      for n in partial.upstream(plan, {plan.bindings[o]}))]
    return (partial.subset(plan, keep, outputs),
            partial.Reuse(head["id"], {n: recorded[n] for n in values}, check=False),
            f"re-running '{name}' and what follows, the rest from run {head['id']}")
