"""The pipeline spec: transform, resources, and the spec as a whole.

Two levels of checks, as in Pachyderm: the models check shapes and values (a glob compiles, a
repo name is valid, exactly one input kind, numbers within :data:`~.units.LIMITS` ...);
:class:`PipelineSpec` adds what ``CreatePipeline`` checks on the whole input tree
(:func:`~.inputs.check_inputs`) and the notebook parameter names.
"""

from __future__ import annotations

import keyword
import posixpath
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ...store.names import check_branch_name, check_repo_name
from ..contract import reserved_for
from .base import Int64, SpecModel, check_with, fail
from .inputs import NOTEBOOK_RESERVED, CronInput, Input, check_inputs, default_cron_repos, iter_pfs
from .units import LIMITS, check_env_value, parse_cpu, parse_duration, parse_quantity

__all__ = [
    "GpuSpec", "ParallelismSpec", "Pipeline", "PipelineSpec", "ResourceSpec", "SandboxSpec",
    "ServeSpec", "Transform",
]  # fmt: skip

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SandboxSpec(SpecModel):
    """How a command's ``/pfs`` sandbox is set up (see docs/pipeline-spec.md, "/pfs")."""

    network: bool = True
    """False runs the command without network (only its own loopback)."""
    read_only_inputs: bool = True
    """Inputs under ``/pfs/<name>`` are read-only (the output ``/pfs/out`` never is)."""


class Transform(SpecModel):
    """What runs per datum: a notebook (papermill) or a Pachyderm-style command."""

    notebook: str | None = None
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    kernel: str | None = None
    isolation: Literal["fresh", "warm"] | None = None
    """Notebooks: ``"warm"`` (the default: a kernel per worker, reset between datums) or
    ``"fresh"`` (a kernel per datum). Always ``None`` for commands."""
    cmd: list[str] | None = None
    stdin: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    err_cmd: list[str] | None = None
    """Run when ``cmd`` fails; if it succeeds the datum is recovered (Pachyderm's err_cmd)."""
    err_stdin: list[str] | None = None
    accept_return_code: list[Annotated[Int64, Field(ge=0, le=255)]] | None = None
    """Exit codes of ``cmd`` that count as success besides 0."""
    working_dir: str | None = None
    """The command's working directory as it sees it (default ``/pfs``)."""
    sandbox: SandboxSpec | None = None
    image: str | None = None
    """Pachyderm's container image: reported as ignored when the pipeline is created, and used
    only to find a local stand-in (docs/pipeline-spec.md, "/pfs")."""

    @model_validator(mode="before")
    @classmethod
    def _default_isolation(cls, data: Any) -> Any:
        """Notebooks default to warm kernels. Commands have no isolation; snapshots written
        before warm kernels existed say ``"fresh"`` for commands too: accepted and dropped."""
        if not isinstance(data, dict):
            return data
        is_cmd = data.get("cmd") is not None
        if is_cmd and data.get("isolation") == "fresh":
            return {k: v for k, v in data.items() if k != "isolation"}
        if not is_cmd and data.get("notebook") is not None and data.get("isolation") is None:
            return {**data, "isolation": "warm"}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Transform:
        if (self.notebook is None) == (self.cmd is None):
            raise fail("give exactly one of notebook or cmd")
        if self.cmd is not None:
            if not self.cmd or not self.cmd[0]:
                raise fail("give a command and its arguments, e.g. ['python3', 'run.py']", "cmd")
            defaults: dict[str, object] = {"parameters": {}, "kernel": None, "isolation": None}
            for key, default in defaults.items():
                if getattr(self, key) != default:
                    raise fail(f"{key!r} is for a notebook transform, not for cmd", key)
            if self.err_cmd is not None and (not self.err_cmd or not self.err_cmd[0]):
                raise fail("give a command and its arguments, e.g. ['sh']", "err_cmd")
            if self.err_stdin is not None and self.err_cmd is None:
                raise fail("err_stdin is the standard input of err_cmd: give err_cmd", "err_stdin")
            wd = self.working_dir
            if wd is not None and (not wd.startswith("/") or re.search(r"[\x00-\x1f]", wd)):
                raise fail(f"expected an absolute path such as '/pfs/code', got {wd!r}",
                           "working_dir")  # fmt: skip
        elif not self.notebook or not self.notebook.endswith(".ipynb"):
            raise fail(f"expected the path of a .ipynb file, got {self.notebook!r}", "notebook")
        else:
            for key in ("stdin", "err_cmd", "err_stdin", "accept_return_code", "working_dir",
                        "sandbox", "image"):  # fmt: skip
                if getattr(self, key) is not None:
                    raise fail(f"{key} applies to cmd, not to a notebook transform", key)
        for key in self.parameters:
            if not key.isidentifier() or keyword.iskeyword(key):
                raise fail(
                    f"parameter {key!r} is not a valid Python identifier", f"parameters.{key}"
                )
        for key, value in self.env.items():
            if not _ENV_NAME.fullmatch(key):
                raise fail(f"invalid environment variable name {key!r}", f"env.{key}")
            try:
                check_env_value(value)
            except ValueError as exc:
                raise fail(str(exc), f"env.{key}") from None
        return self


class ParallelismSpec(SpecModel):
    """How many datums of one job may run at once."""

    constant: Int64 = Field(ge=1, le=LIMITS["parallelism"])


class GpuSpec(SpecModel):
    """GPUs one datum needs (a Dask worker resource)."""

    type: str = "nvidia.com/gpu"
    number: Int64 = Field(ge=1, le=LIMITS["gpus"])

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return v or "nvidia.com/gpu"  # protojson's zero value


def _cpu(value: Any) -> Any:
    """A number of cores or a Kubernetes quantity (``'500m'``), checked and made a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value  # the float type reports it
    try:
        return parse_cpu(value)
    except ValueError as exc:
        raise fail(str(exc)) from None


class ResourceSpec(SpecModel):
    """Resources one datum needs: ``cpu`` cores, ``memory``/``disk`` quantities, GPUs."""

    cpu: Annotated[float, BeforeValidator(_cpu)] | None = None
    memory: str | None = None
    disk: str | None = None
    gpu: GpuSpec | None = None

    @field_validator("memory", "disk")
    @classmethod
    def _quantity(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quantity(v)
        return v

    @property
    def memory_bytes(self) -> int | None:
        """``memory`` in bytes (``None`` if not given)."""
        return None if self.memory is None else parse_quantity(self.memory)

    @property
    def disk_bytes(self) -> int | None:
        """``disk`` in bytes (``None`` if not given)."""
        return None if self.disk is None else parse_quantity(self.disk)


class Pipeline(SpecModel):
    """The pipeline's identity; its name is also the name of its output repo."""

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        try:
            return check_with(check_repo_name, v)
        except ValueError as exc:
            msg = str(exc).replace("invalid repo name", "invalid pipeline name", 1)
            raise ValueError(f"{msg} (it names the output repo)") from None


class ServeSpec(SpecModel):
    """How the pipeline's output is served over HTTP (see docs/serving.md): an endpoint on
    ``<pipeline>@<branch>`` that swaps to each new head; the serving notebook is snapshotted
    with the spec."""

    notebook: str
    """A ``.ipynb`` (or ``.py``) defining ``load(model_dir)`` and ``predict(request)``."""
    branch: str | None = None
    """The output repo's branch to follow (default: the pipeline's ``output_branch``)."""
    host: str = "127.0.0.1"
    port: Int64 = Field(default=0, ge=0, le=65535)
    """0: any free port (each replica records the one it got)."""
    token_env: str | None = None
    """Name of an environment variable holding the endpoint's token (never the token)."""
    threads: Int64 = Field(default=4, ge=0, le=64)
    """Threads running ``predict`` (0: on the event loop)."""
    log_window: str = "10s"
    """Length of one serving-log window (a duration)."""

    @field_validator("branch")
    @classmethod
    def _branch(cls, v: str | None) -> str | None:
        return v if v is None else check_with(check_branch_name, v)

    @field_validator("notebook")
    @classmethod
    def _notebook(cls, v: str) -> str:
        if not v.endswith((".ipynb", ".py")):
            raise ValueError(f"expected the path of a .ipynb or .py file, got {v!r}")
        return v

    @field_validator("log_window")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError(f"invalid environment variable name {v!r}")
        return v


class PipelineSpec(SpecModel):
    """A validated pipeline spec; build it with :func:`~.reader.parse_spec`."""

    pipeline: Pipeline
    description: str | None = None
    input: Input
    transform: Transform
    parallelism_spec: ParallelismSpec | None = None
    resource_requests: ResourceSpec | None = None
    resource_limits: ResourceSpec | None = None
    datum_tries: Int64 = Field(default=3, ge=1, le=LIMITS["datum_tries"])
    datum_timeout: str | None = None
    job_timeout: str | None = None
    output_branch: str = "master"
    reprocess_spec: Literal["until_success", "every_job"] = "until_success"
    salt: str | None = None
    metrics: list[str] | None = None
    """Output files holding metrics (JSON objects of numbers), e.g. ``["/metrics.json"]``."""
    serve: ServeSpec | None = None

    @field_validator("datum_timeout", "job_timeout", "output_branch")
    @classmethod
    def _valid(cls, v: str | None, info: ValidationInfo) -> str | None:
        check = check_branch_name if info.field_name == "output_branch" else parse_duration
        return v if v is None else check_with(check, v)

    @field_validator("reprocess_spec", mode="before")
    @classmethod
    def _reprocess(cls, v: Any) -> Any:
        return "until_success" if v == "" else v  # protojson's zero value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if len(v) > LIMITS["metrics"]:
            raise ValueError(f"at most {LIMITS['metrics']} metrics files")
        out: list[str] = []
        for i, path in enumerate(v):
            clean = posixpath.normpath("/" + path.lstrip("/")) if path else ""
            bad = not path or "\x00" in path or ".." in path.split("/") or clean == "/"
            if bad or re.search(r"[\x00-\x1f\x7f]", path):
                raise fail(f"{path!r} is not a file path in the output, e.g. '/metrics.json'",
                           str(i))  # fmt: skip
            if clean in out:
                raise fail(f"{path!r} is listed twice", str(i))
            out.append(clean)
        return out

    @model_validator(mode="after")
    def _check_inputs(self) -> PipelineSpec:
        default_cron_repos(self.input, self.pipeline.name)
        notebook = self.transform.notebook is not None
        names = check_inputs(self.input, self.pipeline.name, notebook)
        if not notebook:
            return self
        contract = reserved_for(names)
        for name, where in names.items():
            if name in contract:
                raise fail(f"input name {name!r} clashes with {contract[name]}: set pfs.name",
                           where)  # fmt: skip
        for key in self.transform.parameters:
            if key in names or key in NOTEBOOK_RESERVED:
                what = "an input name" if key in names else "reserved (injected by jupyter_pipes)"
                raise fail(f"parameter {key!r} is {what}", f"transform.parameters.{key}")
            if key in contract:
                raise fail(f"parameter {key!r} is reserved: {contract[key]}",
                           f"transform.parameters.{key}")  # fmt: skip
        return self

    @property
    def name(self) -> str:
        """The pipeline's (and its output repo's) name."""
        return self.pipeline.name

    @property
    def datum_timeout_seconds(self) -> float | None:
        """``datum_timeout`` in seconds, ``None`` for no timeout."""
        return None if self.datum_timeout is None else parse_duration(self.datum_timeout)

    @property
    def job_timeout_seconds(self) -> float | None:
        """``job_timeout`` in seconds, ``None`` for no timeout."""
        return None if self.job_timeout is None else parse_duration(self.job_timeout)

    def input_repos(self) -> list[tuple[str, str]]:
        """``(repo, branch)`` of every pfs input, in the order they appear in the spec."""
        return [(pfs.repo, pfs.branch) for _, pfs in iter_pfs(self.input)]

    def cron_inputs(self) -> list[CronInput]:
        """The cron inputs, in spec order (their repos are made with the pipeline)."""
        return [inp.cron for inp in _nodes(self.input) if inp.cron is not None]

    def input_names(self) -> list[str]:
        """The distinct input names (mount folders / notebook parameters), in spec order."""
        return list(dict.fromkeys(pfs.name for _, pfs in iter_pfs(self.input)))


def _nodes(inp: Input) -> list[Input]:
    return [inp, *(node for child in inp.children for node in _nodes(child))]
