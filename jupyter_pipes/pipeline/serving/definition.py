"""A serving definition: the notebook (or Python file) that says how to load a model and answer.

The definition defines two functions::

    def load(model_dir):          # the branch head's files, materialised in a folder
        ...                       # return the model (or keep it in a global)

    def predict(request):         # or predict(model, request): gets what load returned
        ...                       # return anything JSON-able (numpy, pandas are converted)

Its code cells run top to bottom, in a fresh namespace for every model version, so a global
set by ``load`` belongs to that version: requests in flight on the old version keep reading the
old one during a swap. Cells tagged ``serve-skip`` do not run, and ``__name__`` is not
``"__main__"``, so a notebook can try its functions by hand under ``if __name__ ==
"__main__":`` (or in a skipped cell) without the endpoint running that code. IPython syntax
(``%magic``, ``!shell``) is refused with the cell's number: tag such a cell ``serve-skip``.
"""

from __future__ import annotations

import inspect
import json
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import blake3

from ...errors import InvalidArgument, ServingCodeError

SKIP_TAG = "serve-skip"
MODULE_NAME = "__pipes_serve__"
"""``__name__`` inside a definition (so ``if __name__ == "__main__":`` blocks do not run)."""


@dataclass(frozen=True)
class Loaded:
    """One model version, ready to answer: ``predict(request)`` and what ``load`` returned."""

    predict: Callable[[Any], Any]
    model: Any
    namespace: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Definition:
    """A parsed serving definition (run it with :meth:`instantiate`)."""

    name: str
    """The file's name (for messages and tracebacks)."""
    kind: Literal["notebook", "python"]
    cells: tuple[tuple[int, str], ...]
    """``(cell index, source)`` of each code cell to run (a ``.py`` file is one cell, 0)."""
    fingerprint: str
    """BLAKE3 of the code that runs (outputs and metadata of a notebook do not count)."""

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Definition:
        """Parse a ``.ipynb`` or ``.py`` file's bytes (``InvalidArgument`` if malformed)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"{name}: not UTF-8 text", path=name) from None
        if name.endswith(".py"):
            cells: list[tuple[int, str]] = [(0, text)]
            kind: Literal["notebook", "python"] = "python"
        elif name.endswith(".ipynb"):
            kind, cells = "notebook", _notebook_cells(name, text)
        else:
            raise InvalidArgument(
                f"{name}: a serving definition is a .ipynb notebook or a .py file", path=name
            )
        for index, source in cells:
            _check_syntax(name, kind, index, source)
        digest = blake3.blake3(json.dumps([src for _, src in cells]).encode()).hexdigest()
        return cls(name, kind, tuple(cells), digest)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Definition:
        """Read and parse a definition file."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InvalidArgument(
                f"cannot read the serving notebook {p.name!r}: {exc.strerror or exc}",
                path=p.name,
            ) from None
        return cls.from_bytes(p.name, data)

    def where(self, index: int) -> str:
        """``serve.ipynb cell 3`` (or the file name of a ``.py``)."""
        return self.name if self.kind == "python" else f"{self.name} cell {index}"

    def instantiate(self, model_dir: str | os.PathLike[str]) -> Loaded:
        """Run the code in a fresh namespace and call ``load(model_dir)``.

        Raises
        ------
        ServingCodeError
            If a cell raises, ``load`` or ``predict`` is missing, or ``load`` raises (the
            message names the cell and the exception, never a traceback).
        """
        ns: dict[str, Any] = {"__name__": MODULE_NAME, "__builtins__": __builtins__}
        for index, source in self.cells:
            try:
                exec(compile(source, self.where(index), "exec"), ns)
            except Exception as exc:
                raise self._error("running", exc) from exc
        load, predict = ns.get("load"), ns.get("predict")
        for fname, fn in (("load", load), ("predict", predict)):
            if not callable(fn):
                raise ServingCodeError(
                    f"{self.name} defines no {fname}() function: a serving definition defines "
                    "load(model_dir) and predict(request)",
                    stage="definition",
                    ename="NameError",
                    evalue=f"{fname} is not defined",
                    where=self.name,
                )
        assert load is not None and predict is not None
        try:
            model = load(os.fspath(model_dir))
        except Exception as exc:
            raise self._error("load", exc) from exc
        if _positional_count(predict) >= 2:
            bound = predict

            def predict_with_model(request: Any) -> Any:
                return bound(model, request)

            return Loaded(predict_with_model, model, ns)
        return Loaded(predict, model, ns)

    def _error(self, stage: str, exc: BaseException) -> ServingCodeError:
        where = user_frame(exc, self.name)
        return ServingCodeError(
            f"{stage} failed in {where or self.name}: {type(exc).__name__}: {exc}",
            stage=stage, ename=type(exc).__name__, evalue=str(exc), where=where,
        )  # fmt: skip


def user_frame(exc: BaseException, name: str) -> str | None:
    """``serve.ipynb cell 3, line 4``: the innermost frame of the definition's own code."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(name):
            found = f"{frame.filename}, line {frame.lineno}"
    if found is None and isinstance(exc, SyntaxError) and exc.filename:
        found = f"{exc.filename}, line {exc.lineno}"
    return found


def _positional_count(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


def _notebook_cells(name: str, text: str) -> list[tuple[int, str]]:
    try:
        nb = json.loads(text)
        cells = nb["cells"]
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise InvalidArgument(f"{name}: not a Jupyter notebook (.ipynb JSON)", path=name) from None
    out = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        if SKIP_TAG in (cell.get("metadata") or {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.strip():
            out.append((index, source))
    return out


def _check_syntax(name: str, kind: str, index: int, source: str) -> None:
    where = name if kind == "python" else f"{name} cell {index}"
    try:
        compile(source, where, "exec")
    except SyntaxError as exc:
        ipython = any(line.lstrip().startswith(("%", "!")) for line in source.splitlines())
        hint = f": tag the cell {SKIP_TAG!r} (IPython syntax does not run here)" if ipython else ""
        raise InvalidArgument(
            f"{where}, line {exc.lineno}: {exc.msg}{hint}", path=name, cell=index
        ) from None
