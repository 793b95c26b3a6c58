"""Time ``dvc add`` in-process, excluding interpreter start-up and imports (run by run.py).

    python _dvc_add.py ROOT TARGET [--drop] [VERSION_FILE ...]

Opens the DVC repo at ROOT (untimed), then times ``Repo.add(TARGET)`` once; with version files,
copies each one onto ROOT/TARGET (untimed) and times one add per version. Prints the seconds of
each add as a JSON list on the last line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import time

from _util import drop_caches  # this script's folder is on sys.path
from dvc.repo import Repo


def main() -> None:
    args = sys.argv[1:]
    drop = "--drop" in args
    root, target, *versions = [a for a in args if a != "--drop"]
    os.chdir(root)  # targets are relative to the repo, as for the CLI run there
    repo = Repo(root)
    times = []
    for v in versions or [None]:
        if v is not None:
            shutil.copyfile(v, f"{root}/{target}")
        drop_caches(drop)
        with contextlib.redirect_stdout(io.StringIO()):
            t0 = time.perf_counter()
            repo.add(target)
            times.append(time.perf_counter() - t0)
    repo.close()
    print(json.dumps(times))


if __name__ == "__main__":
    main()
