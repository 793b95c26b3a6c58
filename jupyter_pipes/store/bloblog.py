"""The blobs a writer stored, kept in bounded memory (#19: put's memory independent of the number
of files).

A commit must record every blob it wrote in the chunk index when it finishes, so its writer
remembers them all; 300,000 small files held that many refs in a dict (about 0.3 kB each).
:class:`BlobLog` keeps the last :data:`IN_MEMORY` refs in a list and moves older ones, packed
as binary records, to an anonymous temporary file (gone with the process, whatever happens to
it), reading them back in order when asked. Nothing in it is shared: it lives and dies with the
writer.
"""

from __future__ import annotations

import struct
import tempfile
import weakref
from collections.abc import Iterator
from typing import IO

from .blobref import BlobRef

IN_MEMORY = 4096
"""Refs kept in memory before they are written to the temporary file."""
_HEAD = struct.Struct("<QQHH")
"""offset, length, then the lengths of the hash and of the pack id that follow."""


class BlobLog:
    """Refs of blobs in the order they were stored: ``log[hash] = ref``, ``values()``,
    ``items()``, ``len(log)`` (a hash added twice is recorded twice; the chunk index keeps the
    first)."""

    def __init__(self) -> None:
        self._recent: list[BlobRef] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def __setitem__(self, key: str, ref: BlobRef) -> None:
        self._recent.append(ref)
        if len(self._recent) >= IN_MEMORY:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pipes-blobs-")  # noqa: SIM115 - kept open
            weakref.finalize(self, self._file.close)
        parts = []
        for r in self._recent:
            h, p = r.hash.encode(), r.pack.encode()
            parts.append(_HEAD.pack(r.offset, r.length, len(h), len(p)) + h + p)
        self._file.seek(0, 2)
        self._file.write(b"".join(parts))
        self._spilled += len(self._recent)
        self._recent = []

    def __len__(self) -> int:
        return self._spilled + len(self._recent)

    def __bool__(self) -> bool:
        return len(self) > 0

    def values(self) -> Iterator[BlobRef]:
        """Every ref, oldest first (read back from the file in slices)."""
        if self._file is not None:
            f = self._file
            f.flush()
            pos, end = 0, f.seek(0, 2)
            data, i = b"", 0
            while True:
                if len(data) - i < 1 << 12 and pos < end:  # a record is well under 4 KiB
                    f.seek(pos)
                    more = f.read(1 << 16)
                    pos += len(more)
                    data, i = data[i:] + more, 0
                if i >= len(data):
                    break
                off, length, nh, np_ = _HEAD.unpack_from(data, i)
                s = i + _HEAD.size
                h, p = data[s : s + nh].decode(), data[s + nh : s + nh + np_].decode()
                i = s + nh + np_
                yield BlobRef(h, p, off, length)
        yield from list(self._recent)

    def items(self) -> Iterator[tuple[str, BlobRef]]:
        """``(hash, ref)`` pairs, oldest first."""
        for r in self.values():
            yield r.hash, r
