"""The motion timeline: frames follow the visible change, holds at both ends, robust to divergence;
`animopt simulate` records the frame steps."""
import numpy as np
from click.testing import CliRunner

from animopt import parse_scene, simulate
from animopt.cli import main
from animopt.history import History
from animopt.renderer import timeline
from animopt.timeline import frame_steps, visible_change

STEPS = 1000


def paced(params, loss, n=180, diverged_at=None, loss_axis=None, **kw):
    """Motion frame steps of a trajectory `params` [T, R, P], `loss` [T, R]."""
    diverged_at = np.full(params.shape[1], -1) if diverged_at is None else np.asarray(diverged_at)
    change = visible_change(params, loss, diverged_at, loss_axis, window=max(1, 2 * (len(loss) - 1) // n))
    return frame_steps(len(loss) - 1, n, "motion", change=change, **kw)


def converging(rate=0.96, steps=STEPS):
    """One run spiralling into the origin: most of its travel in the first few dozen steps."""
    t = np.arange(steps + 1)
    r = 5.0 * rate ** t
    params = np.stack([r * np.cos(t / 3), r * np.sin(t / 3)], axis=-1)[:, None, :]
    return params, (r ** 2)[:, None]


def test_monotone_first_and_last_shown_with_both_holds():
    params, loss = converging()
    fs = paced(params, loss, 180, hold_frames=30, start_frames=15)
    assert len(fs) == 210 and fs.dtype == np.int64
    assert (fs[:16] == 0).all() and fs[16] > 0                # the start held, then moving
    assert fs[179] == STEPS and (fs[179:] == STEPS).all()     # last step shown, then held
    assert (np.diff(fs) >= 0).all()


def test_early_convergence_gets_most_frames_early():
    params, loss = converging()
    fs = paced(params, loss, 180)
    linear = frame_steps(STEPS, 180, "linear")
    assert np.median(fs) < STEPS / 4 < np.median(linear)
    assert (fs < STEPS / 10).mean() > 0.5
    assert fs[-2] < STEPS                                     # the still stretch is walked through, not skipped
    assert np.unique(fs, return_counts=True)[1].max() <= 3    # and no step is held for long


def test_constant_speed_gives_nearly_linear_spacing():
    t = np.linspace(0.0, 1.0, STEPS + 1)
    params = np.stack([t, 2 * t], axis=-1)[:, None, :]
    fs = paced(params, (3 - 2 * t)[:, None], 180)
    assert np.abs(fs - frame_steps(STEPS, 180, "linear")).max() <= 0.03 * STEPS


def test_loss_is_measured_on_the_axis_as_drawn():
    t = np.arange(STEPS + 1)
    loss = (1e3 * 10.0 ** (-9 * t / STEPS))[:, None]          # nine decades at a steady pace
    still = np.zeros((STEPS + 1, 1, 1))
    on_log = paced(still, loss, 180, loss_axis=(True, 1e-6, 1e3))
    on_linear = paced(still, loss, 180, loss_axis=(False, 0.0, 1e3))
    assert abs(np.median(on_log) - STEPS / 2) < 0.05 * STEPS  # a straight line on a log axis
    assert np.median(on_linear) < STEPS / 10                  # a cliff on a linear one


def test_a_diverging_run_does_not_take_the_clip():
    params, loss = converging()
    t = np.arange(STEPS + 1)
    with np.errstate(over="ignore"):
        blow_up = np.stack([1.5 ** t, -(2.0 ** t)], axis=-1).astype(np.float64)
    blow_up[60:] = np.inf
    both_params = np.concatenate([params, blow_up[:, None, :]], axis=1)
    both_loss = np.concatenate([loss, np.where(np.isfinite(blow_up[:, :1]), blow_up[:, :1] ** 2, np.nan)], axis=1)
    alone = paced(params, loss, 180)
    fs = paced(both_params, both_loss, 180, diverged_at=[-1, 55])
    assert fs[0] == 0 and fs[-1] == STEPS and (np.diff(fs) >= 0).all()
    # the blow-up gets a few frames, not the clip: the pacing is nearly that of the healthy run alone
    assert abs((fs <= 60).sum() - (alone <= 60).sum()) <= 0.05 * len(fs)
    assert np.abs(fs - alone).max() <= 0.05 * STEPS


def test_nothing_moves_gives_the_linear_timeline():
    fs = paced(np.ones((STEPS + 1, 2, 2)), np.ones((STEPS + 1, 2)), 90)
    assert (fs == frame_steps(STEPS, 90, "linear")).all()


def test_long_runs_and_big_sweeps_are_measured_on_a_sample():
    steps = 300_000
    t = np.arange(steps + 1, dtype=np.float64)
    params = (np.exp(-t / 3000.0))[:, None, None]
    fs = paced(params, params[:, :, 0] ** 2, 120)
    assert fs[0] == 0 and fs[-1] == steps and (np.diff(fs) >= 0).all() and np.median(fs) < steps / 10
    sweep = np.random.default_rng(0).normal(size=(201, 3000, 3)).cumsum(axis=0)
    fs = paced(sweep, (sweep ** 2).sum(axis=2), 120)
    assert fs[0] == 0 and fs[-1] == 200 and (np.diff(fs) >= 0).all()


FAST_ADAM = """
title = "fast Adam"
[problem]
type = "quadratic"
gammas = [5, 1]
center = [1, 2]
[train]
steps = 400
init = [-3.0, 4.0]
[[optimizer]]
type = "adam"
lr = 0.5
[render]
views = ["contour", "loss"]
size = [256, 144]
fps = 30
duration = 6.0
hold = 1.0
formats = ["mp4"]
"""


def test_fast_adam_scene_gets_its_frames_where_it_moves():
    scene = parse_scene(FAST_ADAM)
    assert scene.render.timeline == "motion"                 # the default
    h = simulate(scene)
    fs = timeline(scene, h)
    assert len(fs) == 180 + 30
    assert (fs[:15] == 0).all() and fs[179] == h.steps and (fs[180:] == h.steps).all()
    assert np.median(fs[:180]) < h.steps / 4


def test_simulate_npz_holds_frame_steps(tmp_path):
    f = tmp_path / "fast.toml"
    f.write_text(FAST_ADAM)
    out = tmp_path / "h.npz"
    res = CliRunner().invoke(main, ["simulate", str(f), "-o", str(out)])
    assert res.exit_code == 0, res.output
    with np.load(out) as z:
        assert z["frame_steps"].dtype == np.int64 and z["frame_steps"].shape == (210,)
        assert z["frame_steps"][0] == 0 and z["frame_steps"][-1] == 400
    h = History.load(out)
    assert (h.frame_steps == timeline(parse_scene(FAST_ADAM), h)).all()
