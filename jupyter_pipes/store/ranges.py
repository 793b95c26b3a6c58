"""Random access by offset into one file's blobs: what ``seek`` and ranged reads need.

A file is a list of content-defined chunks (64 KiB to 1 MiB). :class:`RangeReader` maps a byte
range to the chunks that cover it, fetches those (consecutive chunks of one pack in one backend
read, as :meth:`BlobReader.read_many` does), verifies each whole chunk against its hash, and
slices. It keeps about one read-ahead window of chunks, and reads ahead only while reading is
sequential:

* a read that starts where the previous one ended (a CSV parser, a copy) fetches, on a miss, the
  covering chunks plus a window that doubles from 1 MiB to 8 MiB, so large sequential reads
  become a few large backend reads (few requests on S3);
* any other read (a parquet footer, one column chunk, a Dask block at an offset) fetches only
  the chunks covering it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from .objects import BlobReader, BlobRef

AHEAD_MIN = 1 << 20
AHEAD_MAX = 8 << 20


class RangeReader:
    """Random access to one file's verified bytes (see the module docstring).

    ``size`` is the file's size; ``bytes_read`` counts the chunk bytes fetched from the
    backend (what a read actually cost).
    """

    def __init__(self, reader: BlobReader, refs: Sequence[BlobRef]) -> None:
        self._reader = reader
        self._refs = tuple(refs)
        lengths = [r.length for r in self._refs]
        self._starts = [0, *accumulate(lengths)][:-1] if lengths else []
        self.size = sum(lengths)
        self.bytes_read = 0
        self._cache: dict[int, bytes] = {}
        self._cached_bytes = 0
        self._next = 0  # where a sequential read would start
        self._ahead = 0

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """The bytes ``[start, end)``, clipped to the file (``end=None``: to the end)."""
        end = self.size if end is None else min(end, self.size)
        start = max(start, 0)
        if start >= end:
            return b""
        sequential = start == self._next
        self._next = end
        first = bisect_right(self._starts, start) - 1
        last = bisect_left(self._starts, end)  # chunks first .. last-1 cover the range
        if any(i not in self._cache for i in range(first, last)):
            upto = last
            if sequential:
                self._ahead = min(max(2 * self._ahead, AHEAD_MIN), AHEAD_MAX)
                upto = bisect_left(self._starts, end + self._ahead)
            else:
                self._ahead = 0
            self._fetch(first, upto)
        parts = [memoryview(self._cache[i]) for i in range(first, last)]
        self._evict(first, last)
        # one copy: slice the views, then join (or copy the one slice)
        parts[-1] = parts[-1][: end - self._starts[last - 1]]
        parts[0] = parts[0][start - self._starts[first] :]
        return parts[0].tobytes() if len(parts) == 1 else b"".join(parts)

    def _fetch(self, first: int, upto: int) -> None:
        missing = [i for i in range(first, upto) if i not in self._cache]
        blobs = self._reader.read_many(self._refs[i] for i in missing)
        for i, data in zip(missing, blobs, strict=True):
            self._cache[i] = data
            self._cached_bytes += len(data)
            self.bytes_read += len(data)

    def _evict(self, first: int, last: int) -> None:
        # Hold about one read-ahead window. Drop what lies behind the read first (a sequential
        # reader is done with it), then what lies farthest ahead.
        limit = max(self._ahead, AHEAD_MIN) + 2 * AHEAD_MIN
        if self._cached_bytes <= limit:
            return
        behind = sorted(i for i in self._cache if i < first)
        ahead = sorted((i for i in self._cache if i >= last), reverse=True)
        for i in behind + ahead:
            if self._cached_bytes <= limit:
                break
            self._cached_bytes -= len(self._cache.pop(i))
