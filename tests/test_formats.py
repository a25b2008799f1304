"""Every output format read back (frame count, size, duration; WebM's alpha, WebP's frames), the one list of
formats, GIF/WebP settings apart from the video and under a size budget, odd sizes, vector stills."""
import re
import struct

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

import animopt
from animopt import formats
from animopt.encode import AnimSettings, shrink

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
fps = 30
duration = 1.0
formats = {formats}
{extra}
"""


def scene(tmp_path, w=160, h=90, formats=("webm",), extra="", name="tiny"):
    text = SCENE.format(w=w, h=h, formats="[" + ", ".join(f'"{f}"' for f in formats) + "]", extra=extra)
    return animopt.parse_scene(text, tmp_path / f"{name}.toml")


def webp_frames(path):
    """(canvas size, loop count, [duration ms of each frame]) from the RIFF chunks of an animated WebP."""
    b = path.read_bytes()
    assert b[:4] == b"RIFF" and b[8:12] == b"WEBP"
    i, size, loop, durations = 12, None, None, []
    while i < len(b):
        tag, n = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        d = b[i + 8:i + 8 + n]
        if tag == b"VP8X":
            size = (int.from_bytes(d[4:7], "little") + 1, int.from_bytes(d[7:10], "little") + 1)
        elif tag == b"ANIM":
            loop = struct.unpack("<H", d[4:6])[0]
        elif tag == b"ANMF":
            durations.append(int.from_bytes(d[12:15], "little"))
        i += 8 + n + (n & 1)
    return size, loop, durations


def webm_rgba(path):
    """Every frame of a WebM as RGBA, decoded by libvpx (ffmpeg's own VP9 decoder drops the alpha)."""
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgba", bpp=4, input_params=["-c:v", "libvpx-vp9"])
    meta = next(gen)
    w, h = meta["size"]
    return np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 4) for f in gen])


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_one_list_of_formats():
    from animopt import cli, scene as scene_mod

    assert formats.NAMES == ("mp4", "webm", "gif", "webp", "html", "png")
    assert scene_mod.FORMATS == formats.NAMES
    assert scene_mod.RENDER["formats"].choices == formats.NAMES
    assert set(formats.VIDEO) == {"mp4", "webm", "html"} and set(formats.ANIMATIONS) == {"gif", "webp"}
    for name in formats.NAMES:
        assert f"| `{name}` |" in formats.table()
    with pytest.raises(Exception, match="webm, gif, webp, html"):
        cli._formats("mp4,avi")


def test_webm_gif_webp_html_png_from_one_stream(tmp_path):
    sc = scene(tmp_path, formats=("mp4", "webm", "gif", "webp", "html", "png"),
               extra="gif = { size = [81, 45], fps = 10, colors = 64 }\nwebp_quality = 60")
    files = animopt.render(sc, tmp_path)
    assert [f.name for f in files] == ["tiny.mp4", "tiny.webm", "tiny.gif", "tiny.webp", "tiny.html", "tiny.png"]
    assert iio.imread(tmp_path / "tiny.mp4").shape == (30, 90, 160, 3)
    webm = tmp_path / "tiny.webm"
    meta = iio.immeta(webm)
    assert meta["codec"] == "vp9" and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == pytest.approx(30)
    assert meta["duration"] == pytest.approx(1.0, abs=0.05)
    assert iio.imread(webm).shape == (30, 90, 160, 3)
    with Image.open(tmp_path / "tiny.gif") as im:            # the gif table: its own size, rate, palette
        assert im.size == (81, 45) and im.n_frames == 10 and im.info["loop"] == 0
        colours = set()
        for i in range(im.n_frames):
            im.seek(i)
            colours |= {c for _, c in im.convert("RGB").getcolors(1 << 16)}
        assert len(colours) <= 64
    size, loop, durations = webp_frames(tmp_path / "tiny.webp")
    assert size == (81, 45) and loop == 0
    assert sum(durations) == 1000 and len(durations) <= 10     # identical frames merged, the time kept
    page = (tmp_path / "tiny.html").read_text()
    assert page.count("data:video/webm;base64,") == 1
    assert not re.search(r"(src|href)=\"(https?:)?//", page)      # nothing from the network
    steps = np.array(re.search(r"STEPS = (\[[0-9,]*\])", page).group(1)[1:-1].split(","), int)
    assert len(steps) == 30 and steps[0] == 0 and steps[-1] == 30 and (np.diff(steps) >= 0).all()
    assert Image.open(tmp_path / "tiny.png").size == (160, 90)
    assert leftovers(tmp_path) == []


def test_transparent_webm_and_odd_sizes(tmp_path):
    sc = scene(tmp_path, w=161, h=91, formats=("webm", "webp", "gif"), extra="transparent = true")
    animopt.render(sc, tmp_path)
    frames = webm_rgba(tmp_path / "tiny.webm")
    assert frames.shape == (30, 91, 161, 4)
    alpha = frames[0, ..., 3]
    assert alpha.min() < 10 and alpha.max() > 245               # a transparent background, opaque drawing
    assert alpha[0, 0] < 10                                      # the figure's corner
    with Image.open(tmp_path / "tiny.gif") as im:
        assert im.size == (161, 91)
    assert webp_frames(tmp_path / "tiny.webp")[0] == (161, 91)
    with pytest.raises(animopt.SceneError, match="render.size: both width and height must be even for mp4"):
        scene(tmp_path, w=161, h=91, formats=("mp4",))
    with pytest.raises(animopt.SceneError, match="even for mp4"):
        animopt.render(sc, tmp_path, formats=["mp4"])


def test_gif_budget_chooses_and_says(tmp_path):
    notes = []
    sc = scene(tmp_path, w=320, h=180, formats=("gif", "webp"), extra="gif = { max_mb = 0.02 }")
    from animopt.renderer import render

    render(sc, tmp_path, notes=notes.append)
    for name in ("tiny.gif", "tiny.webp"):
        assert (tmp_path / name).stat().st_size <= 20_000
    assert len(notes) == 2 and all("chosen to fit 0.02 MB" in n or "within 0.02 MB" in n for n in notes)
    assert re.match(r"tiny\.gif: \d+x\d+, [\d.]+ fps, \d+ colours", notes[0])
    with Image.open(tmp_path / "tiny.gif") as im:
        w, h = im.size
        assert f"{w}x{h}" in notes[0]
    assert leftovers(tmp_path) == []


def test_shrink_lowers_rate_then_size_then_palette():
    s = AnimSettings((1280, 720), 25.0, 256, 80)
    a = shrink(s, 1.5, "gif", 30, 6.0)
    assert a.size == (1280, 720) and a.rate < 25 and a.rate >= 10
    b = shrink(AnimSettings((1280, 720), 10.0, 256, 80), 4.0, "gif", 30, 6.0)
    assert b.rate == 10 and b.size[0] < 1280 and b.colors == 256
    c = shrink(AnimSettings((160, 90), 10.0, 256, 80), 2.0, "gif", 30, 6.0)
    assert c.size == (160, 90) and c.colors == 128
    assert shrink(AnimSettings((160, 90), 10.0, 32, 80), 2.0, "gif", 30, 6.0) is None


def test_gif_table_errors(tmp_path):
    with pytest.raises(animopt.SceneError) as e:
        scene(tmp_path, formats=("gif",), extra="gif_fps = 10\ngif = { fps = 5, colours = 8, max_mb = 0 }")
    msg = str(e.value)
    assert "render.gif.colours: unknown key (did you mean 'colors'?)" in msg
    assert "render.gif.max_mb: expected a number > 0" in msg
    assert "render.gif.fps: give render.gif_fps or render.gif.fps, not both" in msg


@pytest.mark.parametrize("ext", ["svg", "pdf"])
def test_vector_stills(tmp_path, ext):
    sc = scene(tmp_path)
    out = animopt.still(sc, tmp_path / f"poster.{ext}", step=12)
    data = out.read_bytes()
    if ext == "svg":
        assert data.lstrip().startswith(b"<?xml") and b"<svg" in data
        assert b"step 12/30" in data or b"12/30" in data           # the counter is text
        assert data.count(b"<path") > 10                           # lines, not one bitmap
    else:
        assert data.startswith(b"%PDF")
    with pytest.raises(animopt.SceneError, match="PNG, SVG or PDF"):
        animopt.still(sc, tmp_path / "poster.jpg")
    assert leftovers(tmp_path) == []


def test_readme_format_table_is_the_declared_one():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("<!-- formats:start -->", 1)[1].split("<!-- formats:end -->", 1)[0]
    assert block.strip() == formats.table().strip()
