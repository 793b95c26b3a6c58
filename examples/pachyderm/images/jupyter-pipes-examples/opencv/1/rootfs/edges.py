"""Edges of every image under /pfs/images, written to /pfs/out as PNG (one datum: one image).

The Pachyderm contract: inputs are read from /pfs/<input name>, results written to /pfs/out.
OpenCV's Canny filter when cv2 is installed, Pillow's edge filter otherwise.
"""

import os

try:
    import cv2
except ImportError:
    cv2 = None
from PIL import Image, ImageFilter


def make_edges(path: str) -> None:
    stem = os.path.splitext(os.path.basename(path))[0]
    target = os.path.join("/pfs/out", stem + ".png")
    if cv2 is not None:
        cv2.imwrite(target, cv2.Canny(cv2.imread(path), 100, 200))
        return
    grey = Image.open(path).convert("L").filter(ImageFilter.FIND_EDGES)
    grey.point(lambda v: 255 if v > 40 else 0).save(target)


for dirpath, _dirs, files in os.walk("/pfs/images"):
    for name in sorted(files):
        make_edges(os.path.join(dirpath, name))
