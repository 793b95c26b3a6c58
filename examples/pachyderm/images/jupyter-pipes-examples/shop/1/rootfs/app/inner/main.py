"""One datum of the inner join: a store and one of its purchases, by store id.

Pachyderm gives the join key as $PACH_DATUM_stores_JOIN_ON; the purchase is copied under the
store's zip code: /pfs/out/<zipcode>/<purchase file>.
"""

import glob
import json
import os

store_id = os.environ["PACH_DATUM_stores_JOIN_ON"]
with open(os.path.join("/pfs/stores", f"STOREID{store_id}.txt")) as f:
    store = json.load(f)
zipcode = store["address"]["zipcode"]
os.makedirs(os.path.join("/pfs/out", zipcode), exist_ok=True)
for purchase in sorted(glob.glob("/pfs/purchases/*.txt")):
    target = os.path.join("/pfs/out", zipcode, os.path.basename(purchase))
    with open(purchase) as src, open(target, "w") as dst:
        dst.write(f"Purchase at store {store['storeid']} - {store['name']}\n")
        dst.write(src.read())
    print(f"{purchase} -> {target}")
