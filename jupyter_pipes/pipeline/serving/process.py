"""A supervised endpoint's process: ``python -m jupyter_pipes.pipeline.serving.process``.

It reads its settings as one JSON object on stdin (``store``, ``db_url``, ``storage_options``,
``pipeline``, ``ref``, ``host``, ``port``, ``threads``, ``log_window``, ``token``), opens the
store, and serves until SIGTERM (then shuts down gracefully).
"""

from __future__ import annotations

import json
import logging
import sys

from ...errors import PipesError
from ...store.store import Store
from .endpoint import Endpoint, EndpointConfig


def main() -> int:
    """Serve the endpoint described on stdin; the exit status is 1 if it cannot start."""
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(levelname)s] %(message)s")
    cfg = json.loads(sys.stdin.read())
    try:
        store = Store(cfg["store"], db_url=cfg["db_url"], **(cfg.get("storage_options") or {}))
        endpoint = Endpoint(
            store,
            EndpointConfig(
                ref=cfg["ref"], pipeline=cfg.get("pipeline"), host=cfg.get("host", "127.0.0.1"),
                port=int(cfg.get("port", 0)), token=cfg.get("token"),
                threads=int(cfg.get("threads", 4)), log_window=float(cfg.get("log_window", 10)),
            ),
        )  # fmt: skip
        endpoint.run()
    except PipesError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
