"""The heatmap and grid views, and the bundled gallery (every scene explained and listed)."""
import re
from pathlib import Path

import numpy as np
import pytest

import animopt
from animopt.layout import Canvas, check_views
from animopt.scene import parse_scene
from animopt.spec import SceneError
from animopt.views.grid import panels, restrict
from animopt.views.heatmap import cell_edges, is_log_spaced

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "scenes").glob("*.toml"))

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
init = {init}
[[optimizer]]
type = "sgd"
lr = [0.03, 0.3, 3.0]
momentum = [0.0, 0.5]
[render]
views = {views}
size = [480, 270]
duration = 1
"""


def _scene(views, init="[-1.0, 1.0]"):
    return parse_scene(SWEEP.format(views=views, init=init))


def _canvas(scene, h):
    return Canvas(scene.render, h, "", np.arange(h.steps + 1))


def test_heatmap_cells_are_the_loss_of_their_runs():
    # two starts per (lr, momentum) cell: the cell shows their mean; lr 3 diverges and is masked
    scene = _scene('[{ type = "heatmap", x = "lr", y = "momentum" }]', init="[[-1.0, 1.0], [2.0, 0.0]]")
    h = animopt.simulate(scene)
    assert h.runs == 12
    with _canvas(scene, h) as c:
        view = c.views[0]
        step = 12
        c.frame(step)
        img = np.ma.masked_invalid(view.mesh.get_array()).reshape(2, 3)
        lr, mo = h.hparams["lr"], h.hparams["momentum"]
        for i, m in enumerate([0.0, 0.5]):
            for j, r in enumerate([0.03, 0.3, 3.0]):
                runs = np.nonzero(np.isclose(lr, r) & np.isclose(mo, m))[0]
                assert len(runs) == 2
                gone = (h.diverged_at[runs] >= 0) & (h.diverged_at[runs] <= step)
                if gone.any():
                    assert img.mask[i, j]
                else:
                    assert img[i, j] == pytest.approx(h.loss[step, runs].mean())
        assert img.mask[:, 2].all()           # lr = 3 is far past 2 / curvature
        # the best momentum for each lr is the smaller cell of its column
        ys = view.best_line.get_ydata()
        for j in range(2):
            assert ys[j] == [0.0, 0.5][int(np.argmin(img[:, j]))]
        assert view.xlog                       # 0.03, 0.3, 3: a log axis
        assert not view.ylog


def test_heatmap_names_a_missing_key():
    scene = _scene('[{ type = "heatmap", x = "lr", y = "beta" }]')
    h = animopt.simulate(scene)
    with pytest.raises(SceneError) as e:
        check_views(scene.render, h, "s.toml")
    msg = str(e.value)
    assert "render.views[0].y" in msg and "'beta' is not a swept key" in msg and "'momentum'" in msg
    assert "render.views[0].x" not in msg


def test_heatmap_needs_a_sweep():
    text = SWEEP.replace("lr = [0.03, 0.3, 3.0]", "lr = 0.1").replace("momentum = [0.0, 0.5]", "")
    scene = parse_scene(text.format(views='["heatmap"]', init="[0.0, 0.0]"))
    h = animopt.simulate(scene)
    with pytest.raises(SceneError) as e:
        check_views(scene.render, h, "s.toml")
    assert "render.views[0].x" in str(e.value) and "sweeps nothing" in str(e.value)


def test_log_spacing_and_edges():
    assert is_log_spaced(np.array([0.001, 0.01, 0.1]))
    assert not is_log_spaced(np.array([0.0, 0.3, 0.6, 0.9]))
    assert not is_log_spaced(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]))
    e = cell_edges(np.array([0.01, 0.1, 1.0]), log=True)
    np.testing.assert_allclose(e, [10 ** -2.5, 10 ** -1.5, 10 ** -0.5, 10 ** 0.5])
    np.testing.assert_allclose(cell_edges(np.array([0.0, 0.5, 1.0]), log=False), [-0.25, 0.25, 0.75, 1.25])


def test_grid_panels_per_value_share_axes():
    scene = _scene('[{ type = "grid", view = "loss", by = "lr" }]')
    h = animopt.simulate(scene)
    groups = panels(h, "lr")
    assert [t for t, _ in groups] == ["lr = 0.03", "lr = 0.3", "lr = 3"]
    for (_, idx), lr in zip(groups, [0.03, 0.3, 3.0]):
        assert len(idx) == 2 and np.allclose(h.hparams["lr"][idx], lr)
    with _canvas(scene, h) as c:
        c.frame(10)
        grid = c.views[0]
        assert len(grid.views) == 3
        axes = [v.ax for v in grid.views]
        assert [a.get_title() for a in axes] == ["lr = 0.03", "lr = 0.3", "lr = 3"]
        assert len({a.get_ylim() for a in axes}) == 1 and len({a.get_yscale() for a in axes}) == 1
        # each panel draws its own runs only
        np.testing.assert_array_equal(grid.views[1].h.loss, h.loss[:, groups[1][1]])
        lines = grid.views[1].lines
        assert len(lines) == 2
        np.testing.assert_allclose(lines[0].get_ydata()[-1], h.loss[10, groups[1][1][0]])


def test_restrict_keeps_every_run_array_aligned():
    scene = _scene('["loss"]')
    h = animopt.simulate(scene)
    idx = np.array([4, 1])
    s = restrict(h, idx)
    assert s.runs == 2 and s.steps == h.steps
    np.testing.assert_array_equal(s.params, h.params[:, idx])
    np.testing.assert_array_equal(s.grads, h.grads[:, idx])
    np.testing.assert_array_equal(s.lr, h.lr[:, idx])
    np.testing.assert_array_equal(s.hparams["momentum"], h.hparams["momentum"][idx])
    assert s.labels == (h.labels[4], h.labels[1])


def test_grid_one_panel_per_run_and_errors():
    scene = _scene('[{ type = "grid", view = "fit_line" }]')
    h = animopt.simulate(scene)
    assert [t for t, _ in panels(h, None)] == list(h.labels)
    bad = _scene('[{ type = "grid", view = "loss", by = "beta" }]')
    with pytest.raises(SceneError) as e:
        check_views(bad.render, h, "s.toml")
    assert "render.views[0].by" in str(e.value) and "'lr'" in str(e.value)
    inner = _scene('[{ type = "grid", view = { type = "heatmap", x = "lr", y = "nope" }, by = "lr" }]')
    with pytest.raises(SceneError) as e:
        check_views(inner.render, h, "s.toml")
    assert "render.views[0].view.y" in str(e.value)
    with pytest.raises(SceneError) as e:
        parse_scene(SWEEP.format(views='[{ type = "grid", by = "lr" }]', init="[0.0, 0.0]"))
    assert "render.views[0].view" in str(e.value) and "missing" in str(e.value)


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene_opens_with_a_comment(path):
    first = path.read_text().lstrip().splitlines()[0]
    assert first.startswith("#") and len(first) > 20, f"{path.name} must open with a comment saying what it shows"


def test_readme_lists_every_scene_with_a_still():
    readme = (ROOT / "scenes" / "README.md").read_text()
    for p in SCENES:
        assert f"`{p.name}`" in readme, f"scenes/README.md does not list {p.name}"
        still = f"docs/gallery/{p.stem}.png"
        assert still in readme, f"scenes/README.md shows no still of {p.name}"
        assert (ROOT / still).is_file(), f"{still} is missing"
    for name in re.findall(r"`([\w-]+\.toml)`", readme):
        assert (ROOT / "scenes" / name).is_file(), f"scenes/README.md lists {name}, which is not there"


def test_grid_of_heatmaps_one_per_batch_size():
    text = SWEEP.replace("steps = 30", "steps = 30\nbatch_size = [4, 16]")
    scene = parse_scene(text.format(views='[{ type = "grid", view = "heatmap", by = "batch_size" }]',
                                    init="[-1.0, 1.0]"))
    h = animopt.simulate(scene)
    assert h.runs == 12
    with _canvas(scene, h) as c:
        c.frame(h.steps)
        grid = c.views[0]
        assert [v.ax.get_title() for v in grid.views] == ["batch size = 4", "batch size = 16"]
        for v, bs in zip(grid.views, [4, 16]):
            assert v.mesh.get_array().shape == (6,)          # 2 momenta x 3 learning rates
            assert (v.h.hparams["batch_size"] == bs).all()
