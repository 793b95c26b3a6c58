"""The one order in which a global commit's pipelines run: upstream first, then by name."""

from __future__ import annotations

__all__ = ["topological_order"]


def topological_order(readers: dict[str, set[str]]) -> list[str]:
    """The pipelines of ``readers`` (pipeline -> the pipelines reading its output), upstream
    first, then by name (Kahn's algorithm); readers outside the keys and self-reads are
    ignored. The one order of a global commit's jobs (:func:`downstream`, propagation)."""
    edges = {n: sorted(down & readers.keys() - {n}) for n, down in readers.items()}
    indegree = dict.fromkeys(edges, 0)
    for down in edges.values():
        for d in down:
            indegree[d] += 1
    ready = sorted(n for n, k in indegree.items() if k == 0)
    order: list[str] = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for d in edges[name]:
            indegree[d] -= 1
            if indegree[d] == 0:
                ready.append(d)
        ready.sort()
    return order
