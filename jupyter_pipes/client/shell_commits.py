"""Open commits that span several commands: ``start commit`` ... ``finish commit`` (pachctl's).

``Client.start_commit`` is a ``with`` block: one process. A shell script writes a commit in
several commands, so the changes are *staged* between them: each ``put file`` / ``delete file``
into an open commit copies the bytes into a staging folder on this machine and appends the
change to its log; ``finish commit`` replays the log into one real commit, atomically (or
nothing changes, and the staged commit stays open to retry). Nothing reaches the store before
``finish commit``, so gc, other users and jobs never see half of it, and an abandoned open
commit costs only its staging folder (``finish commit --abort`` removes it).

The staging folder is ``$JUPYTER_PIPES_STAGING`` or ``<tmp>/jupyter-pipes-<uid>/open-commits``,
one subfolder per store; an open commit is visible to the commands of this machine (and user)
only, until finished. One open commit per branch, as in pachctl.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import Conflict, InvalidArgument, NotFound
from ..store.records import CommitInfo, _Record, utc
from ..store.refs import parse_branch
from ._base import ClientBase

ENV_STAGING = "JUPYTER_PIPES_STAGING"


@dataclass(frozen=True, slots=True)
class ShellCommitInfo(_Record):
    """A commit opened by ``start commit`` and not finished yet."""

    id: str
    repo: str
    branch: str
    message: str
    started: datetime
    changes: int
    """Puts and deletes staged so far."""


class ShellCommitsMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    if TYPE_CHECKING:  # DataMixin's, on the Client

        def start_commit(self, branch: str, *, message: str = "") -> Any: ...

    def _staging(self) -> Path:
        base = os.environ.get(ENV_STAGING) or os.path.join(
            tempfile.gettempdir(), f"jupyter-pipes-{os.getuid() if hasattr(os, 'getuid') else 0}"
        )
        url = self._store.url if "://" in self._store.url else os.path.abspath(self._store.url)
        key = hashlib.sha256(url.encode()).hexdigest()[:12]
        return Path(base) / "open-commits" / key

    def start_shell_commit(self, branch: str, *, message: str = "") -> ShellCommitInfo:
        """Open a commit on ``repo@branch`` that several commands add to (see
        :meth:`put_file_shell`), made visible by :meth:`finish_shell_commit`."""
        repo, name = parse_branch(branch)
        self._store.inspect_repo(repo)  # NotFound for a missing repo
        self._pipelines.check_user_write(repo, name)
        if self.find_shell_commit(f"{repo}@{name}") is not None:
            raise Conflict(
                f"{repo}@{name} already has an open commit: finish it first "
                f"(jupyter pipes finish commit {repo}@{name})",
                repo=repo,
                branch=name,
            )
        cid = uuid.uuid4().hex
        folder = self._staging() / cid
        (folder / "files").mkdir(parents=True)
        meta = {"id": cid, "repo": repo, "branch": name, "message": message, "started": time.time()}
        (folder / "commit.json").write_text(json.dumps(meta))
        return self._shell_info(folder)

    def list_shell_commit(self) -> list[ShellCommitInfo]:
        """The commits opened with :meth:`start_shell_commit` on this machine, oldest first."""
        root = self._staging()
        if not root.is_dir():
            return []
        infos = [
            self._shell_info(d)
            for d in root.iterdir()
            if "." not in d.name and (d / "commit.json").is_file()  # not one being finished
        ]
        return sorted(infos, key=lambda i: i.started)

    def find_shell_commit(self, ref: str) -> ShellCommitInfo | None:
        """The open commit named by ``repo@branch`` or ``repo@<its id or a unique prefix>``."""
        repo, _, name = ref.partition("@")
        name = name or "master"
        found = [
            i
            for i in self.list_shell_commit()
            if i.repo == repo and (i.branch == name or (len(name) >= 4 and i.id.startswith(name)))
        ]
        if len(found) > 1:
            raise InvalidArgument(f"{ref!r} names several open commits", ref=ref)
        return found[0] if found else None

    def put_file_shell(
        self, ref: str, path: str, source: str | os.PathLike[str] | IO[bytes],
        *, append: bool = False,
    ) -> ShellCommitInfo:  # fmt: skip
        """Stage a file (or a local folder, recursively) into the open commit ``ref``."""
        _, folder = self._open_folder(ref)
        blob = uuid.uuid4().hex
        dest = folder / "files" / blob
        if isinstance(source, str | os.PathLike):
            if os.path.isdir(source):
                shutil.copytree(source, dest)
            else:
                shutil.copyfile(source, dest)
        else:
            with open(dest, "wb") as out:
                shutil.copyfileobj(source, out)
        self._log(folder, {"op": "put", "path": path, "blob": blob, "append": append})
        return self._shell_info(folder)

    def delete_file_shell(self, ref: str, path: str) -> ShellCommitInfo:
        """Stage the deletion of a file or directory in the open commit ``ref``."""
        _, folder = self._open_folder(ref)
        self._log(folder, {"op": "delete", "path": path})
        return self._shell_info(folder)

    def finish_shell_commit(self, ref: str, *, abort: bool = False) -> CommitInfo | None:
        """Write everything staged in the open commit ``ref`` as one commit (atomically), and
        close it; with ``abort``, drop it instead (``None``)."""
        info, folder = self._open_folder(ref)
        if abort:
            shutil.rmtree(folder, ignore_errors=True)
            return None
        claimed = folder.with_name(folder.name + ".finishing")
        try:
            folder.rename(claimed)  # later puts into it fail; a second finish finds nothing
        except OSError:
            raise Conflict(f"open commit {info.id} is being finished", commit=info.id) from None
        try:
            with self._store_commit(info) as oc:
                for change in _read_log(claimed):
                    if change["op"] == "put":
                        blob = claimed / "files" / change["blob"]
                        oc.put_file(change["path"], str(blob), append=change["append"])
                    else:
                        oc.delete_file(change["path"])
        except BaseException:
            claimed.rename(folder)  # still open: fix the cause and finish again
            raise
        shutil.rmtree(claimed, ignore_errors=True)
        return self._store.inspect_commit_id(oc.id)

    # -- helpers ---------------------------------------------------------------------------------

    def _store_commit(self, info: ShellCommitInfo) -> Any:
        # DataMixin's: the output-branch check included
        return self.start_commit(f"{info.repo}@{info.branch}", message=info.message)

    def _open_folder(self, ref: str) -> tuple[ShellCommitInfo, Path]:
        info = self.find_shell_commit(ref)
        if info is None:
            raise NotFound(
                f"no open commit {ref!r}: open one with 'start commit REPO@BRANCH'", ref=ref
            )
        return info, self._staging() / info.id

    def _shell_info(self, folder: Path) -> ShellCommitInfo:
        meta = json.loads((folder / "commit.json").read_text())
        return ShellCommitInfo(
            id=meta["id"],
            repo=meta["repo"],
            branch=meta["branch"],
            message=meta["message"],
            started=utc(meta["started"]),  # type: ignore[arg-type]
            changes=len(_read_log(folder)),
        )

    @staticmethod
    def _log(folder: Path, change: dict[str, Any]) -> None:
        if not (folder / "commit.json").is_file():
            raise Conflict(f"open commit {folder.name} was finished meanwhile", commit=folder.name)
        with open(folder / "changes.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(change) + "\n")


def _read_log(folder: Path) -> list[dict[str, Any]]:
    try:
        text = (folder / "changes.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]
