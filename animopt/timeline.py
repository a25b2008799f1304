"""Which step each frame shows."""
from __future__ import annotations

import numpy as np


def frame_steps(steps: int, n_frames: int, mode: str = "linear", hold_frames: int = 0) -> np.ndarray:
    """Steps 0..`steps` spread over `n_frames` (first and last always shown), then the last held.

    "log" spends more frames on the early steps, where most happens: the steps grow geometrically, as
    steeply as they can without showing a step twice (a frozen start) when there are more steps than
    frames.
    """
    n = max(1, int(n_frames))
    if n == 1:
        out = np.array([steps])
    elif mode == "log":
        c = _log_offset(steps, n)
        out = np.rint(np.geomspace(c, steps + c, n) - c).astype(np.int64)
    else:
        out = np.rint(np.linspace(0, steps, n)).astype(np.int64)
    out = np.clip(out, 0, steps)
    if hold_frames > 0:
        out = np.concatenate([out, np.full(hold_frames, out[-1])])
    return out


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
