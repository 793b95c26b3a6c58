"""IPython magics and notebook widgets: ``%load_ext jupyter_pipes`` registers ``%pipe`` and
``%%pipe``.

- :mod:`.core`: the magics (the CLI's grammar, run in-process on one Client per store).
- :mod:`.bridge`: running the click app in-process and capturing what it prints.
- :mod:`.display`: tables as ``text/plain`` + ``text/html``.
- :mod:`.verbs` (their click group), :mod:`.commands`, :mod:`.lineage`, :mod:`.develop`: the
  notebook verbs ``datum``, ``load``, ``dag``, ``history``, ``lineage``.
- :mod:`.graph`, :mod:`.widgets`: the DAG picture, and the ipywidgets (DAG, history with revert
  buttons, job progress bars).
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%pipe`` / ``%%pipe`` on ``ipython`` (an InteractiveShell)."""
    from .core import PipeMagics

    ipython.register_magics(PipeMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_pipes``: close this kernel's clients (the magics stay defined)."""
    from . import session

    session.close_all()
    session.clear_default()


__all__ = ["load_ipython_extension", "unload_ipython_extension"]
