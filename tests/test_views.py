"""Views and layout on a small synthetic History (numpy only): every view builds and draws, limits stay
fixed, finite and unsquashed with a diverging run present, the "diverged at step k" note shows from
step k, option errors name their key, and the timeline/layout features hold."""
import numpy as np
import pytest

from animopt.history import History
from animopt.info import ProblemInfo
from animopt.layout import Canvas, check_views
from animopt.scene import parse_scene
from animopt.spec import SceneError
from animopt.timeline import frame_steps
from animopt.views import VIEWS
from animopt.views.base import ViewCtx, log_scale_wanted, run_limits

STEPS = 40
DIVERGES = 10           # run 1 diverges at this step
RUN_VIEWS = ["fit_line", "loss", "lr", "contour", "surface", "params", "grads"]


def line_history(steps=STEPS, diverge=True) -> History:
    """Gradient descent on y = 2x + 1 from three runs; run 1 (lr 2.5) blows up."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 30)
    y = 2 * x + 1 + 0.3 * rng.standard_normal(30)

    def loss(p):
        p = np.atleast_2d(p)
        return ((p[:, :1] * x + p[:, 1:2] - y) ** 2).mean(1)

    def grad(p):
        r = p[0] * x + p[1] - y
        return np.array([2 * (r * x).mean(), 2 * r.mean()])

    lrs = [0.3, 2.5 if diverge else 0.2, 0.1]
    R = len(lrs)
    params = np.zeros((steps + 1, R, 2))
    grads = np.zeros((steps, R, 2))
    upd = np.zeros((steps, R, 2))
    params[0] = [-1.0, 3.0]
    div = np.full(R, -1)
    for r, lr in enumerate(lrs):
        m = np.zeros(2)
        for t in range(steps):
            g = grad(params[t, r])
            m = 0.8 * m + g if r == 2 else g           # run 2: momentum, a smoothed update
            grads[t, r], upd[t, r] = g, m
            params[t + 1, r] = params[t, r] - lr * m
            if div[r] < 0 and (np.abs(params[t + 1, r]).max() > 1e6):
                div[r] = t + 1
    lossv = np.stack([loss(params[t]) for t in range(steps + 1)])
    for r in np.nonzero(div >= 0)[0]:
        params[div[r] + 1:, r] = np.nan
        lossv[div[r] + 1:, r] = np.nan
    A = np.stack([x, np.ones_like(x)], 1)
    mn = np.linalg.lstsq(A, y, rcond=None)[0]
    info = ProblemInfo("line", ("a", "b"), {"x": x, "y": y}, true_params=np.array([2.0, 1.0]), minimum=mn,
                       min_loss=float(loss(mn)[0]), window=np.array([[-3.0, 5.0], [-2.0, 4.0]]), loss_fn=loss)
    bidx = np.tile(np.arange(5), (steps, 1))
    return History(params=params, loss=lossv, grads=grads, updates=upd, lr=np.tile(lrs, (steps, 1)).astype(float),
                   diverged_at=div, labels=("GD", "GD lr=2.5", "Momentum"), param_names=("a", "b"),
                   batch_idx=bidx, problem=info)


@pytest.fixture(scope="module")
def hist():
    h = line_history()
    assert h.diverged_at[1] == DIVERGES and (h.diverged_at[[0, 2]] < 0).all()
    return h


def scene_render(views: str, extra: str = "", size=(320, 180), dpi=40):
    text = f"""
[problem]
type = "line"
a = 2.0
b = 1.0
[train]
steps = 5
[[optimizer]]
type = "sgd"
lr = 0.1
[render]
views = {views}
size = [{size[0]}, {size[1]}]
dpi = {dpi}
frames = 10
{extra}
"""
    return parse_scene(text)


def canvas(h, views, extra="", **kw):
    r = scene_render(views, extra, **kw).render
    check_views(r, h, "<test>")
    return Canvas(r, h, "Title", frame_steps(h.steps, 10))


def all_limits(fig):
    out = []
    for ax in fig.axes:
        lim = [ax.get_xlim(), ax.get_ylim()]
        if hasattr(ax, "get_zlim"):
            lim.append(ax.get_zlim())
        out.append(np.array(lim, dtype=float))
    return out


@pytest.mark.parametrize("view", RUN_VIEWS + ["ema"])
def test_view_draws_with_fixed_finite_limits(view, hist):
    with canvas(hist, f'["{view}"]') as c:
        before = all_limits(c.fig)
        imgs = [c.rgb(s) for s in (0, DIVERGES - 1, DIVERGES + 3, STEPS)]
        after = all_limits(c.fig)
    assert imgs[0].shape == (180, 320, 3)
    assert all(img.std() > 5 for img in imgs)                 # something is drawn
    assert not np.array_equal(imgs[0], imgs[-1])              # and it moves
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)                   # nothing jumps during the clip
        assert np.isfinite(a).all()


def test_diverging_run_does_not_squash_the_axes(hist):
    with canvas(hist, '[["fit_line", "loss", "contour"], ["params", "grads", "surface"]]') as c:
        v = {type(x).__name__: x for x in c.views}
        # the healthy runs stay within a few units; the diverged one went past 1e6
        assert np.ptp(v["Contour"].ax.get_xlim()) < 20 and np.ptp(v["Contour"].ax.get_ylim()) < 20
        assert np.ptp(v["FitLine"].ax.get_ylim()) < 20
        lo, hi = v["Loss"].ax.get_ylim()
        assert hi < 1e3 * np.nanmax(hist.loss[:, [0, 2]])
        for ax in v["Params"].axes:
            assert np.ptp(ax.get_ylim()) < 20
        assert all(np.ptp(ax.get_ylim()) < 100 for ax in v["Grads"].axes)
        assert np.ptp(v["Surface"].ax.get_xlim()) < 20


def test_run_limits_ignore_a_blow_up(hist):
    lo, hi = run_limits(hist.params[..., 0], hist)
    healthy = hist.params[:, [0, 2], 0]
    assert lo <= healthy.min() and hi >= healthy.max()
    assert hi - lo < 3 * (healthy.max() - healthy.min())


@pytest.mark.parametrize("view", RUN_VIEWS)
def test_diverged_note_shows_from_its_step(view, hist):
    with canvas(hist, f'["{view}"]') as c:
        notes = [a for a in c.artists if hasattr(a, "get_text") and "diverged at step" in str(a.get_text())]
        assert notes and all(f"GD lr=2.5 diverged at step {DIVERGES}" == n.get_text() for n in notes)
        c.frame(DIVERGES - 1)         # at most "left the window" (contour) before it diverges
        assert not any(n.get_visible() and "diverged" in n.get_text() for n in notes)
        c.frame(DIVERGES)
        assert all(n.get_visible() and "diverged at step" in n.get_text() for n in notes)


def test_diverged_run_stops_being_drawn(hist):
    with canvas(hist, '["fit_line"]') as c:
        (view,) = c.views
        c.frame(STEPS)
        assert not view.lines[1].get_visible() and view.lines[0].get_visible()


@pytest.mark.parametrize("views,key", [
    ('[{ type = "contour", params = ["a", "zz"] }]', "render.views[0].params"),
    ('["loss", { type = "surface", params = ["b", "q"] }]', "render.views[1].params"),
    ('[{ type = "params", params = ["c"] }]', "render.views[0].params"),
    ('[[{ type = "grads", param = "w" }], ["loss"]]', "render.views[0][0].param"),
])
def test_option_that_does_not_fit_the_problem_names_its_key(views, key, hist):
    r = scene_render(views).render
    with pytest.raises(SceneError) as e:
        check_views(r, hist, "s.toml")
    ((_, k, msg),) = e.value.problems
    assert k == key and "not a parameter" in msg and "'a', 'b'" in msg


@pytest.mark.parametrize("views,key", [
    ('[{ type = "contour", levels = 1 }]', "render.views[0].levels"),
    ('[{ type = "contour", params = ["a"] }]', "render.views[0].params"),
    ('[{ type = "surface", rotate = "fast" }]', "render.views[0].rotate"),
    ('[{ type = "ema", betas = [0.9, 1.5] }]', "render.views[0].betas"),
    ('[{ type = "loss", scale = "logg" }]', "render.views[0].scale"),
    ('[{ type = "contour", levles = 30 }]', "render.views[0].levles"),
])
def test_bad_option_is_a_scene_error_naming_its_key(views, key):
    with pytest.raises(SceneError) as e:
        scene_render(views)
    assert key in [k for _, k, _ in e.value.problems]


def test_contour_levels_are_log_spaced_when_the_loss_spans_decades(hist):
    from animopt.views.contour import contour_levels, landscape

    ctx = ViewCtx(hist, None, ["k"] * hist.runs, np.arange(3))
    L = landscape(ctx, None, 40)
    assert L.Z.shape == (40, 40) and np.isfinite(L.Z).all()
    # the grid holds the window and every healthy path
    assert L.xlim[0] <= -3 and L.xlim[1] >= 5
    lv, log = contour_levels(L.Z, 20, "auto")
    assert log and len(lv) == 20 and (np.diff(lv) > 0).all()
    gaps = np.diff(lv[1:])
    assert gaps[-1] > 20 * gaps[0]
    lv, log = contour_levels(L.Z, 20, "linear")
    assert not log and np.allclose(np.diff(lv), np.diff(lv)[0])


def test_log_scale_with_exact_zeros():
    v = np.array([[100.0, 0.0], [1.0, 0.0], [1e-3, 0.0]])
    assert log_scale_wanted(v)
    assert not log_scale_wanted(np.array([1.0, 2.0, 0.0]))
    assert not log_scale_wanted(np.array([-1.0, 100.0, 1e-5]))


def test_loss_view_goes_log_and_leaves_through_the_floor_at_an_exact_fit(hist):
    """No fake floor: the first exact zero takes the line through the bottom edge, the rest break it,
    and a marker with the step appears on the edge from that step on."""
    h = line_history(diverge=False)
    loss = h.loss.copy()
    loss[-5:, 0] = 0.0                                  # an exact fit
    from dataclasses import replace
    h = replace(h, loss=loss)
    with canvas(h, '[{ type = "loss", scale = "log" }]') as c:
        (view,) = c.views
        assert view.ax.get_yscale() == "log"
        lo = view.ax.get_ylim()[0]
        c.frame(h.steps - 6)
        assert not np.isfinite(view.exit_marks.get_offsets()[0]).any()
        c.frame(h.steps)
        y = np.asarray(view.lines[0].get_ydata(), dtype=float)
        assert y[-5] < lo and np.isnan(y[-4:]).all()
        assert np.isfinite(y[:-5]).all() and (y[:-5] >= lo).all()
        assert view.exit_marks.get_offsets()[0][1] == pytest.approx(lo)
        assert view.exit_texts[0].get_visible() and view.exit_texts[0].get_text() == f"step {h.steps - 4}"


def test_params_picks_a_few_of_many_parameters():
    from animopt.views.params import AUTO_PICK, pick_params

    rng = np.random.default_rng(1)
    P, S = 40, 10
    p = np.cumsum(rng.normal(0, 0.01, (S + 1, 2, P)), 0)
    p[:, :, 7] += np.linspace(0, 5, S + 1)[:, None]   # the one that moves most
    h = History(params=p, loss=np.ones((S + 1, 2)), grads=np.zeros((S, 2, P)), updates=np.zeros((S, 2, P)),
                lr=np.ones((S, 2)), diverged_at=np.array([-1, -1]), labels=("x", "y"),
                param_names=tuple(f"w{i}" for i in range(P)))
    idx = pick_params(h, None)
    assert len(idx) == AUTO_PICK and 7 in idx
    assert pick_params(h, ["w3", "w1"]) == [3, 1]


def test_ema_follows_the_clip_and_seed():
    from animopt.views.ema import ema, random_walk

    w = random_walk(50, 3)
    np.testing.assert_array_equal(w, random_walk(50, 3))
    assert not np.array_equal(w, random_walk(50, 4))
    e = ema(w, 0.9)
    assert e[0] == pytest.approx(0.1 * w[0])
    assert np.abs(np.diff(e)).mean() < np.abs(np.diff(w)).mean()      # smoother
    h = line_history()
    ctx = ViewCtx(h, None, [], frame_steps(h.steps, 11, hold_frames=4))
    assert ctx.clip_fraction(0) == 0 and ctx.clip_fraction(h.steps) == 1
    assert ctx.clip_fraction(h.steps // 2) == pytest.approx(0.5, abs=0.06)


def test_log_timeline_spends_frames_early_without_repeats():
    lin = frame_steps(1200, 180, "linear")
    log = frame_steps(1200, 180, "log", hold_frames=30)
    assert log[0] == 0 and log[179] == 1200 and (log[180:] == 1200).all() and len(log) == 210
    assert (np.diff(log[:180]) >= 1).all()                   # monotone, no early step shown twice
    assert log[90] < lin[90] / 2                             # half the clip on the early steps
    few = frame_steps(20, 60, "log")
    assert few[0] == 0 and few[-1] == 20 and (np.diff(few) >= 0).all()


def test_grid_layout_shares_one_legend_and_counts_steps(hist):
    with canvas(hist, '[["fit_line", "contour"], ["params", "loss", "ema"]]', 'theme = "dark"') as c:
        assert len(c.fig.legends) == 1                      # one legend of the runs for the figure
        labels = [t.get_text() for t in c.fig.legends[0].get_texts()]
        assert labels == list(hist.labels)
        assert all(v.ctx.legend_runs is False for v in c.views)
        assert c.step_text(7) == f"step  7/{STEPS}"
        assert c.fig.get_facecolor()[:3] != (1.0, 1.0, 1.0)
        # row 1 above row 2, every axes inside the figure, below the header
        boxes = [ax.get_position() for ax in c.fig.axes]
        assert all(0 <= b.x0 and b.x1 <= 1 and 0 <= b.y0 and b.y1 <= 0.95 for b in boxes)
    with canvas(hist, '["fit_line"]') as c:
        assert not c.fig.legends and c.views[0].ax.get_legend() is not None


def test_rotating_surface_recaptures_the_background(hist):
    with canvas(hist, '[{ type = "surface", rotate = 90 }]') as c:
        (view,) = c.views
        a0 = c.rgb(0)
        az0 = view.ax.azim
        a1 = c.rgb(STEPS)
        assert view.ax.azim == pytest.approx(az0 + 90)
        assert not np.array_equal(a0, a1)
        assert view.background_changed(STEPS) is False       # already there


def test_many_runs_share_one_short_legend_and_lr_keeps_every_rate():
    from dataclasses import replace

    h = line_history(diverge=False)
    R = 12
    rates = np.geomspace(0.01, 1.0, R)
    pick = np.arange(R) % h.runs
    h = replace(h, params=h.params[:, pick], loss=h.loss[:, pick], grads=h.grads[:, pick],
                updates=h.updates[:, pick], lr=np.tile(rates, (h.steps, 1)), diverged_at=np.full(R, -1),
                labels=tuple(f"lr={r:.3g}" for r in rates))
    with canvas(h, '["fit_line", "lr"]', size=(1280, 720), dpi=100) as c:
        (leg,) = c.fig.legends
        labels = [t.get_text() for t in leg.get_texts()]
        assert len(labels) <= 8 and any("more" in s for s in labels)
        assert labels[0] == "lr=0.01" and labels[-1] == "lr=1"
        assert leg.get_window_extent(c.canvas.get_renderer()).width <= 1280
        lr_ax = c.views[1].ax
        lo, hi = lr_ax.get_ylim()
        assert lr_ax.get_yscale() == "log" and lo <= 0.01 and hi >= 1.0


# ---------------------------------------------------------------- framing

def approach_history(h: History, start, speed=0.8) -> History:
    """`h`'s runs replaced by one that slides geometrically from `start` to the least-squares line."""
    from dataclasses import replace

    mn = h.problem.minimum
    t = np.arange(h.steps + 1)[:, None]
    p = (mn + (np.asarray(start, dtype=float) - mn) * speed ** t)[:, None, :]
    loss = h.problem.loss_fn(p[:, 0])[:, None]
    return replace(h, params=p, loss=loss, grads=np.diff(p, axis=0), updates=np.diff(p, axis=0),
                   lr=np.full((h.steps, 1), 0.1), diverged_at=np.array([-1]), labels=("GD",), batch_idx=None)


def test_fit_line_limits_hold_the_starting_line():
    h = approach_history(line_history(diverge=False), start=[-1.0, 14.0])   # y = -x + 14, far above the data
    with canvas(h, '["fit_line"]') as c:
        (view,) = c.views
        lo, hi = view.ax.get_ylim()
        start = h.params[0, 0, 0] * view.xs + h.params[0, 0, 1]
        assert lo <= start.min() and hi >= start.max()
        y = h.problem.data["y"]
        assert lo <= y.min() and hi >= y.max()
        assert hi - lo < 2.5 * (max(start.max(), y.max()) - min(start.min(), y.min()))   # not squashed


def test_fit_line_limits_ignore_a_diverging_run_but_keep_its_start(hist):
    with canvas(hist, '["fit_line"]') as c:
        (view,) = c.views
        lo, hi = view.ax.get_ylim()
        start = hist.params[0, :, 0, None] * view.xs + hist.params[0, :, 1, None]
        assert lo <= start.min() and hi >= start.max() and hi - lo < 20


def bowl_history(steps=60) -> History:
    """Two runs on L = x^2 + 4 y^2 (a problem without data: both axes in one unit), both ending at the
    minimum (3, 0.5) on the right edge of everything they visit, from starts far to the left."""
    c = np.array([3.0, 0.5])

    def loss(p):
        p = np.atleast_2d(p)
        return (p[:, 0] - c[0]) ** 2 + 4 * (p[:, 1] - c[1]) ** 2

    starts = np.array([[-2.0, 1.5], [-1.0, 0.0]])
    t = np.arange(steps + 1)[:, None, None]
    params = c + (starts - c)[None] * 0.85 ** t                      # [T, 2, 2]
    lossv = np.stack([loss(p) for p in params])
    info = ProblemInfo("quadratic", ("x", "y"), {}, minimum=c, min_loss=0.0, window=np.array([[-8.0, 8], [-8, 8]]),
                       loss_fn=loss)
    zeros = np.zeros((steps, 2, 2))
    return History(params=params, loss=lossv, grads=zeros, updates=zeros, lr=np.full((steps, 2), 0.1),
                   diverged_at=np.array([-1, -1]), labels=("A", "B"), param_names=("x", "y"), problem=info)


def inside_with_margin(points, xlim, ylim, margin=0.05) -> bool:
    (x0, x1), (y0, y1) = xlim, ylim
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    p = np.atleast_2d(points)
    return bool(((p[:, 0] >= x0 + mx) & (p[:, 0] <= x1 - mx) & (p[:, 1] >= y0 + my) & (p[:, 1] <= y1 - my)).all())


def test_contour_window_fits_the_paths_starts_and_minimum_with_a_margin():
    h = bowl_history()
    with canvas(h, '["contour"]', size=(640, 360), dpi=60) as c:
        (view,) = c.views
        xlim, ylim = view.ax.get_xlim(), view.ax.get_ylim()
        assert inside_with_margin(h.params[0], xlim, ylim)                 # the starts
        assert inside_with_margin(h.problem.minimum, xlim, ylim)           # the minimum, not on the edge
        assert inside_with_margin(h.params[-1], xlim, ylim)                # where the paths end
        # fitted to the paths, not the problem's [-8, 8] window: the box is a few times the paths' area
        paths = h.params.reshape(-1, 2)
        area = np.ptp(paths[:, 0]) * np.ptp(paths[:, 1])
        assert np.ptp(xlim) * np.ptp(ylim) < 6 * area
        assert np.ptp(xlim) < 10


def test_contour_has_equal_scales_where_the_axes_share_units(hist):
    h = bowl_history()
    with canvas(h, '["contour"]', size=(640, 360), dpi=60) as c:
        assert c.views[0].ax.get_aspect() == 1.0
    with canvas(h, '[{ type = "contour", aspect = "auto" }]', size=(640, 360), dpi=60) as c:
        assert c.views[0].ax.get_aspect() == "auto"
    with canvas(hist, '["contour"]') as c:                    # slope against intercept: no common unit
        assert c.views[0].ax.get_aspect() == "auto"


def test_contour_paths_have_a_halo_and_optional_dots():
    h = bowl_history()
    with canvas(h, '["contour"]') as c:
        line = c.views[0].lines[0]
        assert line.get_path_effects() and line.get_marker() in ("None", "", None)
    with canvas(h, '[{ type = "contour", markers = true }]') as c:
        line = c.views[0].lines[0]
        assert line.get_marker() == "o"
        c.frame(5)
        assert len(line.get_xdata()) == 6                     # a dot for each of steps 0..5


def test_grads_overlays_raw_and_applied_on_one_axis_or_stacks_them(hist):
    with canvas(hist, '[{ type = "grads", param = "a" }]') as c:
        (v,) = c.views
        assert len(v.axes) == 1                               # raw and applied share one y axis
        raw, applied = v.lines
        assert raw[0].axes is applied[0].axes
        assert raw[0].get_linewidth() < applied[0].get_linewidth()
        lo, hi = v.axes[0].get_ylim()
        g = hist.grads[:, [0, 2], 0]
        assert lo <= np.nanmin(g) and np.nanmax(g) <= hi      # the whole raw gradient of the healthy runs
    with canvas(hist, '[{ type = "grads", param = "a", layout = "stacked" }]') as c:
        (v,) = c.views
        assert len(v.axes) == 2 and v.lines[0][0].axes is not v.lines[1][0].axes


def _overlay_boxes(c, step):
    """{axes: (legend box or None, [box of each visible note])} after drawing `step`."""
    c.frame(step)
    r = c.canvas.get_renderer()
    out = {}
    for ax in c.fig.axes:
        rec = getattr(ax, "_animopt_overlays", None)
        if rec is None:
            continue
        leg = ax.get_legend()
        notes = [t.get_window_extent(r) for n in rec["notes"] for t in n.values() if t.get_visible() and t.get_text()]
        out[ax] = (leg.get_window_extent(r) if leg is not None else None, notes)
    return out


@pytest.mark.parametrize("views,size", [('["contour"]', (320, 180)), ('["fit_line"]', (320, 180)),
                                       ('["loss"]', (240, 180)), ('["params"]', (320, 240)),
                                       ('[{ type = "grads", param = "a" }]', (320, 180))])
def test_notes_never_overlap_the_legend(views, size, hist):
    """Long notes ("... diverged at step 10") and a legend of five entries in a small panel: the notes
    go where the legend is not, whatever the view."""
    with canvas(hist, views, size=size, dpi=60) as c:
        boxes = _overlay_boxes(c, STEPS)
        assert any(notes for _, notes in boxes.values())
        for leg, notes in boxes.values():
            for n in notes:
                assert leg is None or not leg.overlaps(n), (leg, n)
            for a, b in zip(notes, notes[1:]):
                assert not a.overlaps(b)                       # stacked, not overprinted


def test_fit_line_legend_keeps_off_the_starting_line():
    """The start y = -1.5 x - 0.5 crosses the lower right (where a fixed legend sat) and the fit ends on
    the rising data: the legend goes where no line of the clip passes."""
    from animopt.views.base import _samples

    h = approach_history(line_history(diverge=False), start=[-1.5, -0.5])
    with canvas(h, '["fit_line"]', size=(480, 320), dpi=60) as c:
        (view,) = c.views
        r = c.canvas.get_renderer()
        leg = view.ax.get_legend().get_window_extent(r)
        S = _samples(view.ax, view.ax._animopt_overlays)
        under = ((S[:, 0] >= leg.x0) & (S[:, 0] <= leg.x1) & (S[:, 1] >= leg.y0) & (S[:, 1] <= leg.y1)).sum()
        assert under == 0
        xs = np.linspace(*view.xs, 50)
        start = view.ax.transData.transform(np.c_[xs, -1.5 * xs - 0.5])
        assert not ((start[:, 0] >= leg.x0) & (start[:, 0] <= leg.x1) & (start[:, 1] >= leg.y0)
                    & (start[:, 1] <= leg.y1)).any()


@pytest.mark.parametrize("views,size", [('["contour"]', (640, 360)), ('["contour", "loss"]', (900, 360)),
                                       ('[[{ type = "grid", view = "contour" }], ["loss"]]', (1280, 720))])
def test_equal_aspect_contour_fills_its_axes(views, size):
    """Equal scales set after the layout: the data box fills the axes the layout gave (within 2%), the
    grid of the landscape covers the limits, and the paths stay inside."""
    h = bowl_history()
    with canvas(h, views, size=size, dpi=60) as c:
        c.frame(h.steps)
        axes = [a for a in c.fig.axes if a.get_aspect() == 1.0]
        assert axes
        for ax in axes:
            full, drawn = ax.get_position(original=True), ax.get_position()
            assert drawn.width >= 0.98 * full.width and drawn.height >= 0.98 * full.height
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            W, H = c.fig.get_size_inches() * c.fig.dpi
            assert (y1 - y0) / (x1 - x0) == pytest.approx(full.height * H / (full.width * W), rel=0.02)
        for v in c.views:
            for cv in [cv for cv in getattr(v, "views", [v]) if hasattr(cv, "land")]:
                L = cv.land
                assert L.X.min() <= cv.ax.get_xlim()[0] and L.X.max() >= cv.ax.get_xlim()[1]
                assert L.Y.min() <= cv.ax.get_ylim()[0] and L.Y.max() >= cv.ax.get_ylim()[1]
                assert inside_with_margin(h.params.reshape(-1, 2), cv.ax.get_xlim(), cv.ax.get_ylim(), 0.0)


def test_params_dots_and_edge_markers(hist):
    """markers = true: a dot per step; the run that blows up leaves its panel at an edge marker with
    the step, shown from that step on (the helper the loss curves use)."""
    with canvas(hist, '[{ type = "params", markers = true }]', size=(320, 240), dpi=60) as c:
        (view,) = c.views
        assert view.lines[0][0].get_marker() == "o"
        edges = view.edges[0]
        k = int(edges.exit_at[1])
        assert 0 < k <= DIVERGES and (edges.exit_at[[0, 2]] < 0).all()
        c.frame(k - 1)
        assert not np.isfinite(edges.marks.get_offsets()[1]).any() and not edges.texts[1].get_visible()
        c.frame(k)
        lo, hi = view.axes[0].get_ylim()
        assert edges.marks.get_offsets()[1][1] in (pytest.approx(lo), pytest.approx(hi))
        assert edges.texts[1].get_visible() and edges.texts[1].get_text() == f"step {k}"


@pytest.mark.parametrize("views", ['["fit_line"]', '[{ type = "grads", param = "a" }]'])
def test_fit_line_and_grads_mark_where_a_run_leaves(views, hist):
    with canvas(hist, views) as c:
        (view,) = c.views
        (edges,) = [view.edges] if hasattr(view.edges, "exit_at") else view.edges
        k = int(edges.exit_at[1])
        assert 0 < k <= DIVERGES and (edges.exit_at[[0, 2]] < 0).all()
        c.frame(STEPS)
        assert np.isfinite(edges.marks.get_offsets()[1]).all() and edges.texts[1].get_visible()


def sweep_history(steps=30) -> History:
    """lr (6, log-spaced) x momentum (4): every cell starts at loss 1 (a flat curve at step 0); the best
    momentum jumps from the top row to the bottom one between neighbouring columns."""
    lrs, moms = np.geomspace(0.01, 1.0, 6), np.array([0.0, 0.3, 0.6, 0.9])
    L, M = np.meshgrid(lrs, moms)
    lr, mom = L.ravel(), M.ravel()
    R = len(lr)
    final = 1e-3 * (1 + 5 * np.abs(mom - np.where(np.arange(6)[None, :].repeat(4, 0).ravel() % 2, 0.0, 0.9)))
    t = np.linspace(0, 1, steps + 1)[:, None]
    loss = final[None] ** t
    return History(params=np.zeros((steps + 1, R, 2)), loss=loss, grads=np.zeros((steps, R, 2)),
                   updates=np.zeros((steps, R, 2)), lr=np.tile(lr, (steps, 1)), diverged_at=np.full(R, -1),
                   labels=tuple(f"r{i}" for i in range(R)), param_names=("x", "y"),
                   hparams={"lr": lr, "momentum": mom})


@pytest.mark.parametrize("views,size", [('["heatmap"]', (640, 360)), ('["heatmap", "heatmap"]', (640, 360))])
def test_heatmap_key_is_off_the_curve_and_the_best_line_skips_jumps(views, size):
    from animopt.views.heatmap import best_path

    h = sweep_history()
    with canvas(h, views, size=size, dpi=60) as c:
        r = c.canvas.get_renderer()
        for view in c.views:
            c.frame(0)
            key = view.bx.get_legend().get_window_extent(r)
            assert not key.overlaps(view.bx.bbox)                 # under the panel: never over the curve
            assert key.y1 <= min(t.get_window_extent(r).y0 for t in view.bx.get_xticklabels() if t.get_text())
            c.frame(h.steps)
            x, y = view.best_line.get_data()
            assert np.isfinite(y[0::2]).sum() == 6                # a clear best in every column, each a dot
            assert np.isnan(y[1::2]).all()                        # top row, bottom row: no segment joins them
    px, py = best_path(np.arange(4.0), np.array([0.0, 1, 2]), np.array([0, 1, 1, 2]), np.array([1, 1, 0, 1], bool))
    assert np.isfinite(py[1]) and np.isnan(py[3]) and np.isnan(py[5])
