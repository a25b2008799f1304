"""Which step each frame shows."""
from __future__ import annotations

import warnings

import numpy as np


def frame_steps(steps: int, n_frames: int, mode: str = "linear", hold_frames: int = 0,
                change: tuple[np.ndarray, np.ndarray] | None = None, start_frames: int = 0) -> np.ndarray:
    """Steps 0..`steps` spread over `n_frames` (first and last always shown), then the last held.

    "log" spends more frames on the early steps, where most happens: the steps grow geometrically, as
    steeply as they can without showing a step twice (a frozen start) when there are more steps than
    frames. "motion" spreads them so that each frame shows about the same visible change: `change` is
    `(grid, amount)` from `visible_change` (linear without it). The first `start_frames` of the
    `n_frames` show step 0 (a hold on the start).
    """
    n = max(1, int(n_frames))
    start = min(max(0, int(start_frames)), n // 4)
    n -= start
    if n == 1:
        out = np.array([steps])
    elif mode == "motion" and change is not None:
        out = motion_steps(*change, steps, n)
    elif mode == "log":
        c = _log_offset(steps, n)
        out = np.rint(np.geomspace(c, steps + c, n) - c).astype(np.int64)
    else:
        out = np.rint(np.linspace(0, steps, n)).astype(np.int64)
    out = np.clip(out, 0, steps)
    if start:
        out = np.concatenate([np.zeros(start, dtype=out.dtype), out])
    if hold_frames > 0:
        out = np.concatenate([out, np.full(hold_frames, out[-1])])
    return out.astype(np.int64)


def _log_offset(steps: int, n: int) -> float:
    """The smallest offset c >= 1 for which geomspace(c, steps + c, n) - c advances at least one step
    from the first frame to the second (so no early step is repeated); 1 when there are too few steps."""
    if steps < n:
        return float(max(steps, 1))      # as many frames as steps: nearly linear, nothing to spare

    def first_gap(c):
        return c * ((1 + steps / c) ** (1 / (n - 1)) - 1)

    lo, hi = 1.0, float(steps)
    if first_gap(lo) >= 1:
        return lo
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        if first_gap(mid) >= 1:
            hi = mid
        else:
            lo = mid
    return hi


def frame_count(fps: float, duration: float, frames: int | None) -> int:
    return int(frames) if frames else max(1, int(round(fps * duration)))


# ---------------------------------------------------------------- motion

LINEAR_SHARE = 0.12        # of the frames spread evenly over the steps: no stretch is ever frozen
MAX_FRAMES_PER_STEP = 1.5  # a step that changes a lot gets at most about this many frames (no freeze on it)
MIN_CHANGE_PER_FRAME = 1e-3  # of a panel (mean over the runs): less is not worth a frame of its own
MAX_GRID = 100_000         # step intervals measured; longer runs are measured over blocks of steps
MAX_VALUES = 4_000_000     # [steps, runs, P] values measured; runs (then parameters) are subsampled


def visible_change(params: np.ndarray, loss: np.ndarray, diverged_at: np.ndarray,
                   loss_axis: tuple[bool, float, float] | None = None,
                   window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """How much visibly changes between steps: `(grid, amount)`, the steps measured (0 and the last
    among them) and the change from each to the next, as a fraction of a panel, averaged over the runs.

    A run moves over its parameters' panel (each parameter normalised by the robust extent of every
    run over the clip, positions clipped to just outside it) and over the loss axis as drawn:
    `loss_axis = (log, lo, hi)` (in decades when log; default: the finite loss range). The change is
    the net one over about `window` steps (the steps between two frames): jitter that cancels between
    frames is not seen. Values past a run's divergence and non-finite ones do not move; a run's change
    per step is clipped to a quarter of the panel, so a blow-up does not take the clip.
    """
    steps = loss.shape[0] - 1
    grid = np.unique(np.rint(np.linspace(0, steps, min(steps, MAX_GRID) + 1)).astype(np.int64))
    runs = _sample(loss.shape[1], MAX_VALUES // max(1, len(grid) * min(params.shape[2], 8)))
    width = _sample(params.shape[2], max(1, MAX_VALUES // max(1, len(grid) * len(runs))))
    alive = _alive(grid, np.asarray(diverged_at)[runs])
    extent = _extent_mask(len(grid), np.asarray(diverged_at)[runs])
    p = np.where(alive[:, :, None], params[np.ix_(grid, runs, width)], np.nan)
    drawn = _axis_position(np.where(alive, loss[np.ix_(grid, runs)], np.nan), loss_axis, extent)
    positions = np.concatenate([_panel_position(p, extent), drawn[:, :, None]], axis=2)
    change = _net_change(positions, max(1, round(window * (len(grid) - 1) / max(steps, 1))))
    moved = np.sqrt(np.nan_to_num(change[:, :, :-1] ** 2).mean(axis=2)) if p.shape[2] else 0.0
    per_run = moved + np.nan_to_num(np.abs(change[:, :, -1]))
    per_step_cap = 0.25 * np.diff(grid)[:, None]
    return grid, np.minimum(per_run, per_step_cap).mean(axis=1)


def _net_change(positions: np.ndarray, window: int) -> np.ndarray:
    """[T+1, ...] -> [T, ...]: for each interval, the net change over the `window` intervals around
    it, per interval."""
    intervals = len(positions) - 1
    i = np.arange(intervals)
    half = max(1, window // 2)
    a, b = np.maximum(0, i + 1 - half), np.minimum(intervals, i + half)
    length = (b - a).reshape(-1, *[1] * (positions.ndim - 1))
    return (positions[b] - positions[a]) / length


def motion_steps(grid: np.ndarray, amount: np.ndarray, steps: int, n: int) -> np.ndarray:
    """`n` steps from 0 to `steps`, non-decreasing, each frame about the same share of `amount`
    (the change over each interval of `grid`) mixed with a linear share."""
    if steps <= 0:
        return np.zeros(n, dtype=np.int64)
    length = np.diff(grid).astype(np.float64)
    a = np.where(np.isfinite(amount), np.maximum(amount, 0.0), 0.0)
    frames = _frames_for_change(a, max(MAX_FRAMES_PER_STEP, 2.0 * n / steps) * length, (1 - LINEAR_SHARE) * n)
    weight = frames / n + (1 - frames.sum() / n) * length / steps       # the rest spread evenly
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    cumulative /= cumulative[-1]
    at = np.interp(np.linspace(0.0, 1.0, n), cumulative, grid)
    out = np.maximum.accumulate(np.rint(at).astype(np.int64))
    out[0], out[-1] = 0, steps
    return out


def _frames_for_change(amount: np.ndarray, cap: np.ndarray, frames: float) -> np.ndarray:
    """Frames for each interval, `amount / change_per_frame` but at most `cap`, with the change per
    frame chosen so that they add up to `frames`, but never below MIN_CHANGE_PER_FRAME (then fewer:
    a change too small to see gets no frames of its own)."""
    def spent(per_frame):
        return np.minimum(amount / per_frame, cap)

    lo, hi = MIN_CHANGE_PER_FRAME, max(MIN_CHANGE_PER_FRAME, float(amount.max(initial=0.0)))
    if spent(lo).sum() <= frames:
        return spent(lo)
    for _ in range(60):                       # bisection in log space: spent() falls as per_frame grows
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if spent(mid).sum() > frames else (lo, mid)
    return spent(hi)


def _sample(n: int, most: int) -> np.ndarray:
    """Up to `most` (at least 1) of the indices 0..n-1, evenly spread, the first and last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, max(1, most))).astype(np.int64))


def _alive(grid: np.ndarray, diverged_at: np.ndarray) -> np.ndarray:
    """[grid, runs]: the run has not diverged by this step (its values past that are not drawn)."""
    return (diverged_at[None, :] < 0) | (grid[:, None] <= diverged_at[None, :])


def _extent_mask(steps: int, diverged_at: np.ndarray) -> np.ndarray:
    """[T, R]: the values that set a panel's extent, as the views' axes take them: every step of the
    runs that did not diverge, only the start of those that did (the first two if every run did)."""
    healthy = diverged_at < 0
    first = np.arange(steps) < (1 if healthy.any() else 2)
    return healthy[None, :] | first[:, None]


def _panel_position(p: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """[T, R, P] values -> positions on their panels, 0..1 over the robust extent of the finite values
    where `extent` [T, R] (1st to 99th percentile, the starts included), clipped to -0.1..1.1."""
    p = np.where(np.isfinite(p), p, np.nan)
    flat = np.where(extent[:, :, None], p, np.nan).reshape(-1, p.shape[2])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # a parameter with no finite value
        lo, hi = np.nanpercentile(flat, [1, 99], axis=0)
        lo = np.fmin(np.fmin(lo, np.nanmin(p[0], axis=0)), hi)
        hi = np.fmax(np.fmax(hi, np.nanmax(p[0], axis=0)), lo)
    span = np.maximum(hi - lo, 1e-9 * np.maximum(1.0, np.abs(hi)))
    span = np.where(np.isfinite(span), span, 1.0)
    return np.clip((p - np.nan_to_num(lo)) / span, -0.1, 1.1)


def _axis_position(loss: np.ndarray, axis: tuple[bool, float, float] | None, extent: np.ndarray) -> np.ndarray:
    """[T, R] loss -> height on the loss axis, 0..1 (clipped: a value past the axis does not move);
    log axes in decades. The axis defaults to the range of the finite values where `extent`."""
    v = np.where(np.isfinite(loss), loss, np.nan)
    if axis is None:
        finite = v[extent & np.isfinite(v)]
        axis = (False, finite.min(), finite.max()) if finite.size else (False, 0.0, 1.0)
    log, lo, hi = axis
    if log:
        with np.errstate(all="ignore"):
            v, lo, hi = np.log10(np.where(v > 0, v, lo)), np.log10(lo), np.log10(hi)
    span = hi - lo if hi > lo else 1.0
    return np.clip((v - lo) / span, 0.0, 1.0)


# ---------------------------------------------------------------- pauses and slow motion

def slow_down(fs: np.ndarray, start: int, stop: int, factor: float) -> np.ndarray:
    """The frames showing steps `start`..`stop` of `fs` (k of them; the holds at either end count once)
    become round(k * factor), over the same steps, evenly in frames: slow motion (a factor below 1 speeds
    the range up). Where no frame showed the range, round(factor) frames walk through it."""
    fs = np.asarray(fs, dtype=np.int64)
    at = np.nonzero(fs == start)[0]
    i0 = int(at[-1]) if at.size else int(np.searchsorted(fs, start, side="left"))
    at = np.nonzero(fs == stop)[0]
    i1 = int(at[0]) if at.size else int(np.searchsorted(fs, stop, side="right")) - 1
    k = max(0, i1 - i0 + 1)
    m = max(1, int(round(max(k, 1) * factor)))
    if k >= 2:
        shown = fs[i0:i1 + 1]
        new = np.rint(np.interp(np.linspace(0.0, k - 1.0, m), np.arange(k), shown)).astype(np.int64)
    else:                                  # one frame or none in the range: walk through it
        new = np.rint(np.linspace(start, stop, m)).astype(np.int64)
    return np.concatenate([fs[:i0], new, fs[i0 + k:]]).astype(np.int64)


def pause_at(fs: np.ndarray, step: int, frames: int) -> np.ndarray:
    """`frames` more frames showing `step`, where the clip reaches it (before the first frame past it)."""
    fs = np.asarray(fs, dtype=np.int64)
    i = int(np.searchsorted(fs, step, side="left"))
    return np.concatenate([fs[:i], np.full(int(frames), step, dtype=np.int64), fs[i:]])


def teaching_steps(fs: np.ndarray, fps: float, pauses=(), slows=()) -> np.ndarray:
    """The base timeline `fs` with `[[render.slow]]` ranges slowed down, then `[[render.pause]]`s
    inserted: each pause adds exactly round(seconds * fps) frames showing its step."""
    out = np.asarray(fs, dtype=np.int64)
    for s in sorted(slows, key=lambda s: s.start):
        out = slow_down(out, s.start, s.stop, s.factor)
    for p in sorted(pauses, key=lambda p: p.step):
        out = pause_at(out, p.step, int(round(p.seconds * fps)))
    return out
