"""The end-to-end path: scene -> History -> MP4/GIF, read back."""
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

import animopt
from animopt.scene import parse_scene

ROOT = Path(__file__).resolve().parents[1]
LINE = ROOT / "scenes" / "line_fit.toml"


def test_history_shapes():
    s = animopt.load_scene(LINE)
    h = animopt.simulate(s)
    # 30 points, batch 1, 40 epochs
    assert h.steps == 1200
    assert h.params.shape == (1201, 3, 2)
    assert h.loss.shape == (1201, 3)
    assert h.grads.shape == (1200, 3, 2)
    assert h.lr.shape == (1200, 3)
    assert h.labels == ("SGD", "Momentum", "Adam")
    assert h.param_names == ("a", "b")
    np.testing.assert_allclose(h.params[0], [[1.0, 1.0]] * 3)
    # momentum and Adam reach the true line; plain SGD with lr 1e-3 is still on its way
    np.testing.assert_allclose(h.params[-1, 2], [1.5, -28.0], atol=1e-3)
    assert h.loss[-1, 0] < h.loss[0, 0] / 10


def _line_fit_vs_torch(opt_toml, make_opt, steps=250):
    text = f"""
[problem]
type = "line"
x = [-3.0, -1.0, 0.5, 2.0, 4.0, 5.5]
y = [-7.2, -2.9, 1.1, 4.2, 8.8, 12.1]
[train]
steps = {steps}
init = [0.3, -0.2]
[[optimizer]]
{opt_toml}
[render]
views = ["loss"]
"""
    h = animopt.simulate(parse_scene(text))
    x = torch.tensor([-3.0, -1.0, 0.5, 2.0, 4.0, 5.5], dtype=torch.float64)
    y = torch.tensor([-7.2, -2.9, 1.1, 4.2, 8.8, 12.1], dtype=torch.float64)
    p = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    opt = make_opt([p])
    ref = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        ((p[0] * x + p[1] - y) ** 2).mean().backward()
        opt.step()
        ref.append(p.detach().clone())
    ref = torch.stack(ref).numpy()
    np.testing.assert_allclose(h.params[:, 0], ref, rtol=1e-9, atol=1e-12)


def test_sgd_matches_torch():
    _line_fit_vs_torch('type = "sgd"\nlr = 0.02', lambda p: torch.optim.SGD(p, lr=0.02))


def test_momentum_matches_torch():
    _line_fit_vs_torch('type = "sgd"\nlr = 0.01\nmomentum = 0.9',
                       lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9))


def test_adam_matches_torch():
    _line_fit_vs_torch('type = "adam"\nlr = 0.05', lambda p: torch.optim.Adam(p, lr=0.05))


def test_render_reads_back(tmp_path):
    text = LINE.read_text().replace("size = [1280, 720]", "size = [320, 180]") \
        .replace("duration = 6.0", "duration = 2.0")
    scene = parse_scene(text, tmp_path / "small.toml")
    files = animopt.render(scene, tmp_path)
    mp4, gif = tmp_path / "small.mp4", tmp_path / "small.gif"
    assert set(files) == {mp4, gif}
    frames = iio.imread(mp4, plugin="pyav") if False else iio.imread(mp4)
    assert frames.shape == (60, 180, 320, 3)
    meta = iio.immeta(mp4)
    assert abs(meta["fps"] - 30) < 1e-6
    with Image.open(gif) as im:
        n, total = 0, 0
        assert im.size == (320, 180)
        assert im.info.get("loop") == 0
        for i in range(im.n_frames):
            im.seek(i)
            n += 1
            total += im.info["duration"]
    assert total == 2000          # the GIF plays for exactly the requested 2 s
    assert n == 50                # 25 fps: the closest rate GIF delays (1/100 s) can keep
    assert not list(tmp_path.glob(".*partial*"))
