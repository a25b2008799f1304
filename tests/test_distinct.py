"""Runs told apart: coinciding runs found on synthetic histories and drawn dashed, with another marker,
on top and named in the legend; display keys validated and carried to the lines; one swept value
coloured in order; automatic labels that name what differs."""
from dataclasses import replace

import numpy as np
import pytest

from animopt.coincide import coincidences, rank_in_group
from animopt.display import CSS_COLORS
from animopt.history import History
from animopt.layout import Canvas, check_views
from animopt.scene import parse_scene
from animopt.spec import SceneError
from animopt.styles import run_styles, swept_values
from animopt.sweep import describe_entry, entry_labels
from animopt.theme import LIGHT
from animopt.timeline import frame_steps

STEPS = 100


def history(paths, labels=None, hparams=None, optimizer=None) -> History:
    """A History of runs with the given parameter paths [T, R, 2] (loss: the distance to the origin)."""
    params = np.asarray(paths, dtype=np.float64)
    T, R, _ = params.shape
    loss = (params ** 2).sum(-1) + 1.0
    zeros = np.zeros((T - 1, R, 2))
    return History(params=params, loss=loss, grads=zeros, updates=zeros, lr=np.full((T - 1, R), 0.1),
                   diverged_at=np.full(R, -1), labels=tuple(labels or [f"run {r}" for r in range(R)]),
                   param_names=("x", "y"), hparams=hparams or {}, optimizer=optimizer)


def spiral(turn=0.0, scale=1.0):
    t = np.linspace(0, 1, STEPS + 1)
    return scale * np.stack([np.cos(6 * t + turn) * (1 - t), np.sin(6 * t + turn) * (1 - t)], -1)


def test_same_path_found_and_a_different_one_not():
    base = spiral()
    h = history(np.stack([base, base + 1e-5, spiral(turn=1.0, scale=0.6)], 1), ["torch", "moving average", "Keras"])
    found = coincidences(h)
    assert [(c.run, c.under, c.kind) for c in found] == [(1, 0, "path")]
    assert found[0].note(h.labels) == "moving average = torch, same path"


def test_shared_start_parts_at_its_step_and_shared_end_meets_at_its_step():
    base = spiral()
    parted = base.copy()
    parted[40:] += np.linspace(0, 0.5, STEPS + 1 - 40)[:, None]      # leaves base at step 41
    meets = spiral(turn=2.0, scale=0.8)
    meets[70:] = base[-1] + 0.3                      # both end at (0.3, 0.3) (not the minimum) ...
    end = meets.copy()
    end[:70] = spiral(turn=4.0, scale=0.6)[:70]
    end[70:] = base[-1] + 0.3                        # ... from step 70
    h = history(np.stack([base, parted, meets, end], 1))
    kinds = {(c.run, c.under): (c.kind, c.step) for c in coincidences(h)}
    assert kinds[(1, 0)] == ("until", 41)
    assert kinds[(3, 2)] == ("from", 70)
    assert (2, 0) not in kinds and (3, 0) not in kinds


def test_loss_alone_coincides_when_only_the_loss_is_drawn():
    a = spiral()
    b = a * np.array([1.0, -1.0])                    # mirrored: another path, the same loss
    h = history(np.stack([a, b], 1))
    assert [c.kind for c in coincidences(h)] == ["loss"]
    assert [c.kind for c in coincidences(h, params=False)] == ["loss"]
    h2 = history(np.stack([a, a * 0.5], 1))          # a different loss as well
    assert coincidences(h2) == [] and coincidences(h2, params=False) == []


def test_frames_decide_most_of_the_clip():
    base = spiral()
    other = base.copy()
    other[30:] += 0.4                                # the same for steps 0..29 only
    h = history(np.stack([base, other], 1))
    assert [c.kind for c in coincidences(h)] == ["until"]
    assert [c.kind for c in coincidences(h, steps=np.repeat(np.arange(30), 9))] == ["path"]   # frames dwell early


def test_groups_rank_every_run_that_coincides():
    base = spiral()
    h = history(np.stack([base, spiral(turn=1.0, scale=0.6), base, base], 1))
    rank, size = rank_in_group(h, coincidences(h))
    assert rank.tolist() == [0, 0, 1, 2] and size.tolist() == [3, 1, 3, 3]


def test_coinciding_runs_drawn_apart_and_named_in_the_legend():
    base = spiral()
    h = history(np.stack([base, base, spiral(turn=1.0, scale=0.6)], 1), ["torch", "Keras", "Adam"])
    styles = run_styles(h, LIGHT, steps=np.arange(STEPS + 1))
    assert styles[0].linestyle == "-" and styles[1].linestyle != "-" and styles[2].linestyle == "-"
    assert styles[0].marker != styles[1].marker and styles[1].order > styles[0].order
    assert styles[0].marker_scale > styles[1].marker_scale
    assert [s.label for s in styles] == ["torch", "Keras = torch, same path", "Adam"]
    scene = parse_scene('[problem]\ntype = "quadratic"\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n'
                        '[render]\nviews = ["loss", "params"]\nsize = [320, 180]\ndpi = 40\nframes = 10\n')
    check_views(scene.render, h, "<test>")
    with Canvas(scene.render, h, "", frame_steps(h.steps, 10)) as c:
        (leg,) = c.fig.legends
        assert "Keras = torch, same path" in [t.get_text() for t in leg.get_texts()]
        lines = c.views[0].lines
        assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--"
        assert lines[1].get_zorder() > lines[0].get_zorder()
        order = [a for a in c.artists if a in lines]
        assert order.index(lines[1]) > order.index(lines[0])        # drawn after: on top
        c.frame(STEPS)


def test_display_keys_reach_the_lines_and_win():
    base = spiral()
    h = history(np.stack([base, base], 1), ["a", "b"], optimizer=np.array([0, 1]))
    display = ({"color": "crimson", "linestyle": ":", "zorder": 5.0}, {"marker": "X"})
    styles = run_styles(h, LIGHT, display, np.arange(STEPS + 1))
    assert styles[0].color == "crimson" and styles[0].linestyle == ":" and styles[1].marker == "X"
    assert styles[0].order > styles[1].order                        # zorder 5: drawn on top of b
    assert styles[1].color != "crimson"


def test_one_swept_value_gets_ordered_colours():
    import matplotlib.pyplot as plt

    lrs = np.array([0.5, 0.05, 1.2, 0.2])
    h = history(np.stack([spiral(scale=s) for s in (1, 2, 3, 4)], 1), hparams={"lr": lrs},
                optimizer=np.zeros(4, dtype=int))
    np.testing.assert_array_equal(swept_values(h), lrs)
    colors = [s.color for s in run_styles(h, LIGHT)]
    cmap = plt.get_cmap(LIGHT.run_cmap)
    expected = cmap(np.linspace(*LIGHT.run_range, 4))
    for r, k in enumerate(np.argsort(np.argsort(lrs))):            # colour by rank of the value
        np.testing.assert_allclose(colors[r], expected[k])
    two_entries = replace(h, optimizer=np.array([0, 0, 1, 1]))
    assert swept_values(two_entries) is None
    grid = replace(h, hparams={"lr": lrs, "momentum": np.array([0.0, 0.9, 0.0, 0.9])})
    assert swept_values(grid) is None


OPTIMIZERS = """
[problem]
type = "quadratic"
[[optimizer]]
type = "adam"
lr = 0.1
schedule = { type = "cosine" }
[[optimizer]]
type = "adam"
lr = 0.5
[[optimizer]]
type = "adam"
lr = 0.1
[[optimizer]]
type = "sgd"
lr = 0.1
[[optimizer]]
type = "adam"
label = "mine"
lr = 0.1
"""


def test_automatic_labels_name_what_differs_and_label_wins():
    scene = parse_scene(OPTIMIZERS)
    labels = entry_labels(scene.optimizers)
    assert labels == ["Adam (lr 0.1, cosine schedule)", "Adam (lr 0.5, constant lr)", "Adam (lr 0.1, constant lr)",
                      "SGD", "mine"]
    assert describe_entry(scene.optimizers[0]) == "Adam (lr 0.1, cosine schedule)"
    same = parse_scene(OPTIMIZERS.replace("lr = 0.5", "lr = 0.1").replace('schedule = { type = "cosine" }\n', ""))
    assert len(set(entry_labels(same.optimizers))) == 5              # identical entries are numbered


@pytest.mark.parametrize("key, value, words", [
    ("color", '"bleu"', "did you mean 'blue'"),
    ("color", '"#12345"', "hex code"),
    ("color", "3", "a string"),
    ("linestyle", '"wavy"', "'--'"),
    ("marker", '"star"', "'o'"),
    ("zorder", '"top"', "a number"),
    ("colour", '"red"', "did you mean 'color'"),
])
def test_bad_display_key_is_a_scene_error_naming_it(key, value, words):
    text = OPTIMIZERS.replace('label = "mine"', f'label = "mine"\n{key} = {value}')
    with pytest.raises(SceneError) as e:
        parse_scene(text, "x.toml")
    assert [(f, k) for f, k, _ in e.value.problems] == [("x.toml", f"optimizer[4].{key}")]
    assert words in e.value.problems[0][2]


def test_good_display_keys_are_kept():
    text = OPTIMIZERS.replace('label = "mine"', 'label = "mine"\ncolor = "tab:green"\nlinestyle = "--"\n'
                              'marker = "D"\nzorder = 3')
    spec = parse_scene(text).optimizers[4]
    assert dict(spec.display) == {"color": "tab:green", "linestyle": "--", "marker": "D", "zorder": 3.0}
    assert spec.label == "mine" and dict(parse_scene(OPTIMIZERS).optimizers[0].display) == {}


def test_colour_rule_accepts_what_matplotlib_draws():
    import matplotlib.colors as mc

    from animopt.display import color_problem

    assert CSS_COLORS == set(mc.CSS4_COLORS)
    for c in ["crimson", "Crimson", "tab:blue", "C3", "k", "#abc", "#a1b2c3", "#a1b2c3d4"]:
        assert color_problem(c) is None and mc.is_color_like(c), c
    for c in ["bleu", "#ab", "C10", "tab:bleu", "0.5"]:
        assert color_problem(c) is not None, c
