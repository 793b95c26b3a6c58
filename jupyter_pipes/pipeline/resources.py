"""A spec's resources as Dask worker resources, and whether a cluster can meet them.

Dask schedules a task that names resources only on a worker that declares at least as much of
each (``dask worker --resources "GPU=1 CPU=8 MEMORY=32e9"``). A datum of a pipeline with
``resource_requests`` (or, for what the requests leave out, ``resource_limits``) names:

=========  =======================  ====================================================
spec       Dask resource            amount
=========  =======================  ====================================================
``cpu``    ``CPU``                  cores (``0.5``, ``"500m"``)
``memory`` ``MEMORY``               bytes
``disk``   ``DISK``                 bytes
``gpu``    ``GPU``                  ``gpu.number`` (any ``gpu.type``)
=========  =======================  ====================================================

The local cluster declares ``CPU`` and ``MEMORY`` for its workers (its share of this machine)
plus what ``JUPYTER_PIPES_WORKER_RESOURCES`` adds (``"GPU=1"``). A job whose datums need more
than any one worker of the cluster has fails at once, naming the resource, instead of waiting
for a worker that will never come.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument, Unschedulable

if TYPE_CHECKING:
    from .spec import PipelineSpec, ResourceSpec

__all__ = [
    "ENV_WORKER_RESOURCES", "Unschedulable", "dask_resources", "local_worker_resources",
    "parse_resources", "unschedulable",
]  # fmt: skip

ENV_WORKER_RESOURCES = "JUPYTER_PIPES_WORKER_RESOURCES"
FIELDS = {"cpu": "CPU", "memory": "MEMORY", "disk": "DISK", "gpu": "GPU"}


def _amounts(res: ResourceSpec | None) -> dict[str, float]:
    if res is None:
        return {}
    out: dict[str, float] = {}
    if res.cpu is not None:
        out["CPU"] = float(res.cpu)
    if res.memory_bytes is not None:
        out["MEMORY"] = float(res.memory_bytes)
    if res.disk_bytes is not None:
        out["DISK"] = float(res.disk_bytes)
    if res.gpu is not None:
        out["GPU"] = float(res.gpu.number)
    return out


def dask_resources(spec: PipelineSpec) -> dict[str, float]:
    """What one datum of ``spec`` asks of a Dask worker (empty: any worker will do).

    ``resource_requests`` first; a resource only ``resource_limits`` names counts too (GPUs
    are often given as limits only, as Kubernetes wants them).
    """
    return {**_amounts(spec.resource_limits), **_amounts(spec.resource_requests)}


def parse_resources(text: str) -> dict[str, float]:
    """``"GPU=1 CPU=4"`` (Dask's ``--resources`` syntax, spaces or commas) as a dict."""
    out: dict[str, float] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            raise InvalidArgument(
                f"{ENV_WORKER_RESOURCES}: expected NAME=NUMBER, got {part!r}"
            ) from None
        if not sep or not name:
            raise InvalidArgument(f"{ENV_WORKER_RESOURCES}: expected NAME=NUMBER, got {part!r}")
    return out


def local_worker_resources(n_workers: int, threads_per_worker: int = 1) -> dict[str, float]:
    """What each worker of a local cluster declares: its share of this machine's cores and
    memory (at least one task's worth), plus ``$JUPYTER_PIPES_WORKER_RESOURCES``."""
    cores = max(float(threads_per_worker), (os.cpu_count() or 1) / max(n_workers, 1))
    out = {"CPU": cores}
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        out["MEMORY"] = float(memory // max(n_workers, 1))
    except (ValueError, OSError, AttributeError):
        pass
    out.update(parse_resources(os.environ.get(ENV_WORKER_RESOURCES, "")))
    return out


def unschedulable(needs: Mapping[str, float], workers: Mapping[str, Any]) -> str | None:
    """Why no worker can run a datum needing ``needs`` (``None`` when one can).

    Parameters
    ----------
    needs : Mapping[str, float]
        From :func:`dask_resources`.
    workers : Mapping[str, Any]
        ``distributed.Client.scheduler_info()["workers"]``: address -> info with a
        ``"resources"`` mapping.
    """
    if not needs:
        return None
    offers = [dict(info.get("resources") or {}) for info in workers.values()]
    if any(all(o.get(r, 0.0) >= a for r, a in needs.items()) for o in offers):
        return None
    lacking = [r for r, a in needs.items() if not any(o.get(r, 0.0) >= a for o in offers)]
    name = lacking[0] if lacking else next(iter(needs))
    spec_field = next((f for f, r in FIELDS.items() if r == name), name.lower())
    best = max((o.get(name, 0.0) for o in offers), default=0.0)
    have = f"the most any of its {len(offers)} worker(s) has is {_fmt(name, best)}"
    if lacking:
        return (
            f"{spec_field}: the datums need {name}={_fmt(name, needs[name])}, {have}; start a "
            f'worker with --resources "{name}={_raw(needs[name])}" (or lower the request)'
        )
    return (
        f"no worker has all of {', '.join(f'{r}={_fmt(r, a)}' for r, a in needs.items())} at "
        'once; start one with --resources "'
        + " ".join(f"{r}={_raw(a)}" for r, a in needs.items())
        + '"'
    )


def _raw(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else f"{amount:g}"


def _fmt(name: str, amount: float) -> str:
    if name in ("MEMORY", "DISK") and amount >= 1024**2:
        return f"{amount / 1024**3:.3g} GiB"
    return _raw(amount)
