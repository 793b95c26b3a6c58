"""``pipes://``: the store as an fsspec filesystem, so pandas, Dask and pyarrow read and write
it directly::

    import pandas as pd
    df = pd.read_csv("pipes://data@master/train.csv")
    df.to_csv("pipes://data@master/clean.csv")          # one commit

Registered with fsspec by the ``fsspec.specs`` entry point; see ``docs/fsspec.md``.
"""

from .files import PipesFile, PipesWriteFile
from .filesystem import PipesFileSystem, PipesTransaction
from .paths import PROTOCOL, PipesPath, parse

__all__ = [
    "PROTOCOL",
    "PipesFile",
    "PipesFileSystem",
    "PipesPath",
    "PipesTransaction",
    "PipesWriteFile",
    "parse",
]
