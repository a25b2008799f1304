"""Each command through click's CliRunner: exit codes and the files read back."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from animopt.cli import main

SCENE = """
title = "tiny"
seed = 3
[problem]
type = "line"
a = 2.0
b = -1.0
n = 12
[train]
steps = 40
init = [0.0, 0.0]
[[optimizer]]
type = "sgd"
lr = 0.01
[[optimizer]]
type = "adam"
lr = 0.1
[render]
views = ["fit_line", "loss"]
size = [256, 144]
frames = 12
fps = 12
formats = ["mp4"]
"""


@pytest.fixture
def scene(tmp_path):
    f = tmp_path / "tiny.toml"
    f.write_text(SCENE)
    return f


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_simulate_npz_names(scene, tmp_path):
    out = tmp_path / "h.npz"
    res = run("simulate", scene, "-o", out)
    assert res.exit_code == 0, res.output
    with np.load(out) as z:
        for name in ("params", "loss", "grads", "updates", "lr", "diverged_at", "labels", "param_names"):
            assert name in z.files, name
        assert z["params"].shape == (41, 2, 2)
        assert z["loss"].shape == (41, 2)
        assert z["grads"].shape == (40, 2, 2)
        assert z["lr"].shape == (40, 2)
        assert list(z["labels"]) == ["SGD", "Adam"]
        assert list(z["param_names"]) == ["a", "b"]
        assert (z["diverged_at"] == -1).all()
        assert z["loss"][-1, 1] < z["loss"][0, 1]


def test_simulate_csv(scene, tmp_path):
    out = tmp_path / "h.csv"
    res = run("simulate", scene, "-o", out)
    assert res.exit_code == 0, res.output
    rows = out.read_text().strip().splitlines()
    assert len(rows) == 1 + 41 * 2
    assert rows[0].startswith("step,run,label")


def test_simulate_bad_suffix(scene, tmp_path):
    res = run("simulate", scene, "-o", tmp_path / "h.txt")
    assert res.exit_code == 2


def test_still(scene, tmp_path):
    out = tmp_path / "s.png"
    res = run("still", scene, "--step", 5, "-o", out)
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.size == (256, 144)
    res = run("still", scene, "--step", 999, "-o", tmp_path / "t.png")
    assert res.exit_code == 2 and "999" in res.output
    assert not (tmp_path / "t.png").exists()


def test_render_and_formats_override(scene, tmp_path):
    out = tmp_path / "out"
    res = run("render", scene, "-o", out, "-f", "gif,png", "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["tiny.gif", "tiny.png"]
    res = run("render", scene, "-o", out, "-f", "avi")
    assert res.exit_code == 2


def test_validate_and_list(scene):
    res = run("validate", scene)
    assert res.exit_code == 0 and "ok" in res.output
    res = run("list", scene)
    assert res.exit_code == 0
    assert "tiny" in res.output and "SGD" in res.output and "fit_line" in res.output


def test_bundled_scenes_validate():
    root = Path(__file__).resolve().parents[1] / "scenes"
    res = run("validate", root)
    assert res.exit_code == 0, res.output


def test_device_not_there(scene, tmp_path):
    res = run("simulate", scene, "-o", tmp_path / "h.npz", "--device", "cuda:7")
    assert res.exit_code == 2
    assert "cuda:7" in res.output and "Traceback" not in res.output


def test_simulate_says_what_became_of_the_runs(tmp_path):
    """A run that escapes a saddle (loss falling without bound) is counted as escaped, one that blows
    up as diverged (animopt.states), not both as diverged."""
    f = tmp_path / "saddle.toml"
    f.write_text("""
[problem]
type = "saddle"
[train]
steps = 80
init = [-1.5, 0.001]
divergence_threshold = 1e3
[[optimizer]]
type = "sgd"
lr = 0.05
momentum = 0.9
[[optimizer]]
type = "sgd"
lr = 1.5
[render]
views = ["loss"]
""")
    res = run("simulate", f, "-o", tmp_path / "h.npz")
    assert res.exit_code == 0, res.output
    assert "1 escaped" in res.output and "1 diverged" in res.output, res.output


def test_python_dash_m_animopt_is_the_command():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "animopt", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Usage: animopt" in r.stdout, r.stderr


@pytest.mark.parametrize("name, value", [("ANIMOPT_MEMORY_MB", "lots"), ("ANIMOPT_MEMORY_MB", "0"),
                                         ("ANIMOPT_CHUNK_RUNS", "abc"), ("ANIMOPT_CHUNK_RUNS", "-3"),
                                         ("ANIMOPT_CHUNK_RUNS", "2.5")])
def test_a_bad_environment_number_is_one_line_naming_it(scene, tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    res = run("simulate", scene, "-o", tmp_path / "h.npz")
    assert res.exit_code == 2, res.output
    assert f"${name}: expected a positive" in res.output and repr(value) in res.output
    assert "Traceback" not in res.output and not (tmp_path / "h.npz").exists()


def test_a_bad_cache_size_is_one_line_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ANIMOPT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ANIMOPT_CACHE_MB", "x")
    res = run("cache", "info")
    assert res.exit_code == 2 and "$ANIMOPT_CACHE_MB: expected a positive number, got 'x'" in res.output
