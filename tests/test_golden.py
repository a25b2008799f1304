"""Every bundled scene's poster frame and a mid-clip frame against tests/golden/ (rendered small)."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.testing.compare import compare_images

import animopt
from animopt.renderer import still_image, timeline
from animopt.encode import write_png

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SCENES = sorted((ROOT / "scenes").glob("*.toml"))
TOL = 2.0  # RMS over 0..255 grey levels


def small(scene):
    """The same frame at half size: dpi scaled with the pixels, so the layout is the same."""
    w, h = scene.render.size
    k = 2 if max(w, h) <= 1400 else 3
    size = (w // k - (w // k) % 2, h // k - (h // k) % 2)
    return replace(scene, render=replace(scene.render, size=size, dpi=scene.render.dpi / k))


@pytest.fixture(scope="module")
def histories():
    return {}


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_golden(path, request, histories, tmp_path):
    scene = small(animopt.load_scene(path))
    h = animopt.simulate(scene)
    steps = timeline(scene, h)
    frames = {"poster": None, "mid": int(steps[len(steps) // 2])}
    update = request.config.getoption("--update-golden")
    failures = []
    for tag, step in frames.items():
        img = still_image(scene, step, history=h)
        ref = GOLDEN / f"{path.stem}.{tag}.png"
        if update or not ref.exists():
            if not update:
                pytest.fail(f"no golden image {ref.name}: run pytest --update-golden and look at it")
            write_png(ref, img)
            continue
        actual = GOLDEN / f"{path.stem}.{tag}.actual.png"
        write_png(actual, img)
        err = compare_images(str(ref), str(actual), tol=TOL)
        if err is None:
            actual.unlink()
        else:
            failures.append(err)
    assert not failures, "\n".join(failures)
