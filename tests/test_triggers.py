"""Branch triggers of pfs inputs (#13): the input branch moves to the source branch's head
when Pachyderm's conditions hold (commits, size, rate limit, all) or on a cron schedule."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.spec import PipelineSpec, parse_spec
from jupyter_pipes.pipeline.triggers import TriggerTicker


def spec(**trigger: Any) -> PipelineSpec:
    return parse_spec({
        "pipeline": {"name": "p"},
        "input": {"pfs": {"repo": "data", "branch": "master", "glob": "/*",
                          "trigger": {"branch": "staging", **trigger}}},
        "transform": {"cmd": ["true"]},
    })  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Client:
    c = Client(str(tmp_path / "store"))
    c.create_repo("data")
    return c


def head(client: Client, branch: str) -> str | None:
    return client.inspect_branch(f"data@{branch}").head


def ticker(client: Client, s: PipelineSpec, clock: Any = None) -> TriggerTicker:
    kw = {"clock": clock} if clock is not None else {}
    return TriggerTicker(client._store, lambda: {"p": s}, rescan_s=0, **kw)


def test_commits_condition(client: Client) -> None:
    t = ticker(client, spec(commits=2))
    client.put_file("data@staging", "/a", b"a")
    assert t.run() == [] and head(client, "master") is None
    client.put_file("data@staging", "/b", b"b")
    ((repo, branch, new),) = t.run()
    assert (repo, branch) == ("data", "master") and new == head(client, "staging")
    assert head(client, "master") == head(client, "staging")
    client.put_file("data@staging", "/c", b"c")
    assert t.run() == []  # one commit since the last trigger
    client.put_file("data@staging", "/d", b"d")
    assert t.run() != [] and head(client, "master") == head(client, "staging")


def test_size_any_and_all(client: Client) -> None:
    any_of = ticker(client, spec(size="1k", commits=3))
    client.put_file("data@staging", "/big", b"x" * 2000)
    assert any_of.run() != []  # size holds: enough
    both = ticker(client, spec(size="1k", commits=3, all=True))
    client.put_file("data@staging", "/big2", b"x" * 2000)
    assert both.run() == []  # size holds, commits do not
    none = ticker(client, spec())
    client.put_file("data@staging", "/c", b"c")
    assert none.run() == []  # no condition, not all: as Pachyderm, never
    assert ticker(client, spec(all=True)).run() != []  # all with none: every commit


def test_cron_spec_moves_on_schedule(client: Client) -> None:
    now = [datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp()]
    t = ticker(client, spec(cron_spec="@every 60s"), clock=lambda: now[0])
    client.put_file("data@staging", "/a", b"a")
    assert t.run() == []
    now[0] += 61
    assert t.run() != [] and head(client, "master") == head(client, "staging")


def test_the_triggered_branch_runs_the_pipeline(client: Client) -> None:
    s = spec(commits=1)
    trigger = {"branch": "staging", "commits": 1}
    client.create_pipeline({
        "pipeline": {"name": "p"},
        "input": {"pfs": {"repo": "data", "glob": "/*", "trigger": trigger}},
        "transform": {"cmd": ["sh", "-c", "cp -r $PFS/data/* $PFS/out/"]},
    })  # fmt: skip
    client.put_file("data@staging", "/a.txt", b"a")
    ticker(client, s).run()
    client.run_jobs(timeout=120)
    assert [f.path for f in client.list_file("p@master")] == ["/a.txt"]


@pytest.mark.parametrize(
    ("trigger", "field", "fragment"),
    [({"branch": "master"}, "input.pfs.trigger.branch", "must differ"),
     ({"branch": "s", "size": "lots"}, "input.pfs.trigger.size", "invalid quantity"),
     ({"branch": "s", "cron_spec": "never"}, "input.pfs.trigger.cron_spec", "invalid cron"),
     ({"branch": "s", "commits": -1}, "input.pfs.trigger.commits", "greater than or equal")],
)  # fmt: skip
def test_bad_triggers_name_the_field(trigger: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_spec({"pipeline": {"name": "p"},
                    "input": {"pfs": {"repo": "data", "trigger": trigger}},
                    "transform": {"cmd": ["true"]}})  # fmt: skip
    assert info.value.fields["field"] == field and fragment in info.value.message


def test_the_controller_moves_a_triggered_branch_by_itself(client: Client) -> None:
    trigger = {"branch": "staging", "commits": 2}
    client.create_pipeline({
        "pipeline": {"name": "q"},
        "input": {"pfs": {"repo": "data", "glob": "/*", "trigger": trigger}},
        "transform": {"cmd": ["sh", "-c", "cp -r $PFS/data/* $PFS/out/"]},
    })  # fmt: skip
    client.run_jobs(timeout=120)  # the pipeline's first job (nothing on master yet)
    controller = client.controller()  # what the server's (or the service's) loop runs
    client.put_file("data@staging", "/a.txt", b"a")
    assert controller.run_once() is None and head(client, "master") is None  # one: not yet
    client.put_file("data@staging", "/b.txt", b"b")
    job = controller.run_once()  # fires the trigger; the move queues the job it then runs
    assert job is not None and job.state == "success", job
    assert head(client, "master") == head(client, "staging")
    assert [f.path for f in client.list_file("q@master")] == ["/a.txt", "/b.txt"]
