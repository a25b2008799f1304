"""Grid starts (`init = { grid = ... }`) and the basins view: validation naming the key, the order of the
starts, the colours of each start frame by frame, one image per panel."""
import numpy as np
import pytest

import animopt
from animopt.coincide import Coincidence, rank_in_group
from animopt.scene import parse_scene
from animopt.simulator import plan, simulate
from animopt.spec import SceneError
from animopt.sweep import grid_points
from animopt.views.basins import boundaries, classify, grid_of

SCENE = """
title = "basins"
[problem]
type = "himmelblau"
[train]
steps = 40
init = { grid = [[-5, 5, 12], [-5, 5, 10]] }
[[optimizer]]
type = "sgd"
lr = 0.005
[[optimizer]]
type = "sgd"
lr = 0.005
momentum = 0.9
[render]
views = [{ type = "basins", compare = true }]
size = [480, 240]
dpi = 40
frames = 6
formats = ["mp4"]
"""


def errors_of(text):
    with pytest.raises(SceneError) as e:
        plan(parse_scene(text))
    return [(k, m) for _, k, m in e.value.problems]


@pytest.mark.parametrize("grid, key, words", [
    ("grid = [[-5, 5, 12]]", "train.init.grid", "2 [lo, hi, n]"),
    ("grid = [[-5, 5, 12], [5, -5, 10]]", "train.init.grid[1]", "lo < hi"),
    ("grid = [[-5, 5, 12], [-5, 5, 0]]", "train.init.grid[1]", "integer >= 1"),
    ("grid = [[-5, 5, 12], [-5, 5, 2.5]]", "train.init.grid[1]", "integer >= 1"),
    ("grid = [[-5, 5], [-5, 5, 10]]", "train.init.grid[0]", "[lo, hi, n]"),
    ("grid = [[-5, 5, 1000], [-5, 5, 1001]]", "train.init.grid", "1,001,000 starts is more than the limit"),
    ("grid = []", "train.init.grid", "one [lo, hi, n] per parameter"),
    ("grid = [[-5, 5, 12], [-5, 5, 10]], random = 3", "train.init.random", "only grid"),
])
def test_bad_grid_names_its_key(grid, key, words):
    text = SCENE.replace("grid = [[-5, 5, 12], [-5, 5, 10]]", grid)
    found = errors_of(text)
    assert any(k == key and words in m for k, m in found), found


def test_basins_without_a_grid_or_minima_is_refused_at_validation():
    from animopt.renderer import checked_plan

    no_grid = SCENE.replace("init = { grid = [[-5, 5, 12], [-5, 5, 10]] }", "init = [[1.0, 1.0], [2.0, 2.0]]")
    with pytest.raises(SceneError, match="not a full grid"):
        checked_plan(parse_scene(no_grid))
    saddle = SCENE.replace('"himmelblau"', '"saddle"')
    with pytest.raises(SceneError, match="marks none"):
        checked_plan(parse_scene(saddle))


def test_grid_points_first_parameter_fastest():
    pts = grid_points(((0.0, 1.0, 3), (10.0, 20.0, 2)), 2)
    assert pts == [(0.0, 10.0), (0.5, 10.0), (1.0, 10.0), (0.0, 20.0), (0.5, 20.0), (1.0, 20.0)]
    xs, ys, row, col = grid_of(np.array(pts))
    assert list(xs) == [0.0, 0.5, 1.0] and list(ys) == [10.0, 20.0]
    assert list(row * 3 + col) == list(range(6))
    assert grid_of(np.array(pts[:5])) is None


def test_grid_runs_are_one_batch_with_their_starts():
    h = simulate(parse_scene(SCENE))
    assert h.runs == 2 * 120
    starts = np.asarray(h.hparams["init"])
    assert np.allclose(h.params[0], starts)
    assert starts[1, 0] > starts[0, 0] and starts[1, 1] == starts[0, 1]


def test_classify_settled_moving_diverged():
    mins = np.array([[0.0, 0.0], [10.0, 0.0]])
    now = np.array([[0.01, 0.0], [9.0, 0.0], [np.nan, np.nan], [0.0, 0.05]])
    before = np.array([[0.02, 0.0], [8.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    near, settled, bad = classify(now, before, mins, 0.1, np.array([False, False, False, False]))
    assert list(near[:2]) == [0, 1] and near[3] == 0
    assert list(settled) == [True, False, False, False]       # the last just arrived: still moving
    assert list(bad) == [False, False, True, False]


def test_boundaries():
    lab = np.array([[0, 0, 1], [0, 0, 1]])
    assert boundaries(lab).tolist() == [[False, True, False], [False, True, False]]


def test_rank_in_group_matches_the_loop():
    class H:
        runs = 7
    found = [Coincidence(3, 1, "path"), Coincidence(5, 3, "path"), Coincidence(6, 0, "until", 3)]
    rank, size = rank_in_group(H, found)
    assert rank.tolist() == [0, 0, 0, 1, 0, 2, 1]
    assert size.tolist() == [2, 3, 1, 3, 1, 3, 2]


def test_basins_draws_one_image_per_panel_and_colours_by_minimum():
    from animopt.layout import Canvas
    from animopt.renderer import timeline
    from matplotlib.image import AxesImage

    sc = parse_scene(SCENE)
    h = simulate(sc)
    with Canvas(sc.render, h, sc.title, timeline(sc, h)) as c:
        view = c.views[0]
        images = [a for a in c.artists if isinstance(a, AxesImage)]
        assert len(view.images) == 2 and len(images) == 3          # two panels and one outline of the first
        assert view.images[0].get_array().shape[:2] == (10, 12)
        c.frame(h.steps)
        img = np.asarray(view.images[0].get_array())
        # the start at (3, 2)'s cell (nearest the minimum) is in the first minimum's full colour
        r, col = np.argmin(np.abs(np.linspace(-5, 5, 10) - 2)), np.argmin(np.abs(np.linspace(-5, 5, 12) - 3))
        assert tuple(img[r, col]) == tuple(view.lut[0])
        assert "settled" in view.notes[0].get_text()
        assert "heading elsewhere" in view.notes[1].get_text()


def test_basins_renders(tmp_path):
    sc = parse_scene(SCENE)
    out = animopt.render(sc, tmp_path, formats=["mp4"])
    assert out[0].stat().st_size > 1000
