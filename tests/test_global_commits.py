"""Global commits (Pachyderm 2.x commit sets): one change, one job per pipeline downstream,
every output built from inputs of that one change — on a real store and a real Dask cluster."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import AlreadyExists, Client, Conflict, NotFound
from jupyter_pipes.pipeline import state

from .conftest import postgres_database


def cmd(name: str, input: dict[str, Any], script: str) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "input": input,
        "transform": {"cmd": ["bash", "-c", script]},
    }


def pfs(repo: str, glob: str = "/") -> dict[str, Any]:
    return {"pfs": {"repo": repo, "glob": glob}}


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def diamond(c: Client, slow: float = 1.0) -> None:
    """A -> B, A -> C (slower), B + C -> D; and E -> D too."""
    c.create_repo("A")
    c.create_repo("E")
    c.put_file("A@master", "/v", b"0")
    c.put_file("E@master", "/e", b"e0")
    c.create_pipeline(cmd("B", pfs("A"), 'printf "b$(cat $A/v)" > $out/v'))
    c.create_pipeline(cmd("C", pfs("A"), f'sleep {slow}; printf "c$(cat $A/v)" > $out/v'))
    c.create_pipeline(
        cmd(
            "D",
            {"cross": [pfs("B"), pfs("C"), pfs("E")]},
            'printf "$(cat $B/v)$(cat $C/v)$(cat $E/e)" > $out/d',
        )
    )
    c.run_jobs(timeout=300)


class HeadWatcher:
    """Reads D@master over and over on a thread, checking every head it sees."""

    def __init__(self, c: Client) -> None:
        self.c = c
        self.seen: dict[str, str] = {}
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HeadWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._look()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._look()

    def _look(self) -> None:
        head = self.c.inspect_commit("D@master")
        if head.id in self.seen:
            return
        self.seen[head.id] = self.c.get_file(f"D@{head.id}", "/d").decode()
        prov = {p.repo: self.c.inspect_commit(f"{p.repo}@{p.id}") for p in head.provenance}
        b, cc = prov["B"], prov["C"]
        # B and C of one global commit (D's own), both built from the same A commit
        a_of = {x.repo: {p.repo: p.id for p in x.provenance}["A"] for x in (b, cc)}
        if a_of["B"] != a_of["C"]:
            self.problems.append(f"D@{head.id} mixes A commits {a_of}")
        text = self.seen[head.id]
        if text[1] != text[3]:
            self.problems.append(f"D@{head.id} holds {text!r}: B and C of different versions")


def test_diamond_runs_the_bottom_once_per_change_never_mixed(pipes: Client) -> None:
    diamond(pipes)
    with HeadWatcher(pipes) as watcher:
        put = pipes.put_file("A@master", "/v", b"1")
        jobs = pipes.wait_commit(f"A@{put.id}", timeout=300)
    assert [j.pipeline for j in jobs] == ["B", "C", "D"]  # D once, after both
    assert all(j.state == "success" and j.global_id == put.id for j in jobs)
    d = pipes.inspect_commit("D@master")
    assert d.global_id == put.id and pipes.get_file("D@master", "/d") == b"b1c1e0"
    prov = {p.repo: p.id for p in d.provenance}
    assert {pipes.inspect_commit(f"{r}@{prov[r]}").global_id for r in ("B", "C")} == {put.id}
    assert prov["E"] == pipes.inspect_commit("E@master").id
    assert prov["D"] == pipes.inspect_pipeline("D").spec_commit  # the spec commit too
    assert watcher.problems == [] and set(watcher.seen.values()) >= {"b0c0e0", "b1c1e0"}
    # the global commit: the change, the three outputs and the three jobs
    g = pipes.inspect_global_commit(put.id)
    assert g.cause == "commit" and (g.repo, g.branch, g.commit) == ("A", "master", put.id)
    assert [c.repo for c in g.commits] == ["A", "B", "C", "D"]
    assert [j.pipeline for j in g.jobs] == ["B", "C", "D"] and g.done
    assert pipes.inspect_commit(f"C@{put.id}").id == prov["C"]  # repo@<global id>
    assert pipes.inspect_commit(f"D@{put.id[:12]}").id == d.id


def test_quick_successive_changes_each_get_a_consistent_result(pipes: Client) -> None:
    diamond(pipes, slow=0.5)
    before = len(pipes.list_job())
    one = pipes.put_file("A@master", "/v", b"1")
    two = pipes.put_file("A@master", "/v", b"2")
    e = pipes.put_file("E@master", "/e", b"e1")  # D only: waits on the pending B and C
    with state_of(pipes) as conn:
        pending = state.pending_jobs(conn)
    assert len(pending) == 7 and len(pipes.list_job()) - before == 7
    (d_of_e,) = pipes.inspect_global_commit(e.id).jobs
    assert d_of_e.pipeline == "D" and len(d_of_e.waiting_on) == 2
    waited = {pipes.inspect_job(j).pipeline for j in d_of_e.waiting_on}
    assert waited == {"B", "C"}
    assert {pipes.inspect_job(j).global_id for j in d_of_e.waiting_on} == {two.id}
    with HeadWatcher(pipes) as watcher:
        pipes.run_jobs(timeout=300)
    assert watcher.problems == []
    for change, text in ((one, "b1c1e0"), (two, "b2c2e0"), (e, "b2c2e1")):
        g = pipes.inspect_global_commit(change.id)
        assert all(j.state == "success" for j in g.jobs)
        assert pipes.get_file(f"D@{change.id}", "/d").decode() == text
    assert pipes.get_file("D@master", "/d") == b"b2c2e1"


def test_a_chain_created_before_any_job_queues_one_job_per_pipeline(pipes: Client) -> None:
    pipes.create_repo("p0")
    pipes.put_file("p0@master", "/n", b"0")
    n = 12
    for i in range(1, n + 1):
        pipes.create_pipeline(
            cmd(f"p{i}", pfs(f"p{i - 1}"), f"echo $(( $(cat $p{i - 1}/n) + 1 )) > $out/n")
        )
    jobs = pipes.list_job()
    assert len(jobs) == n  # not n * (n + 1) / 2
    first = {j.pipeline: j for j in jobs}
    assert first["p5"].waiting_on == (first["p4"].id,)
    pipes.run_jobs(timeout=300)
    assert pipes.get_file(f"p{n}@master", "/n") == f"{n}\n".encode()
    assert all(j.state == "success" for j in pipes.list_job()) and len(pipes.list_job()) == n


def test_a_failed_upstream_makes_the_bottom_unrunnable_naming_it(pipes: Client) -> None:
    diamond(pipes, slow=0.1)
    pipes.update_pipeline(
        {**cmd("B", pfs("A"), "exit 3"), "datum_tries": 1}
    )  # its own global commit: B fails, D cannot run
    pipes.run_jobs(timeout=300)
    put = pipes.put_file("A@master", "/v", b"1")
    jobs = {j.pipeline: j for j in pipes.wait_commit(f"A@{put.id}", timeout=300)}
    assert (jobs["B"].state, jobs["C"].state, jobs["D"].state) == (
        "failure",
        "success",
        "unrunnable",
    )
    assert jobs["B"].id in jobs["D"].reason and "B" in jobs["D"].reason
    assert pipes.get_file("D@master", "/d") == b"b0c0e0"  # no head mixes versions


def test_delete_and_squash_a_global_commit(pipes: Client) -> None:
    diamond(pipes, slow=0.1)
    heads = {r: pipes.inspect_commit(f"{r}@master").id for r in "ABCD"}
    one = pipes.put_file("A@master", "/v", b"1")
    pipes.wait_commit(one.id, timeout=300)  # a bare global id works too
    with pytest.raises(Conflict, match=r"computed from it|spec"):
        pipes.delete_global_commit(pipes.inspect_pipeline("D").spec_commit)
    two = pipes.put_file("A@master", "/v", b"2")
    with pytest.raises(Conflict, match="not done"):
        pipes.delete_global_commit(two.id)  # its jobs are pending
    pipes.wait_commit(two.id, timeout=300)
    with pytest.raises(Conflict, match="children"):
        pipes.delete_global_commit(one.id)
    deleted = pipes.delete_global_commit(two.id[:10])
    assert sorted(c.repo for c in deleted) == ["A", "B", "C", "D"]
    assert pipes.get_file("D@master", "/d") == b"b1c1e0"
    assert not pipes._pipelines.pending(None)  # nothing re-runs
    assert pipes.inspect_global_commit(one.id).done
    with pytest.raises(NotFound):
        pipes.inspect_global_commit(two.id)
    # each pipeline is back at its previous result: the same content again reuses it
    again = pipes.put_file("A@master", "/v", b"1")
    jobs = pipes.wait_commit(again.id, timeout=300)
    assert [(j.pipeline, j.processed, j.skipped) for j in jobs] == [
        ("B", 0, 1),
        ("C", 0, 1),
        ("D", 0, 1),
    ]
    (reused,) = pipes.list_datum(jobs[0].id)
    assert reused.reused_from == pipes.inspect_global_commit(one.id).jobs[0].id
    # squash the first change: its commits leave history, their children keep every file
    squashed = pipes.squash_global_commit(one.id)
    assert sorted(c.repo for c in squashed) == ["A", "B", "C", "D"]
    assert pipes.get_file("D@master", "/d") == b"b1c1e0"
    assert [c.id for c in pipes.list_commit("A@master")][1] == heads["A"]
    assert pipes.fsck().ok


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_concurrent_creates_of_one_name_one_wins(tmp_path: Path, db: str) -> None:
    store = str(tmp_path / "store")
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if db == "postgres" else None
        with Client(store, db_url=url) as first:
            first.create_repo("data")
        clients = [Client(store, db_url=url) for _ in range(4)]
        for x in clients:
            stack.callback(x.close)
        _race(clients)


def _race(clients: list[Client]) -> None:
    barrier = threading.Barrier(len(clients))
    results: list[object] = []

    def create(c: Client, i: int) -> None:
        barrier.wait()
        try:
            results.append(c.create_pipeline(cmd("same", pfs("data"), f"echo {i} > $out/x")))
        except AlreadyExists as e:
            results.append(e)

    threads = [threading.Thread(target=create, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and len(results) == 4
    c = clients[0]
    (p,) = c.list_pipeline()
    assert p.version == 1 and p.spec_commit == wins[0].spec_commit  # type: ignore[attr-defined]
    assert len(c.list_commit("same@spec")) == 1 and len(c.list_job()) == 1


KILLER = """
import os, signal, sys
from jupyter_pipes import Client
c = Client(sys.argv[1])
def die(txn, move):  # inside the transaction that makes the spec commit visible
    if move.branch == "spec":
        os.kill(os.getpid(), signal.SIGKILL)
c.store.head_hooks.append(die)
c.create_pipeline({"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "data", "glob": "/"}},
                   "transform": {"cmd": ["true"]}})
"""


def test_a_create_killed_at_any_instant_leaves_nothing_or_everything(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    with Client(store) as c:
        c.create_repo("data")
    proc = subprocess.run([sys.executable, "-c", KILLER, store], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with Client(store) as c:
        assert [r.name for r in c.list_repo()] == ["data"] and c.list_pipeline() == []
    # killed at random instants: each time nothing or the whole pipeline, and a retry works
    random_kill = KILLER.replace("c.store.head_hooks.append(die)", "")
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6, 2.0, 2.5):
        p = subprocess.Popen([sys.executable, "-c", random_kill, store])
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        with Client(store) as c:
            repos = {r.name for r in c.list_repo()}
            made = [x.name for x in c.list_pipeline()]
            assert ("p" in repos) == (made == ["p"]), (delay, repos, made)
            if made:
                assert c.inspect_pipeline("p").last_job is not None
                c.delete_pipeline("p")
    with Client(store) as c:
        assert c.create_pipeline(cmd("p", pfs("data"), "true")).version == 1


class state_of:
    """A read transaction on the pipeline tables (``with state_of(client) as conn``)."""

    def __init__(self, c: Client) -> None:
        self._cm = c.store.meta.read()

    def __enter__(self) -> Any:
        return self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


def test_a_wait_on_a_job_already_done_is_settled(pipes: Client) -> None:
    """On PostgreSQL a job can be created waiting on an upstream job whose success commits in
    a concurrent transaction (and so releases nothing): the next claim settles such waits.
    The race is simulated by writing that state directly."""
    pipes.create_repo("a")
    pipes.put_file("a@master", "/v", b"1")
    pipes.create_pipeline(cmd("b", pfs("a"), 'cp "$a"/v "$out"/v'))
    pipes.create_pipeline(cmd("c", pfs("b"), 'cp "$b"/v "$out"/v'))
    pipes.run_jobs(timeout=300)
    (b_job,) = pipes.list_job("b")
    spec_commit = pipes.inspect_pipeline("c").spec_commit
    with pipes.store.meta.write() as conn:
        for job_id, upstream, upstream_state in (
            ("w" * 32, b_job.id, "success"),
            ("f" * 32, "x" * 32, "failure"),
        ):
            if upstream_state == "failure":
                state.insert_job(
                    conn,
                    id=upstream,
                    pipeline="b",
                    version=1,
                    spec_commit=spec_commit,
                    inputs="{}",
                    state="failure",
                )
            state.insert_job(
                conn,
                waits={"b@master": upstream},
                id=job_id,
                pipeline="c",
                version=1,
                spec_commit=spec_commit,
                inputs='{"b@master":null}',
                global_id=job_id,
            )
    pipes.run_jobs(timeout=300)
    settled = pipes.inspect_job("w" * 32)
    assert settled.state == "success" and settled.waiting_on == ()
    assert {i.repo: i.id for i in settled.inputs} == {"b": b_job.output_commit}
    failed = pipes.inspect_job("f" * 32)
    assert failed.state == "unrunnable" and "x" * 32 in failed.reason
