"""One input item of a datum task: the record the controller sends and the worker lays out.

Its own module (standard library only) so that :mod:`.datum_fs`, :mod:`.task_spec` and
:mod:`.worker` all import it from below, none from another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.datum_io import Token

__all__ = ["TaskInput"]


@dataclass(frozen=True, slots=True)
class TaskInput:
    """One item of a datum: input ``name`` gets ``path``, which ``token`` lets the worker read
    (see :data:`~jupyter_pipes.store.datum_io.Token`)."""

    name: str
    path: str
    token: Token
    commit: str = ""
    """The input commit the item comes from (``<name>_COMMIT``)."""
    join_on: str = ""
    group_by: str = ""
    empty_files: bool = False
    """Lay the item's files out empty (names only, nothing read)."""
    lazy: bool = False
    """Lay the item's files out as named pipes fed when opened (:mod:`.lazy`)."""
