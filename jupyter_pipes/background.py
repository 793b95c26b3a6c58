"""The background controller process: ``python -m jupyter_pipes.background``.

:mod:`jupyter_pipes.service.autostart` starts it, detached, when a commit queues jobs and no
controller of the store is alive. It opens the store named by the environment (a
:class:`~jupyter_pipes.Client`), runs the store's jobs with
:class:`~jupyter_pipes.service.loop.ControllerService` and exits when idle (or on SIGTERM).
It lives above both ``client`` and ``service``, so neither imports the other's way up.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

from .client import Client
from .errors import PipesError
from .pipeline import presence
from .service.autostart import ENV_OPTIONS, idle_seconds, job_lease_seconds
from .service.loop import ControllerService

log = logging.getLogger("jupyter_pipes.service.autostart")


def main() -> int:
    """The background controller: run the store's jobs until idle (or SIGTERM)."""
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO,
        format=f"%(asctime)s %(levelname)s [pid {os.getpid()}] %(message)s",
    )  # fmt: skip
    options = json.loads(os.environ.pop(ENV_OPTIONS, "") or "{}")
    try:
        client = Client(
            os.environ.get("JUPYTER_PIPES_STORE"),
            db_url=os.environ.get("JUPYTER_PIPES_DB"),
            autostart=False,
            **options,
        )
    except PipesError as e:
        log.error("cannot open the store: %s", e.message)
        return 1
    with client:
        idle = idle_seconds()
        service = ControllerService(
            client,
            kind="background",
            row_id=presence.BACKGROUND,
            idle_exit_s=idle,
            idle_close_s=min(60.0, idle),
            health_s=0,
            lease_s=job_lease_seconds(),
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: service.stop("signal"))
        if not service.run():
            log.info("another background controller runs this store's jobs; exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
