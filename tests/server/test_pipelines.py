"""Pipelines over HTTP: specs as JSON or YAML, validation errors, notebook paths, run, delete.

The controller is off here, so jobs stay queued (see test_jobs.py for jobs that run).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from jupyter_pipes import Client

from .helpers import Fetch, cmd_spec, error, get_json

PFS = {"pfs": {"repo": "data", "glob": "/*"}}


@pytest.fixture
def data(client: Client) -> str:
    client.create_repo("data")
    return client.put_file("data@master", "/a.txt", b"a").id


def notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("data = ''", metadata={"tags": ["parameters"]})]
    nbformat.write(nb, path)
    return path


async def test_create_from_json_and_yaml_then_list_inspect_delete(api: Fetch, data: str) -> None:
    resp = await api("pipelines", method="POST", body=json.dumps(cmd_spec("p1", PFS, "true")))
    assert resp.code == 201
    created = json.loads(resp.body)
    assert (created["name"], created["version"], created["inputs"]) == ("p1", 1, ["data@master"])
    assert created["last_job_state"] == "created"
    body = yaml.safe_dump(cmd_spec("p2", PFS, "true"))
    assert (await api("pipelines", method="POST", body=body)).code == 201
    listed = await get_json(api, "pipelines")
    assert [p["name"] for p in listed["items"]] == ["p1", "p2"]
    assert (await get_json(api, "pipelines", "p2"))["spec"]["transform"]["cmd"] == [
        "bash",
        "-c",
        "true",
    ]
    assert (await api("pipelines", "p2", method="DELETE")).code == 204
    await error(api, "pipelines", "p2", status=404)
    await error(api, "repos", "p2", status=404)
    assert (await api("pipelines", "p1", method="DELETE", params={"keep_repo": "1"})).code == 204
    assert (await get_json(api, "repos", "p1"))["name"] == "p1"
    await error(api, "pipelines", "p1", status=404, method="DELETE")


async def test_bad_specs_are_400_naming_the_field(api: Fetch, data: str) -> None:
    bad_glob = cmd_spec("p", {"pfs": {"repo": "data", "glob": "/[a"}}, "true")
    body = await error(api, "pipelines", status=400, method="POST", body=json.dumps(bad_glob))
    assert body["error"] == "InvalidArgument" and body["field"] == "input.pfs.glob"
    assert body["message"].startswith("input.pfs.glob")
    unknown = {**cmd_spec("p", PFS, "true"), "colour": "red"}
    body = await error(api, "pipelines", status=400, method="POST", body=json.dumps(unknown))
    assert body["field"] == "colour"
    for text in ("", "[1, 2]", "pipeline: [unclosed", "{bad json"):
        await error(api, "pipelines", status=400, method="POST", body=text)
    missing_repo = cmd_spec("p", {"pfs": {"repo": "nope", "glob": "/"}}, "true")
    body = await error(api, "pipelines", status=400, method="POST", body=json.dumps(missing_repo))
    assert body["field"] == "input.pfs.repo" and body["repo"] == "nope"
    # a one-line body ending in .yaml is a spec, never a file the server reads
    await error(api, "pipelines", status=400, method="POST", body="/etc/passwd.yaml")


async def test_create_twice_and_name_clash_are_conflicts(
    api: Fetch, data: str, client: Client
) -> None:
    spec = json.dumps(cmd_spec("p", PFS, "true"))
    await api("pipelines", method="POST", body=spec)
    body = await error(api, "pipelines", status=409, method="POST", body=spec)
    assert body["error"] == "AlreadyExists"
    client.create_repo("other")
    clash = json.dumps(cmd_spec("other", PFS, "true"))
    body = await error(api, "pipelines", status=409, method="POST", body=clash)
    assert body["error"] == "Conflict" and body["pipeline"] == "other"


async def test_update_run_and_reprocess(api: Fetch, data: str, client: Client) -> None:
    await api("pipelines", method="POST", body=json.dumps(cmd_spec("p", PFS, "true")))
    updated = await get_json(
        api, "pipelines", "p", method="PUT", body=json.dumps(cmd_spec("p", PFS, "echo 2"))
    )
    assert updated["version"] == 2
    again = await get_json(
        api,
        "pipelines",
        "p",
        method="PUT",
        params={"reprocess": "true"},
        body=yaml.safe_dump(cmd_spec("p", PFS, "echo 3")),
    )
    assert again["version"] == 3
    mismatch = await error(
        api, "pipelines", "p", status=400, method="PUT", body=json.dumps(cmd_spec("q", PFS, "true"))
    )
    assert mismatch["field"] == "pipeline.name"
    await error(
        api, "pipelines", "q", status=404, method="PUT", body=json.dumps(cmd_spec("q", PFS, "true"))
    )
    run = await api("pipelines", "p", "jobs", method="POST", body='{"reprocess": true}')
    assert run.code == 201
    job = json.loads(run.body)
    assert (job["pipeline"], job["state"], job["done"]) == ("p", "created", False)
    assert (await get_json(api, "pipelines", "p"))["last_job"] == job["id"]
    assert (await api("pipelines", "p", "jobs", method="POST")).code == 201
    await error(api, "pipelines", "q", "jobs", status=404, method="POST")
    await error(api, "pipelines", "p", "jobs", status=400, method="POST", body='{"reprocess": 1}')


async def test_notebook_paths_resolve_inside_root_dir(
    api: Fetch, data: str, jp_root_dir: Path, tmp_path: Path, client: Client
) -> None:
    notebook(jp_root_dir / "stages" / "up.ipynb")
    outside = notebook(tmp_path / "outside.ipynb")
    notebook(jp_root_dir / ".hidden" / "h.ipynb")
    (jp_root_dir / "link.ipynb").symlink_to(outside)

    def spec(path: str) -> str:
        return json.dumps(
            {"pipeline": {"name": "nb"}, "input": PFS, "transform": {"notebook": path}}
        )

    for path in ("../outside.ipynb", str(outside), "stages/../../outside.ipynb", "link.ipynb"):
        body = await error(api, "pipelines", status=400, method="POST", body=spec(path))
        assert body["field"] == "transform.notebook", path
        assert "root directory" in body["message"]
    hidden = await error(api, "pipelines", status=400, method="POST", body=spec(".hidden/h.ipynb"))
    assert "hidden" in hidden["message"]
    missing = await error(
        api, "pipelines", status=400, method="POST", body=spec("stages/nope.ipynb")
    )
    assert missing["field"] == "transform.notebook"
    # the server's root directory never shows in the error: the path as the spec gives it
    assert "'stages/nope.ipynb' not found" in missing["message"]
    assert str(jp_root_dir) not in json.dumps(missing) and missing["path"] == "stages/nope.ipynb"
    gone = await error(
        api, "pipelines", status=400, method="POST",
        body=spec(str(jp_root_dir / "stages" / "gone.ipynb")),
    )  # fmt: skip
    assert str(jp_root_dir) not in json.dumps(gone) and gone["path"] == "stages/gone.ipynb"
    created = await api("pipelines", method="POST", body=spec("stages/up.ipynb"))
    assert created.code == 201
    # the snapshot holds the notebook read from the root dir
    nb = client.get_file("nb@spec", "/notebook.ipynb")
    assert nbformat.reads(nb.decode(), as_version=4).cells[0].source == "data = ''"
    absolute = spec(str(jp_root_dir / "stages" / "up.ipynb"))
    assert (await api("pipelines", "nb", method="PUT", body=absolute)).code == 200


async def test_jobs_list_and_detail_without_a_controller(api: Fetch, data: str) -> None:
    for name in ("a", "b"):
        await api("pipelines", method="POST", body=json.dumps(cmd_spec(name, PFS, "true")))
    for _ in range(3):
        await api("pipelines", "a", "jobs", method="POST")
    page = await get_json(api, "jobs", params={"limit": 3})
    assert len(page["items"]) == 3 and page["next_offset"] == 3
    assert [j["pipeline"] for j in page["items"]] == ["a", "a", "a"]
    rest = await get_json(api, "jobs", params={"limit": 3, "offset": 3})
    assert [j["pipeline"] for j in rest["items"]] == ["b", "a"] and rest["next_offset"] is None
    only_b = await get_json(api, "jobs", params={"pipeline": "b"})
    assert [j["pipeline"] for j in only_b["items"]] == ["b"]
    await error(api, "jobs", status=404, params={"pipeline": "nope"})
    job = only_b["items"][0]
    detail = await get_json(api, "jobs", job["id"][:8])
    assert detail["id"] == job["id"]
    assert {"total", "processed", "skipped", "failed", "done", "duration_s"} <= detail.keys()
    await error(api, "jobs", "0" * 32, status=404)
    await error(api, "jobs", "0" * 32, "datums", status=404)
    assert (await get_json(api, "jobs", job["id"], "datums"))["items"] == []


async def test_job_control_routes(api: Fetch, data: str) -> None:
    """stop job, delete job, list job --state, list pipeline --history, restart datum and
    PIPELINE@JOB over REST (the controller is off: jobs stay queued)."""
    for script in ("true", "echo v2"):
        method = "POST" if script == "true" else "PUT"
        parts = ("pipelines",) if method == "POST" else ("pipelines", "p")
        await api(*parts, method=method, body=json.dumps(cmd_spec("p", PFS, script)))
    queued = await get_json(api, "jobs", params={"state": "created"})
    assert len(queued["items"]) == 2
    first = queued["items"][1]["id"]
    both = await get_json(api, "jobs", params={"state": "killed,success"})
    assert both["items"] == []
    await error(api, "jobs", status=400, params={"state": "nope"})
    named = await get_json(api, "jobs", f"p@{first[:8]}")  # pachctl's PIPELINE@JOB
    assert named["id"] == first
    await error(api, "jobs", f"data@{first}", status=404)
    await error(api, "jobs", first, "datums", "0" * 64, "restart", method="POST", status=409)
    stopped = await get_json(api, "jobs", f"p@{first}", "stop", method="POST", body="")
    assert [(j["id"], j["state"]) for j in stopped["items"]] == [(first, "killed")]
    await error(api, "jobs", first, "stop", method="POST", body="", status=409)
    assert (await get_json(api, "jobs", params={"state": "killed"}))["items"][0]["id"] == first
    newest = queued["items"][0]["id"]
    await error(api, "jobs", newest, method="DELETE", status=409)  # not done: stop it first
    assert (await api("jobs", first, method="DELETE")).code == 204
    await error(api, "jobs", first, status=404)
    history = await get_json(api, "pipelines", params={"history": "-1"})
    assert [(p["name"], p["version"]) for p in history["items"]] == [("p", 2), ("p", 1)]
    assert len((await get_json(api, "pipelines"))["items"]) == 1
