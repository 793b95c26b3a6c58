"""One datum of the group: a store with all of its purchases and returns (by store id).

Pachyderm gives the group key as $PACH_DATUM_stores_GROUP_BY (unset when the store file
itself is missing from the group); writes /pfs/out/<store id>.txt with the net amount.
"""

import csv
import glob
import os


def total(paths: list[str]) -> float:
    amount = 0.0
    for path in paths:
        with open(path) as f:
            for row in csv.reader(f, delimiter="|"):
                if row and row[0] == "SKU":
                    amount += float(row[3]) * float(row[5])
    return amount


store_id = os.environ.get("PACH_DATUM_stores_GROUP_BY") or "0"
orders = total(sorted(glob.glob("/pfs/purchases/*.txt")))
returns = total(sorted(glob.glob("/pfs/returns/*.txt")))
with open(f"/pfs/out/{store_id}.txt", "w") as out:
    out.write(f"ORDER_AMOUNT|{orders:.2f}|RETURN_AMOUNT|{returns:.2f}|NET_AMOUNT|{orders - returns:.2f}\n")
print(f"store {store_id}: net {orders - returns:.2f}")
