"""`animopt check` and animopt.testing.check_scene on users' own golden folders."""
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from animopt.cli import main
from animopt.testing import check_scene

SCENE = """
title = "Two optimizers in a bowl"
seed = 3

[problem]
type = "quadratic"

[train]
steps = 40
init = [2.0, 1.5]

[[optimizer]]
type = "sgd"
lr = 0.1

[[optimizer]]
type = "adam"
lr = 0.2

[render]
size = [320, 180]
dpi = 40
duration = 1.0
formats = ["mp4"]
views = [{ type = "contour" }, { type = "loss" }]
"""


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def folder(tmp_path):
    scene = tmp_path / "bowl.toml"
    scene.write_text(SCENE)
    code, out = run("check", scene, "--golden", tmp_path / "golden", "--update")
    assert code == 0, out
    return tmp_path


def test_update_then_check_is_clean(folder):
    golden = folder / "golden"
    assert sorted(p.name for p in golden.iterdir()) == ["bowl.20.png", "bowl.40.png", "bowl.npz"]
    code, out = run("check", folder / "bowl.toml", "--golden", golden, "--report", folder / "report")
    assert code == 0, out
    assert re.search(r"bowl: numbers same; frames step 20: RMS 0\.00, step 40: RMS 0\.00; verdict: ok", out)


def test_a_changed_lr_is_numbers_changed(folder):
    scene = folder / "bowl.toml"
    scene.write_text(SCENE.replace("lr = 0.2", "lr = 0.25"))
    before = {p.name: p.stat().st_mtime_ns for p in (folder / "golden").iterdir()}
    code, out = run("check", scene, "--golden", folder / "golden", "--report", folder / "report")
    assert code == 1
    assert "numbers changed by" in out and "Adam" in out
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "golden").iterdir()} == before


@pytest.mark.parametrize("change", [('title = "Two optimizers in a bowl"', 'title = "Another title"'),
                                    ("[render]", '[render]\ntheme = "dark"')])
def test_a_changed_look_is_pixels_only_and_a_tolerance_allows_it(folder, change):
    scene = folder / "bowl.toml"
    scene.write_text(SCENE.replace(*change))
    code, out = run("check", scene, "--golden", folder / "golden", "--report", folder / "report")
    assert code == 1 and "numbers same" in out and "verdict: pixels only" in out
    code, out = run("check", scene, "--golden", folder / "golden", "--tolerance", 255, "--report", folder / "r2")
    assert code == 0, out


def test_report_shows_every_frame(folder):
    scene = folder / "bowl.toml"
    scene.write_text(SCENE.replace("lr = 0.1", "lr = 0.05"))
    code, out = run("check", scene, "--golden", folder / "golden", "--report", folder / "report")
    assert code == 1 and f"report: {folder / 'report' / 'index.html'}" in out
    index = (folder / "report" / "index.html").read_text()
    assert index.index("numbers") < index.index("<img")
    for step in (20, 40):
        assert f"bowl.{step}" in index
        for kind in ("expected", "actual", "diff"):
            assert (folder / "report" / f"bowl.{step}.{kind}.png").stat().st_size > 0


def test_default_report_folder_is_printed(folder):
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden")
    assert code == 0
    index = Path(re.search(r"report: (\S+)", out).group(1))
    assert index.exists() and index.parent != folder


def test_missing_golden_says_how_to_make_it(tmp_path):
    scene = tmp_path / "bowl.toml"
    scene.write_text(SCENE)
    code, out = run("check", scene, "--golden", tmp_path / "none", "--report", tmp_path / "report")
    assert code == 1
    assert "missing golden bowl.npz" in out and "--update" in out
    assert not (tmp_path / "none").exists()


def test_other_steps(folder):
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden", "--steps", "0,10",
                    "--report", folder / "report")
    assert code == 1 and "missing golden bowl.0.png, bowl.10.png" in out and "--steps 0,10" in out
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden", "--steps", "0,10", "--update")
    assert code == 0, out
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden", "--steps", "0,10",
                    "--report", folder / "report")
    assert code == 0 and "step 0: RMS 0.00, step 10: RMS 0.00" in out


@pytest.mark.parametrize("args, message", [
    (["--steps", "x"], "--steps: expected comma-separated step numbers"),
    (["--steps", "500"], "--steps: step 500 is outside 0..40"),
    (["--tolerance", "-1"], "--tolerance"),
])
def test_bad_input_is_exit_2(folder, args, message):
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden", "--report", folder / "r", *args)
    assert code == 2, out
    assert message in out and "Traceback" not in out


def test_missing_scene_file_is_exit_2(tmp_path):
    code, out = run("check", tmp_path / "nope.toml", "--golden", tmp_path)
    assert code == 2 and "no such file" in out


def test_python_api(folder):
    result = check_scene(folder / "bowl.toml", folder / "golden")
    assert result.ok and result.verdict == "ok"
    assert result.frames == {20: 0.0, 40: 0.0} and result.numeric_difference == 0.0
    (folder / "bowl.toml").write_text(SCENE.replace("lr = 0.1", "lr = 0.11"))
    changed = check_scene(folder / "bowl.toml", folder / "golden", rtol=1e-6)
    assert not changed.ok and changed.verdict == "numbers changed" and changed.numeric_difference > 1e-3
    loose = check_scene(folder / "bowl.toml", folder / "golden", rtol=10.0)
    assert loose.numbers.same


def test_report_says_when_versions_differ(folder):
    import numpy as np

    npz = folder / "golden" / "bowl.npz"
    with np.load(npz) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["golden.matplotlib"] = np.array("0.1.0")
    np.savez_compressed(npz, **arrays)
    code, out = run("check", folder / "bowl.toml", "--golden", folder / "golden", "--report", folder / "report")
    assert code == 0, out
    assert "golden made with other versions: matplotlib 0.1.0 ->" in out
    assert "matplotlib 0.1.0" in (folder / "report" / "index.html").read_text()
