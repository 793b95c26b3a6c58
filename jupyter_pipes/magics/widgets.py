"""Notebook widgets (ipywidgets): the DAG with live state, a branch's history with revert
buttons, and job progress bars. They hold no logic: they call the Client and draw its records.

- :class:`DagWidget`: the SVG of :mod:`.graph`, redrawn by :meth:`~DagWidget.refresh` (every
  ``%pipe`` line, every job state change seen by a wait, a revert click) and, with
  ``interval=``, by a timer thread.
- :class:`HistoryWidget`: ``repo@branch``'s commits, newest first, each with a button that
  reverts the branch to it (``Client.revert``), then optionally runs the jobs that triggers.
- :class:`JobProgressWidget`: the ``progress=`` callback of ``Client.wait_job/wait_commit``
  (and of the ``%pipe`` waits): one bar per job of datums done out of total.
"""

from __future__ import annotations

import html
import threading
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from IPython.display import display

from ..cli.render import ago, first_line, human_size
from ..client import Client
from ..errors import PipesError
from ..pipeline.records import JobInfo
from . import graph

_live: weakref.WeakSet[Any] = weakref.WeakSet()


def refresh_all() -> None:
    """Redraw every live DAG and history widget of this kernel (store errors are shown in the
    widget, never raised)."""
    for widget in list(_live):
        widget.refresh()


class DagWidget(w.VBox):
    """The store's DAG, pipelines coloured by the state of their newest job."""

    def __init__(self, client: Client, *, interval: float | None = None) -> None:
        self.client = client
        self.picture = w.HTML()
        self.text = ""
        super().__init__([self.picture, w.HTML(graph.legend_html())])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.refresh()
        _live.add(self)
        if interval:
            self.start(interval)

    def refresh(self) -> None:
        """Read the repos and pipelines again and redraw."""
        with self._lock:
            try:
                dag = graph.build(self.client.dag())
                self.picture.value, self.text = graph.to_svg(dag), graph.to_text(dag)
            except PipesError as e:
                self.text = f"error: {e.message}"
                self.picture.value = f"<pre>{_escape(self.text)}</pre>"

    def start(self, interval: float) -> None:
        """Redraw every ``interval`` seconds from a daemon thread, until :meth:`stop`."""
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        threading.Thread(target=loop, name="jupyter-pipes-dag", daemon=True).start()

    def stop(self) -> None:
        """Stop the timer (the picture stays)."""
        self._stop.set()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, plus the SVG as ``text/html`` for renderers without widgets, and the
        edges as ``text/plain`` for terminals."""
        return _with_fallbacks(super()._repr_mimebundle_(**kwargs), self.picture.value,
                               self.text)


class HistoryWidget(w.VBox):
    """``repo@branch``'s history, newest first; each older commit has a revert button."""

    def __init__(self, client: Client, branch: str, *, limit: int = 20, wait: bool = False) -> None:
        self.client = client
        self.repo, _, name = branch.partition("@")
        self.branch = f"{self.repo}@{name or 'master'}"
        self.limit = limit
        self.wait = wait
        self.status = w.HTML()
        self.rows = w.VBox()
        self.buttons: dict[str, w.Button] = {}
        super().__init__([w.HTML(f"<b>{self.branch}</b>"), self.rows, self.status])
        self.refresh()
        _live.add(self)

    def refresh(self) -> None:
        """Read the branch's commits again and redraw the rows."""
        try:
            commits = self.client.list_commit(self.branch, limit=self.limit)
        except PipesError as e:
            self.status.value = f"error: {e.message}"
            return
        rows, self.buttons, self.lines = [], {}, []
        for i, c in enumerate(commits):
            restores = f", restores {c.restores[:8]}" if c.restores else ""
            parts = [f"<code>{c.id[:8]}</code> {c.origin}{restores}", human_size(c.size_bytes),
                     ago(c.finished) if c.finished else "open", _escape(first_line(c.message))]
            text = " · ".join(filter(None, parts))
            button = w.Button(description="head" if i == 0 else "revert to this",
                              disabled=i == 0, tooltip=f"revert {self.branch} to {c.id}",
                              layout=w.Layout(width="120px"))
            button.on_click(lambda _b, cid=c.id: self.revert_to(cid))
            self.buttons[c.id] = button
            self.lines.append(text)
            rows.append(w.HBox([button, w.HTML(text)]))
        self.rows.children = rows

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, plus the history (without buttons) as HTML and text fallbacks."""
        import re

        body = "".join(f"<li>{line}</li>" for line in self.lines)
        plain = "\n".join(re.sub(r"<[^>]+>", "", html_unescape(x)) for x in self.lines)
        return _with_fallbacks(super()._repr_mimebundle_(**kwargs),
                               f"<b>{self.branch}</b><ul>{body}</ul>", f"{self.branch}\n{plain}")

    def revert_to(self, commit_id: str) -> None:
        """Revert the branch to ``commit_id`` (a new commit), then redraw every live widget."""
        try:
            new = self.client.revert(self.branch, f"{self.repo}@{commit_id}")
            msg = (f"reverted {self.branch} to {commit_id[:8]}: new commit {new.id[:8]}; "
                   "downstream jobs are queued")
            if self.wait:
                bars = JobProgressWidget()
                self.children = (*self.children[:-1], bars.box, self.status)
                jobs = self.client.wait_commit(f"{self.repo}@{new.id}", progress=bars)
                msg += " and ran: " + ", ".join(f"{j.pipeline} {j.state}" for j in jobs)
            self.status.value = msg
        except PipesError as e:
            self.status.value = f"error: {_escape(e.message)}"
        refresh_all()


def _escape(text: str) -> str:
    return html.escape(text)


def html_unescape(text: str) -> str:
    """HTML text back to plain text."""
    return html.unescape(text)


def _with_fallbacks(bundle: Any, html_text: str, plain: str) -> Any:
    """A widget's mimebundle with ``text/html`` and ``text/plain`` for frontends (terminals,
    nbconvert, GitHub) that do not render widgets; those that do prefer the widget view."""
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    if isinstance(data, dict):
        data["text/html"] = html_text
        data["text/plain"] = plain
    return bundle


_BAR_STYLE = {"success": "success", "failure": "danger", "killed": "danger",
              "unrunnable": "warning", "running": "info", "created": ""}


class JobProgressWidget:
    """A ``progress=`` callback: one progress bar per job, shown on the first report."""

    def __init__(self, show: Callable[[Any], Any] | None = display) -> None:
        self.box = w.VBox()
        self.bars: dict[str, tuple[w.IntProgress, w.HTML]] = {}
        self.states: dict[str, str] = {}
        self._show = show

    def __call__(self, job: JobInfo) -> None:
        if job.id not in self.bars:
            bar = w.IntProgress(min=0, max=max(job.total, 1), description=job.pipeline,
                                style={"description_width": "initial"})
            label = w.HTML()
            self.bars[job.id] = bar, label
            self.box.children = (*self.box.children, w.HBox([bar, label]))
            if self._show is not None and len(self.bars) == 1:
                self._show(self.box)
        bar, label = self.bars[job.id]
        done = job.processed + job.skipped + job.failed
        bar.max = max(job.total, 1)
        bar.value = min(done, bar.max) if job.total else int(job.done)
        bar.bar_style = _BAR_STYLE.get(job.state, "")
        label.value = (f"job <code>{job.id[:8]}</code> {job.state}: {job.processed} processed, "
                       f"{job.skipped} skipped, {job.failed} failed of {job.total}")
        if self.states.get(job.id) != job.state:
            self.states[job.id] = job.state
            refresh_all()

    def close(self) -> None:
        """Nothing to release: the bars stay, showing how each job ended."""
