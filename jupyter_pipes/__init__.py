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
