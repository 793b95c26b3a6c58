"""Where a blob lives: :class:`BlobRef` (pack, offset, length and the hash it must have).

A module of its own, below :mod:`.objects` (which re-exports both names), so that modules the
pack writer uses, such as :mod:`.bloblog`, can name a ref without importing the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BlobRef", "Lookup"]


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where one blob lives and what it must hash to."""

    hash: str
    pack: str
    offset: int
    length: int

    def to_list(self) -> list[object]:
        """Compact JSON form: ``[hash, pack, offset, length]``."""
        return [self.hash, self.pack, self.offset, self.length]

    @classmethod
    def from_list(cls, v: list) -> BlobRef:  # type: ignore[type-arg]
        """Inverse of :meth:`to_list`."""
        return cls(str(v[0]), str(v[1]), int(v[2]), int(v[3]))


Lookup = Callable[[list[str]], dict[str, BlobRef]]
