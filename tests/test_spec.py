"""Tests for :mod:`jupyter_pipes.pipeline.spec`: parsing, validation messages, the DAG check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.spec import (
    Input,
    PipelineSpec,
    check_dag,
    iter_pfs,
    parse_duration,
    parse_quantity,
    parse_spec,
    spec_to_dict,
)

NOTEBOOK: dict[str, Any] = {
    "pipeline": {"name": "edges"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
    "transform": {"notebook": "edges.ipynb", "parameters": {"threshold": 0.5}},
}

YAML_SPEC = """\
pipeline:
  name: edges
description: Edge detection, one image per datum.
input:
  cross:
    - pfs: {repo: images, glob: "/*"}
    - pfs: {repo: models, branch: prod, glob: "/", name: model}
transform:
  notebook: notebooks/edges.ipynb
  parameters: {threshold: 0.5, sizes: [1, 2], day: 2024-01-01}
  kernel: python3
  isolation: warm
parallelism_spec: {constant: 4}
resource_requests: {cpu: 0.5, memory: 512Mi, gpu: {number: 1}}
datum_tries: 2
datum_timeout: 1h30m
job_timeout: 10m
output_branch: results
reprocess_spec: every_job
salt: v2
"""

# Pachyderm's OpenCV example (docs, "Beginner tutorial"): image, cmd, stdin, a cross.
PACHYDERM_EDGES = {
    "pipeline": {"name": "edges"},
    "description": "A pipeline that performs image edge detection by using the OpenCV library.",
    "transform": {"cmd": ["python3", "/edges.py"], "image": "pachyderm/opencv:1.0"},
    "input": {"pfs": {"repo": "images", "glob": "/*"}},
}
PACHYDERM_MONTAGE = {
    "pipeline": {"name": "montage"},
    "description": "A pipeline that combines images from the `images` and `edges` repositories.",
    "input": {
        "cross": [
            {"pfs": {"glob": "/", "repo": "images", "lazy": True}},
            {"pfs": {"glob": "/", "repo": "edges", "empty_files": False}},
        ]
    },
    "transform": {
        "cmd": ["sh"],
        "image": "dpokidov/imagemagick:7.1.0-23",
        "stdin": [
            "montage -shadow -background SkyBlue -geometry 300x300+2+2 "
            "$(find -L /pfs/images /pfs/edges -type f | sort) /pfs/out/montage.png"
        ],
        "env": {"MAGICK_THREAD_LIMIT": "1"},
    },
    "parallelism_spec": {"constant": 1},
    "resource_requests": {"cpu": 1, "memory": "1G", "disk": "10Gi"},
    "datum_tries": 1,
    "job_timeout": "1h",
}


def spec(**changes: Any) -> dict[str, Any]:
    """The notebook spec with changes: ``spec(**{"input.pfs.glob": "/x"})``, ``None`` deletes."""
    data = copy.deepcopy(NOTEBOOK)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def cmd_spec(**changes: Any) -> dict[str, Any]:
    return spec(**{"transform": {"cmd": ["python3", "run.py"]}, **changes})


def pfs(repo: str, **fields: Any) -> dict[str, Any]:
    return {"pfs": {"repo": repo, **fields}}


def invalid(source: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        parse_spec(source)
    return info.value


# --- Good specs ----------------------------------------------------------------------------


def test_yaml_text_with_every_field() -> None:
    s = parse_spec(YAML_SPEC)
    assert s.name == "edges" and s.description == "Edge detection, one image per datum."
    assert s.input_repos() == [("images", "master"), ("models", "prod")]
    assert s.input_names() == ["images", "model"]
    assert s.transform.notebook == "notebooks/edges.ipynb"
    assert s.transform.parameters == {"threshold": 0.5, "sizes": [1, 2], "day": "2024-01-01"}
    assert (s.transform.kernel, s.transform.isolation) == ("python3", "warm")
    assert s.parallelism_spec is not None and s.parallelism_spec.constant == 4
    rr = s.resource_requests
    assert rr is not None and rr.cpu == 0.5 and rr.memory_bytes == 512 * 2**20
    assert rr.gpu is not None and (rr.gpu.type, rr.gpu.number) == ("nvidia.com/gpu", 1)
    assert (s.datum_tries, s.datum_timeout_seconds, s.job_timeout_seconds) == (2, 5400, 600)
    assert (s.output_branch, s.reprocess_spec, s.salt) == ("results", "every_job", "v2")


def test_defaults() -> None:
    s = parse_spec({**NOTEBOOK, "input": {"pfs": {"repo": "images"}}})
    pfs = s.input.pfs
    assert pfs is not None
    assert (pfs.branch, pfs.glob, pfs.name, pfs.join_on, pfs.outer_join) == (
        "master", "/", "images", "", False
    )  # fmt: skip
    assert "name" not in pfs.model_fields_set
    assert (s.datum_tries, s.output_branch, s.reprocess_spec) == (3, "master", "until_success")
    assert s.transform.isolation == "warm" and s.transform.env == {}  # warm kernels by default
    assert s.datum_timeout_seconds is None and s.job_timeout_seconds is None
    assert s.parallelism_spec is None and s.resource_requests is None and s.salt is None


def test_json_text_bytes_and_dict_agree() -> None:
    text = json.dumps(NOTEBOOK)
    assert parse_spec(text) == parse_spec(text.encode()) == parse_spec(NOTEBOOK)
    assert parse_spec(text) == parse_spec("  \n" + text)


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_file_paths(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_text(json.dumps(NOTEBOOK) if suffix == ".json" else YAML_SPEC)
    by_path, by_str = parse_spec(path), parse_spec(str(path))
    assert by_path == by_str and by_path.name == "edges"


def test_real_pachyderm_specs_load_and_form_a_dag() -> None:
    edges, montage = parse_spec(json.dumps(PACHYDERM_EDGES)), parse_spec(PACHYDERM_MONTAGE)
    assert edges.transform.cmd == ["python3", "/edges.py"]
    assert edges.transform.notebook is None and edges.transform.image == "pachyderm/opencv:1.0"
    assert montage.transform.stdin is not None and "montage" in montage.transform.stdin[0]
    assert montage.input_repos() == [("images", "master"), ("edges", "master")]
    assert montage.resource_requests is not None
    assert montage.resource_requests.disk_bytes == 10 * 2**30
    assert montage.job_timeout_seconds == 3600
    check_dag({"edges": edges, "montage": montage}, {"images"})


def test_union_members_may_share_a_name() -> None:
    s = parse_spec(spec(input={"union": [
        {"pfs": {"repo": "a", "glob": "/*", "name": "c"}},
        {"pfs": {"repo": "b", "glob": "/*", "name": "c"}},
    ]}))  # fmt: skip
    assert s.input_names() == ["c"] and s.input_repos() == [("a", "master"), ("b", "master")]


def test_union_members_each_checked_against_the_outer_names() -> None:
    ok = {"cross": [
        {"pfs": {"repo": "x"}},
        {"union": [{"cross": [{"pfs": {"repo": "a"}}, {"pfs": {"repo": "b"}}]},
                   {"cross": [{"pfs": {"repo": "a"}}, {"pfs": {"repo": "c"}}]}]},
    ]}  # fmt: skip
    assert parse_spec(spec(input=ok)).input_names() == ["x", "a", "b", "c"]


def test_cmd_pipelines_accept_names_that_are_not_identifiers() -> None:
    s = parse_spec(cmd_spec(**{"input.pfs.repo": "raw-images"}))
    assert s.input_names() == ["raw-images"]
    s = parse_spec(cmd_spec(**{"input.pfs.name": "job_id"}))  # only reserved for notebooks
    assert s.input_names() == ["job_id"]


def test_templates_referencing_existing_groups() -> None:
    inp = {"join": [
        {"pfs": {"repo": "a", "glob": "/(*)/(*).txt", "join_on": "${2}-$1$$", "outer_join": True}},
        {"pfs": {"repo": "b", "glob": "/(*)", "join_on": "$1", "group_by": "$0"}},
    ]}  # fmt: skip
    s = parse_spec(spec(input=inp))
    assert [p.join_on for _, p in iter_pfs(s.input)] == ["${2}-$1$$", "$1"]


def test_spec_to_dict_is_canonical_and_round_trips() -> None:
    for source in (YAML_SPEC, PACHYDERM_MONTAGE, NOTEBOOK):
        s = parse_spec(source)
        d = spec_to_dict(s)
        assert parse_spec(d) == s and parse_spec(json.dumps(d)) == s
        assert spec_to_dict(parse_spec(d)) == d
        assert next(iter(d)) == "pipeline"
    d = spec_to_dict(parse_spec(NOTEBOOK))
    assert d["input"] == {"pfs": {
        "repo": "images", "branch": "master", "glob": "/*", "name": "images", "join_on": "",
        "group_by": "", "outer_join": False, "lazy": False, "empty_files": False,
    }}  # fmt: skip
    assert d["datum_tries"] == 3 and "description" not in d and "salt" not in d
    json.dumps(d)  # JSON-able


def test_models_are_frozen() -> None:
    s = parse_spec(NOTEBOOK)
    with pytest.raises(ValueError, match="frozen"):
        s.datum_tries = 5  # type: ignore[misc,unused-ignore]


def test_input_on_its_own_accepts_what_the_datum_iterator_accepts() -> None:
    inp = Input.model_validate({"join": [
        {"pfs": {"repo": "L", "glob": "/*", "join_on": "$1"}},
        {"pfs": {"repo": "L", "glob": "/*", "join_on": "$1"}},
    ]})  # fmt: skip
    assert [p.name for _, p in iter_pfs(inp)] == ["L", "L"]
    assert [path for path, _ in iter_pfs(inp)] == ["input.join[0].pfs", "input.join[1].pfs"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("100ms", 0.1), ("2h45m30s", 9930)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1G", 10**9), ("512Mi", 512 * 2**20), ("1.5Gi", 3 * 2**29), ("64M", 64 * 10**6),
     ("1000", 1000), ("1e3", 1000), ("2k", 2000)],
)  # fmt: skip
def test_quantities(text: str, size: int) -> None:
    assert parse_quantity(text) == size


# --- Bad specs -----------------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, spec, field path, message fragment)
    ("unknown top field", spec(image="x"), "image", "unknown field 'image'"),
    ("unknown pfs field", spec(**{"input.pfs.globb": "/*"}), "input.pfs.globb",
     "unknown field 'input.pfs.globb'"),
    ("unknown transform field", spec(**{"transform.secret": []}), "transform.secret",
     "unknown field"),
    ("wrong type int", spec(datum_tries="three"), "datum_tries", "valid integer"),
    ("float for int", spec(datum_tries=2.5), "datum_tries", "valid integer"),
    ("wrong type bool", spec(**{"input.pfs.outer_join": "yes"}), "input.pfs.outer_join",
     "valid boolean"),
    ("wrong type env", cmd_spec(**{"transform.env": {"A": 1}}), "transform.env.A", "valid string"),
    ("wrong type list", spec(input={"cross": {"pfs": {"repo": "a"}}}), "input.cross",
     "valid list"),
    ("missing name", spec(pipeline={}), "pipeline.name", "field required"),
    ("missing input", spec(input=None), "input", "field required"),
    ("missing repo", spec(**{"input.pfs": {"glob": "/*"}}), "input.pfs.repo", "field required"),
    ("bad pipeline name", spec(pipeline={"name": "a b"}), "pipeline.name",
     "invalid pipeline name 'a b'"),
    ("bad repo name", spec(**{"input.pfs.repo": "im@ges"}), "input.pfs.repo", "invalid repo name"),
    ("bad branch", spec(**{"input.pfs.branch": "a/b"}), "input.pfs.branch", "invalid branch name"),
    ("bad output branch", spec(output_branch="x y"), "output_branch", "invalid branch name"),
    ("bad glob", spec(input={"cross": [pfs("a"), pfs("b", glob="/(*")]}),
     "input.cross[1].pfs.glob", "invalid glob pattern"),
    ("two input kinds", spec(input={"pfs": {"repo": "a"}, "cross": [{"pfs": {"repo": "b"}}]}),
     "input", "give exactly one of pfs, cron, cross, union, join, group"),
    ("no input kind", spec(input={}), "input", "give exactly one of"),
    ("empty cross", spec(input={"cross": []}), "input.cross", "give at least one input"),
    ("nested empty union", spec(input={"cross": [{"pfs": {"repo": "a"}}, {"union": []}]}),
     "input.cross[1].union", "give at least one input"),
    ("duplicate names in cross", spec(input={"cross": [pfs("a"), pfs("a", glob="/*")]}),
     "input.cross[1].pfs.name", "'a' is also used by input.cross[0].pfs.name"),
    ("duplicate names in join", spec(input={"join": [pfs("a", name="x"), pfs("b", name="x")]}),
     "input.join[1].pfs.name", "only the members of a union may share a name"),
    ("duplicate names in group", spec(input={"group": [pfs("a"), pfs("b", name="a")]}),
     "input.group[1].pfs.name", "also used by input.group[0].pfs.name"),
    ("union name vs cross sibling", spec(input={"cross": [
        {"union": [{"pfs": {"repo": "a", "name": "c"}}, {"pfs": {"repo": "b", "name": "c"}}]},
        {"pfs": {"repo": "d", "name": "c"}}]}),
     "input.cross[1].pfs.name", "'c' is also used by input.cross[0].union[0].pfs.name"),
    ("reserved out (from repo)", cmd_spec(**{"input.pfs.repo": "out"}), "input.pfs.name",
     "input name 'out' (the repo name) is reserved"),
    ("reserved .env", cmd_spec(**{"input.pfs.name": ".env"}), "input.pfs.name",
     "'.env' is reserved"),
    ("name with slash", cmd_spec(**{"input.pfs.name": "a/b"}), "input.pfs.name",
     "invalid input name"),
    ("notebook non-identifier", spec(**{"input.pfs.repo": "raw-images"}), "input.pfs.name",
     "'raw-images' (the repo name) is not a Python identifier"),
    ("notebook keyword", spec(**{"input.pfs.name": "class"}), "input.pfs.name",
     "'class' is a Python keyword, but a notebook gets each input as a parameter of that name: "
     "set pfs.name (e.g. '_class')"),
    ("notebook reserved name", spec(**{"input.pfs.name": "datum_id"}), "input.pfs.name",
     "reserved notebook parameter"),
    ("both notebook and cmd", spec(**{"transform.cmd": ["sh"]}), "transform",
     "transform: give exactly one of notebook or cmd"),
    ("neither notebook nor cmd", spec(transform={"image": "x"}), "transform",
     "give exactly one of notebook or cmd"),
    ("empty cmd", spec(transform={"cmd": []}), "transform.cmd", "give a command"),
    ("cmd with parameters", spec(**{"transform": {"cmd": ["sh"], "parameters": {"a": 1}}}),
     "transform.parameters", "'parameters' is for a notebook transform"),
    ("cmd with isolation", spec(**{"transform": {"cmd": ["sh"], "isolation": "warm"}}),
     "transform.isolation", "for a notebook transform"),
    ("notebook with stdin", spec(**{"transform.stdin": ["x"]}), "transform.stdin",
     "stdin applies to cmd"),
    ("notebook not ipynb", spec(**{"transform.notebook": "edges.py"}), "transform.notebook",
     ".ipynb"),
    ("bad isolation", spec(**{"transform.isolation": "hot"}), "transform.isolation",
     "'fresh' or 'warm'"),
    ("bad env name", cmd_spec(**{"transform.env": {"A-B": "1"}}), "transform.env.A-B",
     "invalid environment variable name"),
    ("bad duration", spec(datum_timeout="5 minutes"), "datum_timeout", "invalid duration"),
    ("zero duration", spec(job_timeout="0s"), "job_timeout", "invalid duration '0s'"),
    ("negative duration", spec(job_timeout="-1s"), "job_timeout", "invalid duration"),
    ("duration not a string", spec(job_timeout=30), "job_timeout", "valid string"),
    ("datum_tries 0", spec(datum_tries=0), "datum_tries", "greater than or equal to 1"),
    ("parallelism 0", spec(parallelism_spec={"constant": 0}), "parallelism_spec.constant",
     "greater than or equal to 1"),
    ("bad reprocess", spec(reprocess_spec="sometimes"), "reprocess_spec", "until_success"),
    ("bad memory", spec(resource_requests={"memory": "lots"}), "resource_requests.memory",
     "invalid quantity 'lots'"),
    ("zero cpu", spec(resource_requests={"cpu": 0}), "resource_requests.cpu",
     "invalid cpu 0: give a positive number of cores"),
    ("gpu without number", spec(resource_requests={"gpu": {"type": "x"}}),
     "resource_requests.gpu.number", "field required"),
    ("parameter = input name", spec(**{"transform.parameters": {"images": 1}}),
     "transform.parameters.images", "parameter 'images' is an input name"),
    ("parameter = out", spec(**{"transform.parameters": {"out": 1}}),
     "transform.parameters.out", "reserved"),
    ("parameter = job_id", spec(**{"transform.parameters": {"job_id": "x"}}),
     "transform.parameters.job_id", "reserved"),
    ("parameter = datum_id", spec(**{"transform.parameters": {"datum_id": "x"}}),
     "transform.parameters.datum_id", "reserved"),
    ("parameter not identifier", spec(**{"transform.parameters": {"a-b": 1}}),
     "transform.parameters.a-b", "not a valid Python identifier"),
    ("join_on missing group", spec(input={"join": [
        {"pfs": {"repo": "a", "glob": "/*", "join_on": "$1"}},
        {"pfs": {"repo": "b", "glob": "/(*)", "join_on": "$1"}}]}),
     "input.join[0].pfs.join_on", "'$1' refers to capture group 1, but the glob '/*' has 0"),
    ("group_by missing group", spec(input={"group": [
        {"pfs": {"repo": "a", "glob": "/(*)-{x,y}", "group_by": "${2}"}}]}),
     "input.group[0].pfs.group_by", "has 1 capture group(s)"),
    ("leading zero reference", spec(input={"join": [
        {"pfs": {"repo": "a", "glob": "/(*)", "join_on": "$01"}},
        {"pfs": {"repo": "b", "glob": "/(*)", "join_on": "$1"}}]}),
     "input.join[0].pfs.join_on", "$01 is not a group reference"),
    ("input is own output", spec(input={"cross": [pfs("a"), pfs("edges")]}),
     "input.cross[1].pfs.repo", "repo 'edges' is this pipeline's output: a cycle"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "field", "fragment"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])  # fmt: skip
def test_bad_specs_name_the_field(source: dict[str, Any], field: str, fragment: str) -> None:
    err = invalid(source)
    assert err.fields["field"] == field
    assert fragment in err.message
    assert err.message.startswith((f"{field}: ", f"unknown field {field!r}"))
    assert err.__cause__ is None and err.__suppress_context__  # no pydantic traceback
    assert "pydantic" not in err.message and "errors.pydantic.dev" not in err.message
    assert err.to_dict()["field"] == field


def test_several_problems_are_all_listed() -> None:
    err = invalid(spec(datum_tries=0, job_timeout="soon", **{"input.pfs.globb": "/"}))
    assert err.fields["field"] == "input.pfs.globb"
    assert err.message.endswith("(and 2 more problems)")
    assert [p["field"] for p in err.fields["problems"]] == [
        "input.pfs.globb", "datum_tries", "job_timeout"
    ]  # fmt: skip
    assert err.fields["problems"][2]["message"].startswith("job_timeout: invalid duration")


def test_yaml_syntax_and_shape_errors(tmp_path: Path) -> None:
    assert "not valid YAML" in invalid("pipeline: [").message
    assert "not valid JSON" in invalid('{"pipeline": ').message
    assert "a spec is a mapping" in invalid("- a\n- b\n").message
    assert "the spec is empty" in invalid("").message
    assert "the spec is empty" in invalid("# nothing\n").message
    assert "a spec is a mapping" in invalid("just text").message
    assert "expected one spec, found 2" in invalid(YAML_SPEC + "---\n" + YAML_SPEC).message
    assert "cannot read spec file" in invalid(tmp_path / "missing.yaml").message
    assert "cannot read spec file" in invalid(str(tmp_path / "missing.json")).message


def test_duplicate_keys_are_rejected() -> None:
    assert "duplicate key 'datum_tries'" in invalid(YAML_SPEC + "datum_tries: 5\n").message
    text = '{"pipeline": {"name": "a"}, "pipeline": {"name": "b"}}'
    assert "duplicate key 'pipeline'" in invalid(text).message
    # YAML merge keys may be overridden: that is not a duplicate.
    merged = (
        "pipeline: {name: p}\n"
        "input:\n  cross:\n    - pfs: &base {repo: a, glob: /x}\n"
        "    - pfs: {<<: *base, glob: /y, name: b}\n"
        "transform: {cmd: [sh]}\n"
    )
    assert [(p.repo, p.glob, p.name) for _, p in iter_pfs(parse_spec(merged).input)] == [
        ("a", "/x", "a"), ("a", "/y", "b")
    ]  # fmt: skip


# --- The DAG -------------------------------------------------------------------------------


def pipeline(name: str, *repos: str) -> PipelineSpec:
    inputs = [{"pfs": {"repo": r, "name": f"in{i}"}} for i, r in enumerate(repos)]
    inp = inputs[0] if len(inputs) == 1 else {"cross": inputs}
    return parse_spec({"pipeline": {"name": name}, "input": inp, "transform": {"cmd": ["sh"]}})


def test_dag_ok_with_pipeline_outputs_and_a_diamond() -> None:
    specs = {p.name: p for p in [
        pipeline("a", "raw"), pipeline("b", "a"), pipeline("c", "a", "raw"),
        pipeline("d", "b", "c"),
    ]}  # fmt: skip
    check_dag(specs, {"raw"})
    check_dag(specs, {"raw", "a", "b", "c", "d"})  # output repos exist as repos too
    check_dag({}, set())


def test_dag_missing_repo_names_pipeline_and_field() -> None:
    specs = {"a": pipeline("a", "raw"), "b": pipeline("b", "a", "nope")}
    with pytest.raises(InvalidArgument) as info:
        check_dag(specs, {"raw"})
    err = info.value
    assert err.message == (
        "pipeline 'b': input.cross[1].pfs.repo: repo 'nope' does not exist (neither a repo nor "
        "another pipeline's output)"
    )
    assert err.fields == {"pipeline": "b", "field": "input.cross[1].pfs.repo", "repo": "nope"}


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, "a -> b -> a"),
        ({"a": ["c"], "b": ["a"], "c": ["b"]}, "a -> b -> c -> a"),
        ({"x": ["raw"], "a": ["x", "b"], "b": ["a"]}, "a -> b -> a"),
    ],
)
def test_dag_cycles_are_named(edges: dict[str, list[str]], cycle: str) -> None:
    specs = {name: pipeline(name, *ups) for name, ups in edges.items()}
    with pytest.raises(InvalidArgument, match=f"pipelines form a cycle: {cycle}$") as info:
        check_dag(specs, {"raw"})
    assert " -> ".join(info.value.fields["cycle"]) == cycle


def test_dag_key_must_be_the_pipeline_name() -> None:
    with pytest.raises(InvalidArgument, match="is listed as"):
        check_dag({"b": pipeline("a", "raw")}, {"raw"})


LAZY = """
import sys, types
root = types.ModuleType("jupyter_pipes")  # the package without its __init__ (which loads Client)
root.__path__ = [%r]
sys.modules["jupyter_pipes"] = root
heavy = lambda: sorted({k.split(".")[0] for k in sys.modules if k.startswith(("pydantic", "yaml"))})
import jupyter_pipes.errors  # noqa: F401 (light)
from jupyter_pipes.pipeline.spec import parse_duration
print(heavy(), parse_duration("1m"))
from jupyter_pipes.pipeline.spec import PipelineSpec
print(heavy(), PipelineSpec.__name__)
"""


def test_the_spec_package_loads_its_modules_on_first_use() -> None:
    import subprocess
    import sys
    from pathlib import Path

    import jupyter_pipes
    import jupyter_pipes.pipeline.spec as package

    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # noqa: B018
    code = LAZY % str(Path(jupyter_pipes.__file__).parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[] 60.0", "['pydantic', 'pydantic_core'] PipelineSpec"]
