"""Writes docs/gallery/<scene>.png: the poster frame of every bundled scene at 640x360.

    python docs/gallery/make_stills.py            # all of scenes/*.toml
    python docs/gallery/make_stills.py rosenbrock # just these
"""
import sys
from dataclasses import replace
from pathlib import Path

from PIL import Image

import animopt
from animopt.renderer import still_image

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
SIZE = (640, 360)


def main(names):
    paths = [ROOT / "scenes" / f"{n}.toml" for n in names] or sorted((ROOT / "scenes").glob("*.toml"))
    for p in paths:
        scene = animopt.load_scene(p)
        k = scene.render.size[0] / SIZE[0]
        scene = replace(scene, render=replace(scene.render, size=SIZE, dpi=scene.render.dpi / k))
        img = Image.fromarray(still_image(scene))
        img.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            OUT / f"{p.stem}.png", optimize=True)
        print(OUT / f"{p.stem}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
