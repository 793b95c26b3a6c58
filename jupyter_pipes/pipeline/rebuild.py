"""Pipelines back from their spec commits, after the store rebuilt its metadata from objects.

Each version of a pipeline is a commit on the ``spec`` branch of its output repo holding
``/spec.json`` (and ``/notebook.ipynb``), so the pipelines table is a function of the store: one
pipeline per output repo whose ``spec`` branch has a head, at the version that head is. Job and
datum history is not in the objects and is not rebuilt: the first job after a rebuild runs every
datum again (output commits keep their provenance). A pipeline deleted with ``keep_repo`` comes
back (its spec branch is still there): delete it again.
"""

from __future__ import annotations

import json
import logging

from ..errors import PipesError
from ..store.refs import Ref
from ..store.store import Store
from . import state
from .manager import SPEC_BRANCH, SPEC_FILE
from .spec import parse_spec, spec_to_dict

log = logging.getLogger(__name__)


def rebuild_pipelines(store: Store) -> list[str]:
    """Re-create the pipelines table from spec commits; the names of the pipelines restored."""
    restored = []
    for repo in store.list_repo():
        if SPEC_BRANCH not in repo.branches:
            continue
        versions = store.list_commit(Ref(repo.name, SPEC_BRANCH, explicit=True))
        if not versions:
            continue
        head = versions[0]
        at = Ref(repo.name, head.id, explicit=True)
        try:
            spec = parse_spec(json.loads(store.get_file(at, SPEC_FILE)))
        except (PipesError, ValueError) as exc:
            log.warning("pipeline %s not restored: %s", repo.name, exc)
            continue
        row = {
            "name": spec.name,
            "version": len(versions),
            "spec": json.dumps(spec_to_dict(spec)),
            "spec_commit": head.id,
            "salt": spec.salt or "",
            "output_branch": spec.output_branch,
            "created_at": versions[-1].started.timestamp(),
            "updated_at": (head.finished or head.started).timestamp(),
        }
        with store.meta.write() as conn:
            if state.get_pipeline(conn, spec.name) is None:
                state.put_pipeline(conn, row, spec.input_repos())
                restored.append(spec.name)
    return restored
