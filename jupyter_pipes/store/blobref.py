"""Where a blob lives: :class:`BlobRef` (pack, offset, length and the hash it must have).

A module of its own, below :mod:`.objects` (which re-exports both names), so that modules the
pack writer uses, such as :mod:`.bloblog`, can name a ref without importing the writer.

A small file's bytes may instead live *inline*, in its directory node (#17's compact store:
see ``docs/compact-store.md``): its ref then carries the bytes (:attr:`BlobRef.data`) and names
no pack (:data:`INLINE`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["INLINE", "BlobRef", "Lookup"]

INLINE = ""
"""The pack name of an inline ref (its bytes are in the ref, kept in a directory node)."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where one blob lives and what it must hash to (or, inline, the blob itself)."""

    hash: str
    pack: str
    offset: int
    length: int
    data: bytes | None = None
    """An inline blob's bytes (``pack`` is then :data:`INLINE`); ``None`` for a blob in a pack."""

    @property
    def in_pack(self) -> bool:
        """Whether the blob is stored in a pack (not inline)."""
        return self.data is None

    def to_list(self) -> list[object]:
        """Compact JSON form: ``[hash, pack, offset, length]``, plus the base64 of an inline
        blob's bytes."""
        if self.data is None:
            return [self.hash, self.pack, self.offset, self.length]
        return [self.hash, INLINE, 0, self.length, base64.b64encode(self.data).decode()]

    @classmethod
    def from_list(cls, v: list) -> BlobRef:  # type: ignore[type-arg]
        """Inverse of :meth:`to_list`."""
        if len(v) == 5:
            return cls(str(v[0]), INLINE, 0, int(v[3]), base64.b64decode(v[4]))
        return cls(str(v[0]), str(v[1]), int(v[2]), int(v[3]))


Lookup = Callable[[list[str]], dict[str, BlobRef]]
