#!/usr/bin/env bash
# Quickstart: version a dataset with the `jupyter pipes` CLI, look at its history and diff,
# revert a "model" to an older commit, and verify the store. Runs on a throwaway store in
# ./quickstart-store (or $JUPYTER_PIPES_STORE), with data generated on the fly.
set -euo pipefail
export JUPYTER_PIPES_STORE=${JUPYTER_PIPES_STORE:-$PWD/quickstart-store}
rm -rf "$JUPYTER_PIPES_STORE"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pipes() { printf '\n$ jupyter pipes'; printf ' %q' "$@"; printf '\n'; jupyter pipes "$@"; }

# A small housing dataset, generated (no downloads).
python3 - "$work" <<'PY'
import csv, random, sys, pathlib
out = pathlib.Path(sys.argv[1]) / "housing"
out.mkdir()
rng = random.Random(0)
for city in ("boston", "austin", "denver"):
    with open(out / f"{city}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rooms", "area_m2", "age", "price"])
        for _ in range(500):
            rooms, area, age = rng.randint(1, 6), rng.uniform(30, 250), rng.randint(0, 90)
            w.writerow([rooms, f"{area:.1f}", age, int(area * 3000 + rooms * 8000 - age * 500)])
PY

pipes create repo housing -d "house prices by city"
pipes put file housing@master:/ -f "$work/housing" -r -m "first data drop"
pipes list file housing@master
pipes glob file 'housing@master:/*.csv'

# A second drop: one more city, one city updated.
python3 - "$work" <<'PY'
import sys, pathlib
d = pathlib.Path(sys.argv[1]) / "housing"
(d / "seattle.csv").write_text("rooms,area_m2,age,price\n3,120.0,10,420000\n")
with open(d / "austin.csv", "a") as f:
    f.write("4,180.5,3,610000\n")
PY
pipes put file housing@master:/ -f "$work/housing" -r -m "second data drop"
pipes list commit housing@master
pipes diff file housing@master housing@master^

# A "model" repo: two versions, then a one-command revert to the first.
echo '{"version": 1, "coef": [3000, 8000, -500]}' > "$work/model.json"
pipes create repo model
pipes put file model@master:/model.json -f "$work/model.json" -m "model v1"
echo '{"version": 2, "coef": [2900, 9000, -450]}' > "$work/model.json"
pipes put file model@master:/model.json -f "$work/model.json" -m "model v2"
v1=$(jupyter pipes list commit model@master --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
pipes revert branch model@master --to "$v1"
pipes get file model@master:/model.json
pipes list commit model@master

pipes fsck
echo "Done. The store is in $JUPYTER_PIPES_STORE; try: JUPYTER_PIPES_STORE=$JUPYTER_PIPES_STORE jupyter pipes list repo" >&2
