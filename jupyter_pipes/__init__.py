"""jupyter_pipes: notebook-native, Pachyderm-style data versioning and pipelines."""

from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

from .errors import (
    AlreadyExists,
    Conflict,
    CorruptObject,
    InvalidArgument,
    NotFound,
    PipesError,
    StorageError,
)

__version__: str = _version("jupyter_pipes")
"""The installed package's version (set once, in ``labextension/package.json``)."""

if TYPE_CHECKING:
    from .client import Client


def __getattr__(name: str) -> Any:
    """``jupyter_pipes.Client``, imported on first use (the CLI's ``--version`` never needs it)."""
    if name == "Client":
        from .client import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The jupyter-server extension (imported only when a server loads it)."""
    from .server import PipesApp

    return [{"module": "jupyter_pipes.server", "app": PipesApp}]


__all__ = [
    "AlreadyExists",
    "Client",
    "Conflict",
    "CorruptObject",
    "InvalidArgument",
    "NotFound",
    "PipesError",
    "StorageError",
    "__version__",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_pipes``: register the ``%pipe`` / ``%%pipe`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext jupyter_pipes``: remove the magics."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
