"""Run states on synthetic Histories (numpy only): a divergence, an escape down a loss unbounded below,
a two-point cycle and a converged run are told apart; heat-map ties form a band; log axes under a decade
fall back to linear and wider ones keep three labelled ticks."""
import numpy as np
import pytest

from animopt.history import History
from animopt.states import box_exits, exit_steps, find_cycle, run_states
from animopt.views.heatmap import tied_cells

T = 120


def history(params: np.ndarray, loss: np.ndarray, stop) -> History:
    S = len(loss) - 1
    R, P = params.shape[1], params.shape[2]
    return History(params=params, loss=loss, grads=np.zeros((S, R, P)), updates=np.zeros((S, R, P)),
                   lr=np.full((S, R), 0.1), diverged_at=np.asarray(stop), labels=tuple(f"r{i}" for i in range(R)),
                   param_names=("x", "y"))


def four_runs() -> History:
    """run 0 converges, run 1 blows up (loss growing past the bound at step 30), run 2 escapes down a
    saddle (loss -> -inf, stopped at step 40), run 3 bounces between two points from step 50."""
    t = np.arange(T + 1)[:, None]
    p = np.zeros((T + 1, 4, 2))
    p[:, 0] = np.c_[0.9 ** t, 0.5 * 0.9 ** t]
    p[:, 1] = np.c_[(-2.0) ** np.minimum(t, 30), 0 * t]
    p[:, 2] = np.c_[-1.5 * 0.9 ** t, 0.001 * 1.3 ** np.minimum(t, 40)]
    a, b = np.array([0.868, 1.118]), np.array([1.118, 0.868])
    p[:, 3] = np.where((t % 2 == 0), a, b) + np.where(t < 50, 2.0 / (t + 1), 0.0)
    loss = (p[..., 0] ** 2 - (p[..., 1] ** 2) * np.array([0, 0, 1, 0]) + (p[..., 1] ** 2) * np.array([1, 1, 0, 1]))
    stop = np.array([-1, 30, 40, -1])
    for r in (1, 2):
        p[stop[r] + 1:, r] = np.nan
        loss[stop[r] + 1:, r] = np.nan
    return history(p, loss, stop)


def test_divergence_escape_cycle_and_convergence_are_told_apart():
    s = run_states(four_runs())
    assert s.diverged_at.tolist() == [-1, 30, -1, -1]
    assert s.escaped_at.tolist() == [-1, -1, 40, -1]
    assert s.stopped_at.tolist() == [-1, 30, 40, -1]
    assert s.cycle_period.tolist() == [0, 0, 0, 2]
    assert 50 <= s.cycle_from[3] <= 52


def test_a_nan_loss_is_a_divergence_not_an_escape():
    h = four_runs()
    h.loss[40, 2] = np.nan
    assert run_states(h).diverged_at[2] == 40 and run_states(h).escaped_at[2] == -1


@pytest.mark.parametrize("case", ["damped", "noise", "still", "period3"])
def test_cycle_detection(case):
    t = np.arange(T + 1)
    rng = np.random.default_rng(0)
    if case == "damped":                 # an oscillation that is dying out is converging
        x = np.c_[0.97 ** t * (-1.0) ** t, 0 * t]
    elif case == "noise":                # minibatch jitter at a floor repeats nothing
        x = np.c_[rng.normal(0, 0.1, T + 1), rng.normal(0, 0.1, T + 1)] + 3.0
    elif case == "still":                # converged: no step to speak of
        x = np.c_[1.0 + 0 * t, 2.0 + 1e-12 * t]
    else:                                # a three-point cycle
        x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])[t % 3]
    loss = (x ** 2).sum(1)
    start, period = find_cycle(x, loss)
    assert (period, start) == ((3, 0) if case == "period3" else (0, -1))


def test_exit_steps_and_box_exits():
    v = np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 1.0], [50.0, -3.0, np.nan]])
    first, side = exit_steps(v, 0.0, 10.0)
    assert first.tolist() == [2, 2, 2] and side.tolist() == [1, -1, 1]
    first, _ = exit_steps(v[:2], 0.0, 10.0)
    assert first.tolist() == [-1, -1, -1]
    xy = np.zeros((4, 2, 2))
    xy[2:, 1] = [5.0, 0.0]
    xy[3, 0] = np.nan                    # a stopped run is not a leaving
    assert box_exits(xy, (-1, 1), (-1, 1)).tolist() == [-1, 2]


def test_heatmap_ties_form_a_band_not_an_argmin():
    v = np.array([[1.10e-4, 5.0e-3],
                  [1.12e-4, 1.0e-3],
                  [1.11e-4, 2.0e-3],
                  [np.nan, 9.0e-4]])
    tied = tied_cells(v, floor=1.1e-4, tolerance=0.1)
    assert tied[:, 0].tolist() == [True, True, True, False]      # all three at the floor: a band
    assert tied[:, 1].tolist() == [False, False, False, True]    # a significant best: one cell
    assert tied_cells(v, floor=1.1e-4, tolerance=0.0)[:, 0].sum() == 1


@pytest.mark.parametrize("lo,hi,want_log", [(0.034, 0.1, False), (4.4, 45.0, True), (1e-6, 1.0, True),
                                            (1e-27, 1e3, True)])
def test_log_axis_has_three_labels_or_falls_back_to_linear(lo, hi, want_log):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from animopt.views.curves import Loss
    from animopt.views.base import ViewCtx, log_ticks

    t = np.linspace(0, 1, T + 1)
    loss = np.c_[hi * (lo / hi) ** t, hi * (lo / hi) ** t]
    h = history(np.zeros((T + 1, 2, 2)), loss, [-1, -1])
    view = Loss({"scale": "log"}, ViewCtx(h, None, [], np.zeros(0, dtype=np.int64)))
    log, a, b = view.y_axis(h)
    assert log == want_log
    if log:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.set_yscale("log")
        ax.set_ylim(a, b)
        log_ticks(ax.yaxis, a, b)
        fig.canvas.draw()
        labels = [tk for tk in ax.yaxis.get_major_ticks()
                  if tk.label1.get_visible() and tk.label1.get_text() and a <= tk.get_loc() <= b]
        plt.close(fig)
        assert len(labels) >= 3
