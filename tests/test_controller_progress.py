"""The controller reports a job's size before its datums run (the server's "starting the
cluster" event and the sidebar's cluster panel depend on it)."""

from __future__ import annotations

from pathlib import Path

from jupyter_pipes import Client
from jupyter_pipes.pipeline.records import JobInfo


def test_the_first_running_report_carries_the_jobs_size(tmp_path: Path) -> None:
    client = Client(tmp_path / "store", n_workers=1)
    try:
        client.create_repo("raw")
        with client.start_commit("raw@master") as oc:
            for i in range(3):
                oc.put_file(f"/f{i}.txt", f"{i}".encode())
        client.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "raw", "glob": "/*"}},
                "transform": {"cmd": ["bash", "-c", 'cp -r "$PFS/raw"/. "$out"/']},
            }
        )
        reports: list[JobInfo] = []
        client.controller(progress=reports.append).run_once()
        first = reports[0]
        assert first.state == "running"
        assert (first.total, first.skipped, first.processed) == (3, 0, 0)
        assert reports[-1].state == "success"
    finally:
        client.close()
