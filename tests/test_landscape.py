"""The classifier views: `landscape` (a plane through parameter space: PCA of the paths or random
filter-normalized directions, the true loss on it, distances off it), `boundary` and `accuracy`; small
scenes, drawn at 40 dpi."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import animopt
from animopt.history import History
from animopt.info import ProblemInfo
from animopt.layout import check_views
from animopt.renderer import open_canvas
from animopt.scene import parse_scene
from animopt.spec import SceneError
from animopt.views.landscape import filter_groups, grid_loss, make_plane, plane_box, random_directions

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "scenes" / "data" / "digits.npz"
MLP = 'type = "mlp"\nn = 40\nhidden = [4]\nactivation = "tanh"'


def scene(problem: str, views: str, train="steps = 24\nbatch_size = 10\nshuffle = true", path=None):
    return parse_scene(f"""seed = 2
[problem]
{problem}
[train]
{train}
[[optimizer]]
type = "sgd"
lr = 0.3
[[optimizer]]
type = "adam"
lr = 0.05
[render]
views = {views}
size = [480, 270]
dpi = 40
frames = 8
""", path)


@pytest.fixture(scope="module")
def mlp():
    s = scene(MLP, '[["landscape", "accuracy"], [{ type = "grid", view = "boundary" }]]')
    return s, animopt.simulate(s)


def draw(s, h, steps=(0, 12, 24)):
    check_views(s.render, h, "<test>")
    with open_canvas(s, h, np.array(steps)) as c:
        imgs = [c.rgb(k) for k in steps]
        views = list(c.views)
    return imgs, views


def test_every_classifier_view_draws_and_moves(mlp):
    s, h = mlp
    imgs, views = draw(s, h)
    assert imgs[0].shape == (270, 480, 3) and all(i.std() > 5 for i in imgs)
    assert not np.array_equal(imgs[0], imgs[-1])
    land, acc, grid = views
    # the accuracy curve is the problem's accuracy at every step
    np.testing.assert_allclose(acc.v[:, 1], h.problem.accuracy_fn(h.params[:, 1]))
    # each boundary panel shows its run's accuracy at the step
    b = grid.views[1]
    b.update(24)
    assert b.text.get_text() == f"accuracy {100 * h.problem.accuracy_fn(h.params[24, 1:2])[0]:.1f}%"
    assert land.ax.get_xlabel().startswith("PC1 (") and "% of the paths' variance" in land.ax.get_xlabel()


def test_pca_plane_is_the_paths_own():
    """Paths that lie in a 2-D affine plane of a 6-D bowl: the PCA plane holds them (nothing off the plane),
    the projected coordinates give the points back, and the contours are the true loss at those points."""
    rng = np.random.default_rng(0)
    P, T = 6, 30
    Q, _ = np.linalg.qr(rng.standard_normal((P, 2)))
    c0 = rng.standard_normal(P)
    t = np.linspace(0, 1, T + 1)[:, None]
    ab = np.stack([np.stack([3 * (1 - t[:, 0]), np.sin(3 * t[:, 0])], 1),
                   np.stack([-2 * (1 - t[:, 0]), 1 - t[:, 0] ** 2], 1)], 1)             # [T+1, 2, 2]
    params = c0 + ab @ Q.T
    gam = np.arange(1, P + 1, dtype=float)

    def loss(p):
        return 0.5 * ((np.atleast_2d(p) - c0) ** 2 * gam).sum(1)

    info = ProblemInfo("quadratic", tuple(f"w{i}" for i in range(P)), loss_fn=loss)
    h = History(params=params, loss=np.stack([loss(p) for p in params]), grads=np.zeros((T, 2, P)),
                updates=np.zeros((T, 2, P)), lr=np.ones((T, 2)), diverged_at=np.full(2, -1), labels=("a", "b"),
                param_names=info.param_names, problem=info)
    pl = make_plane(h, "pca", "mean")
    np.testing.assert_allclose(pl.D @ pl.D.T, np.eye(2), atol=1e-12)
    assert pl.off.max() < 1e-9 and pl.explained.sum() == pytest.approx(1.0)
    back = pl.center + pl.coords @ pl.D
    np.testing.assert_allclose(back, params, atol=1e-9)
    box = plane_box(h, pl.coords, None)
    A, B, Z = grid_loss(info, pl, box, 40)
    i, j = 7, 29
    np.testing.assert_allclose(Z[i, j], loss(pl.center + A[i, j] * pl.D[0] + B[i, j] * pl.D[1])[0])
    assert box[0][0] < pl.coords[..., 0].min() and pl.coords[..., 1].max() < box[1][1]
    # a path off the plane is measured: move run b out of it
    off = replace(h, params=params + np.linspace(0, 1, T + 1)[:, None, None] * np.eye(P)[None, [0, 0]] * [[0], [1]])
    pl2 = make_plane(off, "pca", "a")
    assert pl2.center_text == "centre: a's final point"
    assert pl2.off[:, 1].max() > 0.05 and pl2.off[-1, 0] < 1e-12 and pl2.share[-1, 0] == 0


def test_random_directions_are_filter_normalized():
    names = ("l0.weight[0,0]", "l0.weight[0,1]", "l0.weight[1,0]", "l0.weight[1,1]", "l0.bias[0]", "l0.bias[1]",
             "l1.weight[0,0]", "l1.weight[0,1]", "l1.bias[0]")
    c = np.array([1.0, 2.0, -3.0, 0.5, 0.3, 0.2, 4.0, -1.0, 0.7])
    D = random_directions(names, c, seed=3)
    for rows in ([0, 1], [2, 3], [6, 7]):
        for a in range(2):
            assert np.linalg.norm(D[a, rows]) == pytest.approx(np.linalg.norm(c[rows]))
    assert np.all(D[:, [4, 5, 8]] == 0)                                  # biases: zero, as Li et al.
    assert not np.allclose(D[0], D[1])
    np.testing.assert_array_equal(D, random_directions(names, c, seed=3))
    # W[i,j] of the linear problems: a filter is one output's weights (a column)
    groups = dict((k if isinstance(k, str) else k[1], list(v)) for k, v in
                  filter_groups(("W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "B[0]", "B[1]")))
    assert groups[0] == [0, 2] and groups[1] == [1, 3] and groups["bias"] == [4, 5]
    # at the origin there is no scale to copy: the plain Gaussian direction, unit length
    D0 = random_directions(names, np.zeros(9), seed=3)
    np.testing.assert_allclose(np.linalg.norm(D0, axis=1), 1.0)


@pytest.mark.parametrize("problem", [
    'type = "linear"\ninputs = 3\noutputs = 2\nn = 30',
    f'type = "classifier"\nnpz = "{DIGITS}"\nn = 60\nloss = "cross_entropy"',
    MLP,
], ids=["linear", "classifier", "mlp"])
@pytest.mark.parametrize("plane", ["pca", "random"])
def test_landscape_works_for_every_problem_with_more_than_two_parameters(problem, plane):
    s = scene(problem, f'[{{ type = "landscape", plane = "{plane}", center = "Adam", resolution = 24 }}]')
    h = animopt.simulate(s)
    imgs, (land,) = draw(s, h)
    assert not np.array_equal(imgs[0], imgs[-1])
    assert land.plane.center_text == "centre: Adam's final point"
    np.testing.assert_allclose(land.plane.center, h.params[-1, 1])
    assert land.off_text.get_text().startswith("off the plane: SGD ")


@pytest.mark.parametrize("problem,views,key,words", [
    ('type = "line"\na = 1.0\nb = 2.0', '["landscape"]', "render.views[0]", "more than two parameters"),
    (MLP, '[{ type = "landscape", center = "Nadam" }]', "render.views[0].center", "no run 'Nadam'"),
    (MLP, '[{ type = "boundary", run = 5 }]', "render.views[0].run", "no run 5"),
    (f'type = "classifier"\nnpz = "{DIGITS}"\nn = 60', '["boundary"]', "render.views[0]", "64 features"),
    ('type = "linear"\ninputs = 3', '["accuracy"]', "render.views[0]", "needs a classifier"),
])
def test_views_that_do_not_fit_name_their_key(problem, views, key, words):
    s = scene(problem, views, train="steps = 3")
    from animopt.renderer import checked_plan

    with pytest.raises(SceneError) as e:
        checked_plan(s)
    ((_, k, msg),) = e.value.problems
    assert k == key and words in msg, msg


def test_boundary_picks_a_run_by_label(mlp):
    s, h = mlp
    s2 = scene(MLP, '[{ type = "boundary", run = "adam" }]')
    _, (b,) = draw(s2, h, steps=(0, 24))
    assert b.r == 1 and b.ax.get_title() == "Adam"
