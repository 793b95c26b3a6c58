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

from .definition import Definition
from .endpoint import Endpoint, EndpointConfig
from .log import ServingLog
from .records import ReplicaAt, ReplicaInfo, ServedAt, ServiceInfo, ServingEvent, ServingWindow

__all__ = [
    "Definition", "Endpoint", "EndpointConfig", "ReplicaAt", "ReplicaInfo", "ServedAt",
    "ServiceInfo", "ServingEvent", "ServingLog", "ServingWindow",
]  # fmt: skip
