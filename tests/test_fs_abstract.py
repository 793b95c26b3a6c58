"""fsspec's own conformance suite (``fsspec.tests.abstract``) run against ``pipes://``.

Every class of the suite is subclassed here. The store is ``memory://`` with in-memory SQLite:
the same store code as a local folder minus the fsyncs, which made the suite's many small
commits (one per write) take half again as long on a loaded machine (86 s against 58 s); the
local store with a SQLite file is what tests/test_fs.py uses. What does not apply, and why:

* **Empty directories.** The store has none (as in Pachyderm: a directory exists while it holds
  a file), so ``supports_empty_directories`` is False, which the suite supports: it then puts a
  dummy file where it needs a directory to exist. ``mkdir`` creates nothing (except a missing
  repo) and a directory vanishes with its last file.
* ``fsspec.tests.abstract.mv`` holds no abstract class (its two tests drive the local
  filesystem's permission errors), so there is nothing to subclass; ``mv`` here is covered in
  tests/test_fs.py (one commit for a move).
* The suite covers copy, get, put, open and pipe. Reading by ranges, listing details, glob
  semantics, transactions and refusals are tested in tests/test_fs.py.

Each write of the suite is a commit of its own (the suite does not use transactions), so these
tests also exercise many small commits in a row.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator

import pytest
from fsspec.tests.abstract import AbstractFixtures
from fsspec.tests.abstract.copy import AbstractCopyTests
from fsspec.tests.abstract.get import AbstractGetTests
from fsspec.tests.abstract.open import AbstractOpenTests
from fsspec.tests.abstract.pipe import AbstractPipeTests
from fsspec.tests.abstract.put import AbstractPutTests

from jupyter_pipes.fs import PipesFileSystem

# ~140 tests of many small commits each: ~20 s of CPU, a minute or more on a loaded machine
pytestmark = pytest.mark.slow


class PipesFixtures(AbstractFixtures):
    """The suite's fixtures for one store per test class."""

    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipesFileSystem]:
        fs = PipesFileSystem(
            store=f"memory://pipes-abstract-{uuid.uuid4().hex}", skip_instance_cache=True
        )
        fs.mkdir("suite")
        yield fs
        fs.close()

    @pytest.fixture
    def fs_join(self):  # type: ignore[no-untyped-def]
        return posixpath.join

    @pytest.fixture
    def fs_path(self) -> str:
        return "suite@master"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class TestPipesCopy(AbstractCopyTests, PipesFixtures):
    pass


class TestPipesGet(AbstractGetTests, PipesFixtures):
    pass


class TestPipesPut(AbstractPutTests, PipesFixtures):
    pass


class TestPipesOpen(AbstractOpenTests, PipesFixtures):
    pass


class TestPipesPipe(AbstractPipeTests, PipesFixtures):
    pass


def test_suite_store_is_real() -> None:
    """The suite's filesystem is the store: what it writes is in the repo's history."""
    fs = PipesFileSystem(
        store=f"memory://pipes-abstract-{uuid.uuid4().hex}", skip_instance_cache=True
    )
    fs.mkdir("suite")
    fs.pipe("suite@master/a", b"1")
    assert fs.client.get_file("suite@master", "/a") == b"1"
    assert len(fs.client.list_commit("suite@master")) == 1
    fs.close()
