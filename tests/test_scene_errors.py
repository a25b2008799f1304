"""Bad scenes: one message per problem, naming the file, the key path and what was expected."""
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from animopt.cli import main
from animopt.scene import parse_scene
from animopt.spec import SceneError

GOOD = """
title = "ok"
[problem]
type = "line"
a = 1.5
b = -2.0
n = 10
[train]
steps = 20
[[optimizer]]
type = "sgd"
lr = 0.01
[[optimizer]]
type = "adam"
lr = 0.1
[render]
views = ["fit_line", "loss"]
size = [320, 180]
"""


def bad(old, new):
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


CASES = [
    # (scene text, key named, words in the message)
    (bad('title = "ok"', 'titel = "ok"'), "titel", "did you mean 'title'"),
    (bad("lr = 0.01", "lr = -0.01"), "optimizer[0].lr", "> 0"),
    (bad("lr = 0.1", "lr = 0"), "optimizer[1].lr", "> 0"),
    (bad("lr = 0.01", 'lr = "fast"'), "optimizer[0].lr", "number"),
    (bad("lr = 0.01", "lr = 0.01\nmomentum = 1.0"), "optimizer[0].momentum", "< 1"),
    (bad("lr = 0.01", "lr = 0.01\nmomentun = 0.9"), "optimizer[0].momentun", "did you mean 'momentum'"),
    (bad('type = "adam"', 'type = "adma"'), "optimizer[1].type", "did you mean 'adam'"),
    (bad('type = "line"', 'type = "lines"'), "problem.type", "did you mean 'line'"),
    (bad("n = 10", "n = 0"), "problem.n", ">= 1"),
    (bad("n = 10", "n = 10.5"), "problem.n", "integer"),
    (bad("steps = 20", "steps = 20\nepochs = 3"), "train.steps", "not both"),
    (bad("steps = 20", "steps = 20\nbatch_sise = 2"), "train.batch_sise", "did you mean 'batch_size'"),
    (bad("steps = 20", "steps = 20000000"), "train.steps", "limit"),
    (bad("size = [320, 180]", "size = [321, 180]"), "render.size", "even"),
    (bad("size = [320, 180]", "size = [8192, 180]"), "render.size", "4096"),
    (bad("size = [320, 180]", 'size = [320, 180]\nformats = ["avi"]'), "render.formats", "'mp4'"),
    (bad('views = ["fit_line", "loss"]', 'views = ["fit_line", "los"]'), "render.views[1]", "did you mean 'loss'"),
    (bad("size = [320, 180]", "size = [320, 180]\nfps = 30\nduration = 4000"), "render.duration", "100,000"),
    (bad("lr = 0.01", "lr = { from = 0.001, to = 1, num = 10000000 }"), "optimizer[0].lr", "limit"),
    (bad("[render]", "[render]\ntheme = \"blue\""), "render.theme", "'light'"),
    (bad("lr = 0.1", 'lr = 0.1\ncolor = "bleu"'), "optimizer[1].color", "did you mean 'blue'"),
    (bad("lr = 0.01", 'lr = 0.01\nlinestyle = "dashdotted"'), "optimizer[0].linestyle", "'dashdot'"),
    (bad("lr = 0.1", 'lr = 0.1\nmarker = "circle"'), "optimizer[1].marker", "'o'"),
    (bad("lr = 0.1", 'lr = 0.1\nzorder = "top"'), "optimizer[1].zorder", "number"),
    (bad("size = [320, 180]", 'size = [320, 180]\nformats = "gif"'), "render.formats",
     'expected a list of strings like ["gif"], got the string "gif"'),
    (bad("size = [320, 180]", 'size = [320, 180]\nformats = "avi"'), "render.formats",
     "a list of strings, each one of 'mp4', 'webm', 'gif', 'webp', 'html', 'png', got the string \"avi\""),
    (bad("size = [320, 180]", "size = 320"), "render.size", "expected a list of 2 integers"),
    (bad('views = ["fit_line", "loss"]', 'views = ["fit_line", { type = "params", params = "a" }]'),
     "render.views[1].params", 'like ["a"], got the string "a"'),
    (bad("[render]", '[render]\ntimeline = "Log"'), "render.timeline", "did you mean 'log'"),
    (bad("size = [320, 180]", "size = [320, 180]\nduration = inf"), "render.duration", "finite"),
]

# rejected by `animopt validate` (exit 2) although they parse: they need the problem built or the sweep
# expanded, and render would reject them
VALIDATE_CASES = [
    (bad('views = ["fit_line", "loss"]', 'views = [{ type = "grid", view = "fit_line", by = "momentum" }]'),
     "render.views[0].by", "'momentum' is not a swept key"),
    (bad('views = ["fit_line", "loss"]', 'views = [{ type = "heatmap", x = "lr", y = "momentum" }]'),
     "render.views[0].x", "'lr' is not a swept key"),
    (bad("lr = 0.01", "lr = [0.01, 0.1]").replace('views = ["fit_line", "loss"]',
                                                  'views = [{ type = "heatmap", x = "lr", y = "beta" }]'),
     "render.views[0].y", "'beta' is not a swept key of this scene; swept keys here: 'lr'"),
    (bad('views = ["fit_line", "loss"]', 'views = [{ type = "contour", params = ["a", "c"] }]'),
     "render.views[0].params", "'c' is not a parameter"),
    (bad("size = [320, 180]", "size = [320, 180]\nstill_step = 21"), "render.still_step", "past the last step"),
]


@pytest.mark.parametrize("text,key,words", CASES, ids=[c[1] for c in CASES])
def test_error_names_key(text, key, words):
    with pytest.raises(SceneError) as ei:
        parse_scene(text, "scenes/bad.toml")
    msg = str(ei.value)
    line = next((ln for ln in msg.splitlines() if f": {key}:" in ln), None)
    assert line is not None, msg
    assert line.startswith("scenes/bad.toml: ")
    assert words in line, line


def test_every_problem_reported_at_once():
    text = bad("lr = 0.01", "lr = -1").replace("n = 10", "n = -3").replace("[320, 180]", "[321, 180]")
    with pytest.raises(SceneError) as ei:
        parse_scene(text, "x.toml")
    keys = [k for _, k, _ in ei.value.problems]
    assert {"optimizer[0].lr", "problem.n", "render.size"} <= set(keys)


def test_toml_syntax_error_keeps_line_and_column():
    with pytest.raises(SceneError) as ei:
        parse_scene("[problem\ntype = 'line'\n", "x.toml")
    assert "line 1, column" in str(ei.value)


def test_good_scene_parses():
    s = parse_scene(GOOD, "ok.toml")
    assert [o.type for o in s.optimizers] == ["sgd", "adam"]
    assert s.render.size == (320, 180)


@pytest.mark.parametrize("cmd", ["validate", "render", "list"])
def test_cli_bad_scene_exit_2_no_traceback(cmd, tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(bad("lr = 0.01", "lr = -0.01"))
    out = tmp_path / "out"
    args = [cmd, str(f)] + (["-o", str(out), "-q"] if cmd == "render" else [])
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "optimizer[0].lr" in res.output
    assert not out.exists() or not any(p.suffix in (".mp4", ".gif") for p in out.iterdir())


def test_cli_missing_file(tmp_path):
    for args in (["validate", str(tmp_path / "nope.toml")],
                 ["still", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "x.png")],
                 ["simulate", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "x.npz")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert "nope.toml" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("text,key,words", VALIDATE_CASES, ids=[c[1] for c in VALIDATE_CASES])
def test_validate_rejects_what_render_would(text, key, words, tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    parse_scene(text, f)                     # the file itself parses: the problem is in what it makes
    res = CliRunner().invoke(main, ["validate", str(f)])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if f": {key}:" in ln]
    assert len(lines) == 1 and lines[0].startswith(f"{f}: "), res.output
    assert words in lines[0] and "Traceback" not in res.output


def test_validate_passes_a_good_scene_with_a_grid_and_a_heatmap(tmp_path):
    text = bad("lr = 0.01", "lr = [0.01, 0.1]\nmomentum = [0.0, 0.9]").replace(
        'views = ["fit_line", "loss"]',
        'views = [{ type = "grid", view = "fit_line", by = "lr" }, { type = "heatmap", x = "lr", y = "momentum", '
        'optimizer = 0 }]')
    f = tmp_path / "ok.toml"
    f.write_text(text)
    res = CliRunner().invoke(main, ["validate", str(f)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("table", ["render", "train"])
def test_any_bad_value_is_a_scene_error_not_a_traceback(table):
    from animopt.scene import RENDER, TRAIN

    fields = RENDER if table == "render" else TRAIN
    for key in fields:
        for value in ('"Wrong"', "{ q = 1 }", "-1", '[1, "a"]', "true", "1e400", "nan"):
            text = GOOD.replace(f"[{table}]", f"[{table}]\n{key} = {value}", 1)
            if key in tomllib.loads(GOOD)[table]:
                continue                   # the table already has the key (TOML forbids it twice)
            try:
                parse_scene(text, "x.toml")
            except SceneError:
                pass
