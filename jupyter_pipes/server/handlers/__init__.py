"""The route table of ``/pipes/api/`` (``openapi.json`` documents exactly these routes)."""

from __future__ import annotations

from typing import Any

from .cluster import ClusterHandler
from .commits import (
    CommitHandler,
    CommitsHandler,
    DiffHandler,
    GlobalCommitHandler,
    SquashGlobalCommitHandler,
)
from .events import EventsMarkerHandler
from .files import (
    FilesHandler,
    RawFileHandler,
    UploadHandler,
    WorkspaceCommitHandler,
    WorkspaceCopyHandler,
)
from .jobs import (
    DatumHandler,
    DatumLogHandler,
    DatumNotebookHandler,
    DatumsHandler,
    JobHandler,
    JobLogsHandler,
    JobsHandler,
    RerunJobHandler,
    RestartDatumHandler,
    StopJobHandler,
)
from .lineage import (
    BranchLogHandler,
    BranchMetricsHandler,
    CommitMetricsHandler,
    ExplainHandler,
    HeadAtHandler,
    LineageHandler,
    MetricsDiffHandler,
)
from .meta import OpenAPIHandler, SettingsHandler
from .pipelines import (
    CommitDownstreamHandler,
    DownstreamHandler,
    PipelineHandler,
    PipelinesHandler,
    RunPipelineHandler,
)
from .repos import (
    BranchesHandler,
    BranchHandler,
    DagHandler,
    RepoHandler,
    ReposHandler,
    RevertHandler,
)
from .serving import (
    ServiceEventsHandler,
    ServiceHandler,
    ServiceLogHandler,
    ServicePredictHandler,
    ServicesHandler,
)

API = "/pipes/api"
_SEGMENT = r"[^/]+"


def _p(name: str) -> str:
    """A named path parameter: one url-encoded segment (tornado decodes it)."""
    return f"(?P<{name}>{_SEGMENT})"


REPO = f"{API}/repos/{_p('repo')}"
BRANCH = f"{REPO}/branches/{_p('branch')}"
COMMIT = f"{REPO}/commits/{_p('ref')}"
PIPELINE = f"{API}/pipelines/{_p('pipeline')}"
JOB = f"{API}/jobs/{_p('job')}"
DATUM = f"{JOB}/datums/{_p('datum')}"
GLOBAL = f"{API}/global-commits/{_p('commit')}"
SERVICE = f"{API}/services/{_p('service')}"

ROUTES: list[tuple[str, type[Any]]] = [
    (f"{API}/settings", SettingsHandler),
    (f"{API}/openapi.json", OpenAPIHandler),
    (f"{API}/events/marker", EventsMarkerHandler),
    (f"{API}/dag", DagHandler),
    (f"{API}/repos", ReposHandler),
    (REPO, RepoHandler),
    (f"{REPO}/branches", BranchesHandler),
    (BRANCH, BranchHandler),
    (f"{BRANCH}/files", UploadHandler),
    (f"{BRANCH}/revert", RevertHandler),
    (f"{REPO}/commits", CommitsHandler),
    (COMMIT, CommitHandler),
    (f"{COMMIT}/files", FilesHandler),
    (f"{COMMIT}/raw", RawFileHandler),
    (f"{COMMIT}/diff", DiffHandler),
    (f"{API}/pipelines", PipelinesHandler),
    (PIPELINE, PipelineHandler),
    (f"{PIPELINE}/jobs", RunPipelineHandler),
    (f"{API}/jobs", JobsHandler),
    (JOB, JobHandler),
    (f"{JOB}/logs", JobLogsHandler),
    (f"{JOB}/datums", DatumsHandler),
    (DATUM, DatumHandler),
    (f"{DATUM}/notebook", DatumNotebookHandler),
    (f"{DATUM}/log", DatumLogHandler),
    (GLOBAL, GlobalCommitHandler),
    (f"{GLOBAL}/squash", SquashGlobalCommitHandler),
    (f"{BRANCH}/downstream", DownstreamHandler),
    (f"{COMMIT}/downstream", CommitDownstreamHandler),
    (f"{COMMIT}/lineage", LineageHandler),
    (f"{API}/explain", ExplainHandler),
    (f"{BRANCH}/log", BranchLogHandler),
    (f"{BRANCH}/at", HeadAtHandler),
    (f"{COMMIT}/metrics", CommitMetricsHandler),
    (f"{BRANCH}/metrics", BranchMetricsHandler),
    (f"{API}/metrics/diff", MetricsDiffHandler),
    (f"{API}/services", ServicesHandler),
    (SERVICE, ServiceHandler),
    (f"{SERVICE}/log", ServiceLogHandler),
    (f"{SERVICE}/events", ServiceEventsHandler),
    (f"{SERVICE}/predict", ServicePredictHandler),
    (f"{BRANCH}/from-workspace", WorkspaceCommitHandler),
    (f"{COMMIT}/to-workspace", WorkspaceCopyHandler),
    (f"{API}/cluster", ClusterHandler),
    (f"{JOB}/stop", StopJobHandler),
    (f"{DATUM}/restart", RestartDatumHandler),
    (f"{JOB}/rerun", RerunJobHandler),
]
"""``(pattern, handler)`` relative to the server's base URL."""

__all__ = ["API", "ROUTES"]
