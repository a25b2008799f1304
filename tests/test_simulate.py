"""The simulator against closed forms and by-hand loops: gradient descent on a quadratic, per-sample SGD on
a line, minibatches and epochs, gradient noise, starts, divergence, devices; `animopt simulate` output."""
import csv

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from animopt.cli import main
from animopt.history import History
from animopt.scene import parse_scene
from animopt.simulator import resolve_device, simulate
from animopt.spec import SceneError


def scene(problem: str, train: str, optimizers: str = 'type = "sgd"\nlr = 0.1', seed: int = 0, path=None):
    return parse_scene(f"seed = {seed}\n[problem]\n{problem}\n[train]\n{train}\n[[optimizer]]\n{optimizers}\n"
                       '[render]\nviews = ["loss"]\n', path)


# --- closed forms -------------------------------------------------------------------------------------------

def test_gradient_descent_on_a_quadratic_follows_the_closed_form():
    gam, c, w0 = np.array([5.0, 1.0]), np.array([0.5, -1.0]), np.array([1.5, 2.0])
    lrs = [0.05, 0.1, 0.2, 0.3, 0.39]          # all below 2 / max(gamma) = 0.4
    h = simulate(scene('type = "quadratic"\ngammas = [5.0, 1.0]\ncenter = [0.5, -1.0]', "steps = 60\ninit = [1.5, 2.0]",
                       f'type = "sgd"\nlr = {lrs}'))
    t = np.arange(61)[:, None]
    for r, lr in enumerate(lrs):
        expected = c + (1 - lr * gam) ** t * (w0 - c)             # w_t - c = (1 - lr*gamma)^t (w_0 - c)
        np.testing.assert_allclose(h.params[:, r], expected, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(h.loss[:, r], 0.5 * ((expected - c) ** 2 * gam).sum(1), rtol=1e-10, atol=1e-15)
    assert (h.diverged_at == -1).all()


def test_gradient_descent_diverges_past_two_over_gamma_max_and_the_history_says_so(tmp_path):
    gam, w0, thr = np.array([5.0, 1.0]), np.array([1.0, 1.0]), 1e8
    lrs = [0.1, 0.39, 0.4, 0.41, 0.5]          # 2 / max(gamma) = 0.4: stable, stable, on the edge, past, past
    h = simulate(scene('type = "quadratic"\ngammas = [5.0, 1.0]',
                       f"steps = 600\ninit = [1.0, 1.0]\ndivergence_threshold = {thr}", f'type = "sgd"\nlr = {lrs}'))
    t = np.arange(601)[:, None]
    for r, lr in enumerate(lrs):
        w = (1 - lr * gam) ** t * w0
        loss = 0.5 * (w ** 2 * gam).sum(1)
        past = (np.abs(w).max(1) > thr) | (loss > thr)
        k = int(past.argmax()) if past.any() else -1
        assert h.diverged_at[r] == k, (lr, h.diverged_at[r], k)
        if lr > 2 / gam.max():
            assert k > 0
            np.testing.assert_allclose(h.params[:k + 1, r], w[:k + 1], rtol=1e-9)   # exact up to the blow-up
            assert np.isnan(h.params[k + 1:, r]).all() and np.isnan(h.loss[k + 1:, r]).all()
            assert np.isnan(h.grads[k:, r]).all() and np.isnan(h.updates[k:, r]).all()
            assert np.isfinite(h.grads[:k, r]).all()
        else:
            np.testing.assert_allclose(h.params[:, r], w, rtol=1e-9, atol=1e-300)
    assert np.abs(h.params[-1, 2, 0]) == pytest.approx(1.0)          # lr = 2/gamma: |w0| bounces for ever
    out = h.save(tmp_path / "h.npz")
    with np.load(out) as z:
        np.testing.assert_array_equal(z["diverged_at"], h.diverged_at)
    np.testing.assert_array_equal(History.load(out).diverged_at, h.diverged_at)


def test_divergence_at_the_start_and_on_data_never_crashes():
    h = simulate(scene('type = "expression"\nf = "log(x) + y**2"', "steps = 20\ninit = [[-1.0, 1.0], [2.0, 1.0]]"))
    assert list(h.diverged_at) == [0, -1]          # log(-1) is NaN at the very start; the other run goes on
    assert np.isnan(h.params[1:, 0]).all() and np.isfinite(h.params[:, 1]).all()
    h = simulate(scene('type = "line"\na = 2.0\nb = 1.0\nn = 20', "steps = 300\nbatch_size = 4\nshuffle = true",
                       'type = "sgd"\nlr = [0.001, 1.0]'))
    assert h.diverged_at[0] == -1 and 0 < h.diverged_at[1] < 300
    assert np.isfinite(h.loss[:, 0]).all()


# --- per-sample SGD by hand ---------------------------------------------------------------------------------

def test_batch_size_one_without_shuffling_is_per_sample_sgd_by_hand():
    x = [5.0, -6.0, -7.0, 9.0, -3.0, 4.0, -2.0]
    y = [1.5 * v - 28 for v in x]
    h = simulate(scene(f'type = "line"\nx = {x}\ny = {y}', "epochs = 3\nbatch_size = 1\ninit = [0.0, 0.0]",
                       'type = "sgd"\nlr = 0.001'))
    a, b, lr, ref = 0.0, 0.0, 0.001, [(0.0, 0.0)]
    for _ in range(3):
        for xi, yi in zip(x, y):                     # seed 002's loop, with a and b updated together
            r = a * xi + b - yi
            a, b = a - lr * 2 * xi * r, b - lr * 2 * r
            ref.append((a, b))
    assert h.steps == 21
    np.testing.assert_allclose(h.params[:, 0], ref, rtol=1e-12)
    np.testing.assert_array_equal(h.batch_idx[:, 0, 0], np.tile(np.arange(7), 3))   # [steps, runs, B]
    np.testing.assert_allclose(h.epoch[[0, 7, 21]], [0, 1, 3])


# --- minibatches, epochs, noise, starts ---------------------------------------------------------------------

def test_minibatches_are_seeded_and_cover_every_epoch():
    line = 'type = "line"\na = 1.0\nb = 0.0\nn = 10'
    train = "epochs = 3\nbatch_size = 3\nshuffle = true"
    h1, h2 = simulate(scene(line, train, seed=5)), simulate(scene(line, train, seed=5))
    np.testing.assert_array_equal(h1.params, h2.params)            # the same every render
    assert h1.steps == 12                                           # ceil(10 / 3) = 4 updates an epoch
    for e in range(3):
        got = h1.batch_idx[4 * e:4 * e + 4].ravel()
        assert sorted(got[got >= 0]) == list(range(10))             # every point once an epoch
    assert not np.array_equal(h1.batch_idx[:4], h1.batch_idx[4:8])   # reshuffled each epoch
    other = simulate(scene(line, train, seed=6))
    assert not np.array_equal(other.batch_idx, h1.batch_idx)
    dropped = simulate(scene(line, train + "\ndrop_last = true", seed=5))
    assert dropped.steps == 9 and (dropped.batch_idx >= 0).all()    # 10 // 3 = 3 full batches an epoch


def test_a_minibatch_update_uses_the_minibatch_gradient():
    h = simulate(scene('type = "linear"\ninputs = 2\noutputs = 2\nn = 12', "steps = 5\nbatch_size = 5\nshuffle = true",
                       seed=3))
    from animopt.simulator import plan
    prob = plan(scene('type = "linear"\ninputs = 2\noutputs = 2\nn = 12', "steps = 5", seed=3)).problem
    for t in range(5):
        rows = h.batch_idx[t, 0][h.batch_idx[t, 0] >= 0]
        p = torch.tensor(h.params[t, :1], requires_grad=True)
        idx = torch.tensor(rows)[None]
        loss = prob.loss(p, idx, torch.full((1, len(rows)), 1 / len(rows), dtype=torch.float64))
        (g,) = torch.autograd.grad(loss.sum(), p)
        np.testing.assert_allclose(h.grads[t, 0], g[0].numpy(), rtol=1e-12)


def test_gradient_noise_is_seeded_gaussian():
    quad = 'type = "quadratic"\ngammas = [1.0, 1.0]'
    train = "steps = 400\ninit = [[1.0, 1.0], [-1.0, 2.0]]\ngrad_noise = 0.5"
    h, again = simulate(scene(quad, train, seed=1)), simulate(scene(quad, train, seed=1))
    np.testing.assert_array_equal(h.params, again.params)
    eps = h.grads - h.params[:-1]                     # the exact gradient is w itself
    assert abs(eps.mean()) < 0.05 and eps.std() == pytest.approx(0.5, rel=0.05)
    assert abs(np.corrcoef(eps[:, 0, 0], eps[:, 1, 0])[0, 1]) < 0.2     # each run has its own noise
    assert not np.array_equal(simulate(scene(quad, train, seed=2)).params, h.params)


def test_starts_one_several_and_random():
    quad = 'type = "quadratic"\ngammas = [2.0, 1.0]'
    assert simulate(scene(quad, "steps = 3")).params[0].tolist() == [[1.0, 1.0]]      # the default start
    h = simulate(scene(quad, "steps = 3\ninit = [[1.0, 2.0], [3.0, 4.0], [-1.0, 0.0]]"))
    assert h.params[0].tolist() == [[1, 2], [3, 4], [-1, 0]] and h.runs == 3
    rnd = "steps = 3\ninit = { random = 6, range = [[-2, -1], [3, 5]] }"
    h1, h2 = simulate(scene(quad, rnd, seed=4)), simulate(scene(quad, rnd, seed=4))
    p0 = h1.params[0]
    assert p0.shape == (6, 2) and len(np.unique(p0[:, 0])) == 6
    assert ((-2 <= p0[:, 0]) & (p0[:, 0] <= -1) & (3 <= p0[:, 1]) & (p0[:, 1] <= 5)).all()
    np.testing.assert_array_equal(h1.params, h2.params)


def test_float32_history_is_numpy():
    h = simulate(scene('type = "rosenbrock"', 'steps = 50\ndtype = "float32"', 'type = "adam"\nlr = 0.01'))
    assert isinstance(h.params, np.ndarray) and h.params.dtype == np.float32
    h64 = simulate(scene('type = "rosenbrock"', "steps = 50", 'type = "adam"\nlr = 0.01'))
    np.testing.assert_allclose(h.params, h64.params, rtol=1e-4, atol=1e-5)


def test_classifier_trains():
    h = simulate(scene('type = "classifier"\nnpz = "scenes/data/digits.npz"\nn = 300\nloss = "cross_entropy"',
                       "epochs = 2\nbatch_size = 50\nshuffle = true", 'type = "sgd"\nlr = 0.5'))
    assert h.steps == 12 and h.params.shape == (13, 1, 650)
    assert h.loss[-1, 0] < 0.6 * h.loss[0, 0]


# --- devices ------------------------------------------------------------------------------------------------

def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(SceneError) as e:
        resolve_device("tpu")
    assert e.value.problems[0][1] == "train.device" and "'tpu'" in str(e.value)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:1"):
            with pytest.raises(SceneError) as e:
                resolve_device(name)
            assert "not available" in str(e.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_and_cpu_agree():
    for problem, train in (('type = "rosenbrock"', "steps = 200\ngrad_noise = 0.1"),
                           ('type = "linear"\ninputs = 3\noutputs = 2', "epochs = 3\nbatch_size = 16\nshuffle = true")):
        opt = 'type = "adam"\nlr = [0.01, 0.05]'
        cpu = simulate(scene(problem, train, opt), device="cpu")
        gpu = simulate(scene(problem, train, opt), device="cuda")
        assert isinstance(gpu.params, np.ndarray)
        np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(gpu.diverged_at, cpu.diverged_at)


# --- the command line ---------------------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_simulate_writes_a_csv_row_per_step_and_run(tmp_path):
    f = tmp_path / "q.toml"
    f.write_text('[problem]\ntype = "quadratic"\n[train]\nsteps = 30\n[[optimizer]]\ntype = "sgd"\n'
                 'lr = [0.1, 0.5]\n[render]\nviews = ["loss"]\n')
    res = run("simulate", f, "-o", tmp_path / "x.csv")
    assert res.exit_code == 0, res.output
    with open(tmp_path / "x.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 31 * 2
    assert {(int(r["step"]), int(r["run"])) for r in rows} == {(t, r) for t in range(31) for r in range(2)}
    h = simulate(scene('type = "quadratic"', "steps = 30", 'type = "sgd"\nlr = [0.1, 0.5]'))
    for r in rows:
        t, k = int(r["step"]), int(r["run"])
        assert float(r["w0"]) == h.params[t, k, 0] or (np.isnan(h.params[t, k, 0]) and r["w0"] == "nan")
    assert "1 diverged" in res.output


@pytest.mark.parametrize("problem, train, key", [
    ('type = "line"\ncsv = "missing.csv"', "steps = 5", "problem.csv"),
    ('type = "quadratic"', 'steps = 5\ndevice = "cuda:7"' if torch.cuda.is_available() else
     'steps = 5\ndevice = "cuda"', "train.device"),
    ('type = "expression"\nf = "x**2 + import"', "steps = 5", "problem.f"),
    ('type = "expression"\nf = "x**2 + y.__class__"', "steps = 5", "problem.f"),
])
def test_bad_input_is_exit_code_2_and_one_line(tmp_path, problem, train, key):
    f = tmp_path / "bad.toml"
    f.write_text(f'[problem]\n{problem}\n[train]\n{train}\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n')
    out = tmp_path / "h.npz"
    res = run("simulate", f, "-o", out)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"{f}: {key}: " in lines[0], res.output
    assert "Traceback" not in res.output and not out.exists()


def test_device_option_overrides_the_scene(tmp_path):
    f = tmp_path / "q.toml"
    f.write_text('[problem]\ntype = "quadratic"\n[train]\nsteps = 5\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n')
    assert run("simulate", f, "-o", tmp_path / "a.npz", "--device", "cpu").exit_code == 0
    res = run("simulate", f, "-o", tmp_path / "b.npz", "--device", "nonsense")
    assert res.exit_code == 2 and "--device" in res.output and len(res.output.strip().splitlines()) == 1
