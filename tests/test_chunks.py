"""Runs simulated in chunks under a memory budget (animopt.record.chunk_runs, animopt.simulator.chunks): the
History is the one of every run stepped at once, array for array and to the bit; the cuts fall where the
kernels meet every run's numbers as they do then; a scene too big for the budget is still refused."""
from dataclasses import fields

import numpy as np
import pytest
from click.testing import CliRunner

import animopt
from animopt import record, simulator
from animopt.cli import main
from animopt.counts import run_work
from animopt.history import History
from animopt.simulator import CHUNK_ALIGN, chunks, plan

HEAD = '[render]\nviews = [{views}]\n'

# lr x momentum on the linear model with minibatches; the largest rates diverge
LINEAR = """seed = 4
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
dtype = "{dtype}"
record = "{record}"
[[optimizer]]
type = "sgd"
lr = {{ from = 0.01, to = 3.0, num = 16, scale = "log" }}
momentum = {{ from = 0.0, to = 0.95, num = 13 }}
momentum_style = "ema"
"""

# a contour of several rules from 96 random starts (cuts between the entries and inside Adam's)
CONTOUR = """seed = 1
[problem]
type = "rosenbrock"
[train]
steps = 25
dtype = "{dtype}"
record = "{record}"
init = { random = 96, range = [[-2, 2], [-1, 3]] }
[[optimizer]]
type = "sgd"
lr = 0.001
momentum = 0.9
[[optimizer]]
type = "adam"
lr = [0.02, 0.05]
[[optimizer]]
type = "lbfgs"
lr = 0.5
max_iter = 3
[[optimizer]]
type = "schedule_free_adamw"
lr = 0.05
[[optimizer]]
type = "lion"
lr = 0.01
"""

# rates from safe to far past the bound, with gradient noise and a threshold of its own
DIVERGE = """seed = 2
[problem]
type = "rosenbrock"
[train]
steps = 80
init = [-1.2, 1.0]
grad_noise = 0.3
divergence_threshold = 1e4
dtype = "{dtype}"
record = "{record}"
[[optimizer]]
type = "sgd"
lr = { from = 1e-5, to = 0.05, num = 200, scale = "log" }
"""

# a batch-size axis: runs of each size stop at their own step (2 epochs), each size its own batches
BATCHES = """seed = 5
[problem]
type = "linear"
inputs = 1
outputs = 1
n = 40
[train]
epochs = 2
batch_size = [4, 10, 40]
shuffle = true
dtype = "{dtype}"
record = "{record}"
[[optimizer]]
type = "adam"
lr = { from = 0.001, to = 0.5, num = 64, scale = "log" }
"""

# a small network, full batch (one matrix product for every run) and minibatches (one per run)
MLP = """seed = 3
[problem]
type = "mlp"
hidden = [8]
dataset = "moons"
n = {n}
[train]
steps = 15
dtype = "{dtype}"
record = "{record}"
{batch}
[[optimizer]]
type = "sgd"
lr = {{ from = 0.01, to = 2.0, num = 25, scale = "log" }}
momentum = [0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
"""

# torch.optim twins (labels name the largest difference over the whole History) and a tuned rate
TWINS = """seed = 0
[problem]
type = "quadratic"
[train]
steps = 20
init = [1.0, 2.0]
dtype = "{dtype}"
record = "{record}"
[[optimizer]]
type = "sgd"
lr = { from = 0.01, to = 0.3, num = 96 }
momentum = 0.9
compare = "torch"
[[optimizer]]
type = "adam"
lr = { tune = [1e-3, 1], num = 96, score = "final_loss" }
"""

SCENES = {
    "linear": (LINEAR, '"loss", "grads"'),
    "linear heatmap float32": (LINEAR.replace('"{dtype}"', '"float32"').replace('"{record}"', '"drawn"'),
                               '{ type = "heatmap", x = "lr", y = "momentum" }'),
    "contour": (CONTOUR, '"contour"'),
    "contour float32": (CONTOUR.replace('"{dtype}"', '"float32"'), '"contour"'),
    "diverge": (DIVERGE, '"loss"'),
    "diverge loss only": (DIVERGE.replace('"{record}"', '"drawn"'), '"loss", "lr"'),
    "batch sizes": (BATCHES, '"loss"'),
    "mlp": (MLP.replace("{batch}", "").replace("{n}", "64"), '"loss"'),
    "mlp minibatches": (MLP.replace("{batch}", "batch_size = 16").replace("{n}", "64"), '"loss"'),
    "mlp float32": (MLP.replace("{batch}", "batch_size = 16").replace("{n}", "64").replace('"{dtype}"', '"float32"'),
                    '"loss"'),
    # the loss of each step in blocks of runs (2000 points: 192 runs a block)
    "mlp heatmap": (MLP.replace("{batch}", "batch_size = 16").replace("{n}", "2000").replace('"{record}"', '"drawn"'),
                    '{ type = "heatmap", x = "lr", y = "momentum" }'),
    "twins and tuning": (TWINS, '"loss"'),
}


def write(tmp_path, name: str, dtype: str = "float64", rec: str = "all"):
    text, views = SCENES[name]
    path = tmp_path / (name.replace(" ", "_") + ".toml")
    path.write_text(text.replace("{dtype}", dtype).replace("{record}", rec).replace("{{", "{").replace("}}", "}")
                    + HEAD.format(views=views))
    return path


def assert_same(a: History, b: History) -> None:
    """Every field of two Histories equal: arrays value for value (NaN equal to NaN) in dtype and shape."""
    for f in fields(History):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "problem":
            continue
        if f.name == "hparams":
            assert x.keys() == y.keys()
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"hparams.{k}")
        elif f.name == "labels":
            assert tuple(x) == tuple(y)
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, f.name
            assert (x.dtype, x.shape) == (y.dtype, y.shape), f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name, strict=True)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("name", list(SCENES))
def test_a_chunked_history_is_the_whole_one_to_the_bit(name, tmp_path, monkeypatch):
    sc = animopt.load_scene(write(tmp_path, name))
    monkeypatch.delenv("ANIMOPT_CHUNK_RUNS", raising=False)
    assert len(chunks(plan(sc))) == 1
    whole = animopt.simulate(sc)
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1")
    assert len(chunks(plan(sc))) >= 2
    assert_same(whole, animopt.simulate(sc))
    if name == "diverge":
        assert (whole.diverged_at >= 0).any() and (whole.diverged_at < 0).any()
    if name == "batch sizes":
        assert len(set(plan(sc).run_steps.tolist())) == 3
    if name == "twins and tuning":
        assert "(torch.optim, max diff" in whole.labels[96] and any("(tuned)" in s for s in whole.labels)


def test_the_loop_runs_once_a_chunk(tmp_path, monkeypatch):
    sc = animopt.load_scene(write(tmp_path, "linear"))
    calls = []
    step = simulator._chunk
    monkeypatch.setattr(simulator, "_chunk", lambda p, b, rows: calls.append(rows) or step(p, b, rows))
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "100")
    h = animopt.simulate(sc)
    assert calls == [slice(0, 96), slice(96, 208)] and h.runs == 208
    calls.clear()
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1000")
    animopt.simulate(sc)
    assert calls == [slice(0, 208)]


def test_the_budget_sets_the_chunks(tmp_path, monkeypatch):
    """Without $ANIMOPT_CHUNK_RUNS: as many runs a chunk as CHUNK_SHARE of the budget holds."""
    monkeypatch.delenv("ANIMOPT_CHUNK_RUNS", raising=False)
    sc = animopt.load_scene(write(tmp_path, "contour"))
    p = plan(sc)
    work = run_work(sc, None, p.runs, p.steps, 2)
    monkeypatch.setenv("ANIMOPT_MEMORY_MB", str(200 * work / record.CHUNK_SHARE / 2 ** 20))
    assert record.chunk_runs(work) == 200
    assert [(c.start, c.stop) for c in chunks(plan(sc))] == [(0, 192), (192, 384), (384, 576)]


def test_cuts_are_aligned_to_the_runs_and_to_their_entry(tmp_path, monkeypatch):
    """A cut is at a multiple of CHUNK_ALIGN from the first run and from its entry's first run, and leaves
    CHUNK_ALIGN runs at least to the last chunk; an entry that starts elsewhere is not cut."""
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1")
    text = ('[problem]\ntype = "rosenbrock"\n[train]\nsteps = 3\n'
            '[[optimizer]]\ntype = "sgd"\nlr = {{ from = 0.001, to = 0.01, num = {a} }}\n'
            '[[optimizer]]\ntype = "adam"\nlr = {{ from = 0.001, to = 0.01, num = {b} }}\n'
            + HEAD.format(views='"loss"'))

    def cuts(a, b):
        return [c.start for c in chunks(plan(animopt.parse_scene(text.format(a=a, b=b))))][1:]

    A = CHUNK_ALIGN
    assert cuts(2 * A, 2 * A) == [A, 2 * A, 3 * A]
    assert cuts(A + 5, 3 * A) == [A]                 # Adam starts at A + 5: not cut
    assert cuts(2 * A, A + 50) == [A, 2 * A]         # the last chunk holds A runs at least
    assert cuts(A + 50, 10) == []
    text = text.replace('type = "sgd"', 'type = "lbfgs"')
    assert cuts(2 * A, 2 * A) == [2 * A, 3 * A]      # L-BFGS evaluates its runs together: not cut inside


def test_validation_counts_the_history_and_one_chunk(tmp_path, monkeypatch):
    """The million-run heat map at a 2 GB budget: its History and one chunk of about 350,000 runs."""
    monkeypatch.delenv("ANIMOPT_CHUNK_RUNS", raising=False)
    monkeypatch.setenv("ANIMOPT_MEMORY_MB", "2048")
    work = record.run_work_bytes(100, 3, 4, detail=False, params_all=False, rows=10)
    parts = record.estimate_bytes(100, 1_000_000, 3, 4, detail=False, batch=10, params_all=False, work=work)
    assert 300_000 < record.chunk_runs(work) < 400_000
    assert parts["working set"] == record.chunk_runs(work) * work <= record.CHUNK_SHARE * 2 ** 31
    assert parts["working set"] < 1_000_000 * work / 2
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1000")
    assert record.estimate_bytes(100, 1_000_000, 3, 4, False, 10, work=work)["working set"] == 1000 * work


def test_a_scene_past_the_budget_is_still_refused(tmp_path, monkeypatch):
    """The History alone past the budget: refused at validation, naming the file and `train`, whatever the
    chunks."""
    path = write(tmp_path, "linear", rec="all")
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1")
    monkeypatch.setenv("ANIMOPT_MEMORY_MB", "0.05")
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert f"{path}: train: this simulation would hold about" in res.output and "memory budget" in res.output
    with pytest.raises(animopt.SceneError, match="memory budget"):
        animopt.simulate(path)


def test_simulate_says_when_it_chunked(tmp_path, monkeypatch):
    path = write(tmp_path, "linear heatmap float32")
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "100")
    res = CliRunner().invoke(main, ["simulate", str(path), "-o", str(tmp_path / "h.npz")])
    assert res.exit_code == 0, res.output
    assert "208 runs x 15 steps x 3 parameters" in res.output and "in 2 chunks of up to 112 runs" in res.output
    monkeypatch.setenv("ANIMOPT_CHUNK_RUNS", "1000")
    res = CliRunner().invoke(main, ["simulate", str(path), "-o", str(tmp_path / "h.npz")])
    assert res.exit_code == 0 and "chunks" not in res.output


def test_a_part_of_the_runs_is_those_runs():
    """sweep.part: a range of runs cut out of their blocks, each run as it was (values, start, label)."""
    from animopt.sweep import column, expand, hparam_table, inits, part, slices

    sc = animopt.parse_scene('[problem]\ntype = "linear"\ninputs = 1\noutputs = 1\nn = 30\n[train]\nsteps = 5\n'
                             'batch_size = [5, 10]\ninit = [[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]]\n'
                             '[[optimizer]]\ntype = "sgd"\nlr = [0.1, 0.2, 0.3]\nmomentum = [0.0, 0.9]\n'
                             '[[optimizer]]\ntype = "adam"\nlr = 0.1\n' + HEAD.format(views='"loss"'))
    runs = expand(sc, 2, (0.0, 0.0))
    table, starts = hparam_table(runs), inits(runs, (0.0, 0.0))
    for a, b in [(0, 7), (5, 40), (13, 14), (35, 42), (0, len(runs))]:
        sub = part(runs, slice(a, b))
        assert [sub[i] for i in range(len(sub))] == runs[a:b]
        np.testing.assert_array_equal(inits(sub, (0.0, 0.0)), starts[a:b])
        assert all(np.array_equal(v, table[k][a:b], equal_nan=True) for k, v in hparam_table(sub).items())
        for sl in slices(sub):
            np.testing.assert_array_equal(np.broadcast_to(column(sub, sl, "lr"), sl.stop - sl.start),
                                          [r.hparams["lr"] for r in runs[a + sl.start:a + sl.stop]])
