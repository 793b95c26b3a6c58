"""``repo@branch~N`` / ``^N`` resolve in one recursive query, however far back (#17), on every
metadata backend (``client`` runs on a local folder, memory://, S3 and PostgreSQL).

The time at N = 10,000 is in ``benchmarks/store17.py``; here the number of SQL statements is
counted (the old walk ran one per ancestor).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client, NotFound

DEPTH = 40


@contextmanager
def statements(client: Client) -> Iterator[list[str]]:
    """Every SQL statement the client's metadata database runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = client.store.meta.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def chain(client: Client) -> list[str]:
    """A repo ``d`` whose master has DEPTH + 1 commits; their ids, oldest first."""
    client.create_repo("d")
    return [client.put_file("d@master", "/f", str(i).encode()).id for i in range(DEPTH + 1)]


def test_far_ancestors_resolve_in_a_constant_number_of_statements(
    client: Client, chain: list[str]
) -> None:
    with statements(client) as near:
        assert client.inspect_commit("d@master~1").id == chain[-2]
    with statements(client) as far:
        assert client.inspect_commit(f"d@master~{DEPTH}").id == chain[0]
    assert len(far) == len(near)  # not one statement per ancestor
    assert client.get_file(f"d@master^{DEPTH - 7}", "/f") == b"7"
    assert client.inspect_commit(f"d@{chain[30]}~30").id == chain[0]
    assert client.inspect_commit("d@master~0").id == chain[-1]


def test_too_far_says_how_many_ancestors_there_are(client: Client, chain: list[str]) -> None:
    with pytest.raises(NotFound, match=f"has only {DEPTH} ancestor"):
        client.inspect_commit(f"d@master~{DEPTH + 1}")
    with pytest.raises(NotFound, match="has only 3 ancestor"):
        client.inspect_commit(f"d@{chain[3]}~10000")
