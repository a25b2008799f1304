"""Learning-rate schedules: pure functions of the update index, vectorised over it (numpy)."""
from __future__ import annotations

import numpy as np

from .base import ScheduleDef


def constant(t, lr, total):
    return np.full(np.shape(t), float(lr))


SCHEDULES: dict[str, ScheduleDef] = {
    "constant": ScheduleDef("constant", {}, constant),
}


def lr_table(name: str, options: dict, warmup: dict | None, lr: float, total: int) -> np.ndarray:
    """The learning rate of each of `total` updates (float64)."""
    t = np.arange(total)
    out = SCHEDULES[name].fn(t, lr, total, **options)
    if warmup:
        n, f = warmup["steps"], warmup["start_factor"]
        main = SCHEDULES[name].fn(np.maximum(t - n, 0), lr, max(total - n, 1), **options)
        ramp = lr * (f + (1 - f) * np.minimum(t, n) / n)
        out = np.where(t < n, ramp, main)
    return np.asarray(out, dtype=np.float64)
