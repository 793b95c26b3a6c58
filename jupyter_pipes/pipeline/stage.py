"""Fingerprints of what a pipeline runs: the one home of the rule that decides what re-runs.

``stage_key`` covers the notebook's fingerprint (code cells and behaviour tags only; see
:func:`jupyter_pipes.pipeline.notebook.fingerprint`) or the command and its stdin, and the
parameters, env, kernel and salt. A datum's hash is ``H(datum content key, stage key)``: equal
hashes mean the datum can be skipped. ``isolation`` and resources are left out on purpose
(switching them re-runs nothing). ``datum_key`` adds the input spec: two jobs with equal datum
keys select datums the same way and hash them the same way, so the later one may compute its
changes from a diff of the inputs alone.
"""

from __future__ import annotations

import json

from blake3 import blake3

from .spec import PipelineSpec, spec_to_dict


def _h(value: object) -> str:
    return blake3(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def stage_key(spec: PipelineSpec, notebook: bytes | None) -> str:
    """The fingerprint of a pipeline's stage (64 hex digits), part of every datum's hash."""
    t = spec.transform
    if notebook is not None:
        from .notebook import fingerprint

        stage = fingerprint(notebook)
    else:
        stage = json.dumps([t.cmd, t.stdin])
    return _h([stage, t.parameters, t.env, t.kernel, spec.salt or ""])


def datum_key(spec: PipelineSpec, stage: str) -> str:
    """``stage`` and the input spec, fingerprinted together."""
    return _h([stage, spec_to_dict(spec).get("input")])


def datum_hash(content_key: str, stage: str) -> str:
    """The hash of one datum (see :meth:`~jupyter_pipes.pipeline.datums.Datum.content_key`)."""
    return blake3(f"{content_key}:{stage}".encode()).hexdigest()
