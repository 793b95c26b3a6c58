"""Pachyderm's environment contract (#13): each variable, for commands and notebooks."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.contract import Item, command_env, notebook_parameters
from jupyter_pipes.pipeline.spec import parse_spec

ITEMS = [
    Item("stores", "/STOREID1.txt", "c0ffee", join_on="1", group_by=""),
    Item("purchases", "/dir/", "beef", join_on="1", group_by="g"),
    Item("whole", "/", "f00d"),
]
IDS = {"job_id": "J", "datum_id": "D", "output_commit": "G", "pipeline": "inner_join"}


def test_command_variables() -> None:
    env = command_env(ITEMS, "/pfs", **IDS)
    assert env == {
        "stores": "/pfs/stores/STOREID1.txt", "stores_COMMIT": "c0ffee",
        "PACH_DATUM_stores_JOIN_ON": "1",
        "purchases": "/pfs/purchases/dir", "purchases_COMMIT": "beef",
        "PACH_DATUM_purchases_JOIN_ON": "1", "PACH_DATUM_purchases_GROUP_BY": "g",
        "whole": "/pfs/whole", "whole_COMMIT": "f00d",
        "PACH_DATUM_ID": "D", "PACH_JOB_ID": "J", "PACH_OUTPUT_COMMIT_ID": "G",
        "PPS_PIPELINE_NAME": "inner_join", "PFS": "/pfs", "out": "/pfs/out",
    }  # fmt: skip
    relative = command_env(ITEMS[:1], "/tmp/x/pfs", **IDS)  # no namespaces: the scratch folder
    assert relative["stores"] == "/tmp/x/pfs/stores/STOREID1.txt"


def test_notebook_parameters_keep_the_folder_and_add_the_path() -> None:
    params = notebook_parameters(ITEMS[:1], "/tmp/x/pfs", **IDS)
    assert params == {
        "stores_path": "/tmp/x/pfs/stores/STOREID1.txt", "stores_COMMIT": "c0ffee",
        "PACH_DATUM_stores_JOIN_ON": "1", "PACH_DATUM_ID": "D", "PACH_JOB_ID": "J",
        "PACH_OUTPUT_COMMIT_ID": "G", "PPS_PIPELINE_NAME": "inner_join",
    }  # fmt: skip
    assert "stores" not in params  # the folder parameter is the worker's, unchanged


NB: dict[str, Any] = {
    "pipeline": {"name": "p"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
    "transform": {"notebook": "n.ipynb"},
}


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"transform": {"notebook": "n.ipynb", "parameters": {"images_path": 1}}},
         "transform.parameters.images_path", "the path parameter of input 'images'"),
        ({"transform": {"notebook": "n.ipynb", "parameters": {"PACH_JOB_ID": 1}}},
         "transform.parameters.PACH_JOB_ID", "Pachyderm's contract"),
        ({"input": {"cross": [{"pfs": {"repo": "a"}}, {"pfs": {"repo": "a_COMMIT"}}]}},
         "input.cross[1].pfs.name", "clashes with the COMMIT parameter of input 'a'"),
    ],
)  # fmt: skip
def test_notebook_names_that_would_clash_are_refused(
    changes: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_spec({**NB, **changes})
    assert info.value.fields["field"] == field and fragment in info.value.message


def test_task_inputs_carry_what_the_worker_needs() -> None:
    from jupyter_pipes.pipeline.datums import Datum, DatumInput
    from jupyter_pipes.pipeline.task_spec import task_inputs, transform_of

    spec = parse_spec({
        "pipeline": {"name": "p"},
        "input": {"join": [
            {"pfs": {"repo": "a", "glob": "/(*)", "join_on": "$1", "lazy": True}},
            {"pfs": {"repo": "b", "glob": "/(*)", "join_on": "$1", "empty_files": True}},
        ]},
        "transform": {"cmd": ["sh"], "err_cmd": ["true"], "accept_return_code": [3],
                      "working_dir": "/pfs/a", "sandbox": {"network": False}},
    })  # fmt: skip
    datum = Datum.of([DatumInput("a", "a", "master", "/1", "h", 1, join_on="1"),
                      DatumInput("b", "b", "master", "/1", "h", 1, join_on="1")])  # fmt: skip
    tokens = {("a", "master", "/1"): ["ta"], ("b", "master", "/1"): ["tb"]}
    a, b = task_inputs(spec, datum, tokens, {"a@master": "ca", "b@master": "cb"})
    assert (a.token, a.commit, a.join_on, a.lazy, a.empty_files) == (["ta"], "ca", "1", True, False)
    assert (b.token, b.commit, b.lazy, b.empty_files) == (["tb"], "cb", False, True)
    t = transform_of(spec, None)
    assert (t.err_cmd, t.accept_return_code, t.working_dir, t.network, t.read_only_inputs) == (
        ("true",), (3,), "/pfs/a", False, True)  # fmt: skip
