"""Where a store and its metadata are when none is named: the one place that reads
``$JUPYTER_PIPES_STORE`` and ``$JUPYTER_PIPES_DB`` and picks the defaults.

Kept free of SQLAlchemy and fsspec imports: the CLI's fast read path (:mod:`.fastread`) uses it
as the Store does (#17).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_STORE = "JUPYTER_PIPES_STORE"
ENV_DB = "JUPYTER_PIPES_DB"
DEFAULT_STORE = ".pipes"
SQLITE_FILE = "metadata.sqlite"
"""The metadata database of a local store, inside its folder (when no database is named)."""


def default_store_url(base: str | os.PathLike[str] | None = None) -> str:
    """The store to use when none is named: ``$JUPYTER_PIPES_STORE``, else ``.pipes`` in
    ``base`` (default: the working directory; the server passes its root dir).

    The one place that reads ``$JUPYTER_PIPES_STORE`` and picks the default: the Client, the
    CLI, the magics and the server all come here."""
    return os.environ.get(ENV_STORE) or str(Path(base or Path.cwd()) / DEFAULT_STORE)


def local_sqlite_path(root: str) -> str:
    """The default SQLite metadata file of the local store in folder ``root``."""
    return f"{root}/{SQLITE_FILE}"
