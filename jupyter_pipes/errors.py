"""The one error hierarchy of jupyter_pipes.

Every error the library raises on purpose is a :class:`PipesError`. Each subclass maps to one
HTTP status (the server does the mapping in one place) and carries structured fields so that a
surface can render it without parsing the message.
"""

from __future__ import annotations

from typing import Any


class PipesError(Exception):
    """Base class of every error jupyter_pipes raises on purpose.

    Parameters
    ----------
    message:
        One clear sentence for a human.
    **fields:
        Structured details (``repo=``, ``path=``, ``field=`` ...), kept in :attr:`fields`.
    """

    http_status = 500

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: the class name, the message and the fields."""
        return {"error": type(self).__name__, "message": self.message, **self.fields}


class InvalidArgument(PipesError, ValueError):
    """Bad input: a malformed name, path, ref, spec or option. Nothing was changed."""

    http_status = 400


class NotFound(PipesError, LookupError):
    """A repo, branch, commit, file or object that does not exist."""

    http_status = 404


class Conflict(PipesError):
    """The request is valid but clashes with the current state (exists already, in use, moved)."""

    http_status = 409


class AlreadyExists(Conflict):
    """Creating something that exists already."""


class CommitAbandoned(Conflict):
    """An open commit that gc collected (its lease expired without a heartbeat): finishing it
    changed nothing."""


class OutputBranchWrite(Conflict):
    """A user commit (put, delete, copy) to a pipeline's output or spec branch: only the
    pipeline's jobs write there (``fields``: ``pipeline``, ``repo``, ``branch``)."""


class CorruptObject(PipesError):
    """Stored bytes whose hash does not match their address, or an unreadable object."""

    http_status = 500


class StorageError(PipesError, OSError):
    """The object store or the metadata database failed (disk full, permission, network)."""

    http_status = 503


class SchemaVersionError(StorageError):
    """The metadata database's schema is newer than (or unknown to) this jupyter_pipes."""


# -- the same errors as the built-in OSErrors that fsspec callers (pandas, Dask, pyarrow) catch --


class PathNotFound(NotFound, FileNotFoundError):
    """:class:`NotFound` for a ``pipes://`` path: also a ``FileNotFoundError``."""


class PathExists(AlreadyExists, FileExistsError):
    """:class:`AlreadyExists` for a ``pipes://`` path (exclusive create): also a
    ``FileExistsError``."""


class IsADirectory(InvalidArgument, IsADirectoryError):
    """A file operation on a directory: also an ``IsADirectoryError``."""


class ReadOnlyRef(InvalidArgument, PermissionError):
    """A write to a commit id or an ancestor ref (commits are immutable; write to a branch):
    also a ``PermissionError``."""


class MetadataMissing(StorageError):
    """The store holds objects but its metadata database is missing, empty or damaged: it is
    refused (never silently recreated); ``jupyter pipes fsck --rebuild-metadata`` rebuilds it."""


class Unavailable(PipesError):
    """A service cannot answer now: no model loaded yet, or it is shutting down. Try again."""

    http_status = 503


class ServingCodeError(PipesError):
    """A serving definition failed: it defines no ``load``/``predict``, or ``load`` or
    ``predict`` raised (``fields``: ``stage``, ``ename``, ``evalue``, ``where``). The endpoint
    itself answers 500; the server, relaying it, 502 (the user's code failed, not ours)."""

    http_status = 502


class Unschedulable(PipesError):
    """A job's datums ask for resources (``GPU=2``, memory ...) that no worker of the cluster
    has: the job fails at once, naming the resource, instead of waiting forever."""

    http_status = 409
