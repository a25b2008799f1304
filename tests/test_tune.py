"""Fair tuning: lr = { tune = [lo, hi], num = N, score = ... } runs every candidate in one batch and
keeps each entry's best (animopt.tune); `animopt tune` prints the table."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import animopt
from animopt.cli import main
from animopt.scene import parse_scene
from animopt.spec import Tune

SCENE = """
[problem]
type = "rosenbrock"
[train]
steps = 60
init = [-1.2, 1.0]
{optimizers}
[render]
views = ["contour", "loss"]
"""


def sim(optimizers):
    return animopt.simulate(parse_scene(SCENE.format(optimizers=optimizers)))


def test_tune_is_a_log_spaced_sweep():
    s = parse_scene(SCENE.format(optimizers='[[optimizer]]\ntype = "adam"\nlr = { tune = [1e-3, 1], num = 4, score = "mean_loss" }'))
    t = s.optimizers[0].hparams["lr"]
    assert isinstance(t, Tune) and t.score == "mean_loss"
    np.testing.assert_allclose(t.values, [1e-3, 1e-2, 1e-1, 1.0])
    assert parse_scene(SCENE.format(optimizers='[[optimizer]]\ntype = "adam"\nlr = { tune = [1e-3, 1] }')
                       ).optimizers[0].hparams["lr"].values.__len__() == 64


@pytest.mark.parametrize("value, words", [
    ('{ tune = [1e-3, 1], score = "loss" }', "tune 'score' must be one of"),
    ('{ tune = [1, 1e-3] }', "0 < lo < hi"),
    ('{ tune = [1e-3, 1], num = 1 }', "tune 'num' must be an integer from 2"),
    ('{ tune = [1e-3, 1], nums = 8 }', "unknown tune key 'nums'"),
])
def test_tune_errors_name_the_key(value, words):
    with pytest.raises(animopt.SceneError) as e:
        parse_scene(SCENE.format(optimizers=f'[[optimizer]]\ntype = "adam"\nlr = {value}'))
    assert any(k == "optimizer[0].lr" and words in m for _, k, m in e.value.problems), e.value.problems


@pytest.mark.parametrize("score", ["final_loss", "mean_loss", "distance"])
def test_the_best_candidate_is_kept(score):
    """The tuned run is the candidate sweep's run with the lowest score; the legend shows its value."""
    tuned = sim(f'[[optimizer]]\ntype = "adam"\nlr = {{ tune = [1e-3, 1], num = 7, score = "{score}" }}\n'
                '[[optimizer]]\ntype = "sgd"\nlr = 1e-4')
    values = np.geomspace(1e-3, 1, 7)
    swept = sim(f'[[optimizer]]\ntype = "adam"\nlr = {[float(v) for v in values]}')
    if score == "final_loss":
        s = swept.loss[-1]
    elif score == "mean_loss":
        s = swept.loss.mean(0)
    else:
        s = np.linalg.norm(swept.params[-1] - np.array([1.0, 1.0]), axis=1)
    best = int(np.argmin(s))
    assert tuned.runs == 2 and tuned.labels[1] == "SGD"
    assert tuned.labels[0] == f"Adam lr={values[best]:.4g} (tuned)"
    np.testing.assert_allclose(tuned.hparams["lr"][0], values[best])
    np.testing.assert_array_equal(tuned.params[:, 0], swept.params[:, best])
    np.testing.assert_array_equal(tuned.optimizer, [0, 1])


def test_ties_go_to_the_smaller_lr_and_diverged_runs_lose():
    """Every candidate diverges (score inf): the smallest lr is kept. Deterministic: twice the same."""
    opt = '[[optimizer]]\ntype = "sgd"\nlr = { tune = [10, 1000], num = 5 }'
    a, b = sim(opt), sim(opt)
    assert a.labels == ("SGD lr=10 (tuned)",)
    np.testing.assert_array_equal(a.params, b.params)


def test_candidates_are_tuned_per_start_and_with_their_twins():
    h = animopt.simulate(parse_scene(SCENE.format(optimizers=(
        '[[optimizer]]\ntype = "adam"\nlr = { tune = [1e-3, 1], num = 5 }\ncompare = "torch"'
    )).replace("init = [-1.2, 1.0]", "init = [[-1.2, 1.0], [0.5, 2.0]]")))
    assert h.runs == 4                                    # two starts, each its best, each with its twin
    assert h.labels[0].endswith("start 1") and h.labels[1].endswith("start 2")
    assert h.labels[2].startswith(h.labels[0] + " (torch.optim, max diff")
    np.testing.assert_allclose(h.params[:, 2], h.params[:, 0], rtol=0, atol=1e-12)


def test_distance_needs_a_known_minimum():
    text = """
[problem]
type = "expression"
f = "x**2 + 3*y**2"
[train]
steps = 5
init = [1.0, 1.0]
[[optimizer]]
type = "adam"
lr = { tune = [1e-3, 1], num = 3, score = "distance" }
[render]
views = ["loss"]
"""
    with pytest.raises(animopt.SceneError, match=r"optimizer\[0\]\.lr: score \"distance\" needs a problem with a known minimum"):
        animopt.simulate(parse_scene(text))
    h = animopt.simulate(parse_scene(text.replace('f = "x**2 + 3*y**2"', 'f = "x**2 + 3*y**2"\nminimum = [0.0, 0.0]')))
    assert h.runs == 1 and "(tuned)" in h.labels[0]


def test_tune_command_prints_every_candidate(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(SCENE.format(optimizers='[[optimizer]]\ntype = "adam"\nlr = { tune = [1e-3, 1], num = 6 }\n'
                                            '[[optimizer]]\ntype = "rmsprop"\nlr = { tune = [1e-4, 0.1], num = 5 }'))
    res = CliRunner().invoke(main, ["tune", str(path)])
    assert res.exit_code == 0, res.output
    assert "optimizer[0] Adam: lr by final_loss, 6 candidates" in res.output
    assert "optimizer[1] RMSprop: lr by final_loss, 5 candidates" in res.output
    assert res.output.count("<- chosen") == 2
    assert len([ln for ln in res.output.splitlines() if ln.strip() and ln.strip()[0].isdigit()]) == 11
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 0
