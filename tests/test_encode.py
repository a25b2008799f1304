"""Encoders: MP4 and GIF read back (frames, size, timing), GIF rates that keep the duration, frames drawn
once for every format, deterministic output, atomic writes on failure and interrupt."""
import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import animopt
from animopt import encode
from animopt.encode import EncodeError, gif_rate, palette_sample, pick_frames, select_expr
from animopt.layout import Canvas

SCENE = """
title = "tiny"
seed = 2
[problem]
type = "line"
a = 1.0
b = 2.0
n = 10
[train]
steps = 30
init = [0.0, 0.0]
[[optimizer]]
type = "sgd"
lr = 0.02
[[optimizer]]
type = "adam"
lr = 0.3
[render]
views = ["fit_line", "loss"]
size = [{w}, {h}]
fps = {fps}
duration = {duration}
formats = ["mp4", "gif"]
"""


def scene(tmp_path, w=192, h=108, fps=30, duration=1.0, name="tiny"):
    return animopt.parse_scene(SCENE.format(w=w, h=h, fps=fps, duration=duration), tmp_path / f"{name}.toml")


def gif_info(path):
    with Image.open(path) as im:
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
        return im.size, delays, im.info.get("loop")


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or ".palette-" in p.name)


@pytest.mark.parametrize("fps,duration,rate", [
    (30, 6.0, 25.0),        # 4 cs a frame
    (60, 2.0, 50.0),        # capped at 50 fps
    (120, 1.0, 50.0),
    (15, 20.0, 12.5),       # 100/7 fps would make 20.02 s: 8 cs a frame keeps 20 s exactly
    (10, 3.0, 10.0),
    (24, 5.0, 20.0),
])
def test_gif_rate_keeps_the_duration(fps, duration, rate):
    r = gif_rate(fps, None, duration)
    assert r == pytest.approx(rate)
    k = round(100 / r)
    assert abs(100 / k - r) < 1e-9 and k >= 2         # whole centiseconds, at most 50 fps
    n = round(fps * duration)
    idx = pick_frames(n, fps, r)
    assert len(idx) * k == round(duration * 100)       # the delays add up to the duration
    assert idx[0] == 0 and idx[-1] == n - 1 and (np.diff(idx) > 0).all()


def _select(expr: str, n: int) -> np.ndarray:
    """ffmpeg's `select` expression evaluated as ffmpeg does (doubles) over frames 0..n-1."""
    import math

    env = {"gt": lambda a, b: a > b, "eq": lambda a, b: a == b, "ceil": math.ceil}
    return np.array([i for i in range(n) if eval(expr, env, {"n": float(i)})])


@pytest.mark.parametrize("n,fps,rate", [(60, 30, 25), (300, 15, 12.5), (10000, 30, 25), (7, 60, 50),
                                        (301, 100, 50), (45, 30, 10), (5, 30, 1)])
def test_ffmpeg_selects_the_frames_of_pick_frames(n, fps, rate):
    picks = pick_frames(n, fps, rate)
    assert len(picks) == round(n * rate / fps) or len(picks) == 1
    assert np.array_equal(_select(select_expr(n, len(picks)), n), picks)


def test_gif_rate_requested_and_sample():
    assert gif_rate(30, 10, 6.0) == pytest.approx(10.0)
    assert gif_rate(30, 99, None) == pytest.approx(25.0)
    s = palette_sample(1000, 32)
    assert len(s) == 32 and s[0] == 0 and s[-1] == 999
    assert list(palette_sample(5, 32)) == [0, 1, 2, 3, 4]


def test_mp4_and_gif_read_back(tmp_path):
    sc = scene(tmp_path, fps=30, duration=1.2)
    files = animopt.render(sc, tmp_path)
    mp4, gif = tmp_path / "tiny.mp4", tmp_path / "tiny.gif"
    assert files == [mp4, gif]
    frames = iio.imread(mp4)
    assert frames.shape == (36, 108, 192, 3)
    meta = iio.immeta(mp4)
    assert meta["fps"] == pytest.approx(30)
    assert "bt709" in meta["pix_fmt"] and meta["pix_fmt"].startswith("yuv420p")
    size, delays, loop = gif_info(gif)
    assert size == (192, 108) and loop == 0
    assert sum(delays) == 1200 and set(delays) == {40}     # 25 fps, 1.2 s exactly
    assert leftovers(tmp_path) == []
    # the moov atom comes first (+faststart): a browser can start playing before the download ends
    head = mp4.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_frames_drawn_once_for_every_format(tmp_path, monkeypatch):
    calls = []
    frame = Canvas.frame

    def counting(self, step, index=None):
        calls.append(step)
        return frame(self, step, index)

    monkeypatch.setattr(Canvas, "frame", counting)
    sc = scene(tmp_path, fps=30, duration=2.0)
    animopt.render(sc, tmp_path, formats=["mp4", "gif", "png"])
    n = 60
    m = len(pick_frames(n, 30, gif_rate(30, None, 2.0)))
    # every frame once, plus the GIF's palette sample, plus the still
    assert len(calls) == n + len(palette_sample(m)) + 1
    calls.clear()
    animopt.render(sc, tmp_path, formats=["gif"])
    assert len(calls) == m + len(palette_sample(m))   # a GIF alone draws only the frames it shows


def test_output_is_deterministic(tmp_path):
    sc = scene(tmp_path, fps=30, duration=1.0)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    animopt.render(sc, a)
    animopt.render(sc, b)
    animopt.render(sc, c, formats=["gif"])      # the GIF alone: its frames chosen here, not by ffmpeg
    assert (a / "tiny.gif").read_bytes() == (b / "tiny.gif").read_bytes() == (c / "tiny.gif").read_bytes()
    fa, fb = iio.imread(a / "tiny.mp4"), iio.imread(b / "tiny.mp4")
    assert fa.shape == fb.shape and np.array_equal(fa, fb)
    with Image.open(a / "tiny.gif") as im:
        first = np.asarray(im.convert("RGB"))
    assert first.std() > 5                 # a picture, not a blank frame


def _previous(tmp_path):
    for name in ("tiny.mp4", "tiny.gif"):
        (tmp_path / name).write_bytes(b"previous good file")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_render_keeps_the_previous_files(tmp_path, error):
    _previous(tmp_path)
    sc = scene(tmp_path, duration=2.0)

    def fail(i, n):
        if i == 20:
            raise error("stop")

    with pytest.raises(error):
        animopt.render(sc, tmp_path, progress=fail)
    assert (tmp_path / "tiny.mp4").read_bytes() == b"previous good file"
    assert (tmp_path / "tiny.gif").read_bytes() == b"previous good file"
    assert leftovers(tmp_path) == []


def test_ffmpeg_failure_is_an_encode_error(tmp_path, monkeypatch):
    _previous(tmp_path)
    monkeypatch.setattr(encode, "ffmpeg_exe", lambda: "false")
    sc = scene(tmp_path, duration=0.5)
    with pytest.raises(EncodeError):
        animopt.render(sc, tmp_path, formats=["mp4"])
    assert (tmp_path / "tiny.mp4").read_bytes() == b"previous good file"
    assert leftovers(tmp_path) == []
