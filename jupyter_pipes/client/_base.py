"""The state every part of :class:`~jupyter_pipes.Client` shares: the store, the pipeline layer
(loaded on first use) and the Dask executor (started on first use).

The pipeline layer is imported and opened lazily, so a command that only reads the store
(``jupyter pipes list repo``) never imports pydantic, Dask or the pipeline code. It is always
loaded before the first write transaction (:attr:`Store.layer_loaders`), so no branch head moves
without its hook, and gc asks it for its roots.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..store.store import Store

if TYPE_CHECKING:
    from ..pipeline.executor import Executor
    from ..pipeline.manager import Pipelines
    from ..store.objects import BlobRef


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
        from ..pipeline import state  # the tables only: the layer's code loads on first use

        self._store.meta.ensure_schema(state.CHAIN)  # every chain up to date at open, as before
        self._pipelines_layer: Pipelines | None = None
        self._pipelines_lock = threading.Lock()
        self._store.layer_loaders.append(self._load_pipelines)
        self._store.gc_roots.append(self._pipeline_gc_roots)
        self._autostart = Autostart.attach(
            self._store, setting=autostart, scheduler=scheduler, storage_options=storage_options
        )  # its hook is moved after the pipeline layer's when that loads (see _pipelines)
        self._scheduler = scheduler
        self._n_workers = n_workers
        self._executor: Executor | None = None

    @property
    def _pipelines(self) -> Pipelines:
        """The pipeline layer of this store (imported and opened on first use)."""
        layer = self._pipelines_layer
        if layer is None:
            with self._pipelines_lock:
                if self._pipelines_layer is None:
                    from ..pipeline.manager import Pipelines

                    self._pipelines_layer = Pipelines(self._store)
                    hooks, auto = self._store.head_hooks, getattr(self, "_autostart", None)
                    if auto is not None and auto.on_head_move in hooks:
                        # after the pipeline layer's hook: it sees the jobs a commit queued
                        # (the layer loads before any write, so no head has moved yet)
                        hooks.remove(auto.on_head_move)
                        hooks.append(auto.on_head_move)
                layer = self._pipelines_layer
        return layer

    def _load_pipelines(self) -> None:
        self._pipelines  # noqa: B018  (loads the layer: registers its head hook)

    def _pipeline_gc_roots(self) -> Iterable[BlobRef]:
        return self._pipelines.gc_roots()

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
