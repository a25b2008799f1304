"""The classifiers' functions in numpy (animopt/declare/problems/nets.py): `mlp` and `classifier` declare
their loss, predictions and accuracy without torch (`ProblemDef.numpy_info`), equal to the torch
problems'; a cached render of their scenes draws with them and never imports torch, the same frames as a
render that simulated."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from animopt.cli import main
from animopt.declare.problems import PROBLEMS, nets

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "scenes" / "data" / "digits.npz"
TOL = {"float64": 1e-12, "float32": 2e-5}


def _both(type_: str, options: dict, dtype: str, base_dir: Path, seed: int = 5):
    """The torch problem and the declaration's numpy functions of the same problem."""
    import torch

    from animopt.problems.base import BuildCtx

    d = PROBLEMS[type_]
    values = {k: f.default for k, f in d.fields.items()} | options
    ctx = BuildCtx(seed=seed, base_dir=base_dir, device=torch.device("cpu"), dtype=getattr(torch, dtype))
    return d.build(values, ctx), d.numpy_info(values, base_dir, seed, "<scene>", dtype)


def _assert_same(built, fns, dtype: str, points: np.ndarray, scale: float = 1.5, seed: int = 0):
    """loss_fn, predict and accuracy_fn at random parameter sets (and the problem's start)."""
    P = len(built.param_names)
    rng = np.random.default_rng(seed)
    params = np.vstack([np.asarray(built.default_init)[None], rng.normal(0, scale, (40, P))])
    tol = TOL[dtype]
    np.testing.assert_allclose(fns["loss_fn"](params), built.numpy_loss(params), rtol=tol, atol=tol)
    np.testing.assert_allclose(fns["predict"](params, points), built.predict(params, points), rtol=tol,
                               atol=tol * 10)
    np.testing.assert_array_equal(fns["accuracy_fn"](params), built.accuracy(params))
    assert fns["predict"](params[:0], points).shape == (0, len(points), built.classes)
    assert fns["loss_fn"](params[:0]).shape == fns["accuracy_fn"](params[:0]).shape == (0,)


MLP_CASES = [   # activation, loss, hidden, data
    ("relu", "cross_entropy", [16, 16], {"dataset": "moons"}),
    ("relu", "mse", [7], {"dataset": "spirals", "n": 150}),
    ("tanh", "cross_entropy", [5, 4, 3], {"dataset": "spirals"}),
    ("tanh", "mse", [16, 16], {"dataset": "moons", "noise": 0.2}),
    ("sigmoid", "cross_entropy", [9, 2], {"dataset": "blobs", "classes": 4}),
    ("sigmoid", "mse", [3], {"dataset": "xor"}),
    ("gelu", "cross_entropy", [8, 8], {"dataset": "circles"}),
    ("gelu", "mse", [4, 6], {"dataset": "moons"}),
    ("relu", "cross_entropy", [], {"dataset": "moons"}),          # no hidden layer: a linear classifier
    ("tanh", "cross_entropy", [6], {"dataset": "csv", "path": "pts.csv"}),
    ("gelu", "mse", [5, 5], {"dataset": "csv", "path": "pts.csv", "classes": 5}),
]


def _csv(folder: Path) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(0, 1.2, (90, 2))
    lab = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.5)
    rows = "".join(f"{a!r},{b!r},{c}\n" for (a, b), c in zip(X.tolist(), lab.tolist()))
    (folder / "pts.csv").write_text("x0,x1,label\n" + rows)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation, loss, hidden, data", MLP_CASES,
                         ids=[f"{a}-{l}-{'x'.join(map(str, h)) or 'linear'}-{d['dataset']}"
                              for a, l, h, d in MLP_CASES])
def test_mlp_numpy_functions_are_the_torch_problems(tmp_path, activation, loss, hidden, data, dtype):
    _csv(tmp_path)
    built, fns = _both("mlp", {"activation": activation, "loss": loss, "hidden": hidden, "init_seed": 3, **data},
                       dtype, tmp_path)
    points = np.random.default_rng(1).uniform(-3, 3, (300, 2))
    _assert_same(built, fns, dtype, points)


def _npz(folder: Path) -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (120, 2))
    np.savez(folder / "two.npz", X=X, y=(X.sum(1) > 0).astype(int) + (X[:, 0] > 0.5))


CLASSIFIER_CASES = [
    ("mse", {"npz": str(DIGITS), "n": 300}),
    ("cross_entropy", {"npz": str(DIGITS), "n": 300}),
    ("cross_entropy", {"npz": str(DIGITS), "n": 1000, "classes": 12}),
    ("mse", {"npz": "two.npz"}),
    ("cross_entropy", {"npz": "two.npz", "classes": 4}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss, data", CLASSIFIER_CASES,
                         ids=[f"{l}-{Path(d['npz']).stem}-{d.get('n', 'all')}-{d.get('classes', '')}"
                              for l, d in CLASSIFIER_CASES])
def test_classifier_numpy_functions_are_the_torch_problems(tmp_path, loss, data, dtype):
    _npz(tmp_path)
    built, fns = _both("classifier", {"loss": loss, **data}, dtype, tmp_path)
    points = np.random.default_rng(1).uniform(0, 1, (200, built.features))
    _assert_same(built, fns, dtype, points, scale=0.3)


@pytest.mark.parametrize("type_, options", [
    ("mlp", {"activation": "tanh", "hidden": [6, 5]}), ("mlp", {"activation": "gelu", "loss": "mse"}),
    ("classifier", {"npz": str(DIGITS), "n": 100})])
def test_diverged_parameters_and_small_chunks(tmp_path, monkeypatch, type_, options):
    """inf and NaN parameters give what torch gives (NaN losses, the same predictions and accuracy), and
    evaluating a few parameter sets at a time changes nothing."""
    built, fns = _both(type_, options, "float64", tmp_path)
    P = len(built.param_names)
    p = np.random.default_rng(2).normal(0, 1.0, (9, P))
    p[0, 3], p[1, 5], p[2, -1], p[3, 0], p[4] = 1e200, np.nan, np.inf, -np.inf, p[4] * 1e3
    pts = np.random.default_rng(3).uniform(-2, 2, (50, built.X.shape[1]))
    whole = fns["loss_fn"](p), fns["predict"](p, pts), fns["accuracy_fn"](p)
    for got, want in zip(whole, (built.numpy_loss(p), built.predict(p, pts), built.accuracy(p))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(nets, "CHUNK_VALUES", 7)
    for got, want in zip((fns["loss_fn"](p), fns["predict"](p, pts), fns["accuracy_fn"](p)), whole):
        np.testing.assert_array_equal(got, want)


def test_erf_is_maths():
    x = np.concatenate([np.random.default_rng(0).normal(0, 3, 20000), np.linspace(-30, 30, 6001),
                        [0.0, -0.0, 1.0, -1.0, 8.0, -8.0, 1e-300, 5e-324, 1e300, -1e300]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(nets.erf(x), want, rtol=1e-15, atol=0)
    assert np.array_equal(nets.erf([np.inf, -np.inf]), [1.0, -1.0]) and np.isnan(nets.erf([np.nan])).all()
    assert np.signbit(nets.erf(-0.0)) and nets.erf(np.zeros((2, 0))).shape == (2, 0)


def test_every_activation_of_the_declaration_has_a_numpy_one():
    from animopt.declare.problems.mlp import ACTIVATIONS

    assert set(ACTIVATIONS) == set(nets.ACTIVATIONS)


def test_the_declarations_import_neither_torch_nor_matplotlib():
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import numpy as np
        import animopt.scene
        from animopt.declare.problems import PROBLEMS
        d = PROBLEMS["classifier"]
        v = {{k: f.default for k, f in d.fields.items()}} | {{"npz": {str(DIGITS)!r}}}
        fns = d.numpy_info(v, Path("."), 0, "<scene>", "float32")
        fns["loss_fn"](np.zeros((3, 650))); fns["accuracy_fn"](np.zeros((3, 650)))
        d = PROBLEMS["mlp"]
        v = {{k: f.default for k, f in d.fields.items()}} | {{"activation": "gelu"}}
        fns = d.numpy_info(v, Path("."), 0, "<scene>", "float64")
        fns["predict"](np.zeros((2, 354)), np.zeros((5, 2)))
        print("heavy:", sorted(m for m in ("torch", "matplotlib", "sklearn") if m in sys.modules))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "heavy: []" in r.stdout, r.stdout + r.stderr


# ------------------------------------------------------------------------------------------ cached renders

MLP_SCENE = """
title = "cached mlp"
seed = 2
[problem]
type = "mlp"
dataset = "moons"
n = 40
noise = 0.1
hidden = [6, 5]
activation = "tanh"
[train]
steps = 20
batch_size = 10
[[optimizer]]
type = "adam"
lr = 0.05
[[optimizer]]
type = "sgd"
lr = 0.3
[render]
views = [["boundary", "accuracy"], [{ type = "landscape", resolution = 24 }, "loss"]]
size = [320, 240]
fps = 10
duration = 1.0
formats = ["png"]
"""

LANDSCAPE_SCENE = f"""
title = "cached landscape"
seed = 1
[problem]
type = "classifier"
npz = "{DIGITS}"
n = 200
loss = "cross_entropy"
[train]
steps = 20
batch_size = 32
[[optimizer]]
type = "adam"
lr = 0.01
[[optimizer]]
type = "sgd"
lr = 0.5
[render]
views = [{{ type = "landscape", plane = "pca", resolution = 24 }}, "accuracy"]
size = [160, 120]
fps = 10
duration = 1.0
formats = ["png"]
"""

GELU_SCENE = MLP_SCENE.replace('"tanh"', '"gelu"\nloss = "mse"').replace('hidden = [6, 5]', 'hidden = [4]')


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("ANIMOPT_CACHE_DIR", str(d))
    return d


def _cli(*args) -> str:
    r = CliRunner().invoke(main, [*args])
    assert r.exit_code == 0, r.output
    return r.output


def _assert_same_frame(path: Path, expected: Path) -> None:
    """The same pixels, but for the last bits of a sum: numpy's and torch's products add in their own
    order, and a contour edge through a flat basin may then move one level of antialiasing at a few
    pixels (scenes/digits_landscape.toml: 14 of 921,600 pixels, by 1/255)."""
    a, b = (np.asarray(Image.open(f)).astype(int) for f in (path, expected))
    assert a.shape == b.shape, (a.shape, b.shape)
    d = np.abs(a - b).max(-1)
    assert d.max() <= 2 and (d > 0).mean() <= 1e-3, f"{path.name}: {(d > 0).sum()} pixels differ, by up to {d.max()}"


@pytest.mark.parametrize("text", [MLP_SCENE, LANDSCAPE_SCENE, GELU_SCENE], ids=["mlp", "classifier", "mlp-gelu"])
def test_a_cached_classifier_render_never_imports_torch(tmp_path, cache_dir, text):
    """Render once (the cache fills), change only fps, render again in a fresh process: the History is
    reused, the views draw with the declaration's numpy functions, torch is never imported, and the
    frames (the poster and a middle step) are those of a render that simulated."""
    scene = tmp_path / "s.toml"
    scene.write_text(text)
    _cli("render", str(scene), "-o", str(tmp_path / "first"), "-q")
    scene.write_text(text.replace("fps = 10", "fps = 8"))
    code = textwrap.dedent(f"""
        import sys
        from animopt.cli import main
        for args in (["render", {str(scene)!r}, "-o", {str(tmp_path / "cached")!r}, "--force"],
                     ["still", {str(scene)!r}, "-o", {str(tmp_path / "cached" / "mid.png")!r}, "--step", "7"]):
            try:
                main(args)
            except SystemExit as e:
                assert e.code == 0, e.code
        print("heavy:", sorted(m for m in ("torch", "sklearn") if m in sys.modules))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "ANIMOPT_CACHE_DIR": str(cache_dir)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (r.stdout + r.stderr).count("simulation reused") == 2 and "heavy: []" in r.stdout, r.stdout + r.stderr
    fresh = tmp_path / "fresh"
    _cli("render", str(scene), "-o", str(fresh), "-q", "--no-cache")
    _cli("still", str(scene), "-o", str(fresh / "mid.png"), "--step", "7", "--no-cache")
    for name in ("s.png", "mid.png"):
        _assert_same_frame(tmp_path / "cached" / name, fresh / name)
