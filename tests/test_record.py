"""What the simulator records (animopt.record): what the views draw, everything when asked, and a scene
whose simulation cannot fit refused at validation with the estimate and what to change."""
import numpy as np
import pytest
from click.testing import CliRunner

import animopt
from animopt import record
from animopt.cli import main
from animopt.scene import parse_scene
from animopt.simulator import plan
from animopt.spec import SceneError

SWEEP = """
seed = 4
[problem]
type = "linear"
inputs = 2
outputs = 1
n = 40
noise = 0.01
[train]
epochs = 3
batch_size = 8
shuffle = true
init = [1.0, 1.0, 1.0]
{record}
[[optimizer]]
type = "sgd"
lr = [0.05, 0.2, 0.8]
momentum = [0.0, 0.5]
momentum_style = "ema"
[render]
views = [{views}]
size = [320, 180]
frames = 4
"""


def scene(views='{ type = "heatmap", x = "lr", y = "momentum" }', rec=""):
    return parse_scene(SWEEP.format(views=views, record=rec))


def test_drawn_keeps_what_the_heatmap_draws_and_the_same_numbers():
    drawn = animopt.simulate(scene(rec='record = "drawn"'))
    full = animopt.simulate(scene(rec='record = "all"'))
    assert np.isnan(drawn.grads).all() and drawn.grads.shape == full.grads.shape
    assert drawn.grads.strides == (0, 0, 0) and drawn.updates.strides == (0, 0, 0)     # no memory
    assert np.isfinite(full.grads).all()
    # a heat map draws the loss alone: the parameters at the first and the last step only
    assert np.isnan(drawn.params).all() and drawn.params.shape == full.params.shape
    assert drawn.params.strides == (0, 0, 0) and full.params_ends is None
    np.testing.assert_array_equal(drawn.params_ends, full.params[[0, -1]])
    np.testing.assert_array_equal(drawn.loss, full.loss)


@pytest.mark.parametrize("batch", [True, False])
def test_loss_only_keeps_the_ends_and_the_same_loss_with_divergence(batch):
    text = SWEEP.replace('lr = [0.05, 0.2, 0.8]', 'lr = [0.05, 0.8, 3.0, 30.0]')
    if not batch:
        text = text.replace("batch_size = 8\n", "")
    drawn, full = (animopt.simulate(parse_scene(text.format(views='"loss", "lr"', record=f'record = "{m}"')))
                   for m in ("drawn", "all"))
    assert (drawn.diverged_at >= 0).any() and (drawn.diverged_at < 0).any()
    np.testing.assert_array_equal(drawn.diverged_at, full.diverged_at)
    np.testing.assert_array_equal(drawn.loss, full.loss)
    np.testing.assert_array_equal(drawn.params_ends, full.params[[0, -1]])
    assert record.views_draw_params(scene(views='"contour"').render)
    assert not record.views_draw_params(scene(views='"loss", "lr"').render)
    assert record.wants_params(scene(rec='record = "all"'), 100, 1_000_000, 3)
    assert not record.wants_params(scene(), 100, 1_000_000, 3)


def test_a_view_that_draws_gradients_keeps_them():
    h = animopt.simulate(scene(views='"grads"', rec='record = "drawn"'))
    assert np.isfinite(h.grads).all()
    assert record.views_draw_steps_detail(scene(views='"grads"').render)
    assert not record.views_draw_steps_detail(scene().render)


def test_auto_keeps_everything_while_small():
    h = animopt.simulate(scene())
    assert np.isfinite(h.grads).all()
    sc = scene()
    assert record.wants_steps_detail(sc, 100, 1000, 3)
    assert not record.wants_steps_detail(sc, 100, 1_000_000, 3)


def test_one_batch_size_shares_its_minibatches():
    h = animopt.simulate(scene(rec='record = "all"'))
    assert h.batch_idx.shape == (h.steps, h.runs, 8)
    assert (h.batch_idx == h.batch_idx[:, :1]).all()
    # the first update of each run is its minibatch's gradient (mean of the 8 points' gradients)
    info = h.problem
    X, Y = info.data["X"], info.data["Y"]
    b = h.batch_idx[0, 0]
    W, B = h.params[0, 0, :2], h.params[0, 0, 2]
    r = X[b] @ W + B - Y[b, 0]
    g = np.r_[2 * X[b].T @ r / len(b), 2 * r.mean()]
    np.testing.assert_allclose(h.grads[0, 0], g, rtol=1e-12)


def test_work_past_the_budget_is_refused_at_validation(monkeypatch, tmp_path):
    monkeypatch.setenv("ANIMOPT_MEMORY_MB", "0.001")
    with pytest.raises(SceneError) as e:
        plan(scene(rec='record = "all"'))
    (_, key, msg), = e.value.problems
    assert key == "train"
    assert "would hold about" in msg and "6 runs" in msg and "memory budget" in msg
    assert 'dtype = "float32"' in msg and "fewer runs" in msg
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(views='"loss"', record=""))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2 and "memory budget" in res.output, res.output


def test_a_million_runs_is_estimated_not_run():
    parts = record.estimate_bytes(100, 1_000_000, 3, 4, detail=False, batch=10, shared_batches=True)
    assert sum(parts.values()) < 5 * 2 ** 30          # measured: 5.4 GB peak with the imports
    worse = record.estimate_bytes(100, 1_000_000, 3, 8, detail=True, batch=10, shared_batches=False)
    assert sum(worse.values()) > 12 * 2 ** 30


def test_simulate_all_steps(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(views='{ type = "heatmap", x = "lr", y = "momentum" }', record=""))
    run = CliRunner().invoke
    assert run(main, ["simulate", str(path), "-o", str(tmp_path / "d.npz"), "--set", 'train.record="drawn"']).exit_code == 0
    assert run(main, ["simulate", str(path), "-o", str(tmp_path / "a.npz"), "--set", 'train.record="drawn"',
                      "--all-steps"]).exit_code == 0
    d, a = np.load(tmp_path / "d.npz"), np.load(tmp_path / "a.npz")
    assert np.isnan(d["grads"]).all() and np.isfinite(a["grads"]).all()
    assert np.isnan(d["params"]).all() and np.isfinite(a["params"]).all() and "params_ends" not in a.files
    np.testing.assert_array_equal(d["params_ends"], a["params"][[0, -1]])


def test_estimate_counts_the_parameters_at_the_ends_when_only_the_loss_is_drawn(tmp_path):
    every = record.estimate_bytes(100, 1_000_000, 3, 4, detail=False, batch=10, params_all=True)
    ends = record.estimate_bytes(100, 1_000_000, 3, 4, detail=False, batch=10, params_all=False)
    assert every["params"] == 101 * 1_000_000 * 3 * 4 and ends["params"] == 2 * 1_000_000 * 3 * 4
    assert ends["loss"] == 101 * 1_000_000 * 4        # past AUTO_VALUES the loss stays in the dtype
    assert record.estimate_bytes(10, 100, 3, 4, detail=False)["loss"] == 11 * 100 * (4 + 8)
