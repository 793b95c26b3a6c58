"""``%pipe cluster``: the Dask cluster that runs the jobs, as the sidebar's cluster panel shows it.

The jobs of a notebook's store are run by the controller of the Jupyter server that started
the kernel, so the kernel asks that server (``GET /pipes/api/cluster``): it is this kernel's
parent process, whose connection file (``jpserver-<pid>.json`` in Jupyter's runtime folder)
gives its URL and token. Outside such a server (a terminal IPython, another front end), or with
``--here``, it shows this kernel's own cluster: the one ``%pipe wait`` lines run jobs on.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..cli.render import NONE, human_size, key_values, recording, table
from ..client import Client
from ..pipeline.cluster_info import describe
from .display import Listing

TIMEOUT_S = 10.0


def server_connection() -> dict[str, Any] | None:
    """The connection file of the Jupyter server that started this kernel, if any."""
    from jupyter_core.paths import jupyter_runtime_dir

    path = Path(jupyter_runtime_dir()) / f"jpserver-{os.getppid()}.json"
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if info.get("url") else None


def ask_server(server: dict[str, Any]) -> dict[str, Any]:
    """``GET /pipes/api/cluster`` of ``server`` (its connection file's ``url`` and ``token``).

    Raises
    ------
    OSError
        The server did not answer, or answered an error (no jupyter_pipes there, auth).
    """
    url = server["url"].rstrip("/") + "/pipes/api/cluster"
    headers = {"Authorization": f"token {server['token']}"} if server.get("token") else {}
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def own_cluster(client: Client) -> dict[str, Any]:
    """This kernel's own cluster, in the route's shape."""
    info = client.cluster_info()
    body = info.to_dict()
    body.update(controller=True, idle_timeout_s=None, message=describe(info))
    return body


def look(client: Client, *, here: bool = False) -> tuple[dict[str, Any], str]:
    """The cluster to show, and whose it is (a phrase for the heading)."""
    server = None if here else server_connection()
    if server is not None:
        try:
            return ask_server(server), "the Jupyter server's controller"
        except (OSError, ValueError) as e:
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            note = f"this kernel's own (the Jupyter server did not answer: {reason})"
            return own_cluster(client), note
    return own_cluster(client), "this kernel's own (jobs run here by %pipe wait)"


def render(body: dict[str, Any], whose: str) -> Listing:
    """The cluster as text (and HTML tables in a notebook)."""
    with recording() as blocks:
        parts = [f"Dask cluster of {whose}: {body['message']}"]
        dash = body.get("dashboard")
        pairs: list[tuple[str, object]] = [("Scheduler", body.get("scheduler"))]
        if dash:
            where = " (this machine only: it listens on loopback)" if dash["loopback"] else ""
            pairs.append(("Dashboard", f"{dash['url']}{where}"))
        elif body.get("no_dashboard"):
            pairs.append(("Dashboard", body["no_dashboard"]))
        parts.append(key_values(pairs))
        if body["state"] == "running":
            parts.append(
                table(
                    ["WORKER", "THREADS", "MEMORY", "RESOURCES", "KERNELS", "DATUMS"],
                    [_worker_row(w) for w in body["workers"]],
                )
            )
            if body["jobs"]:
                parts.append(
                    table(
                        ["JOB", "PIPELINE", "RUNNING", "QUEUED", "WORKERS"],
                        [
                            (
                                j["job"][:12],
                                j["pipeline"],
                                j["running"],
                                j["queued"],
                                len(j["workers"]),
                            )
                            for j in body["jobs"]
                        ],
                    )
                )
            else:
                parts.append("No datum in flight.")
    return Listing("\n\n".join(parts), blocks)


def _worker_row(w: dict[str, Any]) -> tuple[object, ...]:
    memory = NONE if w["memory"] is None else human_size(w["memory"])
    if w["memory_limit"]:
        memory += f" / {human_size(w['memory_limit'])}"
    resources = ", ".join(f"{k}={v:g}" for k, v in sorted(w["resources"].items())) or NONE
    kernels = "?" if w["kernels"] is None else _kernels(w["kernels"])
    datums = (
        ", ".join(
            f"{j['job'][:8]}: {j['running']} running, {j['queued']} queued" for j in w["jobs"]
        )
        or NONE
    )
    return (w["name"], w["threads"], memory, resources, kernels, datums)


def _kernels(kernels: list[dict[str, Any]]) -> str:
    if not kernels:
        return "0"
    busy = sum(k["busy"] for k in kernels)
    uses = sum(k["uses"] for k in kernels)
    rss = sum(k["memory"] or 0 for k in kernels)
    return f"{len(kernels)} ({busy} busy, {uses} uses, {human_size(rss)})"
