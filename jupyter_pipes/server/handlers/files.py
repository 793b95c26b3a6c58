"""Routes of file content: streamed downloads with Range support, uploads into a branch, and the
two bridges with the server's workspace (its ``root_dir``, what JupyterLab's file browser shows):
commit workspace files and folders to a branch, copy a stored file or folder into the workspace.

Stored files are user data: a browser must never run them as a page of the Jupyter origin. Raw
content is served with ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy:
sandbox``, and HTML, SVG, XML, JavaScript and PDF are sent as ``application/octet-stream``
attachments.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ...client import Client
from ...errors import AlreadyExists, InvalidArgument, NotFound
from ...store.records import CommitInfo
from ..util import content_type, parse_range
from .base import PipesHandler

SPOOL_BYTES = 8 << 20
"""Uploads up to this size stay in memory; bigger ones go to a temporary file."""


class FilesHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}/files?path=/dir[&recursive=1]``: a directory's entries
    (or the file), or with ``recursive`` every entry below it, as ``{"items": [...]}``.

    The listing streams: the ref and path are resolved first (errors answer their status as
    usual), then the entries are read from the tree and written in batches, so the server's
    memory does not grow with the size of the directory (#19).
    """

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        path = self.arg("path", "/")
        listing = self.client.walk_file if self.flag("recursive") else self.client.list_file
        files = await self.call(listing, f"{repo}@{ref}", path)
        await self.reply_items_streamed(files)


class RawContentMixin:
    """Headers for responses that carry stored, untrusted bytes."""

    @property
    def content_security_policy(self) -> str:
        return f"{super().content_security_policy}; sandbox"  # type: ignore[misc]

    def attachment(self, filename: str) -> None:
        """Ask the browser to save the response instead of displaying it."""
        quoted = urllib.parse.quote(filename, safe="")
        self.set_header(  # type: ignore[attr-defined]
            "Content-Disposition", f"attachment; filename*=UTF-8''{quoted}"
        )


class RawFileHandler(RawContentMixin, PipesHandler):
    """``/repos/{repo}/commits/{ref}/raw?path=/a.csv[&download=1]``: a file's bytes."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        path = self.arg("path", required=True)
        info, chunks = await self.call(self.client.open_file, f"{repo}@{ref}", path)
        ctype, force_download = content_type(info.path)
        etag = f'"{info.hash}"'
        self.set_header("ETag", etag)
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Cache-Control", "private, no-cache")
        if force_download or self.flag("download"):
            self.attachment(info.path.rsplit("/", 1)[-1])
        if etag in self.request.headers.get("If-None-Match", ""):
            self.set_status(304)
            self.finish(set_content_type=ctype)
            return
        if_range = self.request.headers.get("If-Range")
        try:
            span = (
                None
                if if_range and if_range != etag
                else parse_range(self.request.headers.get("Range"), info.size_bytes)
            )
        except ValueError:
            self.set_status(416)
            self.set_header("Content-Range", f"bytes */{info.size_bytes}")
            self.finish(set_content_type=ctype)
            return
        start, end = span or (0, info.size_bytes)
        if span is not None:
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{info.size_bytes}")
        self.set_header("Content-Type", ctype)
        self.set_header("Content-Length", str(end - start))
        await self._stream(chunks, start, end)
        self.finish(set_content_type=ctype)

    async def _stream(self, chunks: Iterator[bytes], start: int, end: int) -> None:
        """Write bytes ``[start, end)`` of the file, one verified chunk at a time."""
        pos = 0
        while pos < end:
            chunk = await self.call(next, chunks, None)
            if chunk is None:
                break
            lo, hi = max(start - pos, 0), min(end - pos, len(chunk))
            pos += len(chunk)
            if lo < hi:
                self.write(chunk[lo:hi])
                try:
                    await self.flush()
                except StreamClosedError:  # the client went away
                    return


class UploadBuffer:
    """An upload body: in memory up to ``SPOOL_BYTES``, then in a temporary file.

    The Client gets ``bytes`` or the temporary file's path: both are cut into chunks without
    copying.
    """

    def __init__(self) -> None:
        self._memory = bytearray()
        self._file: Any = None

    def write(self, chunk: bytes) -> None:
        if self._file is None and len(self._memory) + len(chunk) > SPOOL_BYTES:
            self._file = tempfile.NamedTemporaryFile(prefix="pipes-upload-", delete=False)  # noqa: SIM115
            self._file.write(self._memory)
            self._memory = bytearray()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._memory += chunk

    def source(self) -> bytes | str:
        """What to pass to ``Client.put_file``."""
        if self._file is None:
            return bytes(self._memory)
        self._file.flush()
        return str(self._file.name)

    def discard(self) -> None:
        """Free the memory and delete the temporary file."""
        self._memory = bytearray()
        if self._file is not None:
            self._file.close()
            with contextlib.suppress(OSError):
                os.unlink(self._file.name)
            self._file = None


@web.stream_request_body
class UploadHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/files?path=/a.csv``: PUT writes the body as that
    file (one new commit); DELETE removes the file or directory (one new commit)."""

    _body: UploadBuffer | None = None
    _storing = False

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication and XSRF come first
        if self.request.method != "PUT":
            return
        limit = self.pipes.max_upload_size
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise web.HTTPError(413, f"the file is larger than the upload limit of {limit} bytes")
        self.request.connection.set_max_body_size(limit)  # type: ignore[union-attr]
        self._body = UploadBuffer()

    def data_received(self, chunk: bytes) -> None:
        if self._body is not None:
            self._body.write(chunk)

    def on_finish(self) -> None:
        if self._body is not None:
            self._body.discard()

    def on_connection_close(self) -> None:
        if self._body is not None and not self._storing:  # an upload cut short
            self._body.discard()
        super().on_connection_close()

    @web.authenticated
    @authorized
    async def put(self, repo: str, branch: str) -> None:
        path = self.arg("path", required=True)
        assert self._body is not None
        self._storing = True
        commit = await self.call(
            self.client.put_file,
            f"{repo}@{branch}",
            path,
            self._body.source(),
            message=self.arg("message", "") or "",
        )
        self.reply(commit.to_dict(), 201)

    @web.authenticated
    @authorized
    async def delete(self, repo: str, branch: str) -> None:
        path = self.arg("path", required=True)
        commit = await self.call(
            self.client.delete_file, f"{repo}@{branch}", path, message=self.arg("message", "") or ""
        )
        self.reply(commit.to_dict())


# -- the workspace -------------------------------------------------------------------------------


def workspace_path(root_dir: str, rel: object, *, field: str, allow_hidden: bool) -> Path:
    """The local path of ``rel``, a workspace path as JupyterLab names it (relative to the
    server's ``root_dir``), checked to stay inside it after resolving links.

    Errors name ``rel`` as given, never the absolute path on the server.
    """
    if not isinstance(rel, str) or not rel.strip("/"):
        raise InvalidArgument(f"{field}: give a path in the workspace", field=field)
    root = Path(root_dir).resolve()
    target = (root / rel.lstrip("/")).resolve()
    if target == root or not target.is_relative_to(root):
        raise InvalidArgument(
            f"{field}: {rel!r} is outside the workspace (the server's root folder)", field=field
        )
    if not allow_hidden and is_hidden(str(target), str(root)):
        raise InvalidArgument(f"{field}: {rel!r} is hidden", field=field)
    return target


def commit_workspace(
    client: Client, branch: str, items: list[tuple[str, Path]], message: str
) -> CommitInfo:
    """Put each ``(path in the repo, local file or folder)`` into one new commit on ``branch``."""
    with client.start_commit(branch, message=message) as oc:
        for dest, source in items:
            oc.put_file(dest, str(source))
    return client.inspect_commit(f"{branch.partition('@')[0]}@{oc.id}")


class WorkspaceCommitHandler(PipesHandler):
    """``POST /repos/{repo}/branches/{branch}/from-workspace``: commit workspace files.

    Body: ``{"paths": ["data/a.csv", "images"], "dest": "/raw", "message": "..."}``. Each path
    (a file, or a folder with everything in it) goes under ``dest`` with its own name, all in
    one commit.
    """

    @web.authenticated
    @authorized
    async def post(self, repo: str, branch: str) -> None:
        body = self.json_body()
        paths, dest, message = body.get("paths"), body.get("dest", "/"), body.get("message", "")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise InvalidArgument("paths: give the workspace files to commit", field="paths")
        if not isinstance(dest, str) or not dest.startswith("/"):
            raise InvalidArgument("dest: an absolute path in the repo, like /data", field="dest")
        if not isinstance(message, str):
            raise InvalidArgument("message: expected a string", field="message")
        root = self.pipes.serverapp.root_dir
        allow_hidden = bool(getattr(self.contents_manager, "allow_hidden", False))
        items: list[tuple[str, Path]] = []
        for rel in paths:
            local = workspace_path(root, rel, field="paths", allow_hidden=allow_hidden)
            if not (local.is_file() or local.is_dir()):
                raise NotFound(f"{rel!r} is not a file or folder of the workspace", field="paths")
            items.append((f"{dest.rstrip('/')}/{local.name}", local))
        commit = await self.call(
            commit_workspace, self.client, f"{repo}@{branch}", items, message.strip()
        )
        self.reply(commit.to_dict(), 201)


class WorkspaceCopyHandler(PipesHandler):
    """``POST /repos/{repo}/commits/{ref}/to-workspace``: copy a stored file or folder into the
    workspace.

    Body: ``{"path": "/dir", "to": "copies/dir", "overwrite": false}``. An existing ``to`` is a
    conflict unless ``overwrite`` is true.
    """

    @web.authenticated
    @authorized
    async def post(self, repo: str, ref: str) -> None:
        body = self.json_body()
        path, to, overwrite = body.get("path", "/"), body.get("to"), body.get("overwrite", False)
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidArgument("path: an absolute path in the repo, like /a.csv", field="path")
        if not isinstance(overwrite, bool):
            raise InvalidArgument("overwrite: expected true or false", field="overwrite")
        allow_hidden = bool(getattr(self.contents_manager, "allow_hidden", False))
        target = workspace_path(
            self.pipes.serverapp.root_dir, to, field="to", allow_hidden=allow_hidden
        )
        info = await self.call(self.client.inspect_file, f"{repo}@{ref}", path)
        if target.exists() and not overwrite:
            raise AlreadyExists(f"{to!r} exists in the workspace", field="to")
        if target.exists() and target.is_dir() != (info.type == "dir"):
            raise AlreadyExists(
                f"{to!r} exists in the workspace as a {'folder' if target.is_dir() else 'file'}",
                field="to",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        await self.call(self.client.get_file, f"{repo}@{ref}", path, dest=target)
        self.reply({"to": str(to).strip("/"), "type": info.type, "size_bytes": info.size_bytes})
