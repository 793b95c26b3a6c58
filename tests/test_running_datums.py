"""Running datums are listed (#15): while a job runs, ``list_datum`` shows each datum running
now (state ``running``, its start and its Dask worker), so ``restart datum`` has a row to act
on; a datum's result takes the place of its mark and the job's end leaves none.

Real parts: a local store, a real local Dask cluster (one worker process) running real
commands in a controller thread of this process (see tests/jobs_util.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_pipes import Client, Conflict, NotFound
from jupyter_pipes.pipeline.records import DatumInfo
from tests.jobs_util import Runner, client, runner, sleepers, spec, store, until

__all__ = ["client", "runner", "store"]  # fixtures


def test_a_running_datum_is_listed_and_restarted_from_its_row(
    client: Client, runner: Runner, tmp_path: Path
) -> None:
    marks = tmp_path / "runs"
    marks.mkdir()
    client.put_file("data@master", "/quick", b"q")
    client.put_file("data@master", "/slow", b"s")
    tag = f"93{os.getpid() % 1000:03d}"
    # /slow's first run hangs until restarted; every other run finishes at once
    script = (
        f'echo run >> {marks}/"$(basename "$data")"; '
        f'if [ "$(basename "$data")" = slow ] && [ "$(wc -l < {marks}/slow)" -eq 1 ]; '
        f"then sleep {tag}; fi; "
        'cp "$data" "$out"/'
    )
    info = client.create_pipeline({**spec("hang", script), "datum_tries": 1})
    until(lambda: sleepers(tag), what="the hanging command")

    def running() -> list[DatumInfo]:
        return [d for d in client.list_datum(info.last_job) if d.state == "running"]

    (d,) = until(running, what="the running datum listed")
    assert [i.path for i in d.inputs] == ["/slow"]
    assert d.started is not None and d.worker and d.worker.startswith("tcp://127.0.0.1:")
    assert d.outputs == () and d.tries == 0
    assert client.inspect_datum(info.last_job, d.id[:12]).state == "running"
    assert d.to_dict()["started"] == d.started.isoformat() and d.to_dict()["state"] == "running"
    with pytest.raises(NotFound, match="has no log"):
        client.get_logs(info.last_job, d.id)
    assert "(running)" not in client.get_logs(info.last_job)  # only datums that finished

    client.restart_datum(info.last_job, d.id[:12])  # a prefix of the listed id
    job = until(lambda: (j := client.inspect_job(info.last_job)).done and j, what="the job")
    assert (job.state, job.processed) == ("success", 2), job
    assert (marks / "slow").read_text() == "run\nrun\n"
    rows = client.list_datum(job.id)
    assert sorted(r.state for r in rows) == ["success", "success"]
    assert client.get_logs(job.id).count("--- datum") == 2
    assert not sleepers(tag)
    with pytest.raises(Conflict, match="only a running job"):
        client.restart_datum(job.id, d.id)
