#!/usr/bin/env python3
"""Run the Pachyderm-style examples end to end on a local store.

    python examples/pachyderm/run.py [--store PATH] [opencv] [housing] [joins] [group]

Each example is a set of Pachyderm pipeline specs and scripts that hard-code Pachyderm's
contract (inputs under /pfs/<name>, results to /pfs/out, the PACH_* variables). Their
"container images" are the folders under images/: what a Dockerfile would ADD, bound into each
command's sandbox (JUPYTER_PIPES_IMAGES, set here). Prints each pipeline's job and outputs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = {
    "opencv": (["images"], ["opencv/edges.json", "opencv/montage.json"]),
    "housing": (["housing_data"], ["housing/regression.json"]),
    "joins": (["stores", "purchases"], ["joins/inner_join.json", "joins/reduce_inner.json"]),
    "group": (["stores", "purchases", "returns"], ["group/revenue.json"]),
}


def shapes(folder: Path) -> None:
    """A few small PNG pictures of shapes (the opencv example's input)."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for name, draw in {
        "circle": lambda d: d.ellipse((16, 16, 80, 80), fill="navy"),
        "square": lambda d: d.rectangle((20, 20, 76, 76), fill="darkred"),
        "triangle": lambda d: d.polygon([(48, 12), (84, 84), (12, 84)], fill="darkgreen"),
    }.items():
        img = Image.new("RGB", (96, 96), "white")
        draw(ImageDraw.Draw(img))
        img.save(folder / f"{name}.png")


def put_data(client: object, repo: str, work: Path) -> None:
    """Create an input repo and commit the example's files to it."""
    sources = {
        "images": work / "images",
        "housing_data": HERE / "housing" / "data",
        "stores": HERE / "shop" / "stores",
        "purchases": HERE / "shop" / "purchases",
        "returns": HERE / "shop" / "returns",
    }
    if repo == "images":
        shapes(sources["images"])
    client.create_repo(repo, exist_ok=True)  # type: ignore[attr-defined]
    client.put_file(f"{repo}@master", "/", sources[repo])  # type: ignore[attr-defined]


def run(client: object, names: list[str], work: Path, out: object = print) -> dict[str, list[str]]:
    """Create each example's repos and pipelines, run the jobs; the output files by pipeline."""
    from jupyter_pipes.errors import NotFound

    os.environ.setdefault("JUPYTER_PIPES_IMAGES", str(HERE / "images"))
    done: set[str] = set()
    outputs: dict[str, list[str]] = {}
    for name in names:
        repos, specs = EXAMPLES[name]
        for repo in repos:
            if repo not in done:
                put_data(client, repo, work)
                done.add(repo)
        for spec in specs:
            info = client.create_pipeline(HERE / spec)  # type: ignore[attr-defined]
            client.run_jobs(timeout=600)  # type: ignore[attr-defined]
            for pipeline in info if isinstance(info, list) else [info]:
                job = client.list_job(pipeline.name, limit=1)[0]  # type: ignore[attr-defined]
                try:
                    files = client.list_file(f"{pipeline.name}@master", "/")  # type: ignore[attr-defined]
                except NotFound:
                    files = []
                outputs[pipeline.name] = [f.path for f in files]
                out(f"{pipeline.name}: job {job.state}, {job.processed} datums processed, "  # type: ignore[operator]
                    f"outputs {', '.join(outputs[pipeline.name]) or '(none)'}")
                if job.error:
                    out(f"  error: {job.error}")  # type: ignore[operator]
    return outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", nargs="*", choices=[*EXAMPLES, []], default=list(EXAMPLES))
    parser.add_argument("--store", default=".pipes-pachyderm", help="the store (default %(default)s)")
    args = parser.parse_args()
    os.environ.setdefault("JUPYTER_PIPES_IMAGES", str(HERE / "images"))
    from jupyter_pipes import Client

    with Client(args.store) as client:
        run(client, args.examples or list(EXAMPLES), Path(args.store) / "work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
