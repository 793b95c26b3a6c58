"""Reading specs: text, files and dicts to validated :class:`PipelineSpec` objects.

As Pachyderm's ``create pipeline -f``, one file may hold several specs: YAML documents separated
by ``---``, JSON objects one after the other, or a JSON/YAML list of specs; they come back in
file order. Every problem raises :class:`~jupyter_pipes.errors.InvalidArgument` whose message
starts with the field's path as the user wrote it (``input.pfs.joinOn: ...``), never a raw
pydantic error. A file is limited in size, nesting depth and number of values
(:data:`~.units.LIMITS`), checked before anything recursive touches it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ...errors import InvalidArgument
from .compat import IgnoredField, Normalised, normalise
from .inputs import Input
from .models import PipelineSpec
from .units import LIMITS

__all__ = [
    "LoadedSpec", "ignored_note", "load_spec", "load_specs", "parse_input", "parse_spec",
    "parse_specs", "spec_to_dict", "stamp_cron_start",
]  # fmt: skip

Source = str | bytes | Mapping[str, Any] | Sequence[Mapping[str, Any]] | os.PathLike[str]
_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    """One spec of a file, with the fields that were accepted and ignored.

    Attributes
    ----------
    spec : PipelineSpec
        The validated spec.
    ignored : tuple[IgnoredField, ...]
        Fields accepted for Pachyderm compatibility and ignored (``transform.image`` ...).
    """

    spec: PipelineSpec
    ignored: tuple[IgnoredField, ...] = ()


def ignored_note(ignored: Sequence[IgnoredField]) -> str | None:
    """One line naming the ignored fields, grouped by reason (``None`` if there are none)."""
    if not ignored:
        return None
    groups: dict[str, list[str]] = {}
    for item in ignored:
        groups.setdefault(item.reason, []).append(item.path)
    return "ignored: " + "; ".join(f"{', '.join(p)} ({why})" for why, p in groups.items())


def load_specs(source: Source) -> list[LoadedSpec]:
    """Read and validate every spec of a source, in order.

    Parameters
    ----------
    source : str, bytes, Mapping, list of Mapping or os.PathLike
        YAML or JSON text; a dict (one spec) or a list of dicts; or the path of a
        ``.yaml``/``.yml``/``.json`` file (a one-line ``str`` ending in one of those suffixes
        is read as a path too).

    Returns
    -------
    list[LoadedSpec]
        One per spec, in file order (at least one).

    Raises
    ------
    InvalidArgument
        For the first problem: unreadable or oversized text, bad syntax, or an invalid spec.
        With several specs the message starts with ``spec N of M ('name'): ``; ``fields``
        hold ``field``, ``problems`` and, then, ``document`` (0-based).
    """
    docs = _documents(source)
    out = []
    for i, doc in enumerate(docs):
        try:
            out.append(_validate(doc))
        except InvalidArgument as exc:
            if len(docs) == 1:
                raise
            name = doc.get("pipeline", {}).get("name") if isinstance(doc, dict) else None
            label = f"spec {i + 1} of {len(docs)}" + (
                f" ({name!r})" if isinstance(name, str) else ""
            )
            raise InvalidArgument(f"{label}: {exc.message}", **exc.fields, document=i) from None
    return out


def parse_specs(source: Source) -> list[PipelineSpec]:
    """The validated specs of a source, in order (see :func:`load_specs`)."""
    return [loaded.spec for loaded in load_specs(source)]


def parse_spec(source: Source) -> PipelineSpec:
    """Parse and validate one pipeline spec: :func:`load_spec`'s ``spec``, without the
    report of fields accepted and ignored (the same sources, the same errors)."""
    return load_spec(source).spec


def load_spec(source: Source) -> LoadedSpec:
    """Read and validate one pipeline spec, with the fields accepted and ignored.

    Parameters
    ----------
    source : str, bytes, Mapping or os.PathLike
        As for :func:`load_specs`, holding exactly one spec.

    Returns
    -------
    LoadedSpec

    Raises
    ------
    InvalidArgument
        If the text does not parse, holds several specs, or the spec is invalid: the message
        starts with the field's path, ``fields["field"]`` holds it and ``fields["problems"]``
        lists every problem.
    """
    docs = _documents(source)
    if len(docs) != 1:
        raise InvalidArgument(
            f"expected one spec, found {len(docs)} (YAML documents, JSON objects or list "
            "items): create them with create_pipeline, which takes several",
            count=len(docs),
        )
    return _validate(docs[0])


def parse_input(data: Any, path: str = "input") -> Input:
    """Validate an ``input`` on its own (a dry run's datum listing), as the datum iterator would.

    Both spellings are accepted; problems raise :class:`InvalidArgument` naming the field
    (``input.cross[1].pfs.glob: ...``).
    """
    _measure(data)
    norm = normalise(data, Input, path)
    return _model(Input, norm, path)


def spec_to_dict(spec: PipelineSpec) -> dict[str, Any]:
    """The canonical JSON-able form of a spec, for snapshots and display.

    Parameters
    ----------
    spec : PipelineSpec

    Returns
    -------
    dict
        Every field that has a value, defaults included (``branch``, ``glob``, ``name`` ...), in
        the models' declaration order and in snake_case; ``None`` fields are left out; ignored
        fields are gone. ``parse_spec`` of it gives an equal spec. Serialise with
        ``json.dumps(..., sort_keys=True)`` for stable bytes.
    """
    return spec.model_dump(mode="json", exclude_none=True)


def stamp_cron_start(data: dict[str, Any], start: str) -> dict[str, Any]:
    """A canonical spec dict whose cron inputs without ``start`` start at ``start`` (RFC 3339),
    as Pachyderm's CreatePipeline sets it to the creation time."""

    def visit(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {
            k: [visit(c) for c in v] if isinstance(v, list) else v for k, v in node.items()
        }
        if isinstance(out.get("cron"), dict) and not out["cron"].get("start"):
            out["cron"] = {**out["cron"], "start": start}
        return out

    return {**data, "input": visit(data.get("input"))}


# --- Validation ----------------------------------------------------------------------------


def _validate(doc: Any) -> LoadedSpec:
    if not isinstance(doc, Mapping):
        raise InvalidArgument(f"a spec is a mapping (YAML/JSON object), not {type(doc).__name__}")
    norm = normalise(dict(doc), PipelineSpec)
    spec = _model(PipelineSpec, norm, "")
    return LoadedSpec(spec, tuple(norm.ignored))


_M = TypeVar("_M", bound=BaseModel)


def _model(model: type[_M], norm: Normalised, path: str) -> _M:
    if norm.problems:
        raise _error(norm.problems)
    try:
        return model.model_validate(norm.data)
    except ValidationError as exc:
        raise _convert(exc, norm, path) from None


def _error(problems: list[tuple[str, str]]) -> InvalidArgument:
    (field, first), more = problems[0], len(problems) - 1
    message = first + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
    problem_list = [{"field": p, "message": m} for p, m in problems]
    return InvalidArgument(message, field=field, problems=problem_list)


def _path(loc: tuple[str | int, ...], spelling: dict[tuple[str | int, ...], str]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + spelling.get(loc[: i + 1], str(part))
    return out


def _convert(exc: ValidationError, norm: Normalised, base: str) -> InvalidArgument:
    prefix: tuple[str | int, ...] = tuple(base.split(".")) if base else ()
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc, ctx = (*prefix, *err["loc"]), err.get("ctx") or {}
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "pipes" and ctx.get("rel"):
            loc = (*loc, *_parts(ctx["rel"]))
        path = _path(loc, norm.spelling)
        if err["type"] == "pipes":
            msg = ctx["message"]
        elif err["type"] == "extra_forbidden":
            problems.append((path, f"unknown field {path!r}"))
            continue
        elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
            msg = f"expected a mapping (YAML/JSON object), got {_kind(err['input'])}"
        msg = msg[0].lower() + msg[1:] if msg[1:2].islower() else msg
        problems.append((path, f"{path}: {msg}" if path else msg))
    return _error(problems)


def _parts(rel: str) -> list[str | int]:
    """``'input.join[0].pfs'`` -> ``['input', 'join', 0, 'pfs']``."""
    return [int(p[1:-1]) if p[0] == "[" else p for p in re.findall(r"\[\d+\]|[^.\[]+", rel)]


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return "a list" if isinstance(value, list) else names.get(type(value), type(value).__name__)


# --- Text to documents ---------------------------------------------------------------------


def _documents(source: Source) -> list[Any]:
    """The specs a source holds, before validation (lists flattened, empty documents dropped)."""
    if isinstance(source, str) and "\n" not in source and source.endswith(_SUFFIXES):
        source = Path(source)
    if isinstance(source, os.PathLike):
        text = _read(Path(source))
    elif isinstance(source, bytes):
        text = _decode(source)
    elif isinstance(source, str):
        text = source
    elif isinstance(source, Mapping):
        _measure(source)
        return [source]
    else:
        _measure(list(source))
        return _flatten(list(source))
    if len(text.encode("utf-8", "surrogatepass")) > LIMITS["spec_bytes"]:
        raise InvalidArgument(
            f"the spec is larger than {int(LIMITS['spec_bytes']) >> 20} MiB",
            limit=LIMITS["spec_bytes"],
        )
    docs = _parse_text(text)
    _measure(docs)
    specs = _flatten(docs)
    if not specs:
        raise InvalidArgument("the spec is empty")
    for i, doc in enumerate(specs):
        if not isinstance(doc, Mapping):
            where = f"spec {i + 1} of {len(specs)}: " if len(specs) > 1 else ""
            raise InvalidArgument(
                f"{where}a spec is a mapping (YAML/JSON object), not {type(doc).__name__}"
            )
    return specs


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > LIMITS["spec_bytes"]:
            raise InvalidArgument(
                f"the spec file is larger than {int(LIMITS['spec_bytes']) >> 20} MiB",
                path=path.name, limit=LIMITS["spec_bytes"],
            )  # fmt: skip
        return _decode(path.read_bytes())
    except OSError as exc:
        raise InvalidArgument(
            f"cannot read spec file {path.name!r}: {exc.strerror or exc}", path=os.fspath(path)
        ) from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"the spec is not UTF-8 text (byte {exc.start})") from None


def _flatten(docs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for doc in docs:
        if doc is None:
            continue  # an empty YAML document, e.g. after a trailing '---'
        out.extend(doc if isinstance(doc, list) else [doc])
    return out


def _parse_text(text: str) -> list[Any]:
    """JSON (objects in sequence, optionally between ``---`` lines) or else YAML documents.

    Pachyderm reads JSON as YAML; PyYAML refuses tabs that JSON allows, so JSON goes first.
    """
    if text.lstrip().startswith(("{", "[")):
        try:
            return [doc for chunk in _SEPARATOR.split(text) for doc in _json_stream(chunk)]
        except json.JSONDecodeError as exc:
            json_error: json.JSONDecodeError | None = exc
    else:
        json_error = None
    try:
        return list(yaml.load_all(text, Loader=_Loader))  # a SafeLoader
    except yaml.YAMLError as exc:
        if json_error is not None:
            raise InvalidArgument(f"the spec is not valid JSON: {json_error}") from None
        raise InvalidArgument(f"the spec is not valid YAML: {exc}") from None


def _json_stream(text: str) -> list[Any]:
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates)
    docs: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos == end:
            return docs
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            raise _too_deep() from None
        docs.append(doc)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) < len(pairs):
        dup = next(k for i, (k, _) in enumerate(pairs) if k in {k2 for k2, _ in pairs[:i]})
        raise InvalidArgument(f"duplicate key {dup!r} in the spec", key=dup)
    return dict(pairs)


def _too_deep() -> InvalidArgument:
    return InvalidArgument(
        f"the spec is nested deeper than {LIMITS['depth']} levels", limit=LIMITS["depth"]
    )


def _measure(root: Any) -> None:
    """Refuse values nested deeper than the limit, or with more values than the limit once
    YAML aliases are expanded (a "billion laughs" file), or that contain themselves."""
    memo: dict[int, tuple[int, int]] = {}  # id -> (depth, values)
    visiting: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        obj, finished = stack.pop()
        if not isinstance(obj, dict | list):
            continue
        children = list(obj.values()) if isinstance(obj, dict) else obj
        if finished:
            depth, count = 1, 1
            for child in children:
                d, n = memo.get(id(child), (0, 1))
                depth, count = max(depth, d + 1), count + n
            memo[id(obj)] = (depth, count)
            visiting.discard(id(obj))
            if depth > LIMITS["depth"]:
                raise _too_deep()
            if count > LIMITS["nodes"]:
                raise InvalidArgument(
                    f"the spec holds more than {LIMITS['nodes']:,} values (YAML aliases expanded)",
                    limit=LIMITS["nodes"],
                )
            continue
        if id(obj) in memo:
            continue
        if id(obj) in visiting:
            raise InvalidArgument("the spec contains itself (a recursive YAML alias)")
        if len(stack) > LIMITS["nodes"]:
            raise InvalidArgument(f"the spec holds more than {LIMITS['nodes']:,} values")
        visiting.add(id(obj))
        stack.append((obj, True))
        stack.extend((c, False) for c in children if isinstance(c, dict | list))


class _Loader(yaml.SafeLoader):
    """Safe YAML that rejects duplicate keys, keeps dates as strings (they are parameters) and
    stops at the depth limit before the composer's recursion could."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > LIMITS["depth"] + 1:
                raise _too_deep()
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

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
