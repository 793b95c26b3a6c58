"""Shapes of responses that combine several Client records (no store access here)."""

from __future__ import annotations

from typing import Any

from ..pipeline.records import JobInfo


def job_dict(job: JobInfo) -> dict[str, Any]:
    """A job's record plus what a progress display needs (``done``, ``duration_s``)."""
    return {**job.to_dict(), "done": job.done, "duration_s": job.duration_s}
