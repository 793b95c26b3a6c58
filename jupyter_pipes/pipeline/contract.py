"""Pachyderm's environment contract: the variables a datum's code runs with.

For a ``cmd`` transform, as Pachyderm's worker sets them (``UserCodeEnv``):

==============================  ==========================================================
variable                        value
==============================  ==========================================================
``<name>``                      the datum's file (or folder) of input ``<name>``:
                                ``/pfs/<name>/<path>``; ``/pfs/<name>`` for a glob of ``/``
``<name>_COMMIT``               the id of the input commit the datum comes from
``PACH_DATUM_<name>_JOIN_ON``   the join key of the datum's item of ``<name>`` (if it has one)
``PACH_DATUM_<name>_GROUP_BY``  the group key (if it has one)
``PACH_DATUM_ID``               the datum's id
``PACH_JOB_ID``                 the job's id
``PACH_OUTPUT_COMMIT_ID``       the output commit's id: the job's global commit id, which
                                names it (``<pipeline>@<id>``), as in Pachyderm 2.x
``PPS_PIPELINE_NAME``           the pipeline's name
``PFS``, ``out``                jupyter_pipes's own: the datum's ``/pfs`` and ``/pfs/out``
==============================  ==========================================================

A notebook gets the same as parameters, with one difference that keeps existing notebooks
working: ``<name>`` stays the input's *folder* (``/pfs/<name>`` on disk); the datum's file path
is ``<name>_path``. A fresh kernel has the variables in its environment too (``os.environ``);
a warm kernel, kept per environment, has them as parameters only.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["RESERVED_PARAMETERS", "Item", "command_env", "notebook_parameters", "reserved_for"]

_ENV_SAFE = re.compile(r"[^=\x00]+")
RESERVED_PARAMETERS = frozenset(
    {"PACH_DATUM_ID", "PACH_JOB_ID", "PACH_OUTPUT_COMMIT_ID", "PPS_PIPELINE_NAME"}
)


@dataclass(frozen=True, slots=True)
class Item:
    """One input item of a datum, as the contract needs it."""

    name: str
    path: str
    commit: str = ""
    join_on: str = ""
    group_by: str = ""


def _file(root: str, item: Item) -> str:
    rel = item.path.strip("/")
    return posixpath.join(root, item.name, rel) if rel else posixpath.join(root, item.name)


def _common(
    items: Iterable[Item], root: str, *, job_id: str, datum_id: str, output_commit: str,
    pipeline: str,
) -> tuple[dict[str, str], dict[str, str]]:  # fmt: skip
    """(per-input variables except ``<name>``, the datum's files by name)."""
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    for item in items:
        if not _ENV_SAFE.fullmatch(item.name):
            continue  # a name an environment cannot hold ('=' in it)
        files[item.name] = _file(root, item)
        env[f"{item.name}_COMMIT"] = item.commit
        if item.join_on:
            env[f"PACH_DATUM_{item.name}_JOIN_ON"] = item.join_on
        if item.group_by:
            env[f"PACH_DATUM_{item.name}_GROUP_BY"] = item.group_by
    env.update(PACH_DATUM_ID=datum_id, PACH_JOB_ID=job_id, PPS_PIPELINE_NAME=pipeline)
    if output_commit:
        env["PACH_OUTPUT_COMMIT_ID"] = output_commit
    return env, files


def command_env(
    items: Iterable[Item], root: str, *, job_id: str, datum_id: str, output_commit: str = "",
    pipeline: str = "",
) -> dict[str, str]:  # fmt: skip
    """The variables of a ``cmd`` datum; ``root`` is where the command sees the datum's folder
    (``/pfs``, or the scratch folder without namespaces)."""
    env, files = _common(items, root, job_id=job_id, datum_id=datum_id,
                         output_commit=output_commit, pipeline=pipeline)  # fmt: skip
    return {**files, **env, "PFS": root, "out": posixpath.join(root, "out")}


def notebook_parameters(
    items: Iterable[Item], root: str, *, job_id: str, datum_id: str, output_commit: str = "",
    pipeline: str = "",
) -> dict[str, str]:  # fmt: skip
    """The contract's variables for a notebook datum (without ``<name>``, ``out``, ``job_id``
    and ``datum_id``, which the notebook gets already): ``<name>_path`` for the file."""
    env, files = _common(items, root, job_id=job_id, datum_id=datum_id,
                         output_commit=output_commit, pipeline=pipeline)  # fmt: skip
    return {**{f"{name}_path": path for name, path in files.items()}, **env}


def reserved_for(names: Iterable[str]) -> Mapping[str, str]:
    """Parameter names a notebook pipeline with these inputs may not use, and why."""
    out = {n: "injected by jupyter_pipes (Pachyderm's contract)" for n in RESERVED_PARAMETERS}
    for name in names:
        for suffix in ("_path", "_COMMIT"):
            out[name + suffix] = f"the {suffix[1:]} parameter of input {name!r}"
        for key in ("JOIN_ON", "GROUP_BY"):
            out[f"PACH_DATUM_{name}_{key}"] = f"the {key.lower()} key of input {name!r}"
    return out
