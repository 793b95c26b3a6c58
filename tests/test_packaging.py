"""The version is written once (labextension/package.json) and the package ships ``py.typed``."""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path

import jupyter_pipes

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_for_the_python_package_and_the_sidebar() -> None:
    package_json = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert jupyter_pipes.__version__ == metadata.version("jupyter_pipes")
    assert jupyter_pipes.__version__ == package_json["version"]
    # The sidebar bundles package.json's version instead of writing its own.
    pipes_ts = (ROOT / "labextension" / "src" / "model" / "pipes.ts").read_text()
    assert package_json["version"] not in pipes_ts


def test_the_package_is_marked_typed() -> None:
    assert resources.files("jupyter_pipes").joinpath("py.typed").is_file()
