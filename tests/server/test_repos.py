"""REST routes of repos, branches, commits, diffs, revert and the DAG (real server, real store)."""

from __future__ import annotations

import json

from jupyter_pipes import Client
from jupyter_pipes.store.records import CommitRef

from .helpers import Fetch, error, get_json


async def test_repos_create_list_inspect_delete(api: Fetch) -> None:
    created = await api(
        "repos", method="POST", body=json.dumps({"name": "data", "description": "d"})
    )
    assert created.code == 201
    assert json.loads(created.body)["name"] == "data"
    assert [r["name"] for r in (await get_json(api, "repos"))["items"]] == ["data"]
    repo = await get_json(api, "repos", "data")
    assert repo["description"] == "d" and repo["branches"] == ["master"]
    deleted = await api("repos", "data", method="DELETE")
    assert deleted.code == 204
    assert (await get_json(api, "repos"))["items"] == []


async def test_repo_errors(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    dup = await error(api, "repos", status=409, method="POST", body=json.dumps({"name": "data"}))
    assert dup["error"] == "AlreadyExists" and dup["repo"] == "data"
    bad = await error(api, "repos", status=400, method="POST", body=json.dumps({"name": "a b"}))
    assert bad["error"] == "InvalidArgument" and "a b" in bad["message"]
    missing_name = await error(api, "repos", status=400, method="POST", body="{}")
    assert missing_name["error"] == "InvalidArgument"
    not_json = await error(api, "repos", status=400, method="POST", body="{nope")
    assert "JSON" in not_json["message"]
    missing = await error(api, "repos", "nope", status=404)
    assert missing == {"error": "NotFound", "message": "repo 'nope' not found", "repo": "nope"}
    await error(api, "repos", "nope", status=404, method="DELETE")
    flag = await error(api, "repos", "data", status=400, method="DELETE", params={"force": "maybe"})
    assert flag["field"] == "force"


async def test_delete_repo_with_downstream_is_a_conflict_unless_forced(
    api: Fetch, client: Client
) -> None:
    client.create_repo("up")
    client.create_repo("down")
    up = client.put_file("up@master", "/a", b"a")
    with client.start_commit("down@master", provenance=(CommitRef("up", up.id, "master"),)) as oc:
        oc.put_file("/b", b"b")
    conflict = await error(api, "repos", "up", status=409, method="DELETE")
    assert conflict["downstream"] == ["down"]
    assert (await api("repos", "up", method="DELETE", params={"force": "1"})).code == 204


async def test_branches_create_move_inspect_delete(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    first = client.put_file("data@master", "/a.txt", b"1")
    second = client.put_file("data@master", "/a.txt", b"2")
    made = await get_json(api, "repos", "data", "branches", "dev", method="PUT", body="{}")
    assert made == {"repo": "data", "name": "dev", "head": None}
    await error(api, "repos", "data", "branches", "dev", status=409, method="PUT", body="{}")
    moved = await get_json(
        api, "repos", "data", "branches", "dev", method="PUT", body=json.dumps({"head": "master^"})
    )
    assert moved["head"] == first.id
    branches = await get_json(api, "repos", "data", "branches")
    assert {b["name"]: b["head"] for b in branches["items"]} == {
        "dev": first.id,
        "master": second.id,
    }
    assert (await get_json(api, "repos", "data", "branches", "dev"))["head"] == first.id
    assert (await api("repos", "data", "branches", "dev", method="DELETE")).code == 204
    await error(api, "repos", "data", "branches", "dev", status=404)
    await error(api, "repos", "data", "branches", "dev", status=404, method="DELETE")
    await error(api, "repos", "nope", "branches", status=404)
    bad_head = await error(
        api, "repos", "data", "branches", "x", status=404, method="PUT", body='{"head": "nope"}'
    )
    assert bad_head["error"] == "NotFound"
    await error(api, "repos", "data", "branches", "x", status=400, method="PUT", body='{"head": 1}')


async def test_commits_are_paginated_newest_first_and_filtered_by_branch(
    api: Fetch, client: Client
) -> None:
    client.create_repo("data")
    ids = [client.put_file("data@master", "/n.txt", str(i).encode()).id for i in range(5)]
    side = client.put_file("data@side", "/s.txt", b"s").id
    page = await get_json(api, "repos", "data", "commits", params={"limit": 2})
    assert [c["id"] for c in page["items"]] == [side, ids[4]]
    assert (page["offset"], page["limit"], page["next_offset"]) == (0, 2, 2)
    master = await get_json(
        api, "repos", "data", "commits", params={"branch": "master", "limit": 2, "offset": 4}
    )
    assert [c["id"] for c in master["items"]] == [ids[0]]
    assert master["next_offset"] is None
    everything = await get_json(api, "repos", "data", "commits")
    assert len(everything["items"]) == 6 and everything["next_offset"] is None
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        body = await error(api, "repos", "data", "commits", status=400, params=bad)
        assert body["field"] in bad
    await error(api, "repos", "nope", "commits", status=404)
    await error(api, "repos", "data", "commits", status=404, params={"branch": "nope"})


async def test_commit_detail_has_provenance_and_subvenance(api: Fetch, client: Client) -> None:
    client.create_repo("up")
    client.create_repo("down")
    up = client.put_file("up@master", "/a", b"a")
    with client.start_commit("down@master", provenance=(CommitRef("up", up.id, "master"),)) as oc:
        oc.put_file("/b", b"b")
    detail = await get_json(api, "repos", "up", "commits", up.id[:8])
    assert detail["id"] == up.id and detail["provenance"] == []
    assert [(c["repo"], c["id"]) for c in detail["subvenance"]] == [("down", oc.id)]
    down = await get_json(api, "repos", "down", "commits", "master")
    assert down["provenance"] == [{"repo": "up", "id": up.id, "branch": "master"}]
    assert down["subvenance"] == []
    ancestor = await error(api, "repos", "up", "commits", "master^", status=404)
    assert "ancestor" in ancestor["message"]
    await error(api, "repos", "up", "commits", "0123456789", status=404)
    await error(api, "repos", "up", "commits", "bad:ref", status=400)


async def test_list_files_and_diff(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    with client.start_commit("data@master") as oc:
        oc.put_file("/a.csv", b"1,2\n")
        oc.put_file("/dir/b.txt", b"b")
    client.put_file("data@master", "/a.csv", b"1,2\n3,4\n")
    root = await get_json(api, "repos", "data", "commits", "master", "files")
    assert [(f["path"], f["type"]) for f in root["items"]] == [("/a.csv", "file"), ("/dir/", "dir")]
    sub = await get_json(
        api, "repos", "data", "commits", "master", "files", params={"path": "/dir"}
    )
    assert [f["path"] for f in sub["items"]] == ["/dir/b.txt"]
    walk = await get_json(
        api, "repos", "data", "commits", "master", "files", params={"recursive": "true"}
    )
    assert [f["path"] for f in walk["items"]] == ["/a.csv", "/dir/", "/dir/b.txt"]
    await error(
        api, "repos", "data", "commits", "master", "files", status=404, params={"path": "/nope"}
    )
    await error(
        api, "repos", "data", "commits", "master", "files", status=400, params={"path": "/../x"}
    )
    diff = await get_json(api, "repos", "data", "commits", "master", "diff")
    assert [(d["path"], d["change"]) for d in diff["items"]] == [("/a.csv", "modified")]
    since_first = await get_json(
        api, "repos", "data", "commits", "master", "diff", params={"old": "master^"}
    )
    assert since_first == diff
    reverse = await get_json(
        api, "repos", "data", "commits", "master^", "diff", params={"old": "data@master"}
    )
    assert [d["change"] for d in reverse["items"]] == ["modified"]
    await error(api, "repos", "data", "commits", "master", "diff", status=404, params={"old": "x1"})


async def test_revert(api: Fetch, client: Client) -> None:
    client.create_repo("model")
    first = client.put_file("model@master", "/m", b"v1")
    client.put_file("model@master", "/m", b"v2")
    resp = await api(
        "repos",
        "model",
        "branches",
        "master",
        "revert",
        method="POST",
        body=json.dumps({"to": first.id}),
    )
    assert resp.code == 201
    commit = json.loads(resp.body)
    assert commit["origin"] == "revert" and commit["restores"] == first.id
    assert client.get_file("model@master", "/m") == b"v1"
    body = await error(
        api, "repos", "model", "branches", "master", "revert", status=400, method="POST", body="{}"
    )
    assert body["field"] == "to"
    await error(
        api,
        "repos",
        "model",
        "branches",
        "nope",
        "revert",
        status=404,
        method="POST",
        body='{"to": "master"}',
    )


async def test_dag_has_repos_pipelines_and_edges(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    head = client.put_file("data@master", "/a", b"a").id
    client.create_pipeline(
        {
            "pipeline": {"name": "up"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["true"]},
        }
    )
    dag = await get_json(api, "dag")
    nodes = {n["id"]: n for n in dag["nodes"]}
    assert set(nodes) == {"repo:data", "repo:up", "pipeline:up"}
    assert nodes["repo:data"]["head"] == head and nodes["repo:data"]["output_of"] is None
    assert nodes["repo:up"]["output_of"] == "pipeline:up"
    assert nodes["pipeline:up"]["state"] == "created" and nodes["pipeline:up"]["version"] == 1
    assert dag["edges"] == [
        {"from": "repo:data", "to": "pipeline:up", "branch": "master"},
        {"from": "pipeline:up", "to": "repo:up", "branch": "master"},
    ]
