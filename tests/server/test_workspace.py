"""The workspace bridges: commit files and folders of the server's root folder to a branch, and
copy stored files or folders into it; both stay inside the root folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_pipes import Client

from .helpers import Fetch, error, get_json


def post(api: Fetch, *parts: str, **body: object) -> object:
    return api(*parts, method="POST", body=json.dumps(body))


@pytest.fixture
def workspace(jp_root_dir: Path, client: Client) -> Path:
    """A workspace with a file and a folder, and an empty repo ``data``."""
    (jp_root_dir / "a.csv").write_text("x,y\n1,2\n")
    (jp_root_dir / "imgs" / "sub").mkdir(parents=True)
    (jp_root_dir / "imgs" / "p.bin").write_bytes(b"\x00\x01")
    (jp_root_dir / "imgs" / "sub" / "q.txt").write_text("q")
    client.create_repo("data")
    return jp_root_dir


async def test_commit_workspace_files_and_folders_in_one_commit(
    api: Fetch, client: Client, workspace: Path
) -> None:
    resp = await post(
        api, "repos", "data", "branches", "master", "from-workspace",
        paths=["a.csv", "imgs"], dest="/raw", message="first batch",
    )  # fmt: skip
    assert resp.code == 201
    commit = json.loads(resp.body)
    assert commit["message"] == "first batch" and commit["repo"] == "data"
    assert [c.id for c in client.list_commit("data@master")] == [commit["id"]]  # one commit
    files = sorted(f.path for f in client.walk_file("data@master") if f.type == "file")
    assert files == ["/raw/a.csv", "/raw/imgs/p.bin", "/raw/imgs/sub/q.txt"]
    assert client.get_file("data@master", "/raw/a.csv") == b"x,y\n1,2\n"
    # a new branch is created by its first commit, as everywhere
    await post(api, "repos", "data", "branches", "dev", "from-workspace", paths=["a.csv"])
    assert client.get_file("data@dev", "/a.csv") == b"x,y\n1,2\n"


@pytest.mark.parametrize(
    ("paths", "status", "field"),
    [
        (["../outside.csv"], 400, "paths"),
        (["/etc/passwd"], 404, "paths"),  # a leading slash is still inside the workspace
        ([".hidden"], 400, "paths"),
        (["missing.csv"], 404, "paths"),
        ([], 400, "paths"),
        ("a.csv", 400, "paths"),
    ],
)
async def test_commit_workspace_refuses_what_is_not_in_it(
    api: Fetch, workspace: Path, paths: object, status: int, field: str
) -> None:
    (workspace / ".hidden").write_text("h")
    body = await error(
        api, "repos", "data", "branches", "master", "from-workspace",
        status=status, method="POST", body=json.dumps({"paths": paths}),
    )  # fmt: skip
    assert body["field"] == field
    assert str(workspace) not in body["message"]  # no server path in an error


async def test_commit_workspace_errors_name_the_repo(api: Fetch, workspace: Path) -> None:
    body = await error(
        api, "repos", "nope", "branches", "master", "from-workspace",
        status=404, method="POST", body=json.dumps({"paths": ["a.csv"]}),
    )  # fmt: skip
    assert "nope" in body["message"]


async def test_copy_to_workspace_file_folder_and_conflicts(
    api: Fetch, client: Client, jp_root_dir: Path
) -> None:
    client.create_repo("data")
    first = client.put_file("data@master", "/d/a.csv", b"old\n")
    client.put_file("data@master", "/d/b/c.txt", b"c")
    client.put_file("data@master", "/d/a.csv", b"new\n")
    # a file at an older commit
    copied = await get_json(
        api, "repos", "data", "commits", first.id, "to-workspace",
        method="POST", body=json.dumps({"path": "/d/a.csv", "to": "copies/a.csv"}),
    )  # fmt: skip
    assert copied == {"to": "copies/a.csv", "type": "file", "size_bytes": 4}
    assert (jp_root_dir / "copies" / "a.csv").read_bytes() == b"old\n"
    # a folder at the head
    await post(api, "repos", "data", "commits", "master", "to-workspace", path="/d", to="d2")
    assert (jp_root_dir / "d2" / "a.csv").read_bytes() == b"new\n"
    assert (jp_root_dir / "d2" / "b" / "c.txt").read_bytes() == b"c"
    # an existing target is kept unless asked
    body = await error(
        api, "repos", "data", "commits", "master", "to-workspace", status=409,
        method="POST", body=json.dumps({"path": "/d/a.csv", "to": "copies/a.csv"}),
    )  # fmt: skip
    assert body["field"] == "to"
    assert (jp_root_dir / "copies" / "a.csv").read_bytes() == b"old\n"
    await post(
        api, "repos", "data", "commits", "master", "to-workspace",
        path="/d/a.csv", to="copies/a.csv", overwrite=True,
    )  # fmt: skip
    assert (jp_root_dir / "copies" / "a.csv").read_bytes() == b"new\n"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"path": "/d/a.csv", "to": "../escape.csv"}, 400, "to"),
        ({"path": "/d/a.csv", "to": ""}, 400, "to"),
        ({"path": "/d/a.csv"}, 400, "to"),
        ({"path": "d/a.csv", "to": "x"}, 400, "path"),
        ({"path": "/d/a.csv", "to": "x", "overwrite": "yes"}, 400, "overwrite"),
    ],
)
async def test_copy_to_workspace_refuses_bad_targets(
    api: Fetch, client: Client, jp_root_dir: Path, body: dict[str, object], status: int, field: str
) -> None:
    client.create_repo("data")
    client.put_file("data@master", "/d/a.csv", b"x")
    answer = await error(
        api, "repos", "data", "commits", "master", "to-workspace",
        status=status, method="POST", body=json.dumps(body),
    )  # fmt: skip
    assert answer["field"] == field
    assert str(jp_root_dir) not in answer["message"]
    assert not (jp_root_dir.parent / "escape.csv").exists()


async def test_copy_of_a_missing_path_is_not_found(
    api: Fetch, client: Client, jp_root_dir: Path
) -> None:
    client.create_repo("data")
    client.put_file("data@master", "/a", b"x")
    await error(
        api, "repos", "data", "commits", "master", "to-workspace",
        status=404, method="POST", body=json.dumps({"path": "/nope", "to": "nope"}),
    )  # fmt: skip
    assert not (jp_root_dir / "nope").exists()


async def test_a_link_out_of_the_workspace_is_refused(api: Fetch, workspace: Path) -> None:
    outside = workspace.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("s")
    (workspace / "link").symlink_to(outside)
    body = await error(
        api, "repos", "data", "branches", "master", "from-workspace",
        status=400, method="POST", body=json.dumps({"paths": ["link/secret.txt"]}),
    )  # fmt: skip
    assert "outside the workspace" in body["message"]
    assert str(outside) not in body["message"]
