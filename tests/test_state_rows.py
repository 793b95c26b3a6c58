"""The pipeline layer's typed rows (#18): each record has its table's columns, in order.

Records are made by position (``Record._make(row)`` of ``select(table)``), so a column added to a
table (by a migration) without its field, or fields out of order, would put values under the
wrong names: this test names the record and the column that differ.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.pipeline import presence, state
from jupyter_pipes.pipeline.serving import log

PAIRS: list[tuple[Any, sa.Table]] = [
    (state.PipelineRow, state.pipelines),
    (state.JobRow, state.jobs),
    (state.DatumRow, state.datums),
    (state.GlobalCommitRow, state.global_commits),
    (presence.ControllerRow, presence.controllers),
    (log.ReplicaRow, log.replicas),
    (log.WindowRow, log.windows),
    (log.EventRow, log.events),
]


@pytest.mark.parametrize(("record", "table"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_each_record_has_its_tables_columns_in_order(record: Any, table: sa.Table) -> None:
    assert record._fields == tuple(table.c.keys())


def test_state_reads_return_records_with_the_rows_values(tmp_path: Any) -> None:
    with Client(str(tmp_path / "store"), autostart=False) as c:
        c.create_repo("data")
        c.put_file("data@master", "/a.txt", b"a")
        spec = {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["sh", "-c", "cp /pfs/data/* /pfs/out/"]},
        }
        info = c.create_pipeline(spec)
        job = c.list_job("copy")[0]
        with c.store.meta.read() as conn:
            row = state.get_pipeline(conn, "copy")
            assert isinstance(row, state.PipelineRow)
            assert (row.name, row.version, row.spec_commit) == ("copy", 1, info.spec_commit)
            job_row = state.get_job(conn, job.id)
            assert isinstance(job_row, state.JobRow)
            assert (job_row.pipeline, job_row.state, job_row.global_id) == (
                "copy",
                "created",
                job.global_id,
            )
            assert state.find_jobs(conn, job.id[:6]) == [job_row]
            gc_row = state.get_global_commit(conn, job.global_id or "")
            assert isinstance(gc_row, state.GlobalCommitRow) and gc_row.cause == "pipeline"
