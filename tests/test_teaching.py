"""The teaching layer: captions, pauses and slow motion (exact frame counts), state arrows, the update view."""
import numpy as np
import pytest

import animopt
from animopt.captions import frame_range
from animopt.layout import Canvas, check_views
from animopt.renderer import _base_timeline, checked_plan, display, timeline
from animopt.scene import parse_scene
from animopt.spec import SceneError
from animopt.teach import Caption, Pause, Slow
from animopt.timeline import frame_steps, pause_at, slow_down, teaching_steps

BOWL = """
title = "t"
[problem]
type = "quadratic"
gammas = [8, 1]
[train]
steps = {steps}
init = [-1.5, 2.0]
[[optimizer]]
type = "sgd"
label = "SGD"
lr = 0.05
[[optimizer]]
type = "sgd"
label = "Momentum"
lr = 0.05
momentum = 0.8
[render]
views = {views}
size = [480, 270]
fps = 10
duration = 2
timeline = "{timeline}"
formats = ["mp4"]
{extra}
"""


def scene(extra="", views='["contour", "loss"]', steps=40, timeline="linear"):
    return parse_scene(BOWL.format(extra=extra, views=views, steps=steps, timeline=timeline), "s.toml")


def errors_of(text_or_scene, simulate=False):
    with pytest.raises(SceneError) as e:
        s = scene(text_or_scene) if isinstance(text_or_scene, str) else text_or_scene
        if simulate:
            checked_plan(s)
    return str(e.value)


# ---------------------------------------------------------------- pauses and slow motion

def test_a_pause_adds_exactly_its_frames_at_its_step():
    fs = frame_steps(100, 50, "linear", hold_frames=5)
    out = pause_at(fs, 33, 17)
    assert len(out) == len(fs) + 17
    assert (np.diff(out) >= 0).all()
    i = int(np.argmax(out == 33))
    assert (out[i:i + 17] == 33).all() and out[i - 1] < 33
    assert pause_at(fs, 0, 4)[:5].tolist() == [0] * 5
    assert (pause_at(fs, 100, 4)[-10:] == 100).all()


def test_slow_motion_multiplies_the_frames_of_its_range():
    fs = frame_steps(100, 51, "linear", hold_frames=8, start_frames=5)      # steps 0, 2, 4, ...
    k = int(((fs >= 20) & (fs <= 40)).sum())
    out = slow_down(fs, 20, 40, 3)
    assert len(out) == len(fs) + 2 * k
    assert (np.diff(out) >= 0).all() and out[0] == 0 and out[-1] == 100
    assert int(((out >= 20) & (out <= 40)).sum()) == 3 * k
    # the holds at either end of a range count once: slowing 0..10 does not stretch the start hold
    start_hold = int((fs == 0).sum())
    out = slow_down(fs, 0, 10, 2)
    assert int((out == 0).sum()) <= start_hold + 2
    out = slow_down(fs, 90, 100, 2)
    assert int((out == 100).sum()) <= int((fs == 100).sum()) + 2
    # a range no frame showed is walked through in round(factor) frames
    sparse = frame_steps(1000, 10, "linear")
    out = slow_down(sparse, 500, 505, 3)
    assert len(out) == 13 and {500, 505} <= set(out.tolist()) and (np.diff(out) >= 0).all()
    # a factor below 1 speeds the range up
    assert len(slow_down(fs, 20, 60, 0.5)) < len(fs)


def test_teaching_steps_are_exact_for_any_base_timeline():
    for mode in ("linear", "log", "motion"):
        s = scene("""[[render.pause]]
step = 10
seconds = 1.5
[[render.pause]]
step = 25
seconds = 0.3
[[render.slow]]
from = 5
to = 15
factor = 2.5""", timeline=mode)
        h = animopt.simulate(s)
        base = _base_timeline(s, h)
        fs = timeline(s, h)
        sl = slow_down(base, 5, 15, 2.5)
        assert len(fs) == len(sl) + 15 + 3, mode           # round(1.5 * 10) + round(0.3 * 10)
        assert (np.diff(fs) >= 0).all() and fs[-1] == h.steps
        assert (fs == 10).sum() >= 15 and (fs == 25).sum() >= 3
    # duration: frames / fps grows by exactly the pauses' seconds
    s = scene("""[[render.pause]]
step = 20
seconds = 2""")
    h = animopt.simulate(s)
    assert len(timeline(s, h)) / s.render.fps == pytest.approx(s.render.duration + 2.0)


def test_teaching_steps_applies_slows_before_pauses():
    fs = frame_steps(50, 26, "linear")
    out = teaching_steps(fs, 10, [Pause(20, 1.0)], [Slow(10, 30, 2.0)])
    assert len(out) == len(slow_down(fs, 10, 30, 2.0)) + 10
    assert (out == 20).sum() >= 10


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("extra, key, words", [
    ('[[render.caption]]\ntext = "x"', "render.caption[0].at", "give at"),
    ('[[render.caption]]\ntext = "x"\nat = 3\nat_time = 1.0', "render.caption[0].at_time", "not both"),
    ('[[render.caption]]\ntext = "x"\nat = -3', "render.caption[0].at", ">= 0"),
    ('[[render.caption]]\ntext = "x"\nat = 5\nuntil = 2', "render.caption[0].until", "after at = 5"),
    ('[[render.caption]]\ntext = "x"\nat = 1\npanel = 7', "render.caption[0].panel", "from 0 to 1"),
    ('[[render.caption]]\ntext = "x"\nat = 1\npanel = "surface"', "render.caption[0].panel", "no 'surface' view"),
    ('[[render.caption]]\ntext = "x"\nat = 1\nwhere = "middle"', "render.caption[0].where", "expected one of"),
    ('[[render.caption]]\ntext = "x"\nat = 1\nwhere = "head:SGD"\npanel = "loss"', "render.caption[0].panel",
     "contour or fit_line"),
    ('[[render.caption]]\ntext = "x"\nat = 1\nwher = "top"', "render.caption[0].wher", "did you mean 'where'"),
    ('[[render.caption]]\nat = 1', "render.caption[0].text", "missing"),
    ('[[render.pause]]\nstep = 3', "render.pause[0].seconds", "missing"),
    ('[[render.pause]]\nstep = 3\nseconds = -1', "render.pause[0].seconds", "> 0"),
    ('[[render.slow]]\nfrom = 3\nto = 2\nfactor = 2', "render.slow[0].to", "after from = 3"),
    ('[[render.slow]]\nfrom = 3\nto = 9\nfactor = 2\n[[render.slow]]\nfrom = 5\nto = 12\nfactor = 2',
     "render.slow[1]", "overlap render.slow[0]"),
    ('[[render.slow]]\nfrom = 3\nto = 9\nfactor = 0', "render.slow[0].factor", "> 0"),
])
def test_bad_teaching_keys_name_file_and_key(extra, key, words):
    msg = errors_of(extra)
    assert f"s.toml: {key}: " in msg and words in msg, msg


@pytest.mark.parametrize("extra, key, words", [
    ('[[render.caption]]\ntext = "x"\nat = 99', "render.caption[0].at", "past the last step (40)"),
    ('[[render.pause]]\nstep = 41\nseconds = 1', "render.pause[0].step", "past the last step"),
    ('[[render.slow]]\nfrom = 3\nto = 50\nfactor = 2', "render.slow[0].to", "past the last step"),
    ('[[render.caption]]\ntext = "x"\nat = 1\nwhere = "head:Momentun"', "render.caption[0].where",
     "did you mean 'Momentum'"),
    ('[[render.caption]]\ntext = "$\\\\frac{1$"\nat = 1', "render.caption[0].text", "mathtext"),
])
def test_teaching_keys_checked_against_the_plan(extra, key, words):
    msg = errors_of(scene(extra), simulate=True)
    assert f"s.toml: {key}: " in msg and words in msg, msg


# ---------------------------------------------------------------- captions

def test_caption_frames_and_fade():
    fs = np.array([0, 0, 1, 2, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10])
    assert frame_range(Caption("x", at=3), fs, 10) == (4, 15)              # 3 s default, cut at the end
    assert frame_range(Caption("x", at=3, until=5), fs, 10) == (4, 10)     # through the frames of step 5
    assert frame_range(Caption("x", at_time=0.2, until_time=0.6), fs, 10) == (2, 6)


def _canvas(s, h):
    return Canvas(s.render, h, s.title, timeline(s, h), display(s), s.optimizers)


def test_captions_fade_in_and_out_and_avoid_legends():
    s = scene("""[[render.caption]]
text = "over the legend's corner: $v \\\\leftarrow \\\\beta v + g$"
at = 4
until = 30
panel = "loss"
where = "top right"
[[render.caption]]
text = "figure caption"
at_time = 0.0
until_time = 1.0
[[render.caption]]
text = "this one"
at = 6
where = "head:Momentum"
""", views='["contour", { type = "loss", legend = true }]')
    h = animopt.simulate(s)
    check_views(s.render, h, s.file)
    with _canvas(s, h) as c:
        caps = c.captions
        (c0, t0, r0, _, _), (c1, t1, r1, _, _), (c2, t2, r2, run, view) = caps.items
        f0, f1 = r0
        alphas = [caps.alpha(r0, 0, i) for i in range(f0 - 1, f1 + 1)]
        assert alphas[0] == 0 and alphas[-1] == 0 and max(alphas) == 1
        assert 0 < alphas[1] < 1 and 0 < alphas[-2] < 1                      # fades at both ends
        fs = timeline(s, h)
        i = f0 + 5
        c.frame(int(fs[i]), i)
        assert t0.get_visible() and t0.get_alpha() == 1
        box = t0.get_window_extent(caps.renderer)
        for lg in caps.legends:
            assert not lg.overlaps(box)
        ax = view.ax
        inside = ax.get_window_extent(caps.renderer)
        j = r2[0] + 4
        c.frame(int(fs[j]), j)
        assert t2.get_visible()
        px = ax.transData.transform(t2.xy)
        assert np.allclose(t2.xy, h.params[fs[j], run])                      # points at the run's head
        assert inside.contains(*px)
        c.frame(int(fs[-1]), len(fs) - 1)
        assert not t1.get_visible()
        # a still of a step shows the captions of the frames showing that step
        c.frame(10)
        assert t0.get_visible() and t0.get_alpha() == 1


def test_a_scene_with_captions_draws_them():
    s = scene("""[[render.caption]]
text = "HELLO"
at = 0
until = 40
where = "top"
""")
    h = animopt.simulate(s)
    fs = timeline(s, h)
    plain = scene()
    with _canvas(s, h) as c, _canvas(plain, h) as p:
        a, b = c.rgb(int(fs[8]), 8), p.rgb(int(fs[8]), 8)
    assert (a != b).any(axis=2).sum() > 100


# ---------------------------------------------------------------- state arrows and the update view

ALL_TYPES = """
[problem]
type = "quadratic"
gammas = [10, 1]
[train]
steps = 12
init = [-1.5, 2.0]
{optimizers}
[render]
views = [{{ type = "contour", state = ["gradient", "momentum", "update", "scaling"] }}, {{ type = "update", run = {run} }}]
size = [640, 360]
fps = 10
duration = 1
formats = ["mp4"]
"""


def test_buffers_are_recorded_only_when_a_view_draws_them(tmp_path):
    plain = animopt.simulate(scene())
    assert plain.momentum is None and plain.second_moment is None and plain.step_scale is None
    s = parse_scene(ALL_TYPES.format(optimizers='[[optimizer]]\ntype = "sgd"\nlr = 0.05\nmomentum = 0.8\n'
                                                '[[optimizer]]\ntype = "adam"\nlr = 0.1', run=1))
    h = animopt.simulate(s)
    assert h.momentum.shape == h.grads.shape
    # torch's buffer: b1 = g1, b2 = 0.8 b1 + g2; the direction is the buffer
    assert np.allclose(h.momentum[:, 0], h.updates[:, 0])
    b1, b2 = 0.9, 0.999
    m = v = np.zeros(2)
    for t in range(3):
        g = h.grads[t, 1]
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    assert np.allclose(h.momentum[2, 1], m) and np.allclose(h.second_moment[2, 1], v)
    assert np.isnan(h.second_moment[:, 0]).all()                  # SGD has no second moment
    assert np.allclose(h.step_scale[2, 1], 1 / (np.sqrt(v / (1 - b2 ** 3)) + 1e-8))
    back = h.save(tmp_path / "h.npz")
    from animopt.history import History

    loaded = History.load(back)
    for k in ("momentum", "second_moment", "step_scale"):
        assert np.array_equal(getattr(loaded, k), getattr(h, k), equal_nan=True)


def test_state_arrows_share_one_scale_and_the_update_ends_on_the_next_point():
    s = parse_scene(ALL_TYPES.format(optimizers='[[optimizer]]\ntype = "sgd"\nlr = 0.05\nmomentum = 0.8\n'
                                                '[[optimizer]]\ntype = "rmsprop"\nlr = 0.05', run='"RMSprop"'))
    h = animopt.simulate(s)
    with _canvas(s, h) as c:
        st = c.views[0].state
        c.frame(5)
        q = st.quivers["update"]
        f = st.factor
        assert f >= 1 and np.allclose(q.get_offsets(), h.params[5])
        assert np.allclose(np.c_[q.U, q.V] / f, h.params[6] - h.params[5])
        assert np.allclose(np.c_[st.quivers["gradient"].U, st.quivers["gradient"].V] / f, -h.lr[5, :, None] * h.grads[5])
        hidden = np.asarray(st.quivers["momentum"].Umask) | np.zeros(2, bool)
        assert not hidden[0] and hidden[1]                               # RMSprop without momentum has none
        a, b = st.scaling[5, 1] * f          # the ellipse: the scales' ratio, the step's length on average
        tip = (h.params[6, 1] - h.params[5, 1]) * f
        assert max(a, b) == pytest.approx(np.linalg.norm(tip))
        assert a / b == pytest.approx(h.step_scale[5, 1, 0] / h.step_scale[5, 1, 1])
        assert len(st.ellipses[1].get_data()[0]) == 48
        assert len(st.ellipses[0].get_data()[0]) == 0                   # SGD: no step scale
        c.frame(h.steps)
        assert np.asarray(q.Umask).all()                         # no step from the last point
        assert any(t.startswith("arrows") for t in [e[1] for e in st.key_entries()])


def test_the_update_view_writes_every_optimizer_type():
    from animopt.optim import OPTIMIZERS
    from animopt.views.update import RULES, Numbers, generic, rule_lines
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    h = animopt.simulate(parse_scene(ALL_TYPES.format(
        optimizers='[[optimizer]]\ntype = "adam"\nlr = 0.1\namsgrad = true\nweight_decay = 0.01', run=0)))
    for kind, o in OPTIMIZERS.items():
        assert kind in RULES, f"no update rule written for {kind!r}"
        hp = {k: f.default for k, f in o.fields.items()}
        for line in rule_lines(kind, Numbers(h, 0, 3, hp)):
            parser.parse(line, 72)
    lines = rule_lines("no_such_type", Numbers(h, 0, 3, {}))
    assert generic is not None and any("update" in x for x in lines)
    adam = rule_lines("adam", Numbers(h, 0, 3, {"betas": (0.9, 0.999), "amsgrad": True, "weight_decay": 0.01}))
    text = " ".join(adam)
    assert "t = 4" in text and "0.344" in text                           # 1 - 0.9^4, the bias correction
    assert "(\\mathrm{not" not in text                                  # the buffers are recorded


def test_update_view_renders_and_changes_each_frame():
    s = parse_scene(ALL_TYPES.format(optimizers='[[optimizer]]\ntype = "sgd"\nlr = 0.05\nmomentum = 0.8\n'
                                                'label = "Momentum"\n[[optimizer]]\ntype = "adam"\nlr = 0.1',
                                     run='"Momentum"'))
    h = animopt.simulate(s)
    with _canvas(s, h) as c:
        view = c.views[1]
        c.frame(2)
        a = [t.get_text() for t in view.texts]
        c.frame(3)
        b = [t.get_text() for t in view.texts]
        assert a != b and "t = 4" in b[0] and any("\\mu b" in x for x in b)
    bad = parse_scene(ALL_TYPES.format(optimizers='[[optimizer]]\ntype = "sgd"\nlr = 0.05', run='"Adma"'), "s.toml")
    msg = errors_of(bad, simulate=True)
    assert "render.views[1].run" in msg and "no run labelled 'Adma'" in msg


EVERY_KEY = """
title = "Every teaching key"
[problem]
type = "quadratic"
gammas = [10, 1]
[train]
steps = 20
init = [-1.5, 2.0]
[[optimizer]]
type = "sgd"
label = "Momentum"
lr = 0.05
momentum = 0.8
[[optimizer]]
type = "adam"
label = "Adam"
lr = 0.1
[render]
views = [[{ type = "contour", state = ["gradient", "momentum", "update", "scaling"], state_scale = 2 },
          { type = "surface", state = ["gradient", "update", "scaling"], resolution = 24 }],
         [{ type = "update", run = "Adam", title = "Adam", fontsize = 9 }, "loss"]]
size = [480, 320]
fps = 10
frames = 12
formats = ["mp4"]
[[render.caption]]
text = "a figure caption with $\\\\beta$"
at_time = 0.0
until_time = 1.0
where = "top"
[[render.caption]]
text = "in the loss panel"
at = 2
until = 12
panel = 3
where = "bottom left"
[[render.caption]]
text = "Adam is here"
at = 4
panel = "contour"
where = "head:Adam"
[[render.pause]]
step = 4
seconds = 0.5
[[render.slow]]
from = 5
to = 10
factor = 2
"""


def test_a_scene_with_every_teaching_key_renders(tmp_path):
    import imageio

    s = parse_scene(EVERY_KEY, tmp_path / "every.toml")
    (out,) = animopt.render(s, tmp_path)
    h = animopt.simulate(s)
    n = len(timeline(s, h))
    assert n == len(slow_down(_base_timeline(s, h), 5, 10, 2)) + 5
    with imageio.get_reader(out) as r:
        assert r.count_frames() == n
