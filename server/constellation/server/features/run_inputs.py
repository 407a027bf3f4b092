"""`constellation/checkInputs`: a pipeline's inputs for an editor's run form — each with its
declared type and `@example`, and each typed text checked by the compiler's own rules (the
ones `cst run` applies), so a form can say beside the field what is wrong before a run.
See docs/input-form.md."""

from __future__ import annotations

from pygls.exceptions import JsonRpcInvalidParams

METHOD = "constellation/checkInputs"


def _plain(value):
    """pygls hands custom request params over as named tuples: back to JSON shapes."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _params(params) -> tuple[str, dict[str, str]]:
    params = _plain(params)
    if not isinstance(params, dict) or not isinstance(params.get("uri"), str):
        raise JsonRpcInvalidParams('Expected {"uri": ..., "inputs": {name: text}}.')
    texts = params.get("inputs") or {}
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise JsonRpcInvalidParams('"inputs" maps each input name to the text typed for it.')
    return params["uri"], texts


def check_inputs(analysis, positions, texts: dict[str, str]) -> dict:
    """The form's data: every input in declaration order, and whether all texts are accepted."""
    from constellation.compiler import types as T
    from constellation.compiler.inputs import check_input_text, input_text, input_types
    from constellation.compiler.queries.reading import span_of

    errors = sum(1 for d in analysis.diagnostics if d.is_error)
    fields = []
    for name, t in input_types(analysis).items():
        node = analysis.plan.nodes[analysis.plan.bindings[name]]
        examples = analysis.check.examples.get(name) or []
        field = {"name": name, "type": T.type_str(t), "optional": isinstance(t, T.OptionalT),
                 "range": positions.range(span_of(analysis, node)),
                 "example": input_text(examples[0], t) if examples else None,
                 "error": None}
        if name in texts:
            error, value = check_input_text(name, texts[name], t)
            field["error"] = error
            if error is None:
                field["value"] = value
        fields.append(field)
    ready = errors == 0 and all(f["name"] in texts and f["error"] is None for f in fields)
    return {"inputs": fields, "compileErrors": errors, "ready": ready}


def register(server) -> None:
    @server.feature(METHOD)
    async def check(ls, params) -> dict:
        uri, texts = _params(params)
        analysis = await ls.analysis_when_ready(uri, signatures=True)
        if analysis is None:
            raise JsonRpcInvalidParams(f"The document {uri} is not open.")
        return check_inputs(analysis, ls.positions(analysis), texts)
