"""Reading a spec the way Pachyderm's reader does, before the models validate it.

Pachyderm reads specs with protojson, which takes each field under its proto name
(``join_on``) or its JSON name (``joinOn``); its examples switched spelling at 2.8. This pass
walks the raw data along the models' fields and

- renames camelCase keys to the models' snake_case names (keys of maps such as ``env`` or
  ``parameters`` are data and stay as written); a field given in both spellings is an error;
- drops the fields that only configure Kubernetes (``transform.image``, ``autoscaling`` ...) and
  records them, so that creating the pipeline can say once, by name, what was ignored;
- refuses the features jupyter_pipes does not have (``spout``, ``service``, ``egress`` ...)
  with a message that starts with the feature;
- accepts ``project: default`` (the only project there is) and refuses any other;
- remembers the spelling of every renamed key, so that errors name fields as the user wrote them.

protojson's zero values (``s3_out: false``, ``secrets: []``) change nothing in Pachyderm and are
dropped silently.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["IgnoredField", "Normalised", "normalise", "snake_case"]

K8S = "configures Kubernetes only"
LEGACY = "a Pachyderm 1.x setting for Kubernetes workers"
REQUEST = "an option of the request, not of the spec: use update_pipeline(reprocess=...)"

IGNORED: dict[str, dict[str, str]] = {
    "PipelineSpec": {
        "autoscaling": K8S, "scheduling_spec": K8S, "pod_spec": K8S, "pod_patch": K8S,
        "tolerations": K8S, "sidecar_resource_limits": K8S, "sidecar_resource_requests": K8S,
        "service_account": K8S, "metadata": "Kubernetes labels and annotations",
        "maximum_expected_uptime": K8S, "standby": LEGACY, "cache_size": LEGACY,
        "max_queue_size": LEGACY, "enable_stats": LEGACY,
        "datum_set_spec": "how Pachyderm batches datums into worker tasks",
        "update": REQUEST, "reprocess": REQUEST, "dry_run": REQUEST,
        "spec_commit": "set by Pachyderm itself",
    },
    "Transform": {
        "image": "no containers: commands run in the worker's environment, with the image's "
        "local stand-in if the workers have one",
        "image_pull_secrets": K8S, "user": K8S, "dockerfile": K8S, "memory_volume": K8S,
        "debug": "Pachyderm's worker log level",
    },
}  # fmt: skip

UNSUPPORTED: dict[str, dict[str, str]] = {
    "PipelineSpec": {
        "spout": "spout pipelines are not supported: jupyter_pipes runs a pipeline on input "
        "commits (write to a repo with put_file, or a cron input, instead)",
        "service": "service pipelines are not supported: serve a model with a 'serve' spec",
        "egress": "egress is not supported: copy results out with get_file or a final step",
        "tf_job": "Kubeflow TFJobs are not supported",
        "s3_out": "the S3 gateway is not supported: write outputs to /pfs/out",
        "determined": "the Determined integration is not supported",
    },
    "Transform": {
        "secrets": "Kubernetes secrets are not supported: pass values through transform.env",
        "datum_batching": "datum_batching is not supported: it needs 'pachctl next datum' in "
        "the user code (a notebook with warm kernels keeps its state between datums instead)",
    },
    "CronInput": {"commit": "pinning a cron input to a commit is not supported"},
    "PfsInput": {
        "s3": "S3-gateway inputs are not supported: read the files under /pfs/<name>",
        "commit": "pinning an input to a commit is not supported: use a branch",
        "reference": "reference inputs are not supported",
        "propagation_spec": "propagation_spec is not supported",
    },
}
KEPT = {("Transform", "image")}  # reported as ignored, yet kept: the sandbox may use a stand-in
PROJECTS = {"Pipeline", "PfsInput", "CronInput"}  # models where Pachyderm has a project field


@dataclass(frozen=True, slots=True)
class IgnoredField:
    """A field of a spec that was accepted and ignored: where (as written) and why."""

    path: str
    reason: str


@dataclass(slots=True)
class Normalised:
    """The result of :func:`normalise`."""

    data: Any
    ignored: list[IgnoredField] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """``(path, message)`` of each refused feature."""
    spelling: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    """Location (model names) of every renamed key -> the key as written."""


def snake_case(key: str) -> str:
    """protojson's JSON name back to the proto name: ``joinOn`` -> ``join_on``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m[1].lower(), key)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)


def _zero(value: Any) -> bool:
    """protojson's default values: setting them is the same as leaving the field out. A
    message (``spout: {}``) is set even when empty."""
    return value is None or value is False or (not isinstance(value, dict) and value in ("", 0, []))


def normalise(data: Any, model: type[BaseModel], path: str = "") -> Normalised:
    """Walk ``data`` along ``model``'s fields; see the module docstring.

    Parameters
    ----------
    data : Any
        The raw spec (or part of it: an ``input``), as JSON/YAML gave it.
    model : type[BaseModel]
        The model ``data`` is for.
    path : str
        The location of ``data`` in the spec (``"input"`` for an input on its own).
    """
    out = Normalised(None)
    loc: tuple[str | int, ...] = tuple(path.split(".")) if path else ()
    out.data = _walk(data, model, path, loc, out)
    return out


def _walk(
    data: Any, model: type[BaseModel], path: str, loc: tuple[str | int, ...], out: Normalised
) -> Any:
    if not isinstance(data, dict):
        return data  # the model reports the type error
    name, fields = model.__name__, model.model_fields
    ignored, unsupported = IGNORED.get(name, {}), UNSUPPORTED.get(name, {})
    known = {*fields, *ignored, *unsupported, *(("project",) if name in PROJECTS else ())}
    if name == "PfsInput":
        known.add("repo_type")
    result: dict[str, Any] = {}
    written: dict[str, str] = {}
    for key, value in data.items():
        snake = key
        if isinstance(key, str) and key not in known:
            candidate = snake_case(key)  # only the exact JSON name of a known field counts
            snake = candidate if candidate in known and _camel(candidate) == key else key
        where = f"{path}.{key}" if path else str(key)
        if snake in written:
            out.problems.append(
                (where, f"{where}: {written[snake]!r} and {key!r} are one field: give one")
            )
            continue
        written[snake] = key
        if snake != key:
            spelt = (*loc, snake)  # not inline: mypy reads d[(*a, b)] as 3.11's d[*a, b]
            out.spelling[spelt] = key
        if snake in ignored:
            if not _zero(value):
                out.ignored.append(IgnoredField(where, ignored[snake]))
            if (name, snake) in KEPT and not _zero(value):
                result[snake] = value
            continue
        if snake in unsupported:
            if not _zero(value):
                out.problems.append((where, f"{where}: {unsupported[snake]}"))
            continue
        if snake == "project" and name in PROJECTS:
            _project(value, where, out)
            continue
        if snake == "repo_type" and name == "PfsInput":
            if value not in ("", "user"):
                out.problems.append((where, f"{where}: only 'user' repos can be inputs"))
            continue
        result[snake] = _value(value, fields[snake].annotation if snake in fields else None,
                               where, (*loc, snake), out)  # fmt: skip
    return result


def _project(value: Any, where: str, out: Normalised) -> None:
    """``project``: a name (inputs) or ``{name: ...}`` (pipeline); only ``default`` exists."""
    name = value.get("name", "") if isinstance(value, dict) else value
    if isinstance(value, dict) and set(value) - {"name"}:
        out.problems.append((where, f"{where}: a project is {{name: default}}"))
    elif name not in ("", "default", None):
        out.problems.append(
            (where, f"{where}: projects are not supported; only project 'default' exists "
             f"(got {name!r})")
        )  # fmt: skip


def _value(
    value: Any, annotation: Any, where: str, loc: tuple[str | int, ...], out: Normalised
) -> Any:
    """Recurse into a field's value when the field holds models (one, a list or a dict)."""
    kind, sub = _submodel(annotation)
    if sub is None:
        return value
    if kind == "model":
        return _walk(value, sub, where, loc, out)
    if kind == "list" and isinstance(value, list):
        return [_walk(v, sub, f"{where}[{i}]", (*loc, i), out) for i, v in enumerate(value)]
    return value


def _submodel(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """``("model", M)`` for ``M | None``, ``("list", M)`` for ``list[M] | None``."""
    from pydantic import BaseModel  # here: importing this module stays cheap

    args = [annotation]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return "model", arg
        if typing.get_origin(arg) is list:
            (item,) = typing.get_args(arg)
            if isinstance(item, type) and issubclass(item, BaseModel):
                return "list", item
    return "", None
