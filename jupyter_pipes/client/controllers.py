"""Controllers: which ones are alive, and starting the background one on demand."""

from __future__ import annotations

from ..pipeline.presence import ControllerInfo, live_controllers
from ._base import ClientBase


class ControllersMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    def list_controller(self) -> list[ControllerInfo]:
        """The live controllers of this store (a Jupyter server's, ``jupyter pipes
        controller`` services, the background controller), oldest first."""
        return live_controllers(self._store)

    @property
    def autostart(self) -> bool:
        """Whether this client starts a background controller for the jobs its commits queue
        (see docs/controller.md)."""
        return self._autostart is not None

    def ensure_controller(self) -> bool:
        """Start the background controller if jobs are queued and no controller is alive (a
        commit does this by itself; a pipeline run or update calls it). True if one was
        started; always False with auto-start off."""
        return self._autostart is not None and self._autostart.ensure()

    def controller_log(self) -> str | None:
        """The background controller's log file on this machine (``None``: auto-start off)."""
        return None if self._autostart is None else self._autostart.log_file
