"""Cron inputs (#13): schedules as Pachyderm reads them, tick files committed to the cron repo
by the controller on schedule (a fake clock drives it), one datum per tick."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument, NotFound
from jupyter_pipes.pipeline.cron import CronTicker, parse_time, schedule, tick_name
from jupyter_pipes.pipeline.spec import parse_spec, spec_to_dict

T0 = datetime(2024, 5, 1, 0, 0, 0, tzinfo=timezone.utc)


def at(text: str) -> datetime:
    return parse_time(text)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("@every 60s", "2024-05-01T00:00:00.5Z", "2024-05-01T00:01:00Z"),
        ("@every 1h30m", "2024-05-01T00:00:00Z", "2024-05-01T01:30:00Z"),
        ("0 2 * * *", "2024-05-01T03:00:00Z", "2024-05-02T02:00:00Z"),
        ("*/15 * * * *", "2024-05-01T00:07:00Z", "2024-05-01T00:15:00Z"),
        ("0 0 * * MON", "2024-05-01T00:00:00Z", "2024-05-06T00:00:00Z"),
        ("@daily", "2024-05-01T10:00:00Z", "2024-05-02T00:00:00Z"),
        ("@hourly", "2024-05-01T10:10:00Z", "2024-05-01T11:00:00Z"),
        ("@monthly", "2024-05-01T10:00:00Z", "2024-06-01T00:00:00Z"),
    ],
)
def test_schedules(spec: str, after: str, expected: str) -> None:
    nxt = schedule(spec).next(at(after))
    assert nxt is not None and tick_name(nxt) == expected


def test_never_and_tick_names() -> None:
    assert schedule("@never").next(T0) is None
    assert tick_name(T0) == "2024-05-01T00:00:00Z" and at("2024-05-01T02:00:00+02:00") == T0


TOUCH = 'for f in "$PFS"/tick/*; do touch "$out/$(basename $f)"; done'


def cron_spec(**cron: Any) -> dict[str, Any]:
    return {
        "pipeline": {"name": "poll"},
        "input": {"cron": {"name": "tick", "spec": "@every 60s", **cron}},
        "transform": {"cmd": ["sh", "-c", TOUCH]},
    }


@pytest.mark.parametrize(
    ("cron", "field", "fragment"),
    [
        ({"spec": "0 0 2 * * *"}, "input.cron.spec", "use five fields"),
        ({"spec": "every day"}, "input.cron.spec", "invalid cron schedule"),
        ({"spec": "@every 0s"}, "input.cron.spec", "invalid duration"),
        ({"start": "yesterday"}, "input.cron.start", "use RFC 3339"),
        ({"name": "out"}, "input.cron.name", "'out' is reserved"),
        ({"repo": "a b"}, "input.cron.repo", "invalid repo name"),
    ],
)
def test_bad_cron_inputs_name_the_field(cron: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_spec(cron_spec(**cron))
    assert info.value.fields["field"] == field and fragment in info.value.message


def test_the_cron_repo_defaults_to_pipeline_underscore_name() -> None:
    s = parse_spec(cron_spec())
    assert s.input_repos() == [("poll_tick", "master")] and s.input_names() == ["tick"]
    assert spec_to_dict(s)["input"]["cron"]["repo"] == "poll_tick"
    assert parse_spec(spec_to_dict(s)) == s


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(str(tmp_path / "store"))


def run_jobs(client: Client, clock: Clock) -> None:
    """Run every pending job with a controller on the fake clock (a real one would tick now)."""
    controller = client.controller()
    controller.cron.clock = clock
    controller.run_until(lambda: not client._pipelines.pending(None), timeout_s=120)


def outputs(client: Client) -> list[str]:
    try:
        return [f.path for f in client.list_file("poll@master")]
    except NotFound:
        return []


def ticks(client: Client, repo: str = "poll_tick") -> list[str]:
    return [f.path for f in client.list_file(f"{repo}@master")]


def test_ticks_on_schedule_one_datum_each(client: Client) -> None:
    client.create_pipeline(cron_spec(start=tick_name(T0)))
    assert client.inspect_repo("poll_tick").name == "poll_tick"  # made with the pipeline
    clock = Clock(T0)
    ticker = CronTicker(client._store, client._pipelines.cron_specs, clock=clock)
    clock.now += 30
    assert ticker.run() == []
    clock.now += 31
    (first,) = ticker.run()
    assert ticks(client) == ["/2024-05-01T00:01:00Z"]
    assert ticker.run() == []  # not twice
    run_jobs(client, clock)
    assert [j.state for j in client._pipelines.jobs_of(first)] == ["success"]
    clock.now += 60
    ticker.run()
    run_jobs(client, clock)
    assert [f.path for f in client.list_file("poll@master")] == [
        "/2024-05-01T00:01:00Z", "/2024-05-01T00:02:00Z",
    ]  # fmt: skip
    last = client.list_job("poll", limit=1)[0]
    assert (last.total, last.processed, last.skipped) == (2, 1, 1)  # a datum per tick


def test_missed_ticks_are_not_replayed_and_overwrite_keeps_one(client: Client) -> None:
    client.create_pipeline(cron_spec(start=tick_name(T0), overwrite=True))
    clock = Clock(T0)
    ticker = CronTicker(client._store, client._pipelines.cron_specs, clock=clock)
    clock.now += 60
    ticker.run()
    clock.now += 600  # nine ticks missed: one commit, of the latest due
    assert len(ticker.run()) == 1
    assert ticks(client) == ["/2024-05-01T00:11:00Z"]  # overwrite: the only file
    again = CronTicker(client._store, client._pipelines.cron_specs, clock=clock)
    assert again.run() == []  # a second controller does not tick the same time again


def test_the_controller_commits_ticks_and_runs_their_jobs(client: Client) -> None:
    client.create_pipeline(cron_spec(start=tick_name(T0)))
    controller = client.controller()
    clock = Clock(T0)
    controller.cron.clock = clock
    clock.now += 61
    controller.run_until(lambda: bool(outputs(client)), timeout_s=120)
    assert [f.path for f in client.list_file("poll@master")] == ["/2024-05-01T00:01:00Z"]


def test_start_defaults_to_creation_time(client: Client) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    info = client.create_pipeline(cron_spec())
    start = parse_time(info.spec["input"]["cron"]["start"])  # type: ignore[union-attr]
    assert before <= start <= datetime.now(timezone.utc)


def test_the_cron_repo_goes_with_its_pipeline(client: Client) -> None:
    client.create_pipeline(cron_spec())
    assert {r.name for r in client.list_repo()} == {"poll", "poll_tick"}
    client.delete_pipeline("poll")
    assert client.list_repo() == []
