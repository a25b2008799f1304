"""Sweeps end to end: lists, ranges, grids, pairs, several starts, batch sizes; labels, per-run
hyperparameters, batching that changes nothing, and errors that name the key."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import animopt
from animopt.cli import main
from animopt.scene import parse_scene
from animopt.spec import SceneError

SCENE = """
[problem]
type = "line"
x = [-3.0, -1.0, 0.5, 2.0, 4.0, 5.5]
y = [-7.2, -2.9, 1.1, 4.2, 8.8, 12.1]
[train]
steps = {steps}
{train}
{optimizers}
[render]
views = ["loss"]
"""


def scene(optimizers: str, train: str = "init = [0.3, -0.2]", steps: int = 50):
    return parse_scene(SCENE.format(optimizers=optimizers, train=train, steps=steps))


def sim(optimizers: str, **kw):
    return animopt.simulate(scene(optimizers, **kw))


def test_grid_of_a_list_and_a_range():
    h = sim('[[optimizer]]\ntype = "sgd"\nlr = [0.01, 0.02]\nmomentum = { from = 0.0, to = 0.9, num = 4 }')
    assert h.runs == 8
    # the last key varies fastest
    np.testing.assert_allclose(h.hparams["lr"], [0.01] * 4 + [0.02] * 4)
    np.testing.assert_allclose(h.hparams["momentum"], [0.0, 0.3, 0.6, 0.9] * 2)
    assert h.labels[:2] == ("SGD lr=0.01 momentum=0", "SGD lr=0.01 momentum=0.3")
    assert h.labels[-1] == "SGD lr=0.02 momentum=0.9"
    np.testing.assert_allclose(h.lr[0], h.hparams["lr"])
    # every run is the run its values make alone: batching changes nothing
    for r in (0, 5, 7):
        one = sim(f'[[optimizer]]\ntype = "sgd"\nlr = {float(h.hparams["lr"][r])!r}\nmomentum = {float(h.hparams["momentum"][r])!r}')
        assert one.runs == 1 and one.labels == ("SGD",)
        np.testing.assert_allclose(h.params[:, r], one.params[:, 0], rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(h.updates[:, r], one.updates[:, 0], rtol=1e-12, atol=1e-13)


def test_log_range_and_labels():
    h = sim('[[optimizer]]\ntype = "adam"\nlabel = "A"\nlr = { from = 1e-3, to = 1e-1, num = 3, scale = "log" }')
    np.testing.assert_allclose(h.hparams["lr"], [1e-3, 1e-2, 1e-1], rtol=1e-12)
    assert h.labels == ("A lr=0.001", "A lr=0.01", "A lr=0.1")


def test_pairs_sweep_as_a_list_of_pairs():
    h = sim('[[optimizer]]\ntype = "adam"\nlr = 0.05\nbetas = [[0.9, 0.999], [0.5, 0.9], [0.0, 0.99]]')
    assert h.runs == 3
    assert h.labels[1] == "Adam betas=[0.5, 0.9]"
    np.testing.assert_allclose(h.hparams["betas"], [[0.9, 0.999], [0.5, 0.9], [0.0, 0.99]])
    one = sim('[[optimizer]]\ntype = "adam"\nlr = 0.05\nbetas = [0.5, 0.9]')
    np.testing.assert_allclose(h.params[:, 1], one.params[:, 0], rtol=1e-13, atol=1e-13)
    assert not np.allclose(h.params[:, 0], h.params[:, 1])


def test_several_starts_multiply_the_runs():
    h = sim('[[optimizer]]\ntype = "sgd"\nlr = [0.01, 0.02]', train="init = [[0.3, -0.2], [2.0, 1.0], [-1.0, 0.0]]")
    assert h.runs == 6
    assert h.labels[:3] == ("SGD lr=0.01 start 1", "SGD lr=0.01 start 2", "SGD lr=0.01 start 3")
    np.testing.assert_allclose(h.hparams["init"], [[0.3, -0.2], [2.0, 1.0], [-1.0, 0.0]] * 2)
    np.testing.assert_allclose(h.params[0], h.hparams["init"])
    np.testing.assert_allclose(h.hparams["lr"], [0.01] * 3 + [0.02] * 3)


def test_batch_size_sweep():
    text = SCENE.replace("steps = {steps}\n", "").format(
        optimizers='[[optimizer]]\ntype = "sgd"\nlr = 0.01', train="epochs = 4\nbatch_size = [1, 3, 6]")
    h = animopt.simulate(parse_scene(text))
    assert h.labels == ("SGD batch_size=1", "SGD batch_size=3", "SGD batch_size=6")
    np.testing.assert_array_equal(h.hparams["batch_size"], [1, 3, 6])
    assert h.steps == 24                                  # 6 points, batch 1, 4 epochs
    # the shorter runs stop after their own updates: 8 and 4, then hold still
    assert np.all(h.lr[8:, 1] == 0) and np.all(h.lr[:8, 1] == 0.01)
    np.testing.assert_array_equal(h.params[8:, 1], np.repeat(h.params[8:9, 1], 17, 0))
    np.testing.assert_array_equal(h.params[4:, 2], np.repeat(h.params[4:5, 2], 21, 0))


def test_several_entries_hparams_per_run():
    h = sim('[[optimizer]]\ntype = "sgd"\nlr = [0.01, 0.02]\nmomentum = [0.0, 0.9]\n'
            '[[optimizer]]\ntype = "adam"\nlr = 0.1\n'
            '[[optimizer]]\ntype = "sgd"\nmomentum_style = "ema"\nlr = 0.05\nmomentum = [0.5, 0.8]')
    assert h.runs == 7
    np.testing.assert_array_equal(h.optimizer, [0, 0, 0, 0, 1, 2, 2])
    np.testing.assert_allclose(h.hparams["lr"], [0.01, 0.01, 0.02, 0.02, 0.1, 0.05, 0.05])
    m = h.hparams["momentum"]
    np.testing.assert_allclose(m[[0, 1, 2, 3, 5, 6]], [0.0, 0.9, 0.0, 0.9, 0.5, 0.8])
    assert np.isnan(m[4])                                 # Adam has no momentum
    # two SGD entries: each label names what tells it from the other (its sweep names lr and momentum)
    assert h.labels[:2] == ("SGD (momentum_style torch) lr=0.01 momentum=0", "SGD (momentum_style torch) lr=0.01 momentum=0.9")
    assert h.labels[4:] == ("Adam", "SGD (lr 0.05, momentum_style ema) momentum=0.5",
                            "SGD (lr 0.05, momentum_style ema) momentum=0.8")


def test_every_optimizer_style_and_schedule_in_one_scene_through_the_cli(tmp_path):
    """`animopt simulate` writes the History of a scene naming every optimizer, style and schedule."""
    from animopt.optim import OPTIMIZERS, SCHEDULES

    schedules = {"constant": "", "step": ", step_size = 10", "multistep": ", milestones = [[5, 15], [10]]",
                 "exponential": ", gamma = [0.95, 0.9]", "cosine": "", "cosine_restarts": ", T_0 = 8",
                 "onecycle": ", pct_start = 0.2", "linear": "", "polynomial": ", total_iters = 40",
                 "inverse_time": ", decay = 0.1"}
    assert set(schedules) == set(SCHEDULES)
    # muon needs weight matrices, which a line has not, "torch" a class (both in tests/test_optim_zoo.py)
    entries = [f'[[optimizer]]\ntype = "{name}"\nlr = 0.01' for name in OPTIMIZERS if name not in ("sgd", "muon", "torch")]
    entries += [f'[[optimizer]]\ntype = "sgd"\nlr = 0.01\nmomentum = [0.5, 0.9]\nmomentum_style = "{s}"'
                f'\nnesterov = {"false" if s == "ema" else "true"}' for s in ("torch", "ema", "keras")]
    entries += [f'[[optimizer]]\ntype = "sgd"\nlr = 0.01\nmomentum = 0.9\n'
                f'schedule = {{ type = "{name}"{opts}, warmup = {{ steps = 3 }} }}'
                for name, opts in schedules.items()]
    path = tmp_path / "all.toml"
    path.write_text(SCENE.format(optimizers="\n".join(entries), train="", steps=50))
    res = CliRunner().invoke(main, ["simulate", str(path), "-o", str(tmp_path / "h.npz")])
    assert res.exit_code == 0, res.output
    h = animopt.History.load(tmp_path / "h.npz")
    n = len(OPTIMIZERS) - 3 + 6 + len(schedules) + 2      # two sweeps of schedule numbers add a run each
    assert h.runs == n and f"{n} runs" in res.output
    assert np.all(np.isfinite(h.params)) and np.all(h.loss[-1] < h.loss[0])
    assert set(h.hparams) >= {"momentum", "schedule.milestones", "schedule.gamma"}


def test_closed_form_gradients_give_the_same_history(monkeypatch):
    """`line` gives its loss and gradient in closed form (`loss_and_grad`, used instead of autograd):
    equal to autograd's, and the History is the one autograd gives, full batch and minibatch."""
    from animopt.problems import BuildCtx
    from animopt.problems.line import Line

    data = sim('[[optimizer]]\ntype = "sgd"\nlr = 0.01').problem.data
    prob = Line(data["x"], data["y"], None, BuildCtx(0, Path("."), torch.device("cpu"), torch.float64))
    p = torch.tensor(np.random.default_rng(1).normal(size=(5, 2)) * 3)
    idx = torch.tensor([[0, 1, 2], [3, 4, 5], [5, 5, 0], [1, 0, 0], [2, 3, 4]])
    w = torch.full((5, 3), 1 / 3, dtype=torch.float64)
    w[3] = torch.tensor([0.5, 0.5, 0.0])                 # a short, padded batch
    for args in ((None, None), (idx, w)):
        pg = p.clone().requires_grad_(True)
        loss = prob.loss(pg, *args)
        (g,) = torch.autograd.grad(loss.sum(), pg)
        loss2, g2 = prob.loss_and_grad(p, *args)
        torch.testing.assert_close(loss2, loss.detach(), rtol=1e-15, atol=0)
        torch.testing.assert_close(g2, g, rtol=1e-13, atol=1e-13)

    calls = []
    original = Line.loss_and_grad

    def counted(self, params, idx=None, weight=None):
        calls.append(idx is None)
        return original(self, params, idx, weight)

    for train in ("init = [0.3, -0.2]", "init = [0.3, -0.2]\nbatch_size = [2, 4]\nshuffle = true"):
        text = '[[optimizer]]\ntype = "sgd"\nlr = [0.01, 0.03]\nmomentum = 0.9\n[[optimizer]]\ntype = "adam"\nlr = 0.1'
        monkeypatch.setattr(Line, "loss_and_grad", counted)
        calls.clear()
        fast = sim(text, train=train)
        assert len(calls) == 50
        monkeypatch.delattr(Line, "loss_and_grad")
        slow = sim(text, train=train)
        np.testing.assert_allclose(fast.params, slow.params, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(fast.loss, slow.loss, rtol=1e-11, atol=1e-12)
        monkeypatch.undo()


@pytest.mark.parametrize("optimizers,key,words", [
    ('type = "sgd"\nlr = { from = 1e-3, to = 1, num = 200000 }', "optimizer[0].lr", "limit"),
    ('type = "sgd"\nlr = { from = 1e-3, to = 1, num = 1001 }\nmomentum = { from = 0, to = 0.9, num = 1000 }',
     "optimizer[0].lr", "1,001,000 runs (lr (1001) x momentum (1000))"),
    ('type = "sgd"\nlr = { from = 1e-3, to = 1 }', "optimizer[0].lr", "'num'"),
    ('type = "sgd"\nlr = { from = 0, to = 1, num = 5, scale = "log" }', "optimizer[0].lr", "> 0"),
    ('type = "sgd"\nlr = { from = 1e-3, to = 1, num = 5, scale = "logarithmic" }', "optimizer[0].lr", "'log'"),
    ('type = "sgd"\nlr = []', "optimizer[0].lr", "empty"),
    ('type = "sgd"\nlr = [0.1, -0.1]', "optimizer[0].lr", "sweep value 1"),
    ('type = "sgd"\nlr = 0.1\nnesterov = [true, false]', "optimizer[0].nesterov", "true or false"),
    ('type = "sgd"\nlr = 0.1\nmomentum = [0.0, 0.9]\nnesterov = true', "optimizer[0].nesterov", "momentum > 0"),
    ('type = "sgd"\nlr = 0.1\nmomentum = 0.9\nmomentum_style = "ema"\nnesterov = true', "optimizer[0].nesterov",
     '"torch" or "keras"'),
    ('type = "sgd"\nlr = 0.1\nmomentum = 0.9\nmomentum_style = "keras"\ndampening = 0.1', "optimizer[0].dampening",
     '"torch"'),
    ('type = "sgd"\nlr = 0.1\nmomentum = 0.9\ndampening = [0.0, 0.2]\nnesterov = true', "optimizer[0].nesterov",
     "dampening = 0"),
    ('type = "sgd"\nlr = 0.1\nmomentum_style = "textbook"', "optimizer[0].momentum_style", "'ema'"),
    ('type = "sgd"\nlr = 0.1\nmomentum = 1.0', "optimizer[0].momentum", "< 1"),
    ('type = "adam"\nbetas = [[0.9, 0.999], [0.9]]', "optimizer[0].betas", "2"),
    ('type = "adam"\nbetas = [0.9, 1.0]', "optimizer[0].betas", "< 1"),
    ('type = "rmsprop"\nmomentum = 1.5', "optimizer[0].momentum", "< 1"),
])
def test_errors_name_the_key(optimizers, key, words):
    with pytest.raises(SceneError) as e:
        sim(f"[[optimizer]]\n{optimizers}")
    assert key in [k for _, k, _ in e.value.problems], str(e.value)
    assert words in str(e.value), str(e.value)


def test_default_lrs_are_torchs():
    h = sim('[[optimizer]]\ntype = "adadelta"\n[[optimizer]]\ntype = "adagrad"\n[[optimizer]]\ntype = "rmsprop"\n'
            '[[optimizer]]\ntype = "sgd"')
    np.testing.assert_allclose(h.lr[0], [1.0, 0.01, 0.01, 0.001])


def test_labels_made_together_are_the_runs_labels():
    """sweep.Labels builds every label at once (a block's axes formatted once); each equals the one its
    Run makes, in every block, in a part of the runs cut mid-block, and with several starts."""
    from animopt.counts import count
    from animopt.simulator import plan
    from animopt.sweep import Labels, part

    sc = scene('[[optimizer]]\ntype = "sgd"\nlr = { from = 0.001, to = 0.1, num = 7, scale = "log" }\n'
               'momentum = [0.0, 0.5, 0.9]\n[[optimizer]]\ntype = "adam"\nlr = [0.01, 0.1]\n'
               'betas = [[0.9, 0.999], [0.8, 0.99]]',
               train="init = [[0.3, -0.2], [2.0, 1.0]]")
    runs = count(sc, plan(sc).problem).runs
    for some in (runs, part(runs, slice(5, 37)), part(runs, slice(41, 50))):
        each = tuple(some[i].label for i in range(len(some)))
        assert tuple(Labels(some)) == each
        assert np.array(Labels(some), dtype=str).tolist() == list(each)
    assert "SGD lr=0.001 momentum=0.5 start 2" in tuple(Labels(runs))
