"""Pachyderm-style examples end to end (#13): scripts that hard-code /pfs/<input>, /pfs/out and
the PACH_* variables run unchanged, with their specs unchanged.

- ``examples/pachyderm`` (ours): edges + montage, a housing-like regression, a join, a group;
  their "images" are local stand-in folders (see jupyter_pipes.pipeline.sandbox).
- With ``JUPYTER_PIPES_PACHYDERM_REPO`` set to a Pachyderm checkout or git directory, its own
  opencv, housing-prices, joins and group examples run from there: specs and scripts as they are
  (``import cv2`` becomes a Pillow stand-in only when OpenCV is missing, and ImageMagick's
  ``montage`` a Pillow one when it is missing); input data is generated where the example
  downloads it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline.sandbox import namespaces_unavailable

pytest.importorskip("PIL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(namespaces_unavailable() is not None,
                       reason=f"/pfs needs namespaces: {namespaces_unavailable()}"),
]  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "pachyderm"
REPO_ENV = "JUPYTER_PIPES_PACHYDERM_REPO"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins under tmp_path/images; `python` and `python3` are this interpreter."""
    images = tmp_path / "images"
    images.mkdir()
    monkeypatch.setenv("JUPYTER_PIPES_IMAGES", str(images))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):  # a script, not a symlink: the venv must be found
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return images


@pytest.fixture
def client(tmp_path: Path, env: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def runner() -> Any:
    spec = importlib.util.spec_from_file_location("pachyderm_examples", EXAMPLES / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_our_pachyderm_style_examples(client: Client, env: Path, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    shutil.rmtree(env)
    shutil.copytree(EXAMPLES / "images", env)
    lines: list[str] = []
    outputs = runner().run(client, ["opencv", "housing", "joins", "group"], tmp_path / "work",
                           lines.append)  # fmt: skip
    assert all(" job success," in line for line in lines if " job " in line), lines
    assert outputs["edges"] == ["/circle.png", "/square.png", "/triangle.png"]
    assert outputs["montage"] == ["/montage.png"]
    assert sorted(outputs["regression"]) == [
        f"/housing-{k}.{kind}" for k in (1, 2) for kind in ("fit.png", "model.pkl", "scores.json")
    ]
    scores = json.loads(client.get_file("regression@master", "/housing-2.scores.json"))
    assert scores["rows"] == 80 and scores["r2"] > 0.5
    assert outputs["inner_join"] == ["/94105/", "/94107/"]
    assert outputs["reduce_inner"] == ["/94105.txt", "/94107.txt"]
    text = client.get_file("reduce_inner@master", "/94107.txt").decode()
    assert text.startswith("Purchase at store 2 - Harbor") and "ORDER|1003" in text
    assert outputs["revenue"] == ["/1.txt", "/2.txt", "/3.txt"]
    assert client.get_file("revenue@master", "/2.txt").startswith(b"ORDER_AMOUNT|")


# --- Pachyderm's own examples ----------------------------------------------------------------

PILLOW_CV2 = '''"""The OpenCV calls of Pachyderm's edges.py, with Pillow (no OpenCV here)."""
import numpy as np
from PIL import Image, ImageFilter


def imread(path):
    return np.asarray(Image.open(path).convert("RGB"))


def Canny(img, low, high):
    grey = Image.fromarray(np.asarray(img, dtype=np.uint8)).convert("L")
    edges = np.asarray(grey.filter(ImageFilter.FIND_EDGES))
    return np.where(edges > low / 4, 255, 0).astype(np.uint8)
'''
PILLOW_MONTAGE = '''#!PYTHON
"""ImageMagick's montage for Pachyderm's montage pipeline (ImageMagick is not installed)."""
import sys
from PIL import Image

args, files, skip = sys.argv[1:], [], 0
for i, a in enumerate(args):
    if skip:
        skip -= 1
    elif a in ("-background", "-geometry"):
        skip = 1
    elif not a.startswith("-"):
        files.append(a)
*sources, target = files
sheet = Image.new("RGB", (304 * len(sources), 304), "skyblue")
for i, p in enumerate(sources):
    sheet.paste(Image.open(p).convert("RGB").resize((300, 300)), (304 * i + 2, 2))
sheet.save(target)
'''


class Checkout:
    """Files of a Pachyderm checkout (a folder) or git directory (read at HEAD)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.git = (self.root / "HEAD").is_file() and (self.root / "objects").is_dir()

    def read(self, path: str) -> bytes:
        if self.git:
            return subprocess.run(["git", f"--git-dir={self.root}", "show", f"HEAD:{path}"],
                                  capture_output=True, check=True).stdout  # fmt: skip
        return (self.root / path).read_bytes()


@pytest.fixture
def checkout() -> Checkout:
    root = os.environ.get(REPO_ENV)
    if not root:
        pytest.skip(f"set {REPO_ENV} to a Pachyderm checkout or git directory")
    return Checkout(root)


def stand_in(images: Path, image: str, files: dict[str, bytes], workdir: str | None = None,
             bins: dict[str, str] | None = None) -> None:  # fmt: skip
    """A local stand-in of a Pachyderm example's image: what its Dockerfile ADDs."""
    name, _, tag = image.rpartition(":")
    folder = images / name / tag
    for path, data in files.items():
        target = folder / "rootfs" / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if workdir:
        (folder / "workdir").write_text(workdir)
    for prog, text in (bins or {}).items():
        (folder / "bin").mkdir(parents=True, exist_ok=True)
        (folder / "bin" / prog).write_text(text.replace("PYTHON", sys.executable))
        (folder / "bin" / prog).chmod(0o755)


def create(client: Client, checkout: Checkout, path: str) -> str:
    """Create a pipeline from the example's spec file as it is; its name."""
    info = client.create_pipeline(checkout.read(path))
    assert not isinstance(info, list)
    return info.name


def last_job(client: Client, pipeline: str) -> Any:
    client.run_jobs(timeout=600)
    job = client.list_job(pipeline, limit=1)[0]
    assert job.state == "success", (job.error, client.get_logs(job.id))
    return job


def test_pachyderm_opencv_edges_and_montage(client: Client, checkout: Checkout, env: Path,
                                            tmp_path: Path) -> None:  # fmt: skip
    pytest.importorskip("matplotlib")
    edges = checkout.read("examples/opencv/edges.py")
    files = {"/edges.py": edges}
    if importlib.util.find_spec("cv2") is None:  # only that import changes
        assert edges.count(b"import cv2\n") == 1
        files["/edges.py"] = edges.replace(b"import cv2\n", b"import pillow_cv2 as cv2\n")
        files["/pillow_cv2.py"] = PILLOW_CV2.encode()
    stand_in(env, "pachyderm/opencv:1.0", files)
    if shutil.which("montage") is None:
        stand_in(env, "dpokidov/imagemagick:7.1.0-23", {}, bins={"montage": PILLOW_MONTAGE})
    runner().shapes(tmp_path / "pictures")  # images.txt downloads pictures: made here instead
    client.create_repo("images")
    client.put_file("images@master", "/", tmp_path / "pictures")
    create(client, checkout, "examples/opencv/edges.pipeline.json")
    job = last_job(client, "edges")
    assert job.processed == 3
    assert [f.path for f in client.list_file("edges@master")] == [
        "/circle.png", "/square.png", "/triangle.png"
    ]  # fmt: skip
    create(client, checkout, "examples/opencv/montage.pipeline.json")
    last_job(client, "montage")
    assert client.get_file("montage@master", "/montage.png").startswith(b"\x89PNG")


def test_pachyderm_housing_prices(client: Client, checkout: Checkout, env: Path) -> None:
    for module in ("seaborn", "sklearn", "matplotlib", "pandas", "joblib"):
        pytest.importorskip(module)
    base = "examples/ml/housing-prices/"
    stand_in(env, "pachyderm/housing-prices:1.11.0", {
        "/workdir/regression.py": checkout.read(base + "regression.py"),
        "/workdir/utils.py": checkout.read(base + "utils.py"),
    }, workdir="/workdir")  # fmt: skip
    client.create_repo("housing_data")
    data = checkout.read(base + "data/housing-simplified-1.csv")
    client.put_file("housing_data@master", "/housing-simplified.csv", data)
    create(client, checkout, base + "regression.pipeline.json")
    last_job(client, "regression")
    assert {f.path for f in client.list_file("regression@master")} >= {
        "/housing-simplified_model.sav", "/housing-simplified_cv_reg_output.png",
    }  # fmt: skip


def shop_stand_in(env: Path, checkout: Checkout) -> None:
    stand_in(env, "pachyderm/example-joins-inner-outer:2.1.0", {
        "/app/inner/main.py": checkout.read("examples/joins/src/inner/main.py"),
        "/app/outer/main.py": checkout.read("examples/joins/src/outer/main.py"),
    }, workdir="/app")  # fmt: skip


def shop_data(client: Client, *repos: str) -> None:
    for repo in repos:
        client.create_repo(repo)
        client.put_file(f"{repo}@master", "/", EXAMPLES / "shop" / repo)


def test_pachyderm_inner_join(client: Client, checkout: Checkout, env: Path) -> None:
    shop_stand_in(env, checkout)
    shop_data(client, "stores", "purchases")
    create(client, checkout, "examples/joins/pipelines/inner/inner_join.pipeline.json")
    job = last_job(client, "inner_join")
    assert job.processed == 6  # one datum per purchase, joined with its store
    assert [f.path for f in client.list_file("inner_join@master")] == ["/94105/", "/94107/"]
    create(client, checkout, "examples/joins/pipelines/inner/reduce_inner.pipeline.json")
    last_job(client, "reduce_inner")
    assert [f.path for f in client.list_file("reduce_inner@master")] == [
        "/94105.txt", "/94107.txt"
    ]  # fmt: skip


def test_pachyderm_group(client: Client, checkout: Checkout, env: Path) -> None:
    image = json.loads(checkout.read("examples/group/pipelines/retail/retail_group.pipeline.json"))
    stand_in(env, image["transform"]["image"], {
        "/app/main.py": checkout.read("examples/group/src/main.py"),
    }, workdir="/app")  # fmt: skip
    shop_data(client, "stores", "purchases", "returns")
    create(client, checkout, "examples/group/pipelines/retail/retail_group.pipeline.json")
    name = image["pipeline"]["name"]
    job = last_job(client, name)
    assert job.processed == 3  # one datum per store id
    assert [f.path for f in client.list_file(f"{name}@master")] == ["/1.txt", "/2.txt", "/3.txt"]
    assert b"NET_AMOUNT|" in client.get_file(f"{name}@master", "/3.txt")
