"""``with fs.transaction:`` for ``pipes://``: every change inside becomes one commit."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from fsspec.transaction import Transaction

from ..errors import InvalidArgument
from ..store.commit import OpenCommit
from ..store.records import CommitInfo

Op = Callable[[OpenCommit], None]
"""One staged change: applied to the open commit when the commit is made."""


class Committer(Protocol):
    """What a :class:`PipesTransaction` commits through (the ``pipes://`` filesystem, an
    fsspec filesystem): it applies the staged changes to a branch as one commit."""

    def _commit(self, branch: str, ops: list[Op], message: str) -> CommitInfo: ...


class PipesTransaction(Transaction):  # type: ignore[misc]
    """``with fs.transaction:``: every write, copy and delete inside becomes one commit.

    Changes are collected and applied in order when the block ends, in one
    ``Client.start_commit``; an exception in the block discards them all (nothing is
    committed). A transaction writes to one branch (a commit belongs to one repo and branch);
    set :attr:`message` for the commit message. Reads inside the block see the branch as it
    was: the changes are not visible until the commit.
    """

    def __init__(self, fs: Committer, **kwargs: Any) -> None:
        super().__init__(fs)
        self.message: str | None = None
        """The commit message (default: a summary of the changed paths)."""
        self.commit_info: CommitInfo | None = None
        """The commit made when the transaction ended (``None`` if nothing changed)."""
        self._reset()

    def _reset(self) -> None:
        self.branch: str | None = None
        self._ops: list[Op] = []
        self._paths: list[str] = []
        self._cleanups: list[Callable[[], None]] = []

    def start(self) -> None:
        """Begin collecting changes."""
        super().start()
        self._reset()
        self.commit_info = None

    def add(self, branch: str, path: str, op: Op, cleanup: Callable[[], None] | None) -> None:
        """Collect one change to ``branch``."""
        if cleanup is not None:
            self._cleanups.append(cleanup)
        if self.branch is None:
            self.branch = branch
        elif branch != self.branch:
            raise InvalidArgument(
                f"this transaction writes to {self.branch}; a transaction makes one commit, so "
                f"it cannot also write to {branch} (use a second transaction)",
                branch=branch,
            )
        self._ops.append(op)
        self._paths.append(path)

    def complete(self, commit: bool = True) -> None:
        """Make the commit (``commit=True``) or discard every change."""
        fs = self.fs
        files, self.files = list(self.files), deque()
        try:
            if commit:
                for f in files:
                    if not f.closed:
                        f.close()  # a file still open at the end is part of the commit
                if self._ops and self.branch is not None:
                    message = self.message or _summary(self._paths)
                    self.commit_info = fs._commit(self.branch, self._ops, message)
        finally:
            for f in files:
                f.discard()
            for cleanup in self._cleanups:
                cleanup()
            self._reset()
            if fs is not None:
                fs._intrans = False
                fs._transaction = None
            self.fs = None


def _summary(paths: list[str]) -> str:
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"pipes:// {len(paths)} change(s): {shown}"
