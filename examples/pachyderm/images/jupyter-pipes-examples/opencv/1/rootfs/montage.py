"""montage.py IMAGE... TARGET: the images side by side in a grid, as ImageMagick's montage."""

import math
import sys

from PIL import Image

*sources, target = sys.argv[1:]
tiles = [Image.open(p).convert("RGB").resize((96, 96)) for p in sources]
cols = max(1, math.ceil(math.sqrt(len(tiles))))
rows = max(1, math.ceil(len(tiles) / cols))
sheet = Image.new("RGB", (cols * 100, rows * 100), "skyblue")
for i, tile in enumerate(tiles):
    sheet.paste(tile, ((i % cols) * 100 + 2, (i // cols) * 100 + 2))
sheet.save(target)
print(f"{len(tiles)} images in a {cols}x{rows} montage")
