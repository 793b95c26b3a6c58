"""Online serving: endpoints that follow a branch head, and the record of which model answered.

- :class:`Endpoint` (:mod:`.endpoint`): one process's HTTP endpoint on ``repo@branch``, swapping
  atomically when the head moves; :class:`EndpointConfig` says how.
- :class:`Definition` (:mod:`.definition`): the serving notebook (``load`` and ``predict``).
- :class:`ServingLog` (:mod:`.log`): the replica registry, the per-window serving log and the
  events, in the store's metadata database.
- :class:`Supervisor` and :func:`supervise` (:mod:`.supervisor`): keep the endpoints that
  pipeline specs declare (``serve:``) running, each as a child process.

See docs/serving.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Definition": "definition", "Endpoint": "endpoint", "EndpointConfig": "endpoint",
    "ServingLog": "log", "Supervisor": "supervisor", "supervise": "supervisor",
    "ReplicaAt": "records", "ReplicaInfo": "records", "ServedAt": "records",
    "ServiceInfo": "records", "ServingEvent": "records", "ServingWindow": "records",
    "Prediction": "records",
}  # fmt: skip
"""Where each name lives: imported on first use (tornado only when something is served)."""


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = sorted(_WHERE)
