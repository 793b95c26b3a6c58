"""Which store a ``%pipe`` line talks to, and one :class:`Client` per store per kernel.

The store is, in order: ``%pipe --store URL ...`` on the line, the notebook's default set by a
bare ``%pipe --store URL``, ``$JUPYTER_PIPES_STORE``, else ``.pipes`` in the kernel's working
directory (like the CLI). Local paths are made absolute, so ``%cd`` does not split one store in
two. Clients stay open for the life of the kernel (closed at exit or on ``%unload_ext``).
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from pathlib import Path

from ..client import Client
from ..store.store import ENV_DB, default_store_url


@dataclass(frozen=True)
class StoreKey:
    """A store URL (absolute for local folders) and its metadata database URL (or ``None``)."""

    store: str
    db: str | None


_clients: dict[StoreKey, Client] = {}
_default: StoreKey | None = None


def resolve(store: str | None = None, db: str | None = None) -> StoreKey:
    """The store a line means (see the module docstring)."""
    if store is None and _default is not None:
        return StoreKey(_default.store, db or _default.db)
    url = store or default_store_url()
    if "://" not in url:
        url = str(Path(url).expanduser().resolve())
    return StoreKey(url, db or os.environ.get(ENV_DB) or None)


def set_default(store: str, db: str | None = None) -> StoreKey:
    """Make ``store`` this kernel's store for lines without ``--store``; returns it resolved."""
    global _default
    _default = None
    _default = resolve(store, db)
    return _default


def clear_default() -> None:
    """Forget :func:`set_default` (back to ``$JUPYTER_PIPES_STORE`` or ``.pipes``)."""
    global _default
    _default = None


def client(key: StoreKey) -> Client:
    """This kernel's client of a store (opened, and the store created, on first use)."""
    found = _clients.get(key)
    if found is None:
        found = _clients[key] = Client(key.store, db_url=key.db)
    return found


def close_all() -> None:
    """Close every client this kernel opened (and the local Dask clusters they started)."""
    while _clients:
        _, c = _clients.popitem()
        c.close()


atexit.register(close_all)
