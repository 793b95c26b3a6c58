"""Stage development in a notebook: one real datum on disk, and files as paths or DataFrames.

:func:`materialise` lays out datum N of a pipeline's current inputs exactly as a worker does
(``<scratch>/pfs/<input name>/<path>`` and an empty ``<scratch>/pfs/out``) and gives the
variables the stage notebook would be run with. :func:`load` downloads a file (or a folder) of
one commit into a cache keyed by commit id (commits never change), and reads CSV or Parquet
into a pandas DataFrame. Both use the :class:`~jupyter_pipes.Client` only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import InvalidArgument
from ..pipeline.datums import datum_id as compute_datum_id
from ..pipeline.worker import stage_variables
from ..store.refs import parse_file_ref

DEV_JOB_ID = "dev"
TABLES = (".csv", ".parquet", ".pq")


@dataclass
class DevDatum:
    """A datum materialised for development: where it is, and the variables a run would get."""

    pipeline: str
    index: int
    total: int
    datum_id: str
    scratch: Path
    items: list[tuple[str, str]] = field(default_factory=list)
    """``(input name, "repo@commit:path")`` of every item."""
    variables: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """What was materialised and which variables it sets, one per line."""
        lines = [
            f"datum {self.index} of {self.total} of pipeline {self.pipeline} "
            f"(id {self.datum_id}) in {self.scratch}:"
        ]
        lines += [f"  {name}: {source}" for name, source in self.items]
        lines.append("set:")
        lines += [f"  {k} = {v!r}" for k, v in self.variables.items()]
        return "\n".join(lines)


def scratch_root() -> Path:
    """Where datums are materialised by default: ``$TMPDIR/jupyter-pipes/datums``."""
    return Path(tempfile.gettempdir()) / "jupyter-pipes" / "datums"


def materialise(
    client: Client, pipeline: str, index: int = 0, folder: str | os.PathLike[str] | None = None
) -> DevDatum:
    """Write datum ``index`` of ``pipeline``'s input on the current branch heads to disk.

    The datums are those of a dry run (``client.list_datum(input=...)``), in the order the
    pipeline would list them. ``folder`` (default: a folder per pipeline and datum under
    :func:`scratch_root`) is emptied first. Returns the variables to set: one per input name
    (its folder), ``out``, ``datum_id``, ``job_id`` (``"dev"``) and the spec's parameters.
    """
    info = client.inspect_pipeline(pipeline)
    datums = client.list_datum(input=info.spec["input"])
    if not datums:
        raise InvalidArgument(
            f"pipeline {pipeline!r} has no datums on its inputs' current "
            "heads (are its input repos empty?)",
            pipeline=pipeline,
        )
    if not 0 <= index < len(datums):
        raise InvalidArgument(
            f"pipeline {pipeline!r} has {len(datums)} datum(s) now: choose 0 to {len(datums) - 1}",
            pipeline=pipeline,
            index=index,
        )
    items = datums[index]
    did = compute_datum_id(items)
    scratch = Path(folder) if folder is not None else scratch_root() / f"{pipeline}-{did[:12]}"
    if scratch.exists():
        shutil.rmtree(scratch)
    pfs = scratch / "pfs"
    heads: dict[str, str] = {}
    dev = DevDatum(pipeline, index, len(datums), did, scratch.resolve())
    folders: dict[str, str] = {}
    for item in items:
        branch = f"{item.repo}@{item.branch}"
        if branch not in heads:  # one commit per input branch, even if it moves meanwhile
            heads[branch] = client.inspect_commit(branch).id
        base = pfs / item.name
        base.mkdir(parents=True, exist_ok=True)
        folders[item.name] = str(base.resolve())
        path = item.path.rstrip("/") or "/"
        dest = base if path == "/" else Path(str(base) + path)
        client.get_file(f"{item.repo}@{heads[branch]}", path, dest=dest)
        dev.items.append((item.name, f"{item.repo}@{heads[branch]}:{item.path}"))
    out = pfs / "out"
    out.mkdir(parents=True, exist_ok=True)
    params = dict(info.spec.get("transform", {}).get("parameters") or {})
    dev.variables = stage_variables(params, folders, str(out.resolve()), did, DEV_JOB_ID)
    return dev


def cache_root() -> Path:
    """Where :func:`load` keeps files: ``$XDG_CACHE_HOME/jupyter_pipes/files`` (default
    ``~/.cache/jupyter_pipes/files``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jupyter_pipes" / "files"


def fetch(client: Client, file_ref: str) -> Path:
    """Download ``repo@ref:/path`` (a file or a folder) into the cache; its local path.

    The cache is keyed by store and commit id, so a branch that moved is downloaded again and
    an unchanged one is not.
    """
    ref, path = parse_file_ref(file_ref)
    if path in ("", "/"):
        raise InvalidArgument(f"give a path in the commit: {file_ref}:/file.csv", ref=file_ref)
    commit = client.inspect_commit(str(ref))
    store = hashlib.sha256(client.store_url.encode()).hexdigest()[:12]
    dest = cache_root() / store / commit.repo / commit.id / path.strip("/")
    if not dest.exists():
        client.inspect_file(f"{commit.repo}@{commit.id}", path)  # NotFound before any mkdir
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".part-", dir=dest.parent))
        try:
            client.get_file(f"{commit.repo}@{commit.id}", path, dest=tmp / dest.name)
            os.replace(tmp / dest.name, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def load(client: Client, file_ref: str, *, as_path: bool = False) -> Any:
    """A file of the store: a pandas DataFrame for ``.csv``/``.parquet`` (when pandas is
    installed and ``as_path`` is false), else its local path (a ``str``)."""
    local = fetch(client, file_ref)
    suffix = local.suffix.lower()
    if as_path or local.is_dir() or suffix not in TABLES:
        return str(local)
    try:
        import pandas as pd
    except ImportError:
        return str(local)
    if suffix == ".csv":
        return pd.read_csv(local)
    try:
        return pd.read_parquet(local)
    except ImportError as e:  # pandas needs pyarrow or fastparquet for Parquet
        raise InvalidArgument(
            f"cannot read {file_ref} as a DataFrame ({e}); pass --path for the file: {local}",
            ref=file_ref,
        ) from None
