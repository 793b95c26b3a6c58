#!/usr/bin/env python3
"""Read every real Pachyderm pipeline spec under PATH with jupyter_pipes, and say what happens.

    python scripts/spec_corpus.py PATH [--ref REF ...] [--dir DIR ...] [--all-dirs] [--json]

PATH is a Pachyderm checkout (a folder) or its git directory (a bare repository such as the
one the library's ``fetch`` gives, or a checkout with ``.git``). In a git directory every
release tag ``v2.X.Y`` and ``HEAD`` are read (each distinct file content once, named by the
first version that has it) unless ``--ref`` names the versions. Spec files are the
``.json``/``.yaml``/``.yml`` files under ``examples/`` and ``console/`` (its test DAGs and
fixtures; ``--dir`` to choose, ``--all-dirs`` for the whole tree) that hold a mapping with a
``pipeline`` key, or look as if they do when they do not parse.

Prints, per file, ``accepted`` with the pipelines and the fields ignored, or ``refused`` with
the reason (the error message); then the totals and the refusals grouped by field. Nothing of
Pachyderm's is copied anywhere: files are read from PATH and only reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIRS = ("examples", "console")
_SUFFIX = re.compile(r"\.(json|ya?ml)$")
_TAG = re.compile(r"v2\.[0-9]+\.[0-9]+")
_LOOKS = re.compile(r'"pipeline"\s*:\s*\{|^pipeline:\s*(\{|$)', re.MULTILINE)


@dataclass(frozen=True)
class SpecFile:
    """One distinct spec file: where it is, the first version that has it, its text."""

    path: str
    version: str
    text: str


@dataclass
class Outcome:
    """What jupyter_pipes does with one file."""

    accepted: bool
    names: list[str] = field(default_factory=list)
    ignored: list[list[str]] = field(default_factory=list)
    message: str = ""

    @property
    def reason(self) -> str:
        """The field a refusal names, indices dropped (``input.cross[1].cron`` -> ``input.cron``),
        prefixed ``spec N of M`` dropped too."""
        message = re.sub(r"^spec \d+ of \d+( \('[^']*'\))?: ", "", self.message)
        head = message.split(": ", 1)[0] if ": " in message else message
        if head.startswith("unknown field"):
            return "unknown field"
        return re.sub(r"\[\d+\]", "", head)


def is_spec(text: str) -> bool:
    """Whether a file holds a pipeline spec (or looks as if it does, when it does not parse)."""
    try:
        docs: list[Any] = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        try:
            docs = [json.loads(text)]
        except ValueError:
            return _LOOKS.search(text) is not None
    items = [x for d in docs for x in (d if isinstance(d, list) else [d])]
    return any(isinstance(x, dict) and isinstance(x.get("pipeline"), dict) for x in items)


def check(text: str) -> Outcome:
    """Read one file's text as ``jupyter pipes create pipeline -f`` would (nothing is created)."""
    from jupyter_pipes.errors import InvalidArgument
    from jupyter_pipes.pipeline.spec import load_specs

    try:
        loaded = load_specs(text)
    except InvalidArgument as exc:
        return Outcome(False, message=exc.message)
    return Outcome(
        True, [s.spec.name for s in loaded], [[i.path for i in s.ignored] for s in loaded]
    )


def collect(root: str | os.PathLike[str], refs: list[str] | None = None,
            dirs: tuple[str, ...] | None = DEFAULT_DIRS) -> list[SpecFile]:  # fmt: skip
    """The spec files under ``root`` (a folder, or a git directory: see the module docstring)."""
    root = Path(root)
    if (root / "HEAD").is_file() and (root / "objects").is_dir():
        return _from_git(root, refs, dirs)
    if (root / ".git").exists() and refs:
        return _from_git(root / ".git", refs, dirs)
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or not _wanted(rel, dirs):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if is_spec(text):
            out.append(SpecFile(rel, "", text))
    return out


def _wanted(rel: str, dirs: tuple[str, ...] | None) -> bool:
    if not _SUFFIX.search(rel) or "/node_modules/" in f"/{rel}":
        return False
    return dirs is None or rel.split("/", 1)[0] in dirs


def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=data,
                          capture_output=True, check=True).stdout  # fmt: skip


def _version_key(ref: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"[0-9]+", ref)) if ref != "HEAD" else (1 << 30,)


def _from_git(git_dir: Path, refs: list[str] | None,
              dirs: tuple[str, ...] | None) -> list[SpecFile]:  # fmt: skip
    if not refs:
        tags = [t for t in _git(git_dir, "tag").decode().split() if _TAG.fullmatch(t)]
        refs = [*sorted(tags, key=_version_key), "HEAD"]
    first: dict[str, tuple[str, str]] = {}  # blob -> (path, version)
    for ref in refs:
        for line in _git(git_dir, "ls-tree", "-r", ref).decode().splitlines():
            meta, path = line.split("\t", 1)
            _, kind, blob = meta.split()
            if kind == "blob" and _wanted(path, dirs):
                first.setdefault(blob, (path, ref))
    blobs = list(first)
    raw = _git(git_dir, "cat-file", "--batch", data="".join(b + "\n" for b in blobs).encode())
    out, pos = [], 0
    for blob in blobs:
        header_end = raw.index(b"\n", pos)
        size = int(raw[pos:header_end].split()[2])
        text = raw[header_end + 1 : header_end + 1 + size].decode("utf-8", "replace")
        pos = header_end + 1 + size + 1
        if is_spec(text):
            path, ref = first[blob]
            out.append(SpecFile(path, ref, text))
    return sorted(out, key=lambda f: (f.path, _version_key(f.version)))


def main(argv: list[str] | None = None) -> int:
    """Print the outcome of every spec file under PATH and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", metavar="PATH")
    parser.add_argument("--ref", action="append", help="a version to read (git directories)")
    parser.add_argument("--dir", action="append", help="a top-level folder to read")
    parser.add_argument("--all-dirs", action="store_true", help="read the whole tree")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    args = parser.parse_args(argv)
    dirs = None if args.all_dirs else tuple(args.dir or DEFAULT_DIRS)
    files = collect(args.path, args.ref, dirs)
    reasons: Counter[str] = Counter()
    accepted = specs = 0
    for f in files:
        outcome = check(f.text)
        where = f"{f.path}" + (f" @{f.version}" if f.version else "")
        if args.json:
            print(json.dumps({"path": f.path, "version": f.version, **asdict(outcome)}))
        elif outcome.accepted:
            ignored = sorted({p for paths in outcome.ignored for p in paths})
            note = f"  (ignored: {', '.join(ignored)})" if ignored else ""
            print(f"accepted  {where}: {', '.join(outcome.names)}{note}")
        else:
            print(f"refused   {where}: {outcome.message}")
        if outcome.accepted:
            accepted, specs = accepted + 1, specs + len(outcome.names)
        else:
            reasons[outcome.reason] += 1
    if args.json:
        totals = {"files": len(files), "accepted": accepted, "pipelines": specs}
        print(json.dumps({"totals": {**totals, "refused": dict(reasons.most_common())}}))
        return 0
    print(f"\n{len(files)} spec files: {accepted} accepted ({specs} pipelines), "
          f"{len(files) - accepted} refused")  # fmt: skip
    for reason, count in reasons.most_common():
        print(f"  {count:4d} refused at {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
