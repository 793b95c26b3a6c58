"""Creating pipelines from Pachyderm-style files (#13): several specs a file, in order, on the
Client and the CLI; ignored fields named once; dry-run errors as the project's error type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.records import PipelineInfo
from tests.test_cli import Pipes

EDGES = {
    "pipeline": {"name": "edges"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
    "transform": {"cmd": ["true"], "image": "pachyderm/opencv:1.0"},
    "parallelismSpec": {"constant": "1"},
    "autoscaling": True,
}
MONTAGE = {
    "pipeline": {"name": "montage"},
    "input": {"cross": [{"pfs": {"repo": "images", "glob": "/"}},
                        {"pfs": {"repo": "edges", "glob": "/", "emptyFiles": False}}]},
    "transform": {"cmd": ["true"]},
}  # fmt: skip
TWO = json.dumps(EDGES, indent=2) + "\n" + json.dumps(MONTAGE, indent=2) + "\n"


@pytest.fixture
def pipes_client(tmp_path: Path) -> Client:
    client = Client(str(tmp_path / "store"))
    client.create_repo("images")
    return client


def test_a_file_of_several_specs_creates_them_in_order(
    pipes_client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "opencv.json"
    path.write_text(TWO)
    infos = pipes_client.create_pipeline(path)
    assert isinstance(infos, list) and [i.name for i in infos] == ["edges", "montage"]
    assert infos[0].ignored == ("transform.image", "autoscaling") and infos[1].ignored == ()
    assert [p.name for p in pipes_client.list_pipeline()] == ["edges", "montage"]
    assert pipes_client.inspect_pipeline("edges").ignored == ()  # named once, at creation
    spec = pipes_client.inspect_pipeline("edges").spec
    assert spec["parallelism_spec"] == {"constant": 1} and "autoscaling" not in spec
    updated = pipes_client.update_pipeline(TWO)
    assert isinstance(updated, list) and [i.version for i in updated] == [2, 2]
    one = pipes_client.update_pipeline(MONTAGE)
    assert isinstance(one, PipelineInfo) and one.version == 3


def test_nothing_is_created_when_one_spec_of_a_file_is_invalid(pipes_client: Client) -> None:
    bad = {**MONTAGE, "transform": {"cmd": ["true"], "secrets": [{"name": "s"}]}}
    with pytest.raises(InvalidArgument, match=r"^spec 2 of 2 \('montage'\): transform.secrets"):
        pipes_client.create_pipeline([EDGES, bad])
    assert pipes_client.list_pipeline() == []


def test_dry_run_errors_are_invalid_argument_naming_the_field(pipes_client: Client) -> None:
    """#11: a dry run used to raise pydantic's ValidationError."""
    with pytest.raises(InvalidArgument) as info:
        pipes_client.list_datum(input={"pfs": {"repo": "images", "glob": "/(*"}})
    assert info.value.fields["field"] == "input.pfs.glob" and info.value.__cause__ is None
    with pytest.raises(InvalidArgument, match=r"^unknown field 'input\.pfs\.globb'"):
        pipes_client.list_datum(input={"pfs": {"repo": "images", "globb": "/"}})
    pipes_client.put_file("images@master", "/a.png", b"a")
    pipes_client.put_file("images@master", "/b.png", b"b")
    same_repo_twice = {"cross": [{"pfs": {"repo": "images", "glob": "/*"}},
                                 {"pfs": {"repo": "images", "glob": "/*"}}]}  # fmt: skip
    datums = pipes_client.list_datum(input=same_repo_twice)
    assert sorted(tuple(i.path for i in d) for d in datums) == [
        ("/a.png", "/a.png"), ("/a.png", "/b.png"), ("/b.png", "/a.png"), ("/b.png", "/b.png"),
    ]  # fmt: skip


def test_cli_creates_every_spec_of_a_file_and_names_ignored_fields(tmp_path: Path) -> None:
    pipes = Pipes(tmp_path / "store")
    pipes("create", "repo", "images")
    spec = tmp_path / "opencv.yaml"
    spec.write_text("---\n".join(json.dumps(s) + "\n" for s in (EDGES, MONTAGE)))
    res = pipes("create", "pipeline", "-f", spec, "--no-wait")
    assert res.err.splitlines()[0] == (
        "edges: ignored transform.image, autoscaling (Kubernetes-only or not applicable here; "
        "see docs/pipeline-spec.md)"
    )
    assert res.out.count("queued job") == 2
    listed = json.loads(pipes("list", "pipeline", "--json").out)
    assert [p["name"] for p in listed] == ["edges", "montage"]
    bad = tmp_path / "spout.json"
    bad.write_text(
        json.dumps({"pipeline": {"name": "s"}, "spout": {}, "transform": {"cmd": ["x"]}})
    )
    res = pipes("create", "pipeline", "-f", bad, rc=1)
    assert res.err.startswith("error: spout: spout pipelines are not supported")
