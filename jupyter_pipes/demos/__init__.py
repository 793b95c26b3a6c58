"""The examples of ``jupyter pipes demo --example NAME`` other than ``iris`` (which lives in
:mod:`jupyter_pipes.demo`). Each module has ``NAME``, ``PIPELINES``, ``REPOS``, ``FILES`` (its
specs and notebooks under ``jupyter_pipes/demo_files/<name>/``) and ``run(client, out, fresh)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from ..client import Client
from ..errors import InvalidArgument

EXAMPLES = ("iris", "housing", "images")
"""Every example, the default first."""


def module(name: str) -> ModuleType:
    """The module of example ``name`` (not ``iris``)."""
    if name not in EXAMPLES[1:]:
        raise InvalidArgument(
            f"unknown demo example {name!r}: choose one of {', '.join(EXAMPLES)}", example=name
        )
    return importlib.import_module(f"{__name__}.{name}")


def run_example(name: str, client: Client, out: Callable[[str], None], fresh: bool) -> object:
    """Run example ``name`` (not ``iris``) on ``client``'s store; its DemoReport."""
    return module(name).run(client, out, fresh)


__all__ = ["EXAMPLES", "module", "run_example"]
