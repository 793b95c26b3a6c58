"""jupyter_pipes: notebook-native, Pachyderm-style data versioning and pipelines."""

__version__ = "0.1.0"

from .client import Client
from .errors import (
    AlreadyExists,
    Conflict,
    CorruptObject,
    InvalidArgument,
    NotFound,
    PipesError,
    StorageError,
)

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
