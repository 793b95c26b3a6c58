"""Output symlinks (#13): links to input files are taken as those files; others are errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.outputs import Link, take_symlinks


@pytest.fixture
def pfs(tmp_path: Path) -> Path:
    root = tmp_path / "pfs"
    (root / "fruits").mkdir(parents=True)
    (root / "fruits" / "apple.jpeg").write_bytes(b"")
    (root / "out" / "apple").mkdir(parents=True)
    return root


def test_links_to_input_files_as_the_sandbox_or_the_worker_sees_them(pfs: Path) -> None:
    os.symlink("/pfs/fruits/apple.jpeg", pfs / "out" / "apple" / "img.jpeg")
    os.symlink(str(pfs / "fruits" / "apple.jpeg"), pfs / "out" / "copy.jpeg")
    os.symlink("../../fruits/apple.jpeg", pfs / "out" / "apple" / "rel.jpeg")
    (pfs / "out" / "plain.txt").write_text("x")
    links = take_symlinks(str(pfs / "out"), str(pfs), "/pfs", {"fruits"})
    assert links == [
        Link("/apple/img.jpeg", "fruits", "/apple.jpeg"),
        Link("/apple/rel.jpeg", "fruits", "/apple.jpeg"),
        Link("/copy.jpeg", "fruits", "/apple.jpeg"),
    ]
    assert sorted(os.listdir(pfs / "out")) == ["apple", "plain.txt"]  # links taken away
    assert os.listdir(pfs / "out" / "apple") == []


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("/etc/passwd", "not a file of this datum's inputs"),
     ("/pfs/fruits", "not a file of this datum's inputs"),
     ("/pfs/fruits/", "not a file of this datum's inputs"),
     ("/pfs/fruits/pear.jpeg", "which is missing"),
     ("/pfs/out/plain.txt", "not a file of this datum's inputs")],
)  # fmt: skip
def test_other_links_are_errors(pfs: Path, target: str, fragment: str) -> None:
    os.symlink(target, pfs / "out" / "bad")
    with pytest.raises(InvalidArgument) as info:
        take_symlinks(str(pfs / "out"), str(pfs), "/pfs", {"fruits"})
    assert info.value.message.startswith("output /bad ") and fragment in info.value.message
    assert info.value.fields["path"] == "/bad"
