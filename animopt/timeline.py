"""Which step each frame shows."""
from __future__ import annotations

import numpy as np


def frame_steps(steps: int, n_frames: int, mode: str = "linear", hold_frames: int = 0) -> np.ndarray:
    """Steps 0..`steps` spread over `n_frames` (first and last always shown), then the last held."""
    n = max(1, int(n_frames))
    if n == 1:
        out = np.array([steps])
    elif mode == "log":
        out = np.rint(np.geomspace(1, steps + 1, n) - 1).astype(np.int64)
    else:
        out = np.rint(np.linspace(0, steps, n)).astype(np.int64)
    out = np.clip(out, 0, steps)
    if hold_frames > 0:
        out = np.concatenate([out, np.full(hold_frames, out[-1])])
    return out


def frame_count(fps: float, duration: float, frames: int | None) -> int:
    return int(frames) if frames else max(1, int(round(fps * duration)))
