"""Reading specs as Pachyderm does (#13): both spellings, several specs a file, Kubernetes-only
fields ignored by name, unsupported features refused by name, projects, quantities; and the
bounds of #19 (numbers, environment values, size and depth of the text)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.spec import (
    LIMITS,
    PipelineSpec,
    ignored_note,
    load_specs,
    parse_input,
    parse_quantity,
    parse_spec,
    parse_specs,
    spec_to_dict,
)
from jupyter_pipes.pipeline.spec.compat import IGNORED, UNSUPPORTED, snake_case

BASE: dict[str, Any] = {
    "pipeline": {"name": "p"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["sh"]},
}
SNAKE: dict[str, Any] = {
    "pipeline": {"name": "p"},
    "input": {"join": [
        {"pfs": {"repo": "a", "glob": "/(*)", "join_on": "$1", "outer_join": True,
                 "empty_files": True}},
        {"pfs": {"repo": "b", "glob": "/(*)", "join_on": "$1", "group_by": "$1",
                 "trigger": {"branch": "staging", "rate_limit_spec": "@daily",
                             "cron_spec": "@hourly"}}},
    ]},
    "transform": {"cmd": ["sh"], "env": {"my_var": "1", "otherVar": "2"}, "err_cmd": ["sh"],
                  "err_stdin": ["true"], "accept_return_code": [1], "working_dir": "/w",
                  "sandbox": {"read_only_inputs": False}},
    "parallelism_spec": {"constant": 2},
    "resource_requests": {"cpu": 0.5, "memory": "1Gi"},
    "resource_limits": {"gpu": {"type": "nvidia.com/gpu", "number": 1}},
    "datum_tries": 2,
    "datum_timeout": "1m",
    "job_timeout": "1h",
    "output_branch": "out",
    "reprocess_spec": "every_job",
    "serve": {"notebook": "serve.py", "token_env": "SERVE_TOKEN", "log_window": "5s"},
}  # fmt: skip


def camel(value: Any, *, skip: frozenset[str] = frozenset({"env", "parameters"})) -> Any:
    """Every key in protojson's JSON spelling, except the keys of maps (they are data)."""
    if isinstance(value, list):
        return [camel(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, v in value.items():
        parts = key.split("_")
        name = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
        out[name] = v if key in skip else camel(v)
    return out


def invalid(source: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        load_specs(source)
    err = info.value
    assert err.__cause__ is None and "pydantic" not in err.message
    return err


# --- Both spellings --------------------------------------------------------------------------


def test_camel_case_and_snake_case_give_the_same_spec() -> None:
    camel_spec = camel(SNAKE)
    assert "parallelismSpec" in camel_spec and "joinOn" in camel_spec["input"]["join"][0]["pfs"]
    assert camel_spec["transform"]["env"] == {"my_var": "1", "otherVar": "2"}  # data, as is
    assert parse_spec(camel_spec) == parse_spec(SNAKE)
    assert spec_to_dict(parse_spec(camel_spec)) == spec_to_dict(parse_spec(SNAKE))
    assert parse_spec(SNAKE).transform.env == {"my_var": "1", "otherVar": "2"}


def _snake_fields(model: type, seen: set[type]) -> set[str]:
    """Every field name with an underscore, in every model reachable from ``model``."""
    from pydantic import BaseModel

    from jupyter_pipes.pipeline.spec.compat import _submodel

    out: set[str] = set()
    if model in seen:
        return out
    seen.add(model)
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        out |= {name} if "_" in name else set()
        _, sub = _submodel(info.annotation)
        if sub is not None and issubclass(sub, BaseModel):
            out |= _snake_fields(sub, seen)
    return out


def test_every_snake_case_field_is_covered_by_the_spelling_test() -> None:
    covered = {k for k in json.dumps(SNAKE).replace('"', " ").split() if "_" in k}
    assert _snake_fields(PipelineSpec, set()) - covered - {"metrics"} == set()


def test_both_spellings_of_one_field_are_refused() -> None:
    err = invalid({**BASE, "datum_tries": 2, "datumTries": 3})
    assert err.message == "datumTries: 'datum_tries' and 'datumTries' are one field: give one"


def test_errors_name_fields_as_written() -> None:
    err = invalid({**BASE, "parallelismSpec": {"constant": 0}})
    assert err.fields["field"] == "parallelismSpec.constant"
    assert err.message.startswith("parallelismSpec.constant: input should be greater than")
    inp = {"join": [{"pfs": {"repo": "a", "glob": "/*", "joinOn": "$1"}}, {"pfs": {"repo": "b"}}]}
    err = invalid({**BASE, "input": inp})
    assert err.fields["field"] == "input.join[0].pfs.joinOn"
    assert invalid({**BASE, "outputBranchh": "x"}).message == "unknown field 'outputBranchh'"


def test_only_exact_json_names_are_accepted() -> None:
    assert snake_case("joinOn") == "join_on" and snake_case("s3Out") == "s3_out"
    for wrong in ("JoinOn", "join-on", "joinon"):
        err = invalid({**BASE, "input": {"pfs": {"repo": "a", wrong: "$1"}}})
        assert err.message == f"unknown field 'input.pfs.{wrong}'"


def test_protojson_numbers_may_be_quoted() -> None:
    s = parse_spec({**BASE, "parallelism_spec": {"constant": "2"}, "datum_tries": "4",
                    "resource_requests": {"cpu": "1.5", "gpu": {"number": "1"}}})  # fmt: skip
    assert s.parallelism_spec is not None and s.parallelism_spec.constant == 2
    assert s.datum_tries == 4 and s.resource_requests is not None
    assert s.resource_requests.cpu == 1.5 and s.resource_requests.gpu is not None


# --- Several specs a file ----------------------------------------------------------------------

A = {**BASE, "pipeline": {"name": "a"}}
B = {**BASE, "pipeline": {"name": "b"}, "input": {"pfs": {"repo": "a"}}}
C = {**BASE, "pipeline": {"name": "c"}, "input": {"pfs": {"repo": "b"}}}


@pytest.mark.parametrize(
    "text",
    [
        "\n---\n".join(json.dumps(s) for s in (A, B, C)),  # YAML documents of JSON
        "\n".join(json.dumps(s, indent=2) for s in (A, B, C)),  # JSON objects in sequence
        json.dumps([A, B, C]),  # a JSON array
        "".join(json.dumps(s) for s in (A, B, C)),  # objects back to back
        "\n".join(json.dumps(s, indent="\t") for s in (A, B, C)),  # tabs (PyYAML refuses)
        "pipeline: {name: a}\ninput: {pfs: {repo: data, glob: /*}}\ntransform: {cmd: [sh]}\n"
        "---\npipeline: {name: b}\ninput: {pfs: {repo: a}}\ntransform: {cmd: [sh]}\n---\n"
        "pipeline: {name: c}\ninput: {pfs: {repo: b}}\ntransform: {cmd: [sh]}\n---\n",
        "- pipeline: {name: a}\n  input: {pfs: {repo: data, glob: /*}}\n  transform: {cmd: [sh]}\n"
        "- pipeline: {name: b}\n  input: {pfs: {repo: a}}\n  transform: {cmd: [sh]}\n"
        "- pipeline: {name: c}\n  input: {pfs: {repo: b}}\n  transform: {cmd: [sh]}\n",
    ],
    ids=["yaml-docs-of-json", "json-sequence", "json-array", "json-back-to-back", "json-tabs",
         "yaml-docs", "yaml-list"],
)  # fmt: skip
def test_several_specs_in_one_file_come_in_order(text: str) -> None:
    assert [s.name for s in parse_specs(text)] == ["a", "b", "c"]
    assert [s.name for s in parse_specs(text.encode())] == ["a", "b", "c"]
    with pytest.raises(InvalidArgument, match="expected one spec, found 3"):
        parse_spec(text)


def test_a_bad_spec_among_several_is_named_by_its_place() -> None:
    bad = {**B, "datum_tries": 0}
    err = invalid("\n".join(json.dumps(s) for s in (A, bad, C)))
    assert err.message.startswith("spec 2 of 3 ('b'): datum_tries: input should be greater")
    assert err.fields["document"] == 1 and err.fields["field"] == "datum_tries"
    err = invalid("pipeline: {name: a}\n---\n- x\n")
    assert err.message == "spec 2 of 2: a spec is a mapping (YAML/JSON object), not str"


# --- Fields that only configure Kubernetes -------------------------------------------------------

K8S_VALUES: dict[str, Any] = {
    "autoscaling": True, "scheduling_spec": {"node_selector": {"a": "b"}}, "pod_spec": "{}",
    "pod_patch": "[]", "tolerations": [{"key": "k"}], "service_account": "sa",
    "sidecar_resource_limits": {"cpu": 1}, "sidecar_resource_requests": {"cpu": 1},
    "metadata": {"labels": {"a": "b"}}, "maximum_expected_uptime": "1h", "standby": True,
    "cache_size": "64M", "max_queue_size": 1, "enable_stats": True,
    "datum_set_spec": {"number": 2}, "update": True, "reprocess": True, "dry_run": True,
    "spec_commit": {"id": "x"}, "image": "python:3", "image_pull_secrets": ["s"],
    "user": "root", "dockerfile": "Dockerfile", "memory_volume": True, "debug": True,
}  # fmt: skip
IGNORED_CASES = [(model, f) for model, fields in IGNORED.items() for f in fields]


def test_the_ignored_table_is_covered() -> None:
    assert {f for _, f in IGNORED_CASES} == set(K8S_VALUES)


@pytest.mark.parametrize(("model", "field"), IGNORED_CASES, ids=[f for _, f in IGNORED_CASES])
@pytest.mark.parametrize("spelling", ["snake", "camel"])
def test_each_kubernetes_only_field_is_accepted_and_named_once(
    model: str, field: str, spelling: str
) -> None:
    key = field if spelling == "snake" else camel({field: 0}).popitem()[0]
    data = json.loads(json.dumps(BASE))
    (data["transform"] if model == "Transform" else data)[key] = K8S_VALUES[field]
    (loaded,) = load_specs(data)
    path = f"transform.{key}" if model == "Transform" else key
    assert [i.path for i in loaded.ignored] == [path]
    note = ignored_note(loaded.ignored)
    assert note is not None and note.startswith(f"ignored: {path} (")
    if field == "image":  # kept for the sandbox's image stand-in, reported all the same
        assert loaded.spec.transform.image == K8S_VALUES["image"]
        return
    assert loaded.spec == parse_spec(BASE)  # nothing of it reaches the spec
    assert load_specs(spec_to_dict(loaded.spec))[0].ignored == ()  # so never reported again


def test_zero_values_are_dropped_silently() -> None:
    (loaded,) = load_specs({**BASE, "autoscaling": False, "s3_out": False,
                            "transform": {"cmd": ["sh"], "image": "", "secrets": []}})  # fmt: skip
    assert loaded.ignored == () and loaded.spec == parse_spec(BASE)


# --- Features that do not exist here -----------------------------------------------------------

UNSUPPORTED_VALUES: dict[str, Any] = {
    "spout": {}, "service": {"internal_port": 8888}, "egress": {"URL": "s3://b"},
    "tf_job": {"tf_job": "{}"}, "s3_out": True, "determined": {"workspaces": ["w"]},
    "secrets": [{"name": "s", "env_var": "X", "key": "k"}],
    "datum_batching": True, "s3": True,
    "commit": "abc", "reference": True,
    "propagation_spec": {"never": True},
}  # fmt: skip
UNSUPPORTED_CASES = [(m, f) for m, fields in UNSUPPORTED.items() for f in fields]


def _place(data: dict[str, Any], model: str, key: str, value: Any) -> str:
    if model == "Transform":
        data["transform"][key] = value
        return f"transform.{key}"
    if model == "CronInput":
        data["input"] = {"cron": {"name": "tick", "spec": "@daily", key: value}}
        return f"input.cron.{key}"
    if model == "PfsInput":
        data["input"]["pfs"][key] = value
        return f"input.pfs.{key}"
    data[key] = value
    return key


def test_the_unsupported_table_is_covered() -> None:
    assert {f for _, f in UNSUPPORTED_CASES} == set(UNSUPPORTED_VALUES)


@pytest.mark.parametrize(("model", "field"), UNSUPPORTED_CASES,
                         ids=[f for _, f in UNSUPPORTED_CASES])  # fmt: skip
def test_each_unsupported_feature_is_refused_naming_it_first(model: str, field: str) -> None:
    data = json.loads(json.dumps(BASE))
    path = _place(data, model, field, UNSUPPORTED_VALUES[field])
    err = invalid(data)
    assert err.message.startswith(f"{path}: ") and err.fields["field"] == path
    assert "not supported" in err.message


def test_a_spout_without_input_is_refused_as_a_spout() -> None:
    spout = {"pipeline": {"name": "s"}, "spout": {}, "transform": {"cmd": ["sh"]}}
    assert invalid(spout).message.startswith("spout: spout pipelines are not supported")
    service = {**BASE, "service": {"externalPort": 30088, "internalPort": 8888}}
    assert invalid(service).message.startswith("service: service pipelines are not supported")


def test_project_default_is_accepted_and_others_refused() -> None:
    ok = {**BASE, "pipeline": {"name": "p", "project": {"name": "default"}},
          "input": {"cross": [{"pfs": {"repo": "a", "project": "default"}},
                              {"pfs": {"repo": "b", "project": ""}}]}}  # fmt: skip
    assert parse_spec(ok).input_repos() == [("a", "master"), ("b", "master")]
    assert load_specs(ok)[0].ignored == ()
    err = invalid({**BASE, "input": {"pfs": {"repo": "a", "project": "Multi-Project-A"}}})
    assert err.message.startswith("input.pfs.project: projects are not supported")
    err = invalid({**BASE, "pipeline": {"name": "p", "project": {"name": "other"}}})
    assert err.fields["field"] == "pipeline.project"
    err = invalid({**BASE, "input": {"pfs": {"repo": "a", "repoType": "spec"}}})
    assert err.message == "input.pfs.repoType: only 'user' repos can be inputs"


# --- Quantities and bounds (#19) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("256MB", 256 * 10**6), ("1Gi", 2**30), ("4.0G", 4 * 10**9), ("500m", 1),
     ("10GiB", 10 * 2**30), ("2KB", 2000), ("100B", 100), ("1e3", 1000), ("1E", 10**18)],
)  # fmt: skip
def test_kubernetes_quantities(text: str, size: int) -> None:
    assert parse_quantity(text) == size


@pytest.mark.parametrize(("cpu", "cores"), [("500m", 0.5), (2, 2.0), ("1.5", 1.5), (0.25, 0.25)])
def test_cpu_as_cores_or_quantity(cpu: Any, cores: float) -> None:
    s = parse_spec({**BASE, "resource_requests": {"cpu": cpu}})
    assert s.resource_requests is not None and s.resource_requests.cpu == cores


BOUNDS: list[tuple[str, dict[str, Any], str, str]] = [
    ("datum_tries 1e23", {"datum_tries": 1e23}, "datum_tries", "less than or equal to 100"),
    ("datum_tries huge string", {"datum_tries": "99999999999"}, "datum_tries", "less than"),
    ("cpu inf", {"resource_requests": {"cpu": math.inf}}, "resource_requests.cpu",
     "invalid cpu inf"),
    ("cpu nan", {"resource_requests": {"cpu": math.nan}}, "resource_requests.cpu", "invalid cpu"),
    ("cpu too many", {"resource_limits": {"cpu": 1e6}}, "resource_limits.cpu",
     "more than 4096 cores"),
    ("cpu bool", {"resource_requests": {"cpu": True}}, "resource_requests.cpu", "valid number"),
    ("memory too large", {"resource_requests": {"memory": "2Ei"}}, "resource_requests.memory",
     "larger than 1Ei"),
    ("memory exponent", {"resource_requests": {"memory": "1e400"}}, "resource_requests.memory",
     "too large"),
    ("gpus", {"resource_requests": {"gpu": {"number": 10**6}}}, "resource_requests.gpu.number",
     "less than or equal to 1024"),
    ("parallelism", {"parallelism_spec": {"constant": 10**9}}, "parallelism_spec.constant",
     "less than or equal to 10000"),
    ("timeout 1e20 hours", {"job_timeout": "100000000000000000000h"}, "job_timeout",
     "longer than a year"),
    ("datum timeout", {"datum_timeout": "8785h"}, "datum_timeout", "longer than a year"),
    ("NUL in env", {"transform": {"cmd": ["sh"], "env": {"A": "x\x00y"}}}, "transform.env.A",
     "control character '\\x00' at offset 1"),
    ("escape in env", {"transform": {"cmd": ["sh"], "env": {"A": "\x1b[31m"}}},
     "transform.env.A", "control character"),
    ("long env", {"transform": {"cmd": ["sh"], "env": {"A": "x" * (128 * 1024 + 1)}}},
     "transform.env.A", "longer than 128 KiB"),
    ("metrics path", {"metrics": ["../x"]}, "metrics.0", "not a file path in the output"),
    ("metrics twice", {"metrics": ["/m.json", "m.json"]}, "metrics.1", "listed twice"),
    ("serve branch", {"serve": {"notebook": "s.py", "branch": "a b"}}, "serve.branch",
     "invalid branch name"),
    ("serve port", {"serve": {"notebook": "s.py", "port": 70000}}, "serve.port", "65535"),
    ("serve notebook", {"serve": {"notebook": "s.txt"}}, "serve.notebook", ".ipynb or .py"),
    ("serve window", {"serve": {"notebook": "s.py", "log_window": "1y"}}, "serve.log_window",
     "invalid duration"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "field", "fragment"), [b[1:] for b in BOUNDS],
                         ids=[b[0] for b in BOUNDS])  # fmt: skip
def test_numbers_and_values_are_bounded_at_validation(
    changes: dict[str, Any], field: str, fragment: str
) -> None:
    err = invalid({**BASE, **changes})
    assert err.fields["field"] == field and fragment in err.message
    assert err.message.startswith(f"{field}: ")


def test_tabs_and_newlines_are_fine_in_env_values() -> None:
    s = parse_spec({**BASE, "transform": {"cmd": ["sh"], "env": {"A": "a\tb\nc"}}})
    assert s.transform.env == {"A": "a\tb\nc"}


def test_metrics_and_serve() -> None:
    s = parse_spec({**BASE, "metrics": ["metrics.json", "/eval/scores.json"],
                    "serve": {"notebook": "s.ipynb", "branch": "prod", "threads": 2}})  # fmt: skip
    assert s.metrics == ["/metrics.json", "/eval/scores.json"]
    assert s.serve is not None and s.serve.branch == "prod"
    d = spec_to_dict(s)
    want = {"notebook": "s.ipynb", "branch": "prod", "host": "127.0.0.1", "port": 0, "threads": 2}
    assert d["serve"] == {**want, "log_window": "10s"}
    assert parse_spec(d) == s
    assert parse_spec(camel({**BASE, "metrics": ["m.json"]})).metrics == ["/m.json"]


def test_text_size_is_limited(tmp_path: Any) -> None:
    big = json.dumps({**BASE, "description": "x" * LIMITS["spec_bytes"]})
    assert "larger than 1 MiB" in invalid(big).message
    path = tmp_path / "big.json"
    path.write_text(big)
    err = invalid(path)
    assert "larger than 1 MiB" in err.message and str(tmp_path) not in err.message


@pytest.mark.parametrize("levels", [65, 5000, 400_000])
def test_nesting_depth_is_limited_in_yaml_and_json(levels: int) -> None:
    """#19: deeply nested YAML gave RecursionError tracebacks."""
    deep_yaml = "pipeline: {name: p}\ndescription: " + "[" * levels + "]" * levels + "\n"
    deep_block = "pipeline: {name: p}\nx:\n" + "".join(f"{' ' * i}- \n" for i in range(90))
    deep_json = '{"pipeline": {"name": "p"}, "x": ' + "[" * levels + "]" * levels + "}"
    for text in (deep_yaml, deep_json, deep_block):
        assert "nested deeper than 64 levels" in invalid(text).message
    assert "nested deeper" in invalid({"x": json.loads("[" * 100 + "]" * 100)}).message


def test_sixty_four_levels_are_fine() -> None:
    nested: Any = "leaf"
    for _ in range(60):
        nested = {"k": nested}
    s = parse_spec({**BASE, "transform": {"notebook": "n.ipynb", "parameters": {"p": nested}}})
    assert s.transform.parameters["p"] is not None


def test_yaml_alias_bombs_and_recursive_aliases_are_refused() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    bomb = "pipeline: {name: p}\n" + "\n".join(lines) + "\n"
    assert "more than 100,000 values" in invalid(bomb).message
    assert "contains itself" in invalid("pipeline: &a {name: p, x: *a}\n").message


def test_the_dry_run_input_path_raises_the_projects_error() -> None:
    twice = {"pfs": {"repo": "L", "glob": "/(*)", "joinOn": "$1"}}
    inp = parse_input({"join": [twice, twice]})
    assert [c.pfs.join_on for c in inp.children if c.pfs] == ["$1", "$1"]
    for bad, field in [
        ({"pfs": {"repo": "a", "glob": "/(*"}}, "input.pfs.glob"),
        ({"pfs": {"repo": "a", "globb": "/"}}, "input.pfs.globb"),
        ({"cross": {"pfs": {"repo": "a"}}}, "input.cross"),
        ({"pfs": {"repo": "a", "s3": True}}, "input.pfs.s3"),
        ([1], "input"),
    ]:
        with pytest.raises(InvalidArgument) as info:
            parse_input(bad)
        assert info.value.fields["field"] == field and info.value.__cause__ is None
