"""pandas, Dask and pyarrow reading and writing the store through ``pipes://``.

Real parts: a local store with SQLite, and a store on S3 (moto's server on 127.0.0.1) with its
SQLite metadata; a real ``dask.distributed`` cluster (one worker process on 127.0.0.1, so the
filesystem is pickled to it and reopens the store there).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes.fs import PipesFileSystem

from .conftest import new_bucket, s3_options

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")


@pytest.fixture(params=["local", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Storage options of a fresh store with an empty repo ``data``: a local folder, or S3."""
    if request.param == "local":
        opts: dict[str, Any] = {"store": str(tmp_path / "store")}
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        opts = {
            "store": f"s3://{new_bucket(endpoint)}/store",
            "db_url": f"sqlite:///{tmp_path}/metadata.sqlite",
            **s3_options(endpoint),
        }
    fs = PipesFileSystem(**opts)
    fs.client.create_repo("data")
    yield opts
    PipesFileSystem.clear_instance_cache()
    fs.close()


def frame(n: int, seed: int = 0) -> Any:
    rng = __import__("numpy").random.default_rng(seed)
    return pd.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "tag": rng.choice(["a", "b", "c"], size=n)}
    )


def test_pandas_csv_round_trip(options: dict[str, Any]) -> None:
    df = frame(20_000)
    df.to_csv("pipes://data@master/train.csv", index=False, storage_options=options)
    back = pd.read_csv("pipes://data@master/train.csv", storage_options=options)
    pd.testing.assert_frame_equal(back, df)

    df.iloc[:10].to_csv("pipes://data@master/train.csv", index=False, storage_options=options)
    fs = PipesFileSystem(**options)
    commits = fs.client.list_commit("data@master")
    assert len(commits) == 2  # one commit per written file
    assert len(pd.read_csv("pipes://data@master/train.csv", storage_options=options)) == 10
    old = pd.read_csv(f"pipes://data@{commits[1].id}/train.csv", storage_options=options)
    pd.testing.assert_frame_equal(old, df)
    assert len(pd.read_csv("pipes://data@master^1/train.csv", storage_options=options)) == 20_000


def test_dask_reads_a_glob_on_a_local_cluster(tmp_path: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    opts = {"store": str(tmp_path / "store")}
    fs = PipesFileSystem(**opts)
    fs.mkdir("data")
    parts = [frame(5_000, seed=i) for i in range(3)]
    with fs.transaction:
        for i, part in enumerate(parts):
            with fs.open(f"data@master/parts/p{i}.csv", "w") as f:
                part.to_csv(f, index=False)
        fs.pipe("data@master/parts/README.txt", b"not a csv")
    expected = pd.concat(parts, ignore_index=True)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster),
    ):
        ddf = dd.read_csv("pipes://data@master/parts/*.csv", storage_options=opts, blocksize=64_000)
        assert ddf.npartitions > 3  # files split by byte ranges: seek + ranged reads
        got = ddf.compute().sort_values(["id", "x"]).reset_index(drop=True)
    want = expected.sort_values(["id", "x"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)  # dask: arrow strings
    PipesFileSystem.clear_instance_cache()


def test_pyarrow_dataset_and_parquet_footer_by_ranged_reads(options: dict[str, Any]) -> None:
    fs = PipesFileSystem(**options)
    n = 400_000
    rng = __import__("numpy").random.default_rng(7)
    table = pa.table({f"c{i}": rng.random(n) for i in range(4)})  # ~12.8 MB, incompressible
    with fs.transaction:
        for name in ("a", "b"):
            with fs.open(f"data@master/tables/{name}.parquet", "wb") as f:
                pq.write_table(table, f, row_group_size=n // 4, compression="none")
    size = fs.size("data@master/tables/a.parquet")

    with fs.open("pipes://data@master/tables/a.parquet", "rb") as f:
        meta = pq.ParquetFile(f).metadata
        assert meta.num_rows == n
        assert f.reader.bytes_read <= 2 << 20 < size // 4  # the footer, not the file
    with fs.open("data@master/tables/a.parquet", "rb", cache_type="none") as f:
        col = pq.ParquetFile(f).read(columns=["c2"])
        assert col.column("c2").equals(table.column("c2"))
        assert f.reader.bytes_read < size // 2  # one column of four

    dataset = ds.dataset("data@master/tables/", filesystem=fs, format="parquet")
    assert dataset.count_rows() == 2 * n
    got = dataset.to_table(columns=["c0"])
    assert got.num_rows == 2 * n
    same = ds.dataset("pipes://data@master/tables/", filesystem=fs.to_arrow(), format="parquet")
    assert (
        sorted(same.files)
        == sorted(dataset.files)
        == [
            "data@master/tables/a.parquet",
            "data@master/tables/b.parquet",
        ]
    )
    assert same.to_table().equals(pa.concat_tables([table, table]))
    back = pd.read_parquet("pipes://data@master/tables/b.parquet", storage_options=options)
    assert back.shape == (n, 4)


def test_pandas_reads_a_missing_file_as_file_not_found(options: dict[str, Any]) -> None:
    with pytest.raises(FileNotFoundError, match=r"pipes://data@master/nope\.csv"):
        pd.read_csv("pipes://data@master/nope.csv", storage_options=options)
    with pytest.raises(PermissionError, match="immutable"):
        pd.DataFrame({"a": [1]}).to_csv(
            f"pipes://data@{uuid.uuid4().hex}/x.csv", storage_options=options
        )
