"""The ``%pipe`` widgets behave as the sidebar does: its state names, its sizes, a revert that
says what it does and waits for a confirmation, and redraws when the store changes anywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.magics import widgets

CMD = 'for f in "$data"/*; do cp "$f" "$out"/; done'


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"), n_workers=1)
    yield c
    c.close()


def chain(client: Client) -> None:
    """data → copy → again (two pipelines, so a revert of data re-runs both)."""
    client.create_repo("data")
    for name, source in (("copy", "data"), ("again", "copy")):
        client.create_pipeline(
            {
                "pipeline": {"name": name},
                "input": {"pfs": {"repo": source, "glob": "/", "name": "data"}},
                "transform": {"cmd": ["bash", "-c", CMD]},
            }
        )


def test_state_names_are_the_sidebars() -> None:
    assert widgets.state_name("created") == "queued"
    assert widgets.state_name("killed") == "failure"
    assert widgets.state_name(None) == "idle"
    assert widgets.state_name("running") == "running"


def test_the_dag_uses_the_sidebars_names_and_marks_stale_outputs(pipes: Client) -> None:
    chain(pipes)
    dag = widgets.DagWidget(pipes)
    # pipelines that never ran are “idle”, queued jobs “queued” (not “no job”, “created”)
    assert "created" not in dag.text and "no job" not in dag.picture.value
    assert "queued" in dag.text or "idle" in dag.text
    assert "no job" not in dag.children[1].value and "idle" in dag.children[1].value
    pipes.put_file("data@master", "/a", b"a")
    pipes.run_jobs(timeout=120)
    dag.refresh()
    assert 'data-id="pipeline:copy" data-state="success"' in dag.picture.value
    assert "[copy: success]" in dag.text


def test_revert_asks_first_and_names_what_reruns(pipes: Client) -> None:
    chain(pipes)
    first = pipes.put_file("data@master", "/a", b"v1", message="v1")
    pipes.put_file("data@master", "/a", b"v2", message="v2")
    head = pipes.inspect_commit("data@master").id
    history = widgets.HistoryWidget(pipes, "data@master")
    history.buttons[first.id].click()
    assert pipes.inspect_commit("data@master").id == head  # nothing moved yet
    text = history.confirm.children[0].value
    assert "Revert data@master?" in text and first.id[:8] in text and "“v1”" in text
    assert "re-run, in this order: copy, again" in text
    _go, cancel = history.confirm.children[1].children
    cancel.click()
    assert history.confirm.children == () and pipes.inspect_commit("data@master").id == head
    history.buttons[first.id].click()
    history.confirm.children[1].children[0].click()
    now = pipes.inspect_commit("data@master")
    assert (now.origin, now.restores) == ("revert", first.id)
    assert history.confirm.children == ()


def test_sizes_read_as_in_the_sidebar(pipes: Client) -> None:
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a", b"x" * 2190)
    history = widgets.HistoryWidget(pipes, "data@master")
    assert "2.139KiB" in history.lines[0]  # labextension/src/format.ts formats it the same


def test_widgets_follow_changes_made_elsewhere(pipes: Client, tmp_path: Path) -> None:
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a", b"a", message="one")
    history = widgets.HistoryWidget(pipes, "data@master")
    dag = widgets.DagWidget(pipes)
    assert len(history.lines) == 1
    other = Client(str(tmp_path / "store"))  # another process's view of the store
    try:
        other.put_file("data@master", "/b", b"b", message="two")
        other.create_repo("late")
    finally:
        other.close()
    deadline = time.monotonic() + 30
    while (len(history.lines) < 2 or "late" not in dag.text) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(history.lines) == 2 and "two" in history.lines[0]
    assert "late" in dag.text


def test_an_idle_store_costs_the_follower_only_its_change_marker(
    pipes: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The follower reads the counter the server's event stream is built on, and reads
    nothing else until it moves (it used to list every branch and the newest jobs each
    second)."""
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a", b"a", message="one")
    looks: list[str] = []

    def counted(name: str) -> Any:
        real = getattr(pipes, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            looks.append(name)
            return real(*args, **kwargs)

        return call

    for name in ("change_marker", "list_branch", "list_job", "list_commit", "dag"):
        monkeypatch.setattr(pipes, name, counted(name))
    history = widgets.HistoryWidget(pipes, "data@master")
    dag = widgets.DagWidget(pipes)
    looks.clear()  # what drawing them cost
    deadline = time.monotonic() + 30
    while looks.count("change_marker") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert looks.count("change_marker") >= 4
    assert set(looks) == {"change_marker"}  # no redraw and no other read while idle
    pipes.put_file("data@master", "/b", b"b", message="two")
    deadline = time.monotonic() + 30
    while len(history.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "two" in history.lines[0] and "dag" in looks
    del dag, history
