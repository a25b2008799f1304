"""--quality low|medium|high: the same picture smaller, at a lower frame rate, encoded fastest."""
from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from animopt.cli import main
from animopt.quality import apply
from animopt.scene import parse_scene

SCENE = """
[problem]
type = "rosenbrock"
[train]
steps = 20
[[optimizer]]
type = "adam"
lr = 0.05
[render]
views = ["contour", "loss"]
size = [320, 180]
fps = 30
duration = 1.0
formats = ["png"]
gif = { size = [200, 100], fps = 20 }
"""


def test_presets():
    s = parse_scene(SCENE, "q.toml")
    assert apply(s, "high") is s and apply(s, None) is s
    low = apply(s, "low")
    r = low.render
    assert r.size == (160, 90) or r.size == (160, 90)
    assert r.dpi == s.render.dpi / 2 and r.fps == 15 and r.preset == "ultrafast"
    assert r.gif["size"] == (100, 50) and r.gif["fps"] == 15
    assert low.digest != s.digest and low.train == s.train and low.problem == s.problem
    med = apply(s, "medium").render
    assert med.size == (240, 136) and med.fps == 24
    framed = apply(parse_scene(SCENE.replace("duration = 1.0", "frames = 60"), "q.toml"), "low").render
    assert framed.frames == 30


def test_cli_still_and_render_at_low_quality(tmp_path):
    scene = tmp_path / "q.toml"
    scene.write_text(SCENE)
    out = tmp_path / "s.png"
    r = CliRunner().invoke(main, ["still", str(scene), "-o", str(out), "--quality", "low"])
    assert r.exit_code == 0, r.output
    assert Image.open(out).size == (160, 90)
    r = CliRunner().invoke(main, ["render", str(scene), "-o", str(tmp_path / "o"), "-q", "--quality", "low"])
    assert r.exit_code == 0, r.output
    assert np.asarray(Image.open(tmp_path / "o" / "q.png")).shape[:2] == (90, 160)
    r = CliRunner().invoke(main, ["render", str(scene), "-o", str(tmp_path / "o"), "-q", "--quality", "bad"])
    assert r.exit_code == 2
