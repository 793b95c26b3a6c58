"""The state every part of :class:`~jupyter_pipes.Client` shares: the store, the pipeline layer
and the Dask executor (started on first use)."""

from __future__ import annotations

import os
from typing import Any

from ..pipeline.executor import Executor
from ..pipeline.manager import Pipelines
from ..store.store import Store


class ClientBase:
    """Opens the store; the parts of the client (one module per area) build on it."""

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        scheduler: str | None = None,
        n_workers: int | None = None,
        user: str | None = None,
        autostart: bool | None = None,
        **storage_options: Any,
    ) -> None:
        from ..service.autostart import Autostart

        self._store = Store(store, db_url=db_url, actor=user, **storage_options)
        self._pipelines = Pipelines(self._store)
        self._store.gc_roots.append(self._pipelines.gc_roots)
        self._autostart = Autostart.attach(
            self._store, setting=autostart, scheduler=scheduler, storage_options=storage_options
        )  # after the pipeline layer's hook: it sees the jobs a commit queued
        self._scheduler = scheduler
        self._n_workers = n_workers
        self._executor: Executor | None = None

    @property
    def store(self) -> Store:
        """The underlying :class:`~jupyter_pipes.store.store.Store`: the lower layer, for this
        package's own parts (the ``pipes://`` filesystem, the serving supervisor) and for tests.
        Not a stable public API: use the Client's methods."""
        return self._store

    @property
    def store_url(self) -> str:
        """Where the objects live."""
        return self._store.url

    @property
    def cluster_started(self) -> bool:
        """True once this client's Dask cluster runs (it starts with the first job's datums)."""
        return self._executor is not None and self._executor.started

    def close(self) -> None:
        """Release database connections and stop a local Dask cluster this client started."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        self._store.close()

    def __enter__(self) -> ClientBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
