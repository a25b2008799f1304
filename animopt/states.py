"""What became of each run, told honestly, in one place (numpy only: views and the CLI use it).

- **diverged**: the run stopped because its loss grew past the bound (or became NaN / infinite).
- **escaped**: the run stopped at the bound with its loss *falling*: the loss is unbounded below
  (a saddle's x^2 - y^2) or the parameters ran off while the loss improved. The good outcome, not a
  failure; views say "left the window" in a neutral colour.
- **oscillating**: over the last part of the run the parameters repeat with a period of 2 to
  `MAX_PERIOD` steps, making no net progress (RMSprop bouncing between two points on Rastrigin).
- **left the axes**: the first step a series leaves fixed limits (`exit_steps`), for views that
  draw a curve to the edge and mark where it left.

The simulator stops a run where its loss or parameters pass `divergence_threshold` and records that
step in `History.diverged_at`; `run_states` tells the two kinds of stop apart from the loss itself, so
a History loaded from disk reads the same.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PERIOD = 8          # longest cycle looked for
CYCLE_TOLERANCE = 0.05  # a cycle repeats to within this fraction of its step length
MIN_TAIL = 12           # steps a cycle must hold for (at least; else the last fifth of the run)


@dataclass(frozen=True)
class RunStates:
    diverged_at: np.ndarray     # [R] step the loss passed the bound growing, -1 = never
    escaped_at: np.ndarray      # [R] step the run left the bound with its loss falling, -1 = never
    cycle_from: np.ndarray      # [R] first step of a cycle that lasts to the end, -1 = none
    cycle_period: np.ndarray    # [R] its period in steps, 0 = none

    @property
    def stopped_at(self) -> np.ndarray:
        """[R] step a run stopped at (diverged or escaped), -1 = ran to the end."""
        return np.maximum(self.diverged_at, self.escaped_at)


def run_states(history) -> RunStates:
    """The state of every run of `history` (a History: params, loss, diverged_at)."""
    stop = np.asarray(history.diverged_at, dtype=np.int64)
    loss = np.asarray(history.loss, dtype=np.float64)
    R = len(stop)
    escaped = np.array([stop[r] >= 0 and is_escape(loss[:stop[r] + 1, r]) for r in range(R)], dtype=bool)
    cycle_from = np.full(R, -1, dtype=np.int64)
    period = np.zeros(R, dtype=np.int64)
    for r in np.nonzero(stop < 0)[0]:
        cycle_from[r], period[r] = find_cycle(history.params[:, r], loss[:, r])
    return RunStates(diverged_at=np.where(escaped, -1, stop), escaped_at=np.where(escaped, stop, -1),
                     cycle_from=cycle_from, cycle_period=period)


def is_escape(loss: np.ndarray) -> bool:
    """True when a run that stopped at the last value of `loss` left with its loss falling: the last
    value is finite and below the start (a loss unbounded below, or parameters running off while the
    loss improves). A NaN, an infinity or a loss above its start is a divergence."""
    last = loss[-1]
    return bool(np.isfinite(last) and np.isfinite(loss[0]) and last < loss[0])


def find_cycle(params: np.ndarray, loss: np.ndarray) -> tuple[int, int]:
    """(first step, period) of a cycle the parameters `[T, P]` are in at the end of the run, or (-1, 0).

    A cycle of period p: over the last fifth of the run (at least MIN_TAIL steps) every point is
    within CYCLE_TOLERANCE of a step length of the point p steps earlier, the steps do not shrink
    (a damped oscillation is converging), they are visible (at least 1% of the path's extent) and
    the loss makes no net progress."""
    x = np.asarray(params, dtype=np.float64).reshape(len(params), -1)
    T = len(x)
    tail = max(MIN_TAIL, T // 5)
    if T < tail + MAX_PERIOD + 1 or not np.isfinite(x).all():
        return -1, 0
    step = np.abs(np.diff(x, axis=0)).max(1)                 # [T-1] step length (max norm)
    recent = step[-tail:]
    extent = float((x.max(0) - x.min(0)).max())
    if recent.min() <= 0.01 * extent or recent[-tail // 2:].mean() < 0.8 * recent[:tail // 2].mean():
        return -1, 0
    l0, l1 = loss[-tail - 1], loss[-1]
    if not (np.isfinite(l0) and np.isfinite(l1)) or l1 < l0 - CYCLE_TOLERANCE * abs(l0):
        return -1, 0
    for p in range(2, MAX_PERIOD + 1):
        off = np.abs(x[p:] - x[:-p]).max(1)                  # [T-p] distance to the point p steps back
        close = off <= CYCLE_TOLERANCE * np.median(recent)
        if close[-tail:].all():
            return max(_run_start(close), _settled_from(loss, p)), p
    return -1, 0


def _run_start(close: np.ndarray) -> int:
    """The first index of the run of True values that ends `close` (a step where the cycle holds)."""
    bad = np.nonzero(~close)[0]
    return int(bad[-1] + 1) if bad.size else 0


def _settled_from(loss: np.ndarray, period: int) -> int:
    """The first step from which the loss stays within the range of its last cycle (widened by 1%):
    a cycle that still drifts downhill is making progress, not stuck yet."""
    last = loss[-period:]
    margin = 0.01 * max(abs(float(last.max())), float(last.max() - last.min()))
    inside = (loss >= last.min() - margin) & (loss <= last.max() + margin)
    return _run_start(inside)


def exit_steps(values: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """([R] first step, [R] side) where each series of `values` `[T, R]` leaves [lo, hi]: side +1 over
    the top, -1 under the bottom (NaN and infinities count by sign; a NaN as over the top); -1, 0 for a
    series that stays inside."""
    v = np.asarray(values, dtype=np.float64)
    over = (v > hi) | np.isnan(v)
    under = v < lo
    out = over | under
    first = np.where(out.any(0), out.argmax(0), -1)
    cols = np.arange(v.shape[1])
    side = np.where(first >= 0, np.where(over[np.maximum(first, 0), cols], 1, -1), 0)
    return first.astype(np.int64), side.astype(np.int64)


def box_exits(points: np.ndarray, xlim, ylim) -> np.ndarray:
    """[R] first step each path of `points` `[T, R, 2]` leaves the box xlim x ylim (a NaN point, where
    a run stopped, is not a leaving), -1 for paths that stay inside."""
    p = np.asarray(points, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = (p[..., 0] < xlim[0]) | (p[..., 0] > xlim[1]) | (p[..., 1] < ylim[0]) | (p[..., 1] > ylim[1])
    return np.where(out.any(0), out.argmax(0), -1).astype(np.int64)
