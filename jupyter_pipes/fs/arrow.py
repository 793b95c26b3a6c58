"""pyarrow's view of ``pipes://`` (imported only when asked for: pyarrow is optional).

pyarrow wraps any fsspec filesystem (``filesystem=fs``) but then wants paths without the
protocol, as it does for every fsspec filesystem. This handler also accepts ``pipes://`` URLs.
"""

from __future__ import annotations

from pyarrow.fs import FSSpecHandler, PyFileSystem

from .paths import strip_protocol


class PipesArrowHandler(FSSpecHandler):  # type: ignore[misc]
    """pyarrow's fsspec handler that takes ``pipes://repo@ref/path`` as well as
    ``repo@ref/path``."""

    def normalize_path(self, path: str) -> str:
        """Drop the ``pipes://`` protocol."""
        return strip_protocol(path)


def arrow_filesystem(fs: object) -> PyFileSystem:
    """A ``pyarrow.fs.FileSystem`` over a :class:`~jupyter_pipes.fs.PipesFileSystem`."""
    return PyFileSystem(PipesArrowHandler(fs))
