"""File objects of the ``pipes://`` filesystem: random-access reads, writes that commit on close."""

from __future__ import annotations

import tempfile
from typing import Any, Protocol

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from ..store.ranges import RangeReader
from ..store.records import FileInfo
from .paths import info_dict


class SpoolSink(Protocol):
    """What a :class:`PipesWriteFile` is written through (the ``pipes://`` filesystem, an
    fsspec filesystem): it takes the file's spooled bytes when the file is closed."""

    def _write_spool(self, f: PipesWriteFile, spool: Any) -> None: ...


SPOOL_BYTES = 16 << 20
"""Bytes of a file being written kept in memory before spilling to a temporary file."""


class PipesFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of one commit opened for reading, with ``seek``.

    Reads go to a :class:`~jupyter_pipes.store.ranges.RangeReader`: a read fetches only the
    content-defined chunks that cover it, verified against their hashes, and reads ahead only
    while reading is sequential (so fsspec's own cache is off by default: ``cache_type="none"``).
    The commit is resolved when the file is opened, so a branch that moves meanwhile does not
    change the bytes read.
    """

    def __init__(
        self,
        fs: AbstractFileSystem,
        path: str,
        info: FileInfo,
        reader: RangeReader,
        block_size: int | str | None = None,
        cache_type: str = "none",
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.reader = reader
        """The range reader (``reader.bytes_read``: chunk bytes fetched from the store)."""
        self.commit_id = info.commit
        """The commit the bytes come from."""
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type=cache_type,
            cache_options=cache_options,
            size=reader.size,
            **kwargs,
        )
        self._details = info_dict(path, info)

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.reader.read(start, end)


class PipesWriteFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file being written: its bytes become one commit when it is closed (or one change of
    the transaction's commit inside ``with fs.transaction:``).

    Bytes are spooled (in memory up to :data:`SPOOL_BYTES`, then in a temporary file) and
    handed to the store on commit, which chunks, deduplicates and packs them. Leaving a
    ``with`` block by an exception discards the file: no partial file is ever committed.
    """

    def __init__(
        self,
        fs: SpoolSink,
        path: str,
        mode: str,
        branch: str,
        repo_path: str,
        message: str | None = None,
        autocommit: bool = True,
        block_size: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            fs, path, mode=mode, block_size=block_size, autocommit=autocommit, **kwargs
        )
        self.branch = branch
        self.repo_path = repo_path
        self.message = message
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None

    def _initiate_upload(self) -> None:
        # closed when handed over (after the commit) or discarded, not in this scope
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_BYTES, prefix="pipes-"
        )

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._spool is not None
        self._spool.write(self.buffer.getbuffer())
        if final:
            spool, self._spool = self._spool, None
            spool.seek(0)
            self.fs._write_spool(self, spool)  # owns the spool from here on
        return True

    def commit(self) -> None:
        """Nothing left to do: the bytes were handed to the store (or to the transaction)
        when the file was closed."""

    def discard(self) -> None:
        """Forget bytes not yet handed over (a file never closed); nothing is committed."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def __exit__(self, exc_type: object, *args: object) -> None:
        if exc_type is not None and not self.closed:
            self.discard()
            self.closed = True
            return
        self.close()
