"""Every problem type: its data, its loss against an independent formula, its gradient against autograd,
its stated minima, and the scene errors its keys give."""
from pathlib import Path

import numpy as np
import pytest
import torch

from animopt.problems import PROBLEMS, BuildCtx
from animopt.problems.classic import SURFACES
from animopt.problems.expression import ExprError, compile_expression
from animopt.scene import parse_scene
from animopt.simulator import plan
from animopt.spec import SceneError

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "scenes" / "data" / "digits.npz"


def scene(problem: str, path=None, train="steps = 5", seed=0):
    return parse_scene(f'seed = {seed}\n[problem]\n{problem}\n[train]\n{train}\n'
                       '[[optimizer]]\ntype = "sgd"\nlr = 0.01\n[render]\nviews = ["loss"]\n', path)


def build(problem: str, path=None, seed=0):
    return plan(scene(problem, path, seed=seed)).problem


def error_keys(problem: str, path=None, train="steps = 5") -> list[str]:
    with pytest.raises(SceneError) as e:
        plan(scene(problem, path, train))
    return [k for _, k, _ in e.value.problems]


def autograd(prob, params):
    x = params.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(prob.loss(x).sum(), x)
    return g


def test_every_problem_is_complete():
    """Names, a [R] loss, a start, a window [P, 2] holding start and minimum, and info for the views."""
    options = {"line": "a = 1.0\nb = 2.0", "expression": 'f = "x**2 + y**2"',
               "classifier": f'npz = "{DIGITS}"\nn = 50', "linear": "inputs = 2\noutputs = 2"}
    for name in PROBLEMS:
        p = build(f'type = "{name}"\n' + options.get(name, ""))
        P = len(p.param_names)
        assert P == len(set(p.param_names)) == len(p.default_init), name
        x = torch.tensor([p.default_init, p.default_init], dtype=torch.float64) + torch.tensor([[0.0], [0.1]])
        assert p.loss(x).shape == (2,), name
        assert p.window.shape == (P, 2) and np.all(p.window[:, 0] < p.window[:, 1]), name
        inside = lambda v: np.all((p.window[:, 0] <= v) & (v <= p.window[:, 1]))  # noqa: E731
        assert inside(np.array(p.default_init)), name
        if p.minimum is not None:
            assert inside(p.minimum), name
        info = p.info()
        assert info.param_names == p.param_names and info.type == name
        assert info.loss_fn(np.array([p.default_init]))[0] == pytest.approx(float(p.loss(x[:1])[0]))


# --- line ---------------------------------------------------------------------------------------------------

def test_line_integer_x_is_seed_002s_data():
    p = build('type = "line"\na = 1.5\nb = -28.0\nn = 20\nx_range = [-10, 10]\ninteger_x = true', seed=7)
    np.random.seed(7)                                      # seed 002's own code
    x_gen = np.random.randint(low=-10, high=10, size=20)
    np.testing.assert_array_equal(p.data()["x"], x_gen)
    np.testing.assert_array_equal(p.data()["y"], 1.5 * x_gen - 28)
    np.testing.assert_allclose(p.minimum, [1.5, -28.0], atol=1e-9)


def test_line_csv_is_read_relative_to_the_scene(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5.5\n\n")
    p = build('type = "line"\ncsv = "data/pts.csv"', tmp_path / "s.toml")
    np.testing.assert_array_equal(p.data()["x"], [0, 1, 2])
    np.testing.assert_array_equal(p.data()["y"], [1, 3, 5.5])
    assert error_keys('type = "line"\ncsv = "data/nope.csv"', tmp_path / "s.toml") == ["problem.csv"]
    (tmp_path / "bad.csv").write_text("x,z\n0,1\n")
    assert error_keys('type = "line"\ncsv = "bad.csv"', tmp_path / "s.toml") == ["problem.csv"]


def test_line_errors():
    assert error_keys('type = "line"\nx = [1, 2, 3]\ny = [1, 2]') == ["problem.y"]
    assert error_keys('type = "line"\na = 1.0') == ["problem.b"]
    assert error_keys('type = "line"\na = 1.0\nb = 1.0\nx_range = [3, 1]') == ["problem.x_range"]


# --- linear -------------------------------------------------------------------------------------------------

def test_linear_names_loss_and_seed_004_gradient():
    p = build('type = "linear"\ninputs = 3\noutputs = 2\nn = 40\nnoise = 0.1', seed=4)
    assert p.param_names == ("W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "W[2,0]", "W[2,1]", "B[0]", "B[1]")
    X, Y = p.data()["X"], p.data()["Y"]
    assert X.shape == (40, 3) and Y.shape == (40, 2)
    rng = np.random.default_rng(0)
    params = rng.standard_normal((4, 8))
    loss = p.loss(torch.tensor(params)).numpy()
    g = autograd(p, torch.tensor(params)).numpy()
    for r in range(4):
        W, B = params[r, :6].reshape(3, 2), params[r, 6:]        # row-major W, then B
        y = X @ W + B
        assert loss[r] == pytest.approx(np.mean((y - Y) ** 2), rel=1e-12)     # seed 004's Loss
        gW = (2 / y.size) * X.T @ (y - Y)                                    # seed 004's gradients
        gB = (2 / y.size) * np.sum(y - Y, axis=0)
        np.testing.assert_allclose(g[r], np.concatenate([gW.ravel(), gB]), rtol=1e-10)
    # the stated minimum is where the gradient vanishes
    assert np.abs(autograd(p, torch.tensor(p.minimum[None])).numpy()).max() < 1e-10


def test_linear_true_weights_and_minibatch_loss():
    p = build('type = "linear"\nW = [[1.0, -2.0], [0.5, 3.0]]\nB = [0.25, -1.0]\nn = 30')
    np.testing.assert_allclose(p.true_params, [1, -2, 0.5, 3, 0.25, -1])
    np.testing.assert_allclose(p.minimum, p.true_params, atol=1e-9)      # no noise: least squares is exact
    params = torch.randn(3, 6, dtype=torch.float64)
    idx = torch.tensor([[0, 5, 7], [1, 2, 3], [4, 4, 0]])
    w = torch.tensor([[1 / 3] * 3, [1 / 3] * 3, [0.5, 0.5, 0.0]], dtype=torch.float64)
    got = p.loss(params, idx, w)
    for r in range(3):
        ref = p.loss(params[r:r + 1].expand(30, -1), torch.arange(30)[:, None], torch.ones(30, 1))  # per sample
        n_real = int((w[r] > 0).sum())
        assert float(got[r]) == pytest.approx(float(ref[idx[r, :n_real]].mean()), rel=1e-12)


def test_linear_files(tmp_path):
    X = np.random.default_rng(1).random((25, 2))
    Y = X @ np.array([[2.0], [-1.0]]) + 0.5
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    p = build('type = "linear"\nnpz = "d.npz"', tmp_path / "s.toml")
    np.testing.assert_allclose(p.minimum, [2, -1, 0.5], atol=1e-9)
    rows = ["x0,x1,y0"] + [f"{a},{b},{c}" for (a, b), c in zip(X, Y[:, 0])]
    (tmp_path / "d.csv").write_text("\n".join(rows))
    q = build('type = "linear"\ncsv = "d.csv"', tmp_path / "s.toml")
    np.testing.assert_allclose(q.minimum, p.minimum, atol=1e-9)
    np.savez(tmp_path / "short.npz", X=X, Y=Y[:20])
    assert error_keys('type = "linear"\nnpz = "short.npz"', tmp_path / "s.toml") == ["problem.npz"]
    assert error_keys('type = "linear"\nnpz = "d.npz"\ninputs = 3', tmp_path / "s.toml") == ["problem.inputs"]
    assert error_keys('type = "linear"\nnpz = "none.npz"', tmp_path / "s.toml") == ["problem.npz"]


def test_linear_shape_errors():
    assert error_keys('type = "linear"\ninputs = 2\nW = [[1.0], [2.0], [3.0]]') == ["problem.W"]
    assert error_keys('type = "linear"\nW = [[1.0, 2.0], [3.0]]') == ["problem.W"]
    assert error_keys('type = "linear"\noutputs = 2\nB = [1.0]') == ["problem.B"]


# --- quadratic ----------------------------------------------------------------------------------------------

def test_quadratic():
    p = build('type = "quadratic"\ngammas = [5.0, 1.0, 0.5]\ncenter = [1.0, -2.0, 0.0]')
    w = torch.randn(4, 3, dtype=torch.float64)
    c, gam = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64), torch.tensor([5.0, 1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(p.loss(w), 0.5 * ((w - c) ** 2 * gam).sum(1))
    torch.testing.assert_close(autograd(p, w), p.grad(w))
    np.testing.assert_array_equal(p.minimum, [1, -2, 0])
    assert build('type = "quadratic"\ngammas = [1.0, -1.0]').minimum is None     # a saddle has no minimum
    assert error_keys('type = "quadratic"\ngammas = [1.0, 2.0]\ncenter = [0.0]') == ["problem.center"]


# --- the classic surfaces -----------------------------------------------------------------------------------

KNOWN_MIN_VALUE = {"rosenbrock": 0.0, "beale": 0.0, "himmelblau": 0.0, "rastrigin": 0.0, "booth": 0.0,
                   "six_hump_camel": -1.0316284534898774}


@pytest.mark.parametrize("name", [s.name for s in SURFACES])
def test_classic_gradient_and_minima(name):
    p = build(f'type = "{name}"')
    lo, hi = p.window[:, 0], p.window[:, 1]
    pts = torch.tensor(lo + np.random.default_rng(2).random((64, 2)) * (hi - lo), dtype=torch.float64)
    torch.testing.assert_close(p.grad(pts), autograd(p, pts), rtol=1e-10, atol=1e-9)
    stationary = list(p.minima) + list(p.stationary)
    assert stationary, name
    for m in stationary:                    # every stated minimum (and saddle) is a stationary point
        g = autograd(p, torch.tensor(m[None])).numpy()
        assert np.abs(g).max() < 1e-8, (name, m, g)
    if name in KNOWN_MIN_VALUE:
        for m in p.minima:
            f0 = float(p.loss(torch.tensor(m[None]))[0])
            assert f0 == pytest.approx(KNOWN_MIN_VALUE[name], abs=1e-12)
            ring = m + 1e-3 * np.stack([np.cos(np.arange(16) / 16 * 2 * np.pi), np.sin(np.arange(16) / 16 * 2 * np.pi)], 1)
            assert (p.loss(torch.tensor(ring)).numpy() > f0).all(), name    # a minimum, not a saddle
    else:
        assert p.minimum is None


def test_rosenbrock_options():
    p = build('type = "rosenbrock"\na = 2.0\nb = 10.0')
    np.testing.assert_array_equal(p.minimum, [2.0, 4.0])
    assert float(p.loss(torch.tensor([[0.0, 1.0]]))[0]) == pytest.approx(4.0 + 10.0)
    assert error_keys('type = "rosenbrock"\nb = -1.0') == ["problem.b"]


# --- expression ---------------------------------------------------------------------------------------------

def test_expression_matches_torch():
    p = build('type = "expression"\nf = "x**2 + 10*y**2 - sin(x*y) / (1 + exp(-z)) + sqrt(abs(x)) * pi"\n'
              'params = ["x", "y", "z"]\nminimum = [0.0, 0.0, 0.0]')
    w = torch.randn(8, 3, dtype=torch.float64)
    x, y, z = w.T
    ref = x ** 2 + 10 * y ** 2 - torch.sin(x * y) / (1 + torch.exp(-z)) + torch.sqrt(torch.abs(x)) * np.pi
    torch.testing.assert_close(p.loss(w), ref)
    assert p.param_names == ("x", "y", "z")
    np.testing.assert_array_equal(p.minimum, [0, 0, 0])
    q = build('type = "expression"\nf = "(x - 1)**2 + max(y, 0.5)"\nwindow = [[-1, 3], [0, 2]]')
    np.testing.assert_array_equal(q.window, [[-1, 3], [0, 2]])
    assert float(q.loss(torch.tensor([[3.0, 0.0]]))[0]) == 4.5


@pytest.mark.parametrize("text, token, column", [
    ("x ^ 2 + y", "'^'", 3),
    ("x**2 + z", "'z'", 8),
    ("__import__('os').system('true')", "'__import__'", 1),
    ("x.real + y", "'.'", 2),
    ("open('f') + x", "'open'", 1),
    ("x**2 + y[0]", "'['", 9),
    ("x + 'a'", "'a'", 5),
    ("x +", "", None),
    ("(lambda: 1)() + x", "lambda", 2),
    ("x < y", "comparison", 2),
    ("sin(x, y)", "sin", 1),
])
def test_expression_rejects_what_is_not_whitelisted(text, token, column):
    with pytest.raises(ExprError) as e:
        compile_expression(text, ("x", "y"))
    msg = str(e.value)
    assert token in msg
    if column is not None:
        assert f"column {column}" in msg, msg


def test_expression_scene_errors():
    assert error_keys('type = "expression"\nf = "x ** 2 + w"') == ["problem.f"]
    assert error_keys('type = "expression"\nf = "a + b"\nparams = ["a", "2b"]') == ["problem.params[1]"]
    assert error_keys('type = "expression"\nf = "exp + x"\nparams = ["exp", "x"]') == ["problem.params[0]"]
    assert error_keys('type = "expression"\nf = "x + y"\nminimum = [0.0]') == ["problem.minimum"]
    assert error_keys('type = "expression"\nf = "x + y"\nwindow = [[0, 1]]') == ["problem.window"]
    assert error_keys('type = "expression"\nf = "2 + 3"') == ["problem.f"]      # uses no parameter
    assert error_keys('type = "expression"\nf = "' + "-" * 100 + "x" + '"') == ["problem.f"]
    with pytest.raises(SceneError) as e:
        plan(scene('type = "expression"\nf = "x**2 + 10*y**2 + q"'))
    assert "problem.f: unknown name 'q' at column 18;" in str(e.value)


def test_expression_overflowing_constants_stay_tensors():
    p = build('type = "expression"\nf = "x + 10**10**10"\nparams = ["x"]')
    assert torch.isinf(p.loss(torch.zeros(2, 1, dtype=torch.float64))).all()


# --- classifier ---------------------------------------------------------------------------------------------

def test_classifier_matches_a_torch_linear_layer():
    for kind, crit in (("mse", torch.nn.MSELoss()), ("cross_entropy", torch.nn.CrossEntropyLoss())):
        p = build(f'type = "classifier"\nnpz = "{DIGITS}"\nloss = "{kind}"')
        assert p.n == 1797 and p.features == 64 and p.classes == 10
        assert len(p.param_names) == 650 and p.param_names[:2] == ("W[0,0]", "W[0,1]") and p.param_names[-1] == "B[9]"
        X, y = p.data()["X"], p.data()["y"]
        assert X.min() == 0 and X.max() == 1
        layer = torch.nn.Linear(64, 10, dtype=torch.float64)
        params = torch.cat([layer.weight.detach().T.reshape(-1), layer.bias.detach()])[None]
        out = layer(torch.tensor(X))
        target = torch.eye(10, dtype=torch.float64)[y] if kind == "mse" else torch.tensor(y)
        ref = crit(out, target)
        assert float(p.loss(params)[0]) == pytest.approx(float(ref.detach()), rel=1e-12)
        ref.backward()
        g = autograd(p, params)[0]
        torch.testing.assert_close(g, torch.cat([layer.weight.grad.T.reshape(-1), layer.bias.grad]))
        acc = p.accuracy(params.numpy())[0]
        assert acc == pytest.approx(float((out.argmax(1) == torch.tensor(y)).double().mean()))


def test_bundled_digits_equal_scikit_learns():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    with np.load(DIGITS) as z:
        np.testing.assert_array_equal(z["X"].astype(np.float64), d.data / 16.0)
        np.testing.assert_array_equal(z["y"], d.target)
    p = build('type = "classifier"\nn = 300')          # no npz: scikit-learn's copy
    np.testing.assert_array_equal(p.data()["X"], d.data[:300] / 16.0)


def test_classifier_errors(tmp_path):
    np.savez(tmp_path / "bad.npz", X=np.zeros((5, 3)), y=np.zeros(4))
    np.savez(tmp_path / "frac.npz", X=np.zeros((5, 3)), y=np.full(5, 0.5))
    s = tmp_path / "s.toml"
    assert error_keys('type = "classifier"\nnpz = "bad.npz"', s) == ["problem.npz"]
    assert error_keys('type = "classifier"\nnpz = "frac.npz"', s) == ["problem.npz"]
    assert error_keys('type = "classifier"\nnpz = "missing.npz"', s) == ["problem.npz"]
    assert error_keys(f'type = "classifier"\nnpz = "{DIGITS}"\nn = 5000') == ["problem.n"]
    assert error_keys(f'type = "classifier"\nnpz = "{DIGITS}"\nclasses = 5') == ["problem.classes"]
    assert error_keys(f'type = "classifier"\nnpz = "{DIGITS}"\nloss = "hinge"') == ["problem.loss"]


def test_problem_runs_on_float32():
    ctx = BuildCtx(seed=0, base_dir=ROOT, device=torch.device("cpu"), dtype=torch.float32)
    for name, v in (("expression", {"f": "x*x + y", "params": ("x", "y"), "minimum": None, "window": None}),
                    ("quadratic", {"gammas": (1.0, 2.0), "center": None})):
        p = PROBLEMS[name].build(v, ctx)
        assert p.loss(torch.ones(3, 2)).dtype == torch.float32


def test_digits_without_scikit_learn_is_a_scene_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(SceneError) as e:
        plan(scene('type = "classifier"'))
    assert [k for _, k, _ in e.value.problems] == ["problem.npz"]
    assert "animopt[digits]" in str(e.value) and "data/digits.npz" in str(e.value)


# --- closed-form loss and gradient (`loss_and_grad`, what the simulator uses instead of autograd) ----------

def loss_and_autograd(prob, params, idx=None, weight=None):
    x = params.clone().requires_grad_(True)
    loss = prob.loss(x, idx, weight)
    (g,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), g


def assert_same(got, ref, rtol):
    """Losses each to rtol; gradients to rtol of the run's largest component (a vanishing component
    of a sum of products is only known to that)."""
    (L, g), (L_ref, g_ref) = got, ref
    assert L.shape == L_ref.shape and g.shape == g_ref.shape and g.dtype == torch.float64
    torch.testing.assert_close(L, L_ref, rtol=rtol, atol=0)
    scale = g_ref.abs().amax(1, keepdim=True)
    assert ((g - g_ref).abs() <= rtol * scale).all(), ((g - g_ref).abs() / scale).max()


# (problem, full-data path: the quadratic form (parameters <= samples) or the residuals)
LINEAR_CASES = [('type = "linear"\ninputs = 3\noutputs = 2\nn = 40\nnoise = 0.1', True),
                ('type = "linear"\ninputs = 2\noutputs = 1\nn = 100\nx_range = [-1, 1]\nnoise = 0.01', True),
                ('type = "linear"\ninputs = 6\noutputs = 2\nn = 10\nx_range = [-3, 5]\nnoise = 0.5', False)]


@pytest.mark.parametrize("problem,gram", LINEAR_CASES, ids=["3x2-gram", "2x1-gram", "6x2-residuals"])
def test_linear_loss_and_grad_equal_autograd(problem, gram):
    for seed in (0, 1, 2):
        p = build(problem, seed=seed)
        assert (p._gram is not None) == gram                   # both full-data paths are covered
        P, rng = len(p.param_names), np.random.default_rng(seed)
        params = torch.tensor(rng.normal(size=(7, P)) * rng.uniform(0.1, 10, size=(7, 1)))
        assert_same(p.loss_and_grad(params), loss_and_autograd(p, params), 1e-12)
        for b in (1, 3, p.n):                                  # minibatches: repeats, padding, the whole data
            idx = torch.tensor(rng.integers(0, p.n, size=(7, b)))
            w = torch.full((7, b), 1 / b, dtype=torch.float64)
            if b > 1:
                w[2, b // 2:] = 0.0                            # a short, padded batch
                w[2, :b // 2] = 1 / (b // 2)
            assert_same(p.loss_and_grad(params, idx, w), loss_and_autograd(p, params, idx, w), 1e-12)


def test_linear_loss_and_grad_near_an_exact_fit():
    """Without noise the loss at the minimum is 0: 1e-5 from it the loss is 1e-10 times the data's scale.
    The quadratic form is taken around the minimum, so nothing large cancels (taken around 0 it would lose
    all but a few digits here)."""
    p = build('type = "linear"\nW = [[1.0, -2.0], [0.5, 3.0]]\nB = [0.25, -1.0]\nn = 30\nx_range = [-2, 3]')
    assert p._gram is not None
    offsets = torch.tensor(np.random.default_rng(5).normal(size=(6, 6)))
    for eps in (1e-2, 1e-5):
        params = torch.tensor(p.minimum)[None] + eps * offsets
        got, ref = p.loss_and_grad(params), loss_and_autograd(p, params)
        assert float(ref[0].max()) < 1e3 * eps ** 2
        assert_same(got, ref, 1e-8)
    L, g = p.loss_and_grad(torch.tensor(p.minimum)[None])
    assert 0 <= float(L[0]) < 1e-28 and float(g.abs().max()) < 1e-13


def test_linear_float32():
    ctx = BuildCtx(seed=0, base_dir=ROOT, device=torch.device("cpu"), dtype=torch.float32)
    p = PROBLEMS["linear"].build({"n": 50, "x_range": (0.0, 1.0), "noise": 0.1}, ctx)
    params = torch.randn(4, 3)
    L, g = p.loss_and_grad(params)
    L_ref, g_ref = loss_and_autograd(p, params)
    assert L.dtype == g.dtype == torch.float32
    torch.testing.assert_close(L, L_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)


def test_quadratic_loss_and_grad_equal_autograd():
    p = build('type = "quadratic"\ngammas = [5.0, 1.0, 0.5, -2.0]\ncenter = [1.0, -2.0, 0.0, 3.0]')
    params = torch.tensor(np.random.default_rng(3).normal(size=(9, 4)) * 4)
    L, g = p.loss_and_grad(params)
    L_ref, g_ref = loss_and_autograd(p, params)
    torch.testing.assert_close(L, L_ref, rtol=0, atol=0)
    torch.testing.assert_close(g, g_ref, rtol=1e-15, atol=0)


@pytest.mark.parametrize("problem,train", [
    ('type = "linear"\ninputs = 2\noutputs = 2\nn = 40\nnoise = 0.1', "steps = 40\ninit = [0.5, -0.5, 1, 0, 0, 2]"),
    ('type = "linear"\ninputs = 3\noutputs = 1\nn = 3', "steps = 40"),                        # residual path
    ('type = "linear"\ninputs = 2\noutputs = 2\nn = 23\nnoise = 0.1', "epochs = 4\nbatch_size = [5, 8]\nshuffle = true"),
    ('type = "quadratic"\ngammas = [3.0, 0.5]', "steps = 40"),
], ids=["linear-gram", "linear-residuals", "linear-minibatch", "quadratic"])
def test_simulated_history_is_autograds(problem, train, monkeypatch):
    """The History with the closed form is the History autograd gives (a problem without `loss_and_grad`),
    full batch and minibatches, several optimizers and runs at once."""
    text = (f'seed = 3\n[problem]\n{problem}\n[train]\n{train}\n[[optimizer]]\ntype = "sgd"\nlr = [0.01, 0.1]\n'
            'momentum = 0.9\n[[optimizer]]\ntype = "adam"\nlr = 0.05\n[render]\nviews = ["loss"]\n')
    import animopt

    cls = type(plan(parse_scene(text)).problem)
    fast = animopt.simulate(parse_scene(text))
    monkeypatch.delattr(cls, "loss_and_grad")
    slow = animopt.simulate(parse_scene(text))
    assert np.all(np.isfinite(fast.params)) and np.all(fast.loss[-1] < fast.loss[0])
    for a, b in ((fast.params, slow.params), (fast.grads, slow.grads), (fast.loss, slow.loss)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
