"""The click group of the notebook-only verbs of ``%pipe``, and what they work on.

The verbs themselves register on :data:`notebook` from :mod:`.commands` and :mod:`.lineage`;
both import this module, neither the other's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from ..cli.base import CONTEXT_SETTINGS, PipesGroup
from ..client import Client

__all__ = ["Notebook", "current", "notebook"]


@dataclass
class Notebook:
    """What the notebook verbs work on: the store's client (opened on first use) and the
    user's namespace."""

    open_client: Callable[[], Client]
    user_ns: dict[str, Any]
    result: Any = None

    @property
    def client(self) -> Client:
        """The store's client."""
        return self.open_client()


def current() -> Notebook:
    """The :class:`Notebook` of the verb being run."""
    obj = click.get_current_context().find_root().obj
    assert isinstance(obj, Notebook)
    return obj


@click.group(cls=PipesGroup, context_settings=CONTEXT_SETTINGS)
def notebook() -> None:
    """Notebook-only verbs of %pipe."""
