"""jupyter_pipes: notebook-native, Pachyderm-style data versioning and pipelines."""

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

if TYPE_CHECKING:
    from .client import Client

    __version__: str
    """The installed package's version (set once, in ``labextension/package.json``)."""


def __getattr__(name: str) -> Any:
    """``jupyter_pipes.Client`` and ``__version__``, computed on first use: the CLI needs
    neither the client for ``--version`` nor ``importlib.metadata`` for ``list repo`` (#17)."""
    if name == "Client":
        from .client import Client

        return Client
    if name == "__version__":
        from importlib.metadata import version

        globals()["__version__"] = value = version("jupyter_pipes")
        return value
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
