"""Pipelines run as Pachyderm runs them (#13), end to end: /pfs, each variable of the
environment contract (commands and notebooks), empty_files, lazy, output symlinks, err_cmd,
accept_return_code, working_dir, network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline.sandbox import namespaces_unavailable

WHY = namespaces_unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"/pfs needs namespaces: {WHY}")


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    for repo, files in {
        "stores": {"/STOREID1.txt": b"s1", "/STOREID2.txt": b"s2"},
        "purchases": {"/P1_STOREID1.txt": b"p1", "/P2_STOREID2.txt": b"p2"},
        "fruits": {"/apple.jpeg": b"APPLE" * 1000, "/pear.jpeg": b"PEAR" * 1000},
    }.items():
        c.create_repo(repo)
        with c.start_commit(f"{repo}@master") as oc:
            for path, data in files.items():
                oc.put_file(path, data)
    yield c
    c.close()


def cmd(name: str, inp: dict[str, Any], *lines: str, **transform: Any) -> dict[str, Any]:
    return {"pipeline": {"name": name}, "input": inp,
            "transform": {"cmd": ["bash"], "stdin": list(lines), **transform}}  # fmt: skip


def run(pipes: Client, spec: dict[str, Any]) -> Any:
    info = pipes.create_pipeline(spec)
    assert not isinstance(info, list)
    job = pipes.wait_job(info.last_job, timeout=300)
    return job


JOIN = {"join": [
    {"pfs": {"repo": "stores", "glob": "/STOREID(*).txt", "join_on": "$1"}},
    {"pfs": {"repo": "purchases", "glob": "/*_STOREID(*).txt", "join_on": "$1"}},
]}  # fmt: skip


def test_every_variable_of_the_contract_for_commands(pipes: Client) -> None:
    job = run(pipes, cmd(
        "vars", JOIN,
        'd=/pfs/out/$PACH_DATUM_stores_JOIN_ON; mkdir -p $d',
        'for v in stores purchases stores_COMMIT purchases_COMMIT PACH_DATUM_stores_JOIN_ON '
        'PACH_DATUM_purchases_JOIN_ON PACH_DATUM_ID PACH_JOB_ID PACH_OUTPUT_COMMIT_ID '
        'PPS_PIPELINE_NAME PFS out; do echo "$v=${!v}" >> $d/env; done',
        'cat $stores > $d/store; pwd > $d/pwd; ls /pfs > $d/ls',
    ))  # fmt: skip
    assert job.state == "success", job.error
    env = dict(line.split("=", 1) for line in
               pipes.get_file("vars@master", "/1/env").decode().splitlines())  # fmt: skip
    stores = pipes.inspect_branch("stores@master").head
    datum = next(d for d in pipes.list_datum(job.id) if "/STOREID1.txt" in
                 [i.path for i in d.inputs])  # fmt: skip
    out = pipes.inspect_commit("vars@master")
    assert env == {
        "stores": "/pfs/stores/STOREID1.txt", "purchases": "/pfs/purchases/P1_STOREID1.txt",
        "stores_COMMIT": stores, "purchases_COMMIT": pipes.inspect_branch("purchases@master").head,
        "PACH_DATUM_stores_JOIN_ON": "1", "PACH_DATUM_purchases_JOIN_ON": "1",
        "PACH_DATUM_ID": datum.id, "PACH_JOB_ID": job.id,
        "PACH_OUTPUT_COMMIT_ID": out.global_id, "PPS_PIPELINE_NAME": "vars",
        "PFS": "/pfs", "out": "/pfs/out",
    }  # fmt: skip
    assert pipes.get_file("vars@master", "/1/store") == b"s1"
    assert pipes.get_file("vars@master", "/1/pwd") == b"/pfs\n"
    assert pipes.get_file("vars@master", "/1/ls").split() == [b"out", b"purchases", b"stores"]


def test_group_by_variable(pipes: Client) -> None:
    pfs = {"repo": "purchases", "glob": "/*_STOREID(*).txt", "group_by": "$1"}
    copy = "cp /pfs/purchases/* /pfs/out/$PACH_DATUM_purchases_GROUP_BY"
    job = run(pipes, cmd("g", {"group": [{"pfs": pfs}]}, copy))
    assert job.state == "success", job.error
    assert [f.path for f in pipes.list_file("g@master")] == ["/1", "/2"]


SEEN = """\
import json, os
names = ['stores', 'stores_path', 'stores_COMMIT', 'PACH_DATUM_stores_JOIN_ON',
         'PACH_DATUM_ID', 'PACH_JOB_ID', 'PACH_OUTPUT_COMMIT_ID', 'PPS_PIPELINE_NAME']
seen = {n: globals()[n] for n in names}
seen['listing'] = sorted(os.listdir(stores))
seen['environ'] = os.environ['PACH_DATUM_stores_JOIN_ON']
name = f"seen-{PACH_DATUM_stores_JOIN_ON}.json"
json.dump(seen, open(os.path.join(out, name), 'w'))
"""


def test_the_contract_for_notebooks(pipes: Client, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.cells = [
        nbformat.v4.new_code_cell("stores = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(SEEN),
    ]
    nbformat.write(nb, tmp_path / "seen.ipynb")
    inp = {"pfs": {"repo": "stores", "glob": "/STOREID(*).txt", "join_on": "$1"}}
    spec = {"pipeline": {"name": "nb"}, "input": {"join": [inp]},
            "transform": {"notebook": "seen.ipynb", "isolation": "fresh"}}  # fmt: skip
    info = pipes.create_pipeline(spec, base_dir=tmp_path)
    assert not isinstance(info, list)
    job = pipes.wait_job(info.last_job, timeout=300)
    assert job.state == "success", job.error
    seen = json.loads(pipes.get_file("nb@master", "/seen-2.json"))
    assert seen["stores"].endswith("/pfs/stores") and seen["listing"] == ["STOREID2.txt"]
    assert seen["stores_path"] == seen["stores"] + "/STOREID2.txt"  # the file, as $stores
    assert seen["stores_COMMIT"] == pipes.inspect_branch("stores@master").head
    assert seen["PACH_DATUM_stores_JOIN_ON"] == seen["environ"] == "2"
    assert seen["PACH_JOB_ID"] == job.id and seen["PPS_PIPELINE_NAME"] == "nb"
    assert seen["PACH_OUTPUT_COMMIT_ID"] == pipes.inspect_commit("nb@master").global_id
    assert len(seen["PACH_DATUM_ID"]) == 32


def test_empty_files_and_symlinks_of_the_shuffle_pattern(pipes: Client) -> None:
    inp = {"pfs": {"repo": "fruits", "glob": "/*", "empty_files": True}}
    job = run(pipes, cmd(
        "shuffle", inp,
        'n=$(basename $fruits .jpeg); mkdir -p /pfs/out/$n',
        'stat -c %s $fruits > /pfs/out/$n/size_seen',
        'ln -s $fruits /pfs/out/$n/img.jpeg',
    ))  # fmt: skip
    assert job.state == "success", job.error
    assert pipes.get_file("shuffle@master", "/apple/size_seen") == b"0\n"  # names only
    assert pipes.get_file("shuffle@master", "/apple/img.jpeg") == b"APPLE" * 1000  # by reference
    bad = run(pipes, cmd("badlink", inp, "ln -s /etc/hostname /pfs/out/x"))
    assert bad.state == "failure" and "not a file of this datum's inputs" in str(bad.error)


def test_lazy_inputs_are_pipes_read_on_demand(pipes: Client) -> None:
    inp = {"pfs": {"repo": "fruits", "glob": "/", "lazy": True}}
    job = run(pipes, cmd("lazy", inp,
                         'test -p /pfs/fruits/apple.jpeg && echo pipe > /pfs/out/kind',
                         'wc -c < /pfs/fruits/apple.jpeg > /pfs/out/apple.size'))  # fmt: skip
    assert job.state == "success", job.error
    assert pipes.get_file("lazy@master", "/kind") == b"pipe\n"
    assert pipes.get_file("lazy@master", "/apple.size").strip() == b"5000"  # pear never read


def test_err_cmd_accept_return_code_and_working_dir(pipes: Client) -> None:
    inp = {"pfs": {"repo": "fruits", "glob": "/*"}}
    recover = ["case $fruits in *pear*) exit 0;; esac; exit 1"]
    fail = "case $fruits in *pear*) exit 3;; esac"
    job = run(pipes, cmd("picky", inp, fail, "pwd > /pfs/out/wd", err_cmd=["bash"],
                         err_stdin=recover, working_dir="/pfs/fruits"))  # fmt: skip
    assert job.state == "success", job.error  # pear failed, err_cmd recovered it
    assert [f.path for f in pipes.list_file("picky@master")] == ["/wd"]  # apple's only
    assert pipes.get_file("picky@master", "/wd") == b"/pfs/fruits\n"
    assert "err_cmd recovered the datum" in pipes.get_logs(job.id)
    job = run(pipes, cmd("tolerant", inp, "cp $fruits /pfs/out/; exit 7", accept_return_code=[7]))
    assert job.state == "success" and job.processed == 2


def test_inputs_are_read_only_and_the_network_can_be_cut(pipes: Client) -> None:
    inp = {"pfs": {"repo": "fruits", "glob": "/"}}
    job = run(pipes, cmd("writes", inp, "echo x > /pfs/fruits/new"))
    assert job.state == "failure" and "Read-only file system" in pipes.get_logs(job.id)
    nics = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /pfs/out/nics"
    job = run(pipes, cmd("offline", inp, nics, sandbox={"network": False}))
    assert job.state == "success" and pipes.get_file("offline@master", "/nics") == b"lo\n"
