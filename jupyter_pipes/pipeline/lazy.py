"""Lazy inputs, as Pachyderm 2.x makes them: named pipes fed when the code opens them.

An input with ``lazy: true`` is laid out under ``/pfs/<name>`` like any other, but each file is
a FIFO; its bytes are read from the store only when the datum's code opens the file, and stream
through (no copy on the worker's disk). As in Pachyderm, a lazy file can be read once, front to
back (no seeking); code that needs more should not ask for ``lazy``. Files never opened cost
nothing: when the datum ends, :meth:`Pipes.close` unblocks their feeders.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["Pipes"]

_log = logging.getLogger(__name__)


class Pipes:
    """The named pipes of one datum, each fed by a thread when a reader opens it."""

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        self.errors: list[str] = []

    def add(self, path: str, feed: Callable[[BinaryIO], None]) -> None:
        """Make ``path`` a named pipe whose reader gets what ``feed(writer)`` writes."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.mkfifo(path, 0o644)
        self._paths.append(path)
        thread = threading.Thread(target=self._serve, args=(path, feed), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve(self, path: str, feed: Callable[[BinaryIO], None]) -> None:
        try:
            with open(path, "wb") as writer:  # blocks until the code opens the file
                if not self._done.is_set():
                    feed(writer)
        except BrokenPipeError:
            pass  # the reader stopped early: as a pipe does
        except Exception as exc:  # the store failed: the reader sees a short file
            self.errors.append(f"{path}: {exc}")
            _log.warning("lazy input %s: %s", path, exc)

    def close(self) -> None:
        """Unblock the feeders of files nobody opened, and wait for every feeder."""
        self._done.set()
        held = []
        for path in self._paths:
            try:
                held.append(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                continue
        for thread in self._threads:
            thread.join(timeout=30)
        for fd in held:
            os.close(fd)
        self._paths, self._threads = [], []

    def __enter__(self) -> Pipes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
