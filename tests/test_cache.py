"""The simulation cache (animopt.cache): a render after an edit to [render] or the views reuses the History
(and never imports torch); anything the simulation reads makes a new entry; --no-cache, cache clear, the
size bound; a Scene pickles."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from animopt import cache, load_scene
from animopt.cli import main

ROOT = Path(__file__).resolve().parents[1]

SCENE = """
title = "cache"
seed = 3
[problem]
type = "line"
a = 1.5
b = -2.0
n = 12
csv_or_not = 0
[train]
steps = 30
[[optimizer]]
type = "sgd"
lr = 0.01
[[optimizer]]
type = "adam"
lr = 0.1
[render]
views = ["fit_line", "loss"]
size = [160, 120]
fps = 10
duration = 1.0
formats = ["png"]
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("ANIMOPT_CACHE_DIR", str(d))
    return d


def write(path: Path, text: str, csv: bool = False) -> Path:
    text = text.replace("csv_or_not = 0\n", 'csv = "pts.csv"\n' if csv else "")
    if csv:
        text = text.replace("a = 1.5\nb = -2.0\nn = 12\n", "")
    path.write_text(text)
    return path


def render(scene: Path, out: Path, *extra) -> str:
    r = CliRunner().invoke(main, ["render", str(scene), "-o", str(out), "-q", *extra])
    assert r.exit_code == 0, r.output
    return r.output


def test_a_render_only_edit_reuses_the_simulation(tmp_path, cache_dir):
    scene = write(tmp_path / "s.toml", SCENE)
    assert "reused" not in render(scene, tmp_path / "o")
    assert len(list((cache_dir / "history").glob("*.npz"))) == 1
    write(scene, SCENE.replace("fps = 10", "fps = 12").replace('"loss"]', '{ type = "loss", scale = "log" }]'))
    assert "(simulation reused from the cache)" in render(scene, tmp_path / "o", "--force")
    assert "reused" not in render(scene, tmp_path / "o", "--force", "--no-cache")


@pytest.mark.parametrize("old, new", [("lr = 0.01", "lr = 0.02"), ("steps = 30", "steps = 31"), ("seed = 3", "seed = 4"),
                                      ('type = "adam"', 'type = "rmsprop"'), ("n = 12", "n = 13")])
def test_what_the_simulation_reads_changes_the_key(old, new, tmp_path):
    a = load_scene(write(tmp_path / "a.toml", SCENE))
    b = load_scene(write(tmp_path / "b.toml", SCENE.replace(old, new)))
    c = load_scene(write(tmp_path / "c.toml", SCENE.replace("fps = 10", "fps = 24").replace("size = [160, 120]",
                                                                                        "size = [320, 240]")))
    assert cache.key(a) != cache.key(b)
    assert cache.key(a) == cache.key(c)
    assert cache.key(a) != cache.key(a, device="cpu")


def test_data_files_content_is_in_the_key(tmp_path):
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n")
    path = write(tmp_path / "s.toml", SCENE, csv=True)
    k1 = cache.key(load_scene(path))
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,6\n")
    assert cache.key(load_scene(path)) != k1


def test_cached_history_equals_the_simulated_one(tmp_path, cache_dir):
    from animopt.renderer import _history

    scene = load_scene(write(tmp_path / "s.toml", SCENE))
    notes = []
    h1 = _history(scene, None, None, cache=True, notes=notes.append)
    h2 = _history(scene, None, None, cache=True, notes=notes.append)
    assert len(notes) == 1 and "reused" in notes[0]
    for k in ("params", "loss", "grads", "updates", "lr", "diverged_at"):
        np.testing.assert_array_equal(getattr(h1, k), getattr(h2, k))
    assert h1.labels == h2.labels and h1.param_names == h2.param_names
    p1, p2 = h1.problem, h2.problem
    np.testing.assert_array_equal(p1.data["x"], p2.data["x"])
    np.testing.assert_allclose(p1.minimum, p2.minimum)
    pts = np.array([[0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(p1.loss_fn(pts), p2.loss_fn(pts))     # rebuilt (torch) on the first call


def test_clear_and_the_size_bound(tmp_path, cache_dir, monkeypatch):
    from animopt.renderer import _history

    for lr in ("0.01", "0.02", "0.03"):
        _history(load_scene(write(tmp_path / f"s{lr}.toml", SCENE.replace("lr = 0.01", f"lr = {lr}"))), None, None,
                 cache=True)
        os.utime(max((cache_dir / "history").glob("*.npz"), key=os.path.getmtime), (1e9 + float(lr) * 1e3,) * 2)
    files = sorted((cache_dir / "history").glob("*.npz"), key=os.path.getmtime)
    assert len(files) == 3
    cache.trim(limit=sum(p.stat().st_size for p in files[1:]))       # room for two: the oldest goes
    assert sorted((cache_dir / "history").glob("*.npz"), key=os.path.getmtime) == files[1:]
    cache.mathtext_remember([r"$\alpha$"])
    assert cache.mathtext_known([r"$\alpha$"])
    r = CliRunner().invoke(main, ["cache", "clear"])
    assert r.exit_code == 0 and "removed 2" in r.output
    assert not list((cache_dir / "history").glob("*.npz"))
    assert not cache.mathtext_known([r"$\alpha$"])


def test_every_bundled_scene_pickles():
    for f in sorted((ROOT / "scenes").glob("*.toml")):
        s = load_scene(f)
        assert pickle.loads(pickle.dumps(s)) == s


ROSENBROCK = """
title = "cached contour"
[problem]
type = "rosenbrock"
[train]
steps = 20
[[optimizer]]
type = "adam"
lr = 0.05
[render]
views = ["contour", "loss"]
size = [160, 120]
fps = 10
duration = 1.0
formats = ["png"]
"""


EXPRESSION = ROSENBROCK.replace('type = "rosenbrock"', 'type = "expression"\nf = "x**2 + 10*sin(y)**2"\n'
                                                      'params = ["x", "y"]\nminimum = [0.0, 0.0]')


@pytest.mark.parametrize("text", [SCENE, ROSENBROCK, EXPRESSION], ids=["line", "rosenbrock-contour",
                                                                       "expression-contour"])
def test_a_cached_render_never_imports_torch(tmp_path, cache_dir, text):
    """The contour's loss grid of a cached History comes from the declaration's numpy loss."""
    scene = write(tmp_path / "s.toml", text)
    render(scene, tmp_path / "o")
    write(scene, text.replace("fps = 10", "fps = 8"))
    code = textwrap.dedent(f"""
        import sys
        from animopt.cli import main
        try:
            main(["render", {str(scene)!r}, "-o", {str(tmp_path / "o")!r}, "-q", "--force"])
        except SystemExit as e:
            assert e.code == 0, e.code
        heavy = sorted(m for m in ("torch", "sklearn") if m in sys.modules)
        print("heavy:", heavy)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "ANIMOPT_CACHE_DIR": str(cache_dir)})
    assert r.returncode == 0, r.stderr
    assert "simulation reused" in r.stdout and "heavy: []" in r.stdout, r.stdout + r.stderr


def _cli_in_a_fresh_process(args: list[str], cache_dir: Path) -> subprocess.CompletedProcess:
    """`animopt ARGS` in a new Python (torch not loaded: the cold path), printing whether this process
    imported torch and its exit code."""
    code = textwrap.dedent(f"""
        import sys
        from animopt.cli import main
        try:
            main({args!r})
        except SystemExit as e:
            print("exit:", e.code)
        print("torch here:", "torch" in sys.modules)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ANIMOPT_CACHE_DIR": str(cache_dir)})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the simulation beside the drawing forks (Linux)")
def test_a_cold_render_simulates_in_a_child_while_matplotlib_loads(tmp_path, cache_dir):
    """Cold cache, fresh process: a forked child imports torch and simulates into the cache while this
    process loads matplotlib; the frames equal those of a render that simulated in its own process."""
    scene = write(tmp_path / "s.toml", ROSENBROCK)
    r = _cli_in_a_fresh_process(["render", str(scene), "-o", str(tmp_path / "cold"), "-q"], cache_dir)
    assert "exit: 0" in r.stdout and "torch here: False" in r.stdout, r.stdout + r.stderr
    assert "reused" not in r.stdout and len(list((cache_dir / "history").glob("*.npz"))) == 1
    render(scene, tmp_path / "here", "--no-cache")
    cold, here = (np.asarray(Image.open(tmp_path / d / "s.png")) for d in ("cold", "here"))
    np.testing.assert_array_equal(cold, here)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the simulation beside the drawing forks (Linux)")
def test_a_cold_render_whose_simulation_fails_says_why_once(tmp_path, cache_dir):
    """The child's failure is silent: this process simulates again and says what is wrong, in one line."""
    bad = ROSENBROCK.replace("steps = 20", 'steps = 20\ndevice = "cuda:7"')
    scene = write(tmp_path / "s.toml", bad)
    r = _cli_in_a_fresh_process(["render", str(scene), "-o", str(tmp_path / "o")], cache_dir)
    out = r.stdout + r.stderr
    assert "exit: 2" in r.stdout and out.count("cuda:7") == 1 and "Traceback" not in out, out
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
    assert not list((cache_dir / "history").glob("*.npz"))


@pytest.mark.parametrize("type_, options", [
    ("rosenbrock", {"a": 1.5, "b": 50.0}), ("beale", {}), ("himmelblau", {}), ("rastrigin", {"A": 7.0}),
    ("saddle", {}), ("booth", {}), ("six_hump_camel", {}), ("quadratic", {"gammas": [3.0, 0.5, 1.0]}),
    ("line", {"a": 2.0, "b": -1.0, "n": 17, "noise": 0.3}), ("linear", {"inputs": 3, "outputs": 2, "n": 40}),
    ("expression", {"f": "x**2 + 10*sin(y)**2 - softplus(x*y) + max(abs(x), 1/(1 + y**2)) + sigmoid(x) + pow(y, 2)",
                    "params": ["x", "y"]}),
    ("expression", {"f": "relu(a - 1) + atan2(b, 2) * hypot(a, b) + exp(-a**2) - min(a, b) + sign(b) * sqrt(abs(a))"
                         " + log1p(a**2) + expm1(b / 10) + cosh(b/3) + tanh(a) + sinh(1) + atan(a) + tan(b / 5)",
                    "params": ["a", "b"]})])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_declared_numpy_loss_is_the_built_problems(tmp_path, type_, options, dtype):
    """The numpy loss a cached History's views call equals the torch problem's, in the scene's dtype."""
    import torch

    from animopt.declare.problems import PROBLEMS
    from animopt.problems.base import BuildCtx

    d = PROBLEMS[type_]
    values = {k: f.default for k, f in d.fields.items()} | options
    ctx = BuildCtx(seed=5, base_dir=tmp_path, device=torch.device("cpu"), dtype=getattr(torch, dtype))
    built = d.build(values, ctx)
    P = len(built.param_names)
    pts = np.random.default_rng(0).uniform(-3, 3, size=(50, P))
    got = d.numpy_loss(values, tmp_path, 5, "<scene>", dtype)(pts)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(got, built.numpy_loss(pts), rtol=rtol, atol=rtol)


def test_a_compact_history_keeps_repeated_arrays_once(tmp_path):
    """The cache writes a repeated array (zero strides: NaN parameters not recorded, one rate a run) once,
    with its shape, and reads it back repeated (no memory); a plain .npz keeps every array whole for np.load."""
    from animopt.history import History

    runs, steps = 5000, 40
    h = History(params=np.broadcast_to(np.float32(np.nan), (steps + 1, runs, 3)),
                loss=np.random.default_rng(0).random((steps + 1, runs), dtype=np.float32),
                grads=np.broadcast_to(np.float32(np.nan), (steps, runs, 3)),
                updates=np.broadcast_to(np.float32(np.nan), (steps, runs, 3)),
                lr=np.broadcast_to(np.linspace(0.1, 1, runs)[None], (steps, runs)),
                diverged_at=np.full(runs, -1), labels=tuple(f"run {i}" for i in range(runs)),
                param_names=("a", "b", "c"), params_ends=np.zeros((2, runs, 3), dtype=np.float32))
    compact, plain = h.save(tmp_path / "c.npz", compact=True), h.save(tmp_path / "p.npz")
    assert compact.stat().st_size < plain.stat().st_size
    back = History.load(compact)
    for k in ("params", "loss", "grads", "updates", "lr", "diverged_at", "params_ends"):
        a, b = getattr(h, k), getattr(back, k)
        assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), k
    assert back.params.strides == (0, 0, 0) and back.lr.strides[0] == 0 and back.labels == h.labels
    with np.load(plain) as z:
        assert z["params"].shape == (steps + 1, runs, 3) and z["lr"].shape == (steps, runs)
        np.testing.assert_array_equal(z["lr"], h.lr)
