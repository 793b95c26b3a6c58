"""The examples of ``jupyter pipes demo``: ``iris`` (the default), ``housing`` and ``images``.

Each example is a module here with ``NAME``, ``PIPELINES``, ``REPOS``, ``FILES`` (its specs and
notebooks under ``jupyter_pipes/demo_files/``) and ``run(client, out, fresh)``; what they share
(the :class:`DemoReport`, narration, refusing or resetting an earlier run, lineage) is in
:mod:`.common`, which imports none of them. This package imports the examples lazily: the demo
extra (scikit-learn, pandas, matplotlib, Pillow) is needed only to run one.

>>> from jupyter_pipes import Client
>>> from jupyter_pipes.demos import run_demo
>>> report = run_demo(Client("/tmp/demo-store"), example="images")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from ..client import Client
from ..errors import InvalidArgument
from .common import DemoError, DemoReport, DemoStep, LineageNode, lineage, lineage_lines

EXAMPLES = ("iris", "housing", "images")
"""Every example, the default first."""


def module(name: str | None) -> ModuleType:
    """The module of example ``name`` (``None``: the default, ``iris``)."""
    name = name or EXAMPLES[0]
    if name not in EXAMPLES:
        raise InvalidArgument(
            f"unknown demo example {name!r}: choose one of {', '.join(EXAMPLES)}", example=name
        )
    return importlib.import_module(f"{__name__}.{name}")


def run_demo(
    client: Client,
    *,
    out: Callable[[str], None] = print,
    example: str | None = "iris",
    fresh: bool = False,
) -> DemoReport:
    """Run an example on ``client``'s store, printing one narrative line per event to ``out``.

    Refuses (``AlreadyExists``, nothing changed) if the example's repos or pipelines exist,
    unless ``fresh`` (the CLI's ``--fresh``): then :func:`reset_demo` removes them first. Raises
    :class:`DemoError` if a job fails. ``example``: one of :data:`EXAMPLES` (default ``iris``;
    its steps are in :func:`jupyter_pipes.demos.iris.run`).
    """
    report = module(example).run(client, out, fresh)
    assert isinstance(report, DemoReport)
    return report


def reset_demo(client: Client, example: str | None = "iris") -> list[str]:
    """Delete an example's pipelines (with their output repos) and input repos; returns what was
    deleted. Refused (nothing deleted) while other pipelines read one of its repos."""
    from .common import reset

    mod = module(example)
    deleted: list[str] = reset(client, mod.PIPELINES, mod.REPOS)
    return deleted


__all__ = [
    "EXAMPLES",
    "DemoError",
    "DemoReport",
    "DemoStep",
    "LineageNode",
    "lineage",
    "lineage_lines",
    "module",
    "reset_demo",
    "run_demo",
]
