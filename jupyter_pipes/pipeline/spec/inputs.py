"""The input tree of a spec: pfs inputs and their cross, union, join and group.

An :class:`Input` on its own accepts what Pachyderm's datum iterator accepts (one repo used
twice, say); what ``CreatePipeline`` checks on a whole pipeline (unique names outside unions,
reserved names, capture-group references) is :func:`check_inputs`, run by the pipeline spec.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ...errors import InvalidArgument
from ...store.glob import Glob, clean_glob
from ...store.names import check_branch_name, check_repo_name
from .base import Int64, SpecModel, check_with, fail
from .units import parse_quantity

__all__ = [
    "INPUT_KINDS", "CronInput", "Input", "PfsInput", "Trigger", "check_inputs", "iter_pfs",
]  # fmt: skip

RESERVED_NAMES = frozenset({"out", ".env"})  # Pachyderm mounts /pfs/out and /pfs/.env itself
NOTEBOOK_RESERVED = frozenset({"out", "datum_id", "job_id"})  # parameters we inject
INPUT_KINDS = ("pfs", "cron", "cross", "union", "join", "group")
_TEMPLATE_REF = re.compile(r"\$(?:(\$)|\{([0-9]+)\}|([0-9]+))")  # as Glob.replace reads it
_MAX_GLOB = 4096


class Trigger(SpecModel):
    """When the input branch moves to the head of ``branch`` (see :mod:`..triggers`)."""

    branch: str
    all: bool = False
    rate_limit_spec: str = ""
    size: str = ""
    commits: Int64 = Field(default=0, ge=0, le=1_000_000)
    cron_spec: str = ""

    @field_validator("branch")
    @classmethod
    def _branch(cls, v: str) -> str:
        return check_with(check_branch_name, v)

    @field_validator("rate_limit_spec", "cron_spec")
    @classmethod
    def _schedule(cls, v: str) -> str:
        from ..cron import schedule

        if v:
            schedule(v)
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        if v:
            parse_quantity(v)
        return v


class PfsInput(SpecModel):
    """One repo input: the entries of ``repo@branch`` that ``glob`` selects, one datum each."""

    repo: str
    branch: str = "master"
    glob: str = "/"
    name: str = ""  # defaults to the repo
    join_on: str = ""
    group_by: str = ""
    outer_join: bool = False
    lazy: bool = False
    empty_files: bool = False
    trigger: Trigger | None = None

    @model_validator(mode="after")
    def _trigger(self) -> PfsInput:
        if self.trigger is not None and self.trigger.branch == self.branch:
            raise fail(f"the trigger's branch must differ from the input's ({self.branch!r})",
                       "trigger.branch")  # fmt: skip
        return self

    @field_validator("repo", "branch", "glob")
    @classmethod
    def _valid(cls, v: str, info: ValidationInfo) -> str:
        if info.field_name == "glob" and len(v) > _MAX_GLOB:
            raise ValueError(f"longer than {_MAX_GLOB} characters")
        checks = {"repo": check_repo_name, "branch": check_branch_name, "glob": _compile}
        return check_with(checks[info.field_name or ""], v)

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


class CronInput(SpecModel):
    """Ticks on a schedule: the controller commits one empty file per tick to ``repo``, named
    by the tick's time (RFC 3339); each tick file is a datum (``overwrite``: only the latest).
    """

    name: str
    spec: str
    repo: str = ""  # default: <pipeline>_<name>, set by the pipeline spec
    overwrite: bool = False
    start: str | None = None
    """RFC 3339 time before which no tick happens (default: when the pipeline is created)."""

    @field_validator("spec")
    @classmethod
    def _spec(cls, v: str) -> str:
        from ..cron import schedule

        schedule(v)  # ValueError naming the problem
        return v

    @field_validator("repo")
    @classmethod
    def _repo(cls, v: str) -> str:
        return check_with(check_repo_name, v) if v else v

    @field_validator("start")
    @classmethod
    def _start(cls, v: str | None) -> str | None:
        from ..cron import parse_time

        if v is not None:
            parse_time(v)
        return v

    def as_pfs(self) -> PfsInput:
        """The cron repo as the pfs input the datums come from: ``/*`` of its ``master``."""
        return PfsInput.model_construct(
            repo=self.repo or self.name, branch="master", glob="/*", name=self.name
        )


class Input(SpecModel):
    """A node of the input tree: exactly one of pfs, cron, cross, union, join and group."""

    pfs: PfsInput | None = None
    cron: CronInput | None = None
    cross: list[Input] | None = None
    union: list[Input] | None = None
    join: list[Input] | None = None
    group: list[Input] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Input:
        given = [k for k in INPUT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise fail(f"give exactly one of {', '.join(INPUT_KINDS)} (got {len(given)})")
        if given[0] != "pfs" and not getattr(self, given[0]):
            raise fail("give at least one input", given[0])
        return self

    @property
    def kind(self) -> str:
        """Which of ``pfs``, ``cross``, ``union``, ``join``, ``group`` this node is."""
        return next(k for k in INPUT_KINDS if getattr(self, k) is not None)

    @property
    def children(self) -> list[Input]:
        """The child inputs of a cross/union/join/group (``[]`` for a pfs or cron input)."""
        return [] if self.kind in ("pfs", "cron") else getattr(self, self.kind)

    @property
    def leaf(self) -> PfsInput | None:
        """The pfs input of a leaf (a cron input's repo as one), ``None`` for other kinds."""
        return self.pfs if self.cron is None else self.cron.as_pfs()


def iter_pfs(inp: Input, path: str = "input") -> Iterator[tuple[str, PfsInput]]:
    """Every pfs input of the tree, depth first, with its path such as ``'input.cross[1].pfs'``;
    a cron input comes as the pfs input of its repo, at ``'input.cron'``."""
    if inp.pfs is not None:
        yield f"{path}.pfs", inp.pfs
    if inp.cron is not None:
        yield f"{path}.cron", inp.cron.as_pfs()
    for i, child in enumerate(inp.children):
        yield from iter_pfs(child, f"{path}.{inp.kind}[{i}]")


def check_inputs(inp: Input, output: str, notebook: bool) -> dict[str, str]:
    """What ``CreatePipeline`` checks on a pipeline's whole input tree.

    Pachyderm's ``ValidateNames`` (unique names except among the members of a union; ``out``
    and ``.env`` reserved), no input reading the pipeline's own output, capture-group
    references that exist, and, for a notebook, names that can be parameters.

    Returns
    -------
    dict[str, str]
        Every input name and the path of the field that set it first.
    """
    names = _check_names(inp, "input", {}, notebook)
    for path, pfs in iter_pfs(inp):
        if pfs.repo == output:
            raise fail(f"repo {pfs.repo!r} is this pipeline's output: a cycle", f"{path}.repo")
        for key in ("join_on", "group_by"):
            _check_template(pfs, key, f"{path}.{key}")
    return names


def default_cron_repos(inp: Input, pipeline: str) -> None:
    """Give every cron input without a repo Pachyderm's default, ``<pipeline>_<name>``."""
    if inp.cron is not None and not inp.cron.repo:
        repo = f"{pipeline}_{inp.cron.name}"
        try:
            check_repo_name(repo)
        except InvalidArgument as exc:
            raise fail(f"the cron repo {exc.message.removeprefix('invalid repo name ')}: set "
                       "cron.repo", "input.cron.repo") from None  # fmt: skip
        object.__setattr__(inp.cron, "repo", repo)
    for child in inp.children:
        default_cron_repos(child, pipeline)


def _check_names(inp: Input, path: str, names: dict[str, str], notebook: bool) -> dict[str, str]:
    """Pachyderm's ``ValidateNames``: unique names, except among the members of a union."""
    if inp.pfs is not None or inp.cron is not None:
        pfs = inp.leaf
        assert pfs is not None
        where = f"{path}.{inp.kind}.name"
        _check_name(pfs, where, notebook, explicit=inp.cron is not None)
        if pfs.name in names:
            raise fail(
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


def _check_name(pfs: PfsInput, where: str, notebook: bool, explicit: bool = False) -> None:
    name = pfs.name
    origin = "" if explicit or "name" in pfs.model_fields_set else " (the repo name)"
    if name in RESERVED_NAMES:
        raise fail(f"input name {name!r}{origin} is reserved: set pfs.name", where)
    if "/" in name or name in (".", "..") or re.search(r"[\x00-\x1f\x7f]", name):
        raise fail(f"invalid input name {name!r}: it names a folder", where)
    if notebook and (not name.isidentifier() or keyword.iskeyword(name)):
        hint = re.sub(r"\W", "_", name)
        hint = "_" + hint if hint[0].isdigit() or keyword.iskeyword(hint) else hint
        what = "is a Python keyword" if keyword.iskeyword(name) else "is not a Python identifier"
        raise fail(
            f"input name {name!r}{origin} {what}, but a notebook gets each input as a parameter "
            f"of that name: set pfs.name (e.g. {hint!r})",
            where,
        )
    if notebook and name in NOTEBOOK_RESERVED:
        raise fail(f"input name {name!r} is a reserved notebook parameter: set pfs.name", where)


def _check_template(pfs: PfsInput, key: str, where: str) -> None:
    template, groups = getattr(pfs, key), pfs.compiled_glob().regex.groups
    for m in _TEMPLATE_REF.finditer(template):
        ref = m[2] or m[3]
        if ref is not None and len(ref) > 1 and ref[0] == "0":
            raise fail(f"{template!r}: ${ref} is not a group reference (leading zero)", where)
        if ref is not None and int(ref) > groups:
            raise fail(
                f"{template!r} refers to capture group {ref}, but the glob {pfs.glob!r} has "
                f"{groups} capture group(s) (only parenthesised parts such as '(*)' capture)",
                where,
            )
