"""The heatmap past IMAGE_CELLS: one image of the axes' pixels a frame, each pixel the colour of the cell
under its centre (issue 12)."""
import matplotlib
import numpy as np
import pytest

import animopt
import animopt.views.heatmap as heatmap
from animopt.layout import Canvas
from animopt.scene import parse_scene
from animopt.views.heatmap import colour_index, colour_table

SWEEP = """
seed = 4
[problem]
type = "line"
a = 3.0
b = 10.0
n = 40
x_range = [-1, 1]
noise = 0.3
[train]
steps = 30
init = [-1.0, 1.0]
[[optimizer]]
type = "sgd"
lr = [0.03, 0.1, 0.3, 3.0]
momentum = [0.0, 0.5, 0.9]
[render]
views = [{ type = "heatmap", x = "lr", y = "momentum" }]
size = [480, 270]
duration = 1
"""


def _old_colours(cmap, v, vmin, vmax):
    """The colours as the heat map first mapped them: log scale by hand, then the colour map's bytes."""
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(all="ignore"):
        lo, hi = np.log(vmin), np.log(vmax)
        x = np.where(np.isfinite(v) & (v > 0), (np.log(v) - lo) / (hi - lo), np.nan)
    return cmap(x, bytes=True)


@pytest.mark.parametrize("name", ["viridis", "magma"])
def test_colour_index_gives_the_colour_maps_bytes(name):
    cmap = matplotlib.colormaps[name].with_extremes(bad="#3a3d45", over="#8c3b1a")
    vmin, vmax = 1.2e-4, 2.0
    rng = np.random.default_rng(0)
    v = np.concatenate([np.exp(rng.uniform(np.log(vmin) - 2, np.log(vmax) + 2, 19_991)),
                        [vmin, vmax, vmax * (1 + 1e-12), vmin * (1 - 1e-12), 0.0, -1.0, np.nan, np.inf, -np.inf]])
    for dtype in (np.float64, np.float32):
        vals = v.astype(dtype).reshape(-1, 100)
        got = colour_table(cmap).take(colour_index(vals, vmin, vmax, cmap.N)).view(np.uint8).reshape(*vals.shape, 4)
        assert np.array_equal(got, _old_colours(cmap, vals, vmin, vmax))


def test_heatmap_image_pixels_are_the_cells_under_them(monkeypatch):
    monkeypatch.setattr(heatmap, "IMAGE_CELLS", 4)          # 12 cells: drawn as one image
    scene = parse_scene(SWEEP)
    h = animopt.simulate(scene)
    with Canvas(scene.render, h, "", np.arange(h.steps + 1)) as c:
        view = c.views[0]
        assert view.image
        step = 20
        view.best_line.set_visible(False)                   # nothing drawn over the cells' centres
        view.best_star.set_visible(False)
        frame = np.asarray(c.frame(step))
        (x0, y0), (fx, fy) = view.mesh.grid()
        box = view.ax.bbox
        assert ((fx > 0) & (fx < 1)).all() and ((fy > 0) & (fy < 1)).all()
        assert len(fx) == int(np.ceil(box.x1 - 0.5)) - int(np.ceil(box.x0 - 0.5))       # every pixel centre inside
        ny, nx = len(view.ys), len(view.xs)
        cells = view._frame_values(step)
        cmap = heatmap._cmap(c.theme)
        expected = _old_colours(cmap, cells, view.vmin, view.vmax)
        H = frame.shape[0]
        for i in range(ny):
            for j in range(nx):
                col = x0 + int(np.argmin(np.abs(fx - (j + 0.5) / nx)))           # the pixel at the cell's centre
                row = y0 + int(np.argmin(np.abs(fy - (i + 0.5) / ny)))
                assert tuple(frame[H - 1 - row, col]) == tuple(expected[i, j]), (i, j)
        assert np.isnan(cells[:, -1]).all()                 # lr = 3 diverged: its column is the bad colour
        assert tuple(expected[0, -1]) == tuple(cmap(np.nan, bytes=True))
