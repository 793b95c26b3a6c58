"""The Jupyter server extension: REST API under ``/pipes/api/``, live events, the controller.

Enabled automatically by ``jupyter-config/server-config/jupyter_pipes.json`` (installed as
``etc/jupyter/jupyter_server_config.d/jupyter_pipes.json``). See ``docs/rest-api.md``.
"""

from __future__ import annotations

from typing import Any

from .app import PipesApp


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_pipes.server", "app": PipesApp}]


__all__ = ["PipesApp"]
