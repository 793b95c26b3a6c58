"""``jupyter_pipes.Client``: the one public Python API, named after pachctl's verbs.

Refs are strings in pachctl's grammar: ``"repo"`` (= ``repo@master``), ``"repo@branch"``,
``"repo@<commit id or unique prefix>"``, ``"repo@branch^2"``, ``"repo@branch~3"``. Paths inside a
repo are absolute (``/dir/file.csv``); directories are listed with a trailing ``/``.

Example
-------
>>> from jupyter_pipes import Client
>>> c = Client("memory://doc")
>>> _ = c.create_repo("data")
>>> _ = c.put_file("data@master", "/hello.txt", b"hi")
>>> c.get_file("data@master", "/hello.txt")
b'hi'
"""

from __future__ import annotations

from .cluster import ClusterMixin
from .controllers import ControllersMixin
from .data import DataMixin
from .history import HistoryMixin
from .jobs import JobsMixin
from .lineage import LineageMixin
from .pipelines import PipelinesMixin
from .serving import ServingMixin
from .shell_commits import ShellCommitsMixin


class Client(
    DataMixin,
    HistoryMixin,
    PipelinesMixin,
    JobsMixin,
    ServingMixin,
    LineageMixin,
    ClusterMixin,
    ControllersMixin,
    ShellCommitsMixin,
):
    """A handle on one store.

    Parameters
    ----------
    store:
        Where the store lives: a local folder, ``memory://name`` or ``s3://bucket/prefix``.
        Default: ``$JUPYTER_PIPES_STORE``, else ``.pipes`` in the working directory (created on
        first use).
    db_url:
        SQLAlchemy URL of the metadata database. Default: ``$JUPYTER_PIPES_DB``, else a SQLite
        file inside a local store (an in-memory one for ``memory://``).
    scheduler:
        Address of an existing Dask scheduler for running jobs. Default:
        ``$JUPYTER_PIPES_DASK_SCHEDULER``, else a local cluster started on first use.
    n_workers:
        Workers of that local cluster (default: the number of CPUs, at most 4).
    user:
        Who makes this client's changes, as the branch timeline records them (default: the OS
        user; a server passes the Jupyter user).
    autostart:
        Whether a commit that queues jobs starts a background controller when none of the
        store's controllers is alive (default: ``$JUPYTER_PIPES_AUTOSTART``, else on; never
        for ``memory://`` stores). See docs/controller.md.
    **storage_options:
        Passed to fsspec (e.g. ``endpoint_url`` for S3).
    """


__all__ = ["Client"]
