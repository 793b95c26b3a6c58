"""Notebook widgets (ipywidgets): the DAG with live state, a branch's history with revert
buttons, and job progress bars. They hold no logic: they call the Client and draw its records.

They behave as the JupyterLab sidebar does: the same state names (:data:`STATE_NAMES`), the same
sizes (pachctl's, ``2.139KiB``), a revert that first says which branch moves and which pipelines
re-run and waits for a confirmation, and they follow changes made anywhere: a follower thread
redraws every live widget when the store's change marker moves, the counter the server's event
stream is built on (see :class:`_Follower`).

- :class:`DagWidget`: the SVG of :mod:`.graph`, redrawn by :meth:`~DagWidget.refresh` (every
  ``%pipe`` line, every job state change seen by a wait, a revert, any change of the store) and,
  with ``interval=``, by a timer thread.
- :class:`HistoryWidget`: ``repo@branch``'s commits, newest first, each with a button that
  offers to revert the branch to it (``Client.revert``) and, once confirmed, does it, then
  optionally runs the jobs that triggers.
- :class:`JobProgressWidget`: the ``progress=`` callback of ``Client.wait_job/wait_commit``
  (and of the ``%pipe`` waits): one bar per job of datums done out of total.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

import ipywidgets as w
from IPython.display import display

from ..cli.render import ago, first_line, human_size
from ..client import Client
from ..errors import PipesError
from ..pipeline.records import JobInfo
from . import graph

_live: weakref.WeakSet[Any] = weakref.WeakSet()

STATE_NAMES: dict[str | None, str] = {
    "running": "running",
    "created": "queued",
    "success": "success",
    "failure": "failure",
    "killed": "failure",
    "unrunnable": "unrunnable",
    None: "idle",
}
"""A job state as the sidebar names it (``labextension/src/model/dag.ts``: ``jobNodeState``)."""
FOLLOW_INTERVAL = 0.5
"""Seconds between two looks at the store's change marker by the follower thread (the
server's event poller looks as often: ``PipesApp.event_poll_interval``)."""


def state_name(state: str | None) -> str:
    """The sidebar's name of a job state (``created`` is ``queued``; no job is ``idle``)."""
    return STATE_NAMES.get(state, "idle")


def refresh_all() -> None:
    """Redraw every live DAG and history widget of this kernel (store errors are shown in the
    widget, never raised)."""
    for widget in list(_live):
        widget.refresh()


def downstream(dag: dict[str, Any], repo: str, branch: str) -> list[str]:
    """The pipelines that re-run when ``repo@branch`` moves, nearest first (as the sidebar's
    ``downstreamPipelines``): those reading it, then those reading their outputs..."""
    found: list[str] = []
    seen: set[str] = set()
    frontier = [(f"repo:{repo}", branch)]
    while frontier:
        nxt: list[tuple[str, str]] = []
        for node, b in frontier:
            for e in dag["edges"]:
                if e["from"] != node or e["branch"] != b or e["to"] in seen:
                    continue
                if not e["to"].startswith("pipeline:"):
                    continue
                seen.add(e["to"])
                found.append(e["to"].removeprefix("pipeline:"))
                nxt += [
                    (o["to"], o["branch"])
                    for o in dag["edges"]
                    if o["from"] == e["to"] and o["to"].startswith("repo:")
                ]
        frontier = nxt
    return found


class _Follower:
    """One daemon thread per kernel that redraws the live widgets when the store changes (a
    commit, a revert or a job's progress, from any process), as the sidebar does on its
    events. It ends when no widget is left.

    The sidebar's events come from the server's poller, which reads
    :meth:`Client.change_marker <jupyter_pipes.Client.change_marker>` (a counter bumped by
    every head move, pipeline and job write, plus the count of repos and branches: two
    one-row queries) and only looks further when it moved. The kernel cannot subscribe to the
    server's stream (it knows neither the server's URL nor its token, and ``%pipe`` also runs
    outside JupyterLab), so the follower reads the same marker itself: an idle store costs two
    one-row queries per look, whatever its size, and a widget redraws only when it moved.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last: weakref.WeakKeyDictionary[Client, Hashable] = weakref.WeakKeyDictionary()

    def watch(self, client: Client) -> None:
        """Follow ``client``'s store from now on (a new live widget calls it, just drawn)."""
        try:
            now = client.change_marker()  # the state the widget was drawn from
        except Exception:  # the thread takes its first look instead
            now = None
        with self._lock:
            if now is not None and client not in self._last:
                self._last[client] = now
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="jupyter-pipes-follow", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not _live:
                    self._thread = None
                    return
                widgets = list(_live)
            for client in {id(wd.client): wd.client for wd in widgets}.values():
                try:
                    now = client.change_marker()
                except Exception:  # a closed client or a storage hiccup: try again later
                    continue
                before = self._last.get(client)
                if before is not None and before != now:
                    for wd in widgets:
                        if wd.client is client and getattr(wd, "following", True):
                            wd.refresh()
                self._last[client] = now
            del widgets  # hold no widget between two looks (they may go away)
            threading.Event().wait(FOLLOW_INTERVAL)


_follower = _Follower()


def _legend_html() -> str:
    """A one-line legend of the pipeline colours, with the sidebar's state names."""
    items = "".join(
        f'<span style="background:{graph.STATE_COLOURS[name]};border:1px solid #37474f;'
        f'border-radius:8px;padding:0 6px;margin-right:4px;color:#000">{name}</span>'
        for name in ("running", "queued", "success", "failure", "unrunnable", "idle")
    )
    return f'<div style="font-size:11px;margin-top:4px">pipelines by newest job: {items}</div>'


def _display(dag: graph.Dag) -> graph.Dag:
    """The DAG with the sidebar's state names, and marks on output repos that are not current
    (their pipeline's newest job failed or could not run)."""
    states = {n.name: state_name(n.state) for n in dag.nodes if n.kind == "pipeline"}
    marks = {"failure": "last job failed", "unrunnable": "stale"}
    nodes = []
    for n in dag.nodes:
        if n.kind == "pipeline":
            version = n.detail.split(" · ")[0]
            n = dataclasses.replace(n, state=states[n.name], detail=f"{version} · {states[n.name]}")
        elif states.get(n.name) in marks:  # the output repo of a pipeline
            n = dataclasses.replace(n, detail=f"{n.detail} · {marks[states[n.name]]}")
        nodes.append(n)
    return dataclasses.replace(dag, nodes=tuple(nodes))


class DagWidget(w.VBox):
    """The store's DAG, pipelines coloured by the state of their newest job."""

    def __init__(self, client: Client, *, interval: float | None = None) -> None:
        self.client = client
        self.picture = w.HTML()
        self.text = ""
        super().__init__([self.picture, w.HTML(_legend_html())])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.refresh()
        _live.add(self)
        _follower.watch(client)
        if interval:
            self.start(interval)

    def refresh(self) -> None:
        """Read the repos and pipelines again and redraw."""
        with self._lock:
            try:
                dag = graph.build(self.client.dag())
                dag = _display(dag)
                self.picture.value, self.text = graph.to_svg(dag), graph.to_text(dag)
            except PipesError as e:
                self.text = f"error: {e.message}"
                self.picture.value = f"<pre>{_escape(self.text)}</pre>"

    def start(self, interval: float) -> None:
        """Redraw every ``interval`` seconds from a daemon thread, until :meth:`stop`."""
        self._stop.clear()
        self.following = True

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        threading.Thread(target=loop, name="jupyter-pipes-dag", daemon=True).start()

    following = True
    """Whether the follower thread redraws it when the store changes."""

    def stop(self) -> None:
        """Stop the timer and the following (the picture stays; ``%pipe`` lines still
        redraw it)."""
        self._stop.set()
        self.following = False

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, plus the SVG as ``text/html`` for renderers without widgets, and the
        edges as ``text/plain`` for terminals."""
        return _with_fallbacks(super()._repr_mimebundle_(**kwargs), self.picture.value, self.text)


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
        self.confirm = w.VBox()
        self.buttons: dict[str, w.Button] = {}
        self.lines: list[str] = []
        self.pending: str | None = None
        super().__init__([w.HTML(f"<b>{self.branch}</b>"), self.rows, self.confirm, self.status])
        self.refresh()
        _live.add(self)
        _follower.watch(client)

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
            parts = [
                f"<code>{c.id[:8]}</code> {c.origin}{restores}",
                human_size(c.size_bytes),
                ago(c.finished) if c.finished else "open",
                _escape(first_line(c.message)),
            ]
            text = " · ".join(filter(None, parts))
            button = w.Button(
                description="head" if i == 0 else "revert…",
                disabled=i == 0,
                tooltip=f"revert {self.branch} to {c.id}",
                layout=w.Layout(width="120px"),
            )
            button.on_click(lambda _b, cid=c.id: self.ask_revert(cid))
            self.buttons[c.id] = button
            self.lines.append(text)
            rows.append(w.HBox([button, w.HTML(text)]))
        self.rows.children = rows

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, plus the history (without buttons) as HTML and text fallbacks."""
        import re

        body = "".join(f"<li>{line}</li>" for line in self.lines)
        plain = "\n".join(re.sub(r"<[^>]+>", "", html_unescape(x)) for x in self.lines)
        return _with_fallbacks(
            super()._repr_mimebundle_(**kwargs),
            f"<b>{self.branch}</b><ul>{body}</ul>",
            f"{self.branch}\n{plain}",
        )

    def ask_revert(self, commit_id: str) -> None:
        """Say what reverting to ``commit_id`` does (the branch that moves, the pipelines that
        re-run), with a button that does it and one that cancels: nothing moves before that."""
        try:
            commit = self.client.inspect_commit(f"{self.repo}@{commit_id}")
            pipelines = downstream(self.client.dag(), self.repo, self.branch.partition("@")[2])
        except PipesError as e:
            self.status.value = f"error: {_escape(e.message)}"
            return
        self.pending = commit_id
        reruns = (
            f"These pipelines will re-run, in this order: {', '.join(pipelines)}."
            if pipelines
            else f"No pipeline reads {self.branch}: nothing re-runs."
        )
        text = w.HTML(
            f"<b>Revert {_escape(self.branch)}?</b> It moves to a new commit (origin "
            f"<code>revert</code>) whose files are those of <code>{commit_id[:8]}</code> "
            f"“{_escape(first_line(commit.message))}”; history keeps every commit. "
            f"{_escape(reruns)}"
        )
        go = w.Button(
            description=f"Revert {self.branch}",
            button_style="warning",
            layout=w.Layout(width="auto"),
        )
        cancel = w.Button(description="Cancel", layout=w.Layout(width="auto"))
        go.on_click(lambda _b: self.revert_to(commit_id))
        cancel.on_click(lambda _b: self.cancel_revert())
        self.confirm.children = (text, w.HBox([go, cancel]))

    def cancel_revert(self) -> None:
        """Forget the revert that was offered."""
        self.pending = None
        self.confirm.children = ()

    def revert_to(self, commit_id: str) -> None:
        """Revert the branch to ``commit_id`` (a new commit), then redraw every live widget.
        The buttons call it only after :meth:`ask_revert` was confirmed."""
        self.cancel_revert()
        try:
            new = self.client.revert(self.branch, f"{self.repo}@{commit_id}")
            msg = (
                f"reverted {self.branch} to {commit_id[:8]}: new commit {new.id[:8]}; "
                "downstream jobs are queued"
            )
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


_BAR_STYLE = {
    "success": "success",
    "failure": "danger",
    "killed": "danger",
    "unrunnable": "warning",
    "running": "info",
    "created": "",
}


class JobProgressWidget:
    """A ``progress=`` callback: one progress bar per job, shown on the first report."""

    def __init__(self, show: Callable[[Any], Any] | None = display) -> None:
        self.box = w.VBox()
        self.bars: dict[str, tuple[w.IntProgress, w.HTML]] = {}
        self.states: dict[str, str] = {}
        self._show = show

    def __call__(self, job: JobInfo) -> None:
        if job.id not in self.bars:
            bar = w.IntProgress(
                min=0,
                max=max(job.total, 1),
                description=job.pipeline,
                style={"description_width": "initial"},
            )
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
        label.value = (
            f"job <code>{job.id[:8]}</code> {state_name(job.state)}: "
            f"{job.processed} processed, "
            f"{job.skipped} skipped, {job.failed} failed of {job.total}"
        )
        if self.states.get(job.id) != job.state:
            self.states[job.id] = job.state
            refresh_all()

    def close(self) -> None:
        """Nothing to release: the bars stay, showing how each job ended."""
