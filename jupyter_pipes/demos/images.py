"""The ``images`` example: one datum per image, edge detection with Pillow, incremental.

A few small PNGs are drawn here with Pillow (no download) into repo ``images``; pipeline
``edges`` (``edges.ipynb``, glob ``/*``: one datum per image) runs Pillow's
``ImageFilter.FIND_EDGES`` on each. Steps: (a) four images, (b) the pipeline: four datums, run in
parallel on the local Dask cluster, (c) one more image: 1 processed, 4 skipped (reused),
(d) one image deleted: nothing runs, and its edges leave the output commit.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from ..client import Client
from ..errors import InvalidArgument
from .common import DEMO_FILES, DemoReport, Run, expect_counts, job_line, short

NAME = "images"
FILES = DEMO_FILES / NAME
PIPELINES = ("edges",)
REPOS = ("images",)
SHAPES = ("circle", "square", "triangle", "star", "rings")


def image(shape: str, size: int = 96) -> bytes:
    """A PNG of a filled ``shape`` (one of :data:`SHAPES`) on a plain background."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as e:
        raise InvalidArgument("the images example needs Pillow: pip install Pillow") from e
    img = Image.new("RGB", (size, size), (235, 240, 250))
    d = ImageDraw.Draw(img)
    m, c = size // 6, size // 2
    colour = (40, 90, 160)
    if shape == "circle":
        d.ellipse([m, m, size - m, size - m], fill=colour)
    elif shape == "square":
        d.rectangle([m, m, size - m, size - m], fill=colour)
    elif shape == "triangle":
        d.polygon([(c, m), (size - m, size - m), (m, size - m)], fill=colour)
    elif shape == "star":
        radii = [c - m, (c - m) * 0.45] * 5
        d.polygon(
            [
                (c + r * math.sin(k * math.pi / 5), c - r * math.cos(k * math.pi / 5))
                for k, r in enumerate(radii)
            ],
            fill=colour,
        )
    elif shape == "rings":
        for k, r in enumerate(range(c - m, 4, -8)):
            d.ellipse([c - r, c - r, c + r, c + r], fill=colour if k % 2 == 0 else (235, 240, 250))
    else:
        raise InvalidArgument(f"unknown shape {shape!r}")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def run(client: Client, out: Callable[[str], None], fresh: bool) -> DemoReport:
    """Run the images example on ``client``'s store (see the module docstring)."""
    r = Run(client, out, name=NAME, pipelines=PIPELINES, repos=REPOS, fresh=fresh)
    report = r.report

    def snapshot(key: str) -> None:
        report.predictions[key] = r.files("edges@master")

    out(f"jupyter pipes demo --example images: edge detection on store {client.store_url}")
    with r.step("a", "four images") as s:
        client.create_repo("images", "small generated PNGs, one datum each")
        with client.start_commit("images@master", message="four shapes") as oc:
            for shape in SHAPES[:4]:
                oc.put_file(f"/{shape}.png", image(shape))
        s.commit = oc.id
    out(
        f"(a) repo images: {', '.join(f'/{x}.png' for x in SHAPES[:4])} "
        f"(images@{short(s.commit)}) [{s.seconds:.1f} s]"
    )

    with r.step("b", "pipeline") as s:
        _, s.jobs = r.create(FILES / "edges.yaml", ["edges"])
        snapshot("b")
    (job,) = s.jobs
    busy = sum(d.duration_s for d in client.list_datum(job.id))
    report.metrics["b"] = {"datum_seconds": busy, "job_seconds": job.duration_s or 0.0}
    out(
        f"(b) created pipeline edges (edges.ipynb, glob /*: one datum per image): "
        f"{job_line(job)}\n    {busy:.1f} s of datum time in {job.duration_s or 0:.1f} s: the "
        f"datums ran in parallel on the local Dask cluster [{s.seconds:.1f} s]"
    )

    with r.step("c", "one more image") as s:
        s.commit = client.put_file(
            "images@master", "/rings.png", image("rings"), message="one more image"
        ).id
        s.jobs = r.wait(f"images@{s.commit}", ["edges"])
        snapshot("c")
    expect_counts(s.jobs[0], 1, 4)
    incremental = s.jobs[0].id
    out(
        f"(c) committed /rings.png (images@{short(s.commit)}) → only its datum ran:\n"
        f"    {job_line(s.jobs[0])} [{s.seconds:.1f} s]"
    )

    with r.step("d", "one image deleted") as s:
        s.commit = client.delete_file("images@master", "/square.png", message="drop the square").id
        s.jobs = r.wait(f"images@{s.commit}", ["edges"])
        snapshot("d")
    expect_counts(s.jobs[0], 0, 4)
    out(
        f"(d) deleted /square.png (images@{short(s.commit)}) → nothing to run, and its edges "
        f"left the output:\n    {job_line(s.jobs[0])}; edges@master holds "
        f"{', '.join(report.predictions['d'])} [{s.seconds:.1f} s]"
    )
    return r.done(
        [
            "list job -p edges",
            f"list datum {incremental}",
            "list file edges@master",
            "get file edges@master:/rings.edges.png -o rings.edges.png",
        ]
    )
