"""Overrides: --set key.path=value on render, still and simulate, load_scene(path, overrides=...); a bad
override is one line naming it, exit code 2."""
import numpy as np
import pytest
from click.testing import CliRunner

import animopt
from animopt.cli import main
from animopt.overrides import parse_key, parse_set

SCENE = """
title = "tiny"
[problem]
type = "line"
a = 1.0
b = 2.0
n = 10
[train]
steps = 20
init = [0.0, 0.0]
[[optimizer]]
type = "sgd"
lr = 0.02
[[optimizer]]
type = "adam"
lr = 0.3
[render]
views = ["loss"]
size = [96, 64]
fps = 10
duration = 1.0
formats = ["gif"]
"""


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SCENE)
    return p


def test_key_paths_and_values():
    assert parse_key("optimizer[1].schedule.T_max", "x") == ["optimizer", 1, "schedule", "T_max"]
    assert parse_key("render.views[0][1]", "x") == ["render", "views", 0, 1]
    assert parse_set("render.size=[640, 360]").value == [640, 360]
    assert parse_set("render.theme=dark").value == "dark"
    assert parse_set('render.theme="dark"').value == "dark"
    assert parse_set("render.gif={ max_mb = 3 }").value == {"max_mb": 3}
    assert parse_set("render.transparent=true").value is True


def test_load_scene_overrides(path):
    base = animopt.load_scene(path)
    s = animopt.load_scene(path, overrides={"optimizer[1].lr": 0.05, "render.fps": 60, "render.gif.max_mb": 2})
    assert s.optimizers[1].hparams["lr"] == 0.05 and s.optimizers[0].hparams["lr"] == 0.02
    assert s.render.fps == 60 and s.render.gif["max_mb"] == 2
    assert s.digest != base.digest                   # the render cache tells them apart
    s2 = animopt.load_scene(path, overrides=["optimizer[1].lr=0.05", "render.fps=60", "render.gif.max_mb=2"])
    assert s2.digest == s.digest
    assert animopt.load_scene(path, overrides={}).digest == base.digest


@pytest.mark.parametrize("sets,words", [
    (["optimizer[2].lr=0.1"], "--set optimizer[2].lr=0.1: optimizer has 2 entries, so index 2 is past its end"),
    (["optimizer[0].lrr=0.1"], "optimizer[0].lrr: unknown key (did you mean 'lr'?)"),
    (["render.fps=-1"], "render.fps: expected a number > 0 and <= 240, got -1 (from --set render.fps=-1)"),
    (["render.fps"], "--set render.fps: expected key.path=value"),
    (["title.x=1"], "--set title.x=1: title is not a table"),
    (["render.size=[1,"], "--set render.size=[1,: the value '[1,' is not a TOML value"),
])
def test_bad_override_is_a_scene_error_naming_it(path, sets, words):
    with pytest.raises(animopt.SceneError) as e:
        animopt.load_scene(path, overrides=sets)
    assert words in str(e.value)
    assert "--set " in str(e.value)


@pytest.mark.parametrize("command", ["render", "still", "simulate"])
def test_cli_set_bad_is_one_line_exit_2(path, tmp_path, command):
    out = {"render": str(tmp_path / "out"), "still": str(tmp_path / "a.png"), "simulate": str(tmp_path / "a.npz")}
    res = CliRunner().invoke(main, [command, str(path), "-o", out[command], "--set", "optimizer[5].lr=0.1"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "--set optimizer[5].lr=0.1" in lines[0] and "Traceback" not in res.output


def test_cli_set_changes_the_run(path, tmp_path):
    r = CliRunner()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert r.invoke(main, ["simulate", str(path), "-o", str(a)]).exit_code == 0
    res = r.invoke(main, ["simulate", str(path), "-o", str(b), "--set", "optimizer[1].lr=0.05", "--set",
                          "train.steps=10"])
    assert res.exit_code == 0, res.output
    ha, hb = np.load(a), np.load(b)
    assert ha["params"].shape[0] == 21 and hb["params"].shape[0] == 11
    assert np.allclose(ha["params"][:11, 0], hb["params"][:, 0])       # sgd untouched
    assert not np.allclose(ha["params"][:11, 1], hb["params"][:, 1])   # adam's lr changed
    res = r.invoke(main, ["render", str(path), "-o", str(tmp_path / "out"), "-q", "--set", "render.size=[81, 45]",
                          "--set", "render.fps=5"])
    assert res.exit_code == 0, res.output
    from PIL import Image

    with Image.open(tmp_path / "out" / "tiny.gif") as im:
        assert im.size == (81, 45) and im.n_frames == 5
