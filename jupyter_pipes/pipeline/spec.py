"""Pipeline specs: parsing and validation of a Pachyderm-compatible subset.

A spec is YAML or JSON (or a dict). Every model forbids unknown fields and is strict about types
(``"3"`` is not an int, ``1`` is not a string). Every problem raises
:class:`~jupyter_pipes.errors.InvalidArgument` whose message starts with the field's path, e.g.
``input.cross[1].pfs.glob: invalid glob pattern ...``, and whose ``fields["field"]`` is that path.

Two levels of checks, as in Pachyderm: the models check shapes and values (a glob compiles, a repo
name is valid, exactly one input kind ...); :class:`PipelineSpec` adds what ``CreatePipeline``
checks on the whole input tree (``ValidateNames``: unique names outside unions, ``out`` and
``.env`` reserved) plus capture-group references and notebook parameter names. So an
:class:`Input` on its own accepts what Pachyderm's datum iterator accepts.
"""

from __future__ import annotations

import json
import keyword
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..errors import InvalidArgument
from ..store.glob import Glob, clean_glob
from ..store.names import check_branch_name, check_repo_name

__all__ = [
    "GpuSpec", "Input", "ParallelismSpec", "PfsInput", "Pipeline", "PipelineSpec",
    "ResourceSpec", "ServeSpec", "Transform", "check_dag", "iter_pfs", "parse_duration",
    "parse_quantity", "parse_spec", "spec_to_dict",
]  # fmt: skip

RESERVED_NAMES = frozenset({"out", ".env"})  # Pachyderm mounts /pfs/out and /pfs/.env itself
NOTEBOOK_RESERVED = frozenset({"out", "datum_id", "job_id"})  # parameters we inject
INPUT_KINDS = ("pfs", "cross", "union", "join", "group")
_TEMPLATE_REF = re.compile(r"\$(?:(\$)|\{([0-9]+)\}|([0-9]+))")  # as Glob.replace reads it
_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION = re.compile(_NUMBER + r"(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_QUANTITY = re.compile(_NUMBER + r"(?:e([0-9]+)|([KMGTPE]i|[kMGTPE]))?")
_FACTOR = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_FACTOR.update({s + "i": 1024 ** (i + 1) for i, s in enumerate("KMGTPE")})


def parse_duration(text: str) -> float:
    """Seconds in a Go/Pachyderm duration such as ``'30s'``, ``'1.5h'`` or ``'1h30m'``.

    Parameters
    ----------
    text : str
        Runs of number + unit (``ns``, ``us``, ``ms``, ``s``, ``m``, ``h``).

    Returns
    -------
    float
        The duration in seconds; raises ValueError unless it is a positive duration.
    """
    pos, total = 0, 0.0
    while (m := _DURATION.match(text, pos)) is not None:
        total, pos = total + float(m[1]) * _SECONDS[m[2]], m.end()
    if pos < len(text) or total <= 0:
        raise ValueError(f"invalid duration {text!r}: use e.g. '30s', '5m' or '1h30m'")
    return total


def parse_quantity(text: str) -> int:
    """Bytes in a Kubernetes quantity such as ``'1G'``, ``'512Mi'`` or ``'1.5Gi'``.

    Parameters
    ----------
    text : str
        A number with an optional suffix ``k M G T P E`` (powers of 1000), ``Ki Mi Gi Ti Pi Ei``
        (powers of 1024) or ``eN``.

    Returns
    -------
    int
        The quantity in bytes; raises ValueError unless it is a positive quantity.
    """
    m = _QUANTITY.fullmatch(text)
    if m is None or float(m[1]) <= 0:
        raise ValueError(f"invalid quantity {text!r}: use e.g. '512Mi', '1G' or '1.5Gi'")
    return max(1, round(float(m[1]) * (10 ** int(m[2]) if m[2] else _FACTOR.get(m[3], 1))))


def _fail(message: str, rel: str = "") -> PydanticCustomError:
    """An error at ``rel`` (a dotted path) below the location of the validator raising it."""
    return PydanticCustomError("pipes", "{message}", {"message": message, "rel": rel})


def _check(check: Callable[[str], object], value: str) -> str:
    try:
        check(value)
    except InvalidArgument as exc:
        raise ValueError(exc.message) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- Input ---------------------------------------------------------------------------------


class PfsInput(_Model):
    """One repo input: the entries of ``repo@branch`` that ``glob`` selects, one datum each."""

    repo: str
    branch: str = "master"
    glob: str = "/"
    name: str = ""  # defaults to the repo
    join_on: str = ""
    group_by: str = ""
    outer_join: bool = False
    lazy: bool = False  # accepted for Pachyderm compatibility, ignored
    empty_files: bool = False  # accepted for Pachyderm compatibility, ignored

    @field_validator("repo", "branch", "glob")
    @classmethod
    def _valid(cls, v: str, info: ValidationInfo) -> str:
        checks = {"repo": check_repo_name, "branch": check_branch_name, "glob": _compile}
        return _check(checks[info.field_name or ""], v)

    @model_validator(mode="after")
    def _default_name(self) -> PfsInput:
        if not self.name:  # like Pachyderm; "name" stays out of model_fields_set
            object.__setattr__(self, "name", self.repo)
        return self

    def compiled_glob(self) -> Glob:
        """The glob as Pachyderm compiles it (cleaned first), for matching and captures."""
        return _compile(self.glob)


def _compile(glob: str) -> Glob:
    return Glob.compile(clean_glob(glob))


class Input(_Model):
    """A node of the input tree: exactly one of pfs, cross, union, join and group."""

    pfs: PfsInput | None = None
    cross: list[Input] | None = None
    union: list[Input] | None = None
    join: list[Input] | None = None
    group: list[Input] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Input:
        given = [k for k in INPUT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise _fail(f"give exactly one of {', '.join(INPUT_KINDS)} (got {len(given)})")
        if given[0] != "pfs" and not getattr(self, given[0]):
            raise _fail("give at least one input", given[0])
        return self

    @property
    def kind(self) -> str:
        """Which of ``pfs``, ``cross``, ``union``, ``join``, ``group`` this node is."""
        return next(k for k in INPUT_KINDS if getattr(self, k) is not None)

    @property
    def children(self) -> list[Input]:
        """The child inputs of a cross/union/join/group (``[]`` for a pfs input)."""
        return [] if self.pfs is not None else getattr(self, self.kind)


def iter_pfs(inp: Input, path: str = "input") -> Iterator[tuple[str, PfsInput]]:
    """Every pfs input of the tree, depth first, with its path such as ``'input.cross[1].pfs'``."""
    if inp.pfs is not None:
        yield f"{path}.pfs", inp.pfs
    for i, child in enumerate(inp.children):
        yield from iter_pfs(child, f"{path}.{inp.kind}[{i}]")


# --- Transform and resources ---------------------------------------------------------------


class Transform(_Model):
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
    image: str | None = None  # accepted so Pachyderm specs load; ignored

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
            raise _fail("give exactly one of notebook or cmd")
        if self.cmd is not None:
            if not self.cmd or not self.cmd[0]:
                raise _fail("give a command and its arguments, e.g. ['python3', 'run.py']", "cmd")
            defaults: dict[str, object] = {"parameters": {}, "kernel": None, "isolation": None}
            for key, default in defaults.items():
                if getattr(self, key) != default:
                    raise _fail(f"{key!r} is for a notebook transform, not for cmd", key)
        elif not self.notebook or not self.notebook.endswith(".ipynb"):
            raise _fail(f"expected the path of a .ipynb file, got {self.notebook!r}", "notebook")
        elif self.stdin is not None:
            raise _fail("stdin applies to cmd, not to a notebook transform", "stdin")
        for key in self.parameters:
            if not key.isidentifier() or keyword.iskeyword(key):
                raise _fail(
                    f"parameter {key!r} is not a valid Python identifier", f"parameters.{key}"
                )
        for key in self.env:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise _fail(f"invalid environment variable name {key!r}", f"env.{key}")
        return self


class ParallelismSpec(_Model):
    """How many datums of one job may run at once."""

    constant: int = Field(ge=1)


class GpuSpec(_Model):
    """GPUs one datum needs (a Dask worker resource)."""

    type: str = "nvidia.com/gpu"
    number: int = Field(ge=1)


class ResourceSpec(_Model):
    """Resources one datum needs: ``cpu`` cores, ``memory``/``disk`` quantities, GPUs."""

    cpu: float | None = Field(default=None, gt=0)
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


class ServeSpec(_Model):
    """``serve:``: keep an HTTP endpoint running on the pipeline's output branch
    (see docs/serving.md). The serving notebook is snapshotted with the spec."""

    notebook: str
    """A ``.ipynb`` (or ``.py``) defining ``load(model_dir)`` and ``predict(request)``."""
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    """0: any free port (the endpoint records the one it got)."""
    token_env: str | None = None
    """Name of an environment variable holding the endpoint's token (never the token)."""
    threads: int = Field(default=4, ge=0, le=64)
    """Threads running ``predict`` (0: on the event loop)."""
    log_window: str = "10s"
    """Length of one serving-log window (a duration)."""

    @field_validator("notebook")
    @classmethod
    def _notebook(cls, v: str) -> str:
        if not v.endswith((".ipynb", ".py")):
            raise ValueError(f"expected the path of a .ipynb or .py file, got {v!r}")
        return v

    @field_validator("log_window")
    @classmethod
    def _window(cls, v: str) -> str:
        return _check(parse_duration, v)

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError(f"invalid environment variable name {v!r}")
        return v


class Pipeline(_Model):
    """The pipeline's identity; its name is also the name of its output repo."""

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        try:
            return check_repo_name(v)
        except InvalidArgument as exc:
            msg = exc.message.replace("invalid repo name", "invalid pipeline name", 1)
            raise ValueError(f"{msg} (it names the output repo)") from None


# --- The spec ------------------------------------------------------------------------------


class PipelineSpec(_Model):
    """A validated pipeline spec; build it with :func:`parse_spec`."""

    pipeline: Pipeline
    description: str | None = None
    input: Input
    transform: Transform
    parallelism_spec: ParallelismSpec | None = None
    resource_requests: ResourceSpec | None = None
    resource_limits: ResourceSpec | None = None  # recorded, not enforced
    datum_tries: int = Field(default=3, ge=1)
    datum_timeout: str | None = None
    job_timeout: str | None = None
    output_branch: str = "master"
    reprocess_spec: Literal["until_success", "every_job"] = "until_success"
    salt: str | None = None
    serve: ServeSpec | None = None

    @field_validator("datum_timeout", "job_timeout", "output_branch")
    @classmethod
    def _valid(cls, v: str | None, info: ValidationInfo) -> str | None:
        check = check_branch_name if info.field_name == "output_branch" else parse_duration
        return v if v is None else _check(check, v)

    @model_validator(mode="after")
    def _check_inputs(self) -> PipelineSpec:
        notebook = self.transform.notebook is not None
        names = _check_names(self.input, "input", {}, notebook)
        for path, pfs in iter_pfs(self.input):
            if pfs.repo == self.pipeline.name:
                raise _fail(f"repo {pfs.repo!r} is this pipeline's output: a cycle", f"{path}.repo")
            for key in ("join_on", "group_by"):
                _check_template(pfs, key, f"{path}.{key}")
        for key in self.transform.parameters if notebook else ():
            if key in names or key in NOTEBOOK_RESERVED:
                what = "an input name" if key in names else "reserved (injected by jupyter_pipes)"
                raise _fail(f"parameter {key!r} is {what}", f"transform.parameters.{key}")
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

    def input_names(self) -> list[str]:
        """The distinct input names (mount folders / notebook parameters), in spec order."""
        return list(dict.fromkeys(pfs.name for _, pfs in iter_pfs(self.input)))


def _check_names(inp: Input, path: str, names: dict[str, str], notebook: bool) -> dict[str, str]:
    """Pachyderm's ``ValidateNames``: unique names, except among the members of a union."""
    if inp.pfs is not None:
        pfs, where = inp.pfs, f"{path}.pfs.name"
        _check_name(pfs, where, notebook)
        if pfs.name in names:
            raise _fail(
                f"input name {pfs.name!r} is also used by {names[pfs.name]}; only the members of "
                "a union may share a name: set pfs.name to tell them apart",
                where,
            )
        names[pfs.name] = where
    elif inp.union is not None:
        merged: dict[str, str] = {}
        for i, child in enumerate(inp.union):
            for k, v in _check_names(child, f"{path}.union[{i}]", dict(names), notebook).items():
                merged.setdefault(k, v)
        names.update(merged)  # a union's siblings may not reuse what any member presents
    else:
        for i, child in enumerate(inp.children):
            _check_names(child, f"{path}.{inp.kind}[{i}]", names, notebook)
    return names


def _check_name(pfs: PfsInput, where: str, notebook: bool) -> None:
    name = pfs.name
    origin = "" if "name" in pfs.model_fields_set else " (the repo name)"
    if name in RESERVED_NAMES:
        raise _fail(f"input name {name!r}{origin} is reserved: set pfs.name", where)
    if "/" in name or name in (".", "..") or re.search(r"[\x00-\x1f\x7f]", name):
        raise _fail(f"invalid input name {name!r}: it names a folder", where)
    if notebook and (not name.isidentifier() or keyword.iskeyword(name)):
        hint = re.sub(r"\W", "_", name)
        hint = "_" + hint if hint[0].isdigit() or keyword.iskeyword(hint) else hint
        what = "is a Python keyword" if keyword.iskeyword(name) else "is not a Python identifier"
        raise _fail(
            f"input name {name!r}{origin} {what}, but a notebook gets each input as a parameter "
            f"of that name: set pfs.name (e.g. {hint!r})",
            where,
        )
    if notebook and name in NOTEBOOK_RESERVED:
        raise _fail(f"input name {name!r} is a reserved notebook parameter: set pfs.name", where)


def _check_template(pfs: PfsInput, key: str, where: str) -> None:
    template, groups = getattr(pfs, key), pfs.compiled_glob().regex.groups
    for m in _TEMPLATE_REF.finditer(template):
        ref = m[2] or m[3]
        if ref is not None and len(ref) > 1 and ref[0] == "0":
            raise _fail(f"{template!r}: ${ref} is not a group reference (leading zero)", where)
        if ref is not None and int(ref) > groups:
            raise _fail(
                f"{template!r} refers to capture group {ref}, but the glob {pfs.glob!r} has "
                f"{groups} capture group(s) (only parenthesised parts such as '(*)' capture)",
                where,
            )


# --- Parsing and errors --------------------------------------------------------------------


def parse_spec(source: str | bytes | Mapping[str, Any] | os.PathLike[str]) -> PipelineSpec:
    """Parse and validate a pipeline spec.

    Parameters
    ----------
    source : str, bytes, Mapping or os.PathLike
        YAML or JSON text; a dict; or the path of a ``.yaml``/``.yml``/``.json`` file (a
        one-line ``str`` ending in one of those suffixes is read as a path too).

    Returns
    -------
    PipelineSpec

    Raises
    ------
    InvalidArgument
        If the text does not parse or the spec is invalid: the message starts with the field's
        path, ``fields["field"]`` holds it and ``fields["problems"]`` lists every problem.
    """
    suffixes = (".yaml", ".yml", ".json")
    if isinstance(source, str) and "\n" not in source and source.endswith(suffixes):
        source = Path(source)
    if isinstance(source, os.PathLike):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read spec file: {exc}", path=os.fspath(source)) from None
        data: Any = _load(text, json_text=Path(source).suffix == ".json")
    elif isinstance(source, (str, bytes)):
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        data = _load(text, json_text=text.lstrip().startswith("{"))
    else:
        data = source
    if not isinstance(data, Mapping):
        raise InvalidArgument(f"a spec is a mapping (YAML/JSON object), not {type(data).__name__}")
    try:
        return PipelineSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _convert(exc) from None


def spec_to_dict(spec: PipelineSpec) -> dict[str, Any]:
    """The canonical JSON-able form of a spec, for snapshots and display.

    Parameters
    ----------
    spec : PipelineSpec

    Returns
    -------
    dict
        Every field that has a value, defaults included (``branch``, ``glob``, ``name`` ...), in
        the models' declaration order; ``None`` fields are left out. ``parse_spec`` of it gives an
        equal spec. Serialise with ``json.dumps(..., sort_keys=True)`` for stable bytes.
    """
    return spec.model_dump(mode="json", exclude_none=True)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) < len(pairs):
        dup = next(k for i, (k, _) in enumerate(pairs) if k in {k2 for k2, _ in pairs[:i]})
        raise InvalidArgument(f"duplicate key {dup!r} in the spec", key=dup)
    return dict(pairs)


class _Loader(yaml.SafeLoader):
    """Safe YAML that rejects duplicate keys and keeps dates as strings (they are parameters)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [
            self.construct_object(k, deep=True) for k, _ in node.value if k.tag[-6:] != ":merge"
        ]
        _no_duplicates([(k, None) for k in keys if isinstance(k, str)])
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str, json_text: bool) -> Any:
    try:
        if json_text:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        docs = list(yaml.load_all(text, Loader=_Loader))  # a SafeLoader
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidArgument(
            f"the spec is not valid {'JSON' if json_text else 'YAML'}: {exc}"
        ) from None
    if not docs:
        raise InvalidArgument("the spec is empty")
    if len(docs) != 1:
        raise InvalidArgument(f"expected one spec, found {len(docs)} YAML documents")
    return docs[0]


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _convert(exc: ValidationError) -> InvalidArgument:
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc, ctx = tuple(err["loc"]), err.get("ctx") or {}
        path, msg = _path(loc), str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "pipes":
            path, msg = ".".join(p for p in (path, ctx["rel"]) if p), ctx["message"]
        elif err["type"] == "extra_forbidden":
            problems.append((path, f"unknown field {path!r}"))
            continue
        msg = msg[0].lower() + msg[1:] if msg[1:2].islower() else msg
        problems.append((path, f"{path}: {msg}" if path else msg))
    (field, first), more = problems[0], len(problems) - 1
    message = first + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
    problem_list = [{"field": p, "message": m} for p, m in problems]
    return InvalidArgument(message, field=field, problems=problem_list)


# --- The DAG -------------------------------------------------------------------------------


def check_dag(specs: Mapping[str, PipelineSpec], repos: set[str]) -> None:
    """Check that pipelines read only existing repos and form no cycle.

    Parameters
    ----------
    specs : Mapping[str, PipelineSpec]
        Every pipeline, keyed by its name.
    repos : set[str]
        The existing repos (pipeline output repos may or may not be among them).

    Raises
    ------
    InvalidArgument
        For an input repo that is neither a repo nor a pipeline's output (naming the pipeline
        and the field), or for a cycle (naming it: ``'a -> b -> a'``, data flowing along the
        arrows).
    """
    downstream: dict[str, list[str]] = {name: [] for name in specs}
    for name in sorted(specs):
        if specs[name].name != name:
            raise InvalidArgument(f"pipeline {specs[name].name!r} is listed as {name!r}")
        for path, pfs in iter_pfs(specs[name].input):
            if pfs.repo in specs:
                downstream[pfs.repo].append(name)
            elif pfs.repo not in repos:
                raise InvalidArgument(
                    f"pipeline {name!r}: {path}.repo: repo {pfs.repo!r} does not exist (neither "
                    "a repo nor another pipeline's output)",
                    pipeline=name, field=f"{path}.repo", repo=pfs.repo,
                )  # fmt: skip
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        for nxt in sorted(set(downstream[node])):
            if nxt in stack:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise InvalidArgument(f"pipelines form a cycle: {' -> '.join(cycle)}", cycle=cycle)
            if nxt not in done:
                visit(nxt, [*stack, nxt])
        done.add(node)

    for name in sorted(specs):
        if name not in done:
            visit(name, [name])
