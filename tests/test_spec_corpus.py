"""The spec corpus (#13): every committed spec file reads as tests/data/specs/EXPECTED.json
says; and, when JUPYTER_PIPES_PACHYDERM_REPO names a Pachyderm checkout (or its git directory),
every real spec of its examples and console test DAGs, in every release, is accepted or refused
naming an unsupported feature (see scripts/spec_corpus.py for the per-file report)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.spec import load_specs

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "tests" / "data" / "specs"
EXPECTED: dict[str, Any] = json.loads((SPECS / "EXPECTED.json").read_text())
REPO_ENV = "JUPYTER_PIPES_PACHYDERM_REPO"
# Refusals of real specs that are not about a missing feature: Pachyderm refuses them too.
INVALID_IN_PACHYDERM_TOO = {
    "resource_limits.gpu",  # "gpu": 1 where GPUSpec is an object (protojson refuses it)
    "pipeline.name",  # "$PIPELINE_NAME": a template for envsubst, not a spec
}


def corpus_script() -> ModuleType:
    path = ROOT / "scripts" / "spec_corpus.py"
    spec = importlib.util.spec_from_file_location("spec_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["spec_corpus"] = module
    spec.loader.exec_module(module)
    return module


def test_every_committed_spec_file_is_listed() -> None:
    files = {p.name for p in SPECS.iterdir() if p.name != "EXPECTED.json"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_spec_files(name: str) -> None:
    expected = EXPECTED[name]
    if "refused" in expected:
        with pytest.raises(InvalidArgument) as info:
            load_specs(SPECS / name)
        err = info.value
        assert err.fields["field"] == expected["refused"]["field"]
        assert expected["refused"]["fragment"] in err.message
        assert err.__cause__ is None
        return
    loaded = load_specs(SPECS / name)
    assert [(s.spec.name, [i.path for i in s.ignored]) for s in loaded] == [
        (s["name"], s["ignored"]) for s in expected["accepted"]
    ]


def test_the_corpus_script_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    script = corpus_script()
    assert script.main([str(SPECS), "--all-dirs"]) == 0
    out = capsys.readouterr().out.splitlines()
    refused = sum("refused" in e for e in EXPECTED.values())
    accepted = len(EXPECTED) - refused
    pipelines = sum(len(e.get("accepted", [])) for e in EXPECTED.values())
    assert f"{len(EXPECTED)} spec files: {accepted} accepted ({pipelines} pipelines), " \
        f"{refused} refused" in out  # fmt: skip
    assert "accepted  edges.json: edges  (ignored: transform.image)" in out


@pytest.fixture(scope="module")
def real_corpus() -> list[Any]:
    root = os.environ.get(REPO_ENV)
    if not root:
        pytest.skip(f"set {REPO_ENV} to a Pachyderm checkout or git directory to read its specs")
    files = corpus_script().collect(root)
    assert files, f"no spec files under {root}"
    return list(files)


def test_real_pachyderm_specs_are_accepted_or_refused_naming_a_missing_feature(
    real_corpus: list[Any],
) -> None:
    script = corpus_script()
    outcomes = [(f, script.check(f.text)) for f in real_corpus]
    unexplained = [
        f"{f.path}@{f.version}: {o.message}"
        for f, o in outcomes
        if not o.accepted
        and "not supported" not in o.message
        and o.reason not in INVALID_IN_PACHYDERM_TOO
    ]
    assert unexplained == []
    accepted = sum(o.accepted for _, o in outcomes)
    print(f"\n{len(outcomes)} real spec files, {accepted} accepted")  # shown with -s
    assert accepted >= 107  # 107 of 143 at Pachyderm's e237475 (v2.0.0 .. v2.11.6, HEAD)
