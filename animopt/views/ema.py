"""`ema`: seed 004's illustration of exponential moving averages: a seeded random walk and its EMA for
several betas, drawn progressively over the clip (it does not use the runs)."""
from __future__ import annotations

import numpy as np

from .base import View, robust_limits


def ema(x: np.ndarray, beta: float, bias_correction: bool = False) -> np.ndarray:
    """<g>_t = beta <g>_{t-1} + (1 - beta) g_t, from <g>_{-1} = 0 (optionally divided by 1 - beta^(t+1))."""
    out = np.empty(len(x))
    m = 0.0
    for t, g in enumerate(x):
        m = beta * m + (1.0 - beta) * g
        out[t] = m
    if bias_correction:
        out = out / (1.0 - beta ** np.arange(1, len(x) + 1))
    return out


def random_walk(steps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 4])
    return np.cumsum(rng.standard_normal(steps))


class EMA(View):
    def setup(self, fig, cell):
        ctx, th, o = self.ctx, self.ctx.theme, self.options
        self.ax = ax = fig.add_subplot(cell)
        n = int(o.get("steps", 200))
        self.walk = random_walk(n, int(o.get("seed", 0)))
        betas = o.get("betas", (0.9, 0.98))
        bc = bool(o.get("bias_correction", False))
        self.avgs = [ema(self.walk, b, bc) for b in betas]
        self.t = np.arange(n)
        ax.set_xlim(0, n - 1)
        ax.set_ylim(*robust_limits(np.concatenate([self.walk, *self.avgs]), pad=0.06, lo_q=0, hi_q=100))
        ax.set_xlabel("t")
        ax.set_ylabel("value")
        ax.set_title(o.get("title") or ("Exponential moving averages" + (" (bias-corrected)" if bc else "")))
        pal = th.palette
        self.lines = [ax.plot(self.t, self.walk, color=th.data, lw=1.2, alpha=0.9, label="random walk g")[0]]
        for i, b in enumerate(betas):
            self.lines.append(ax.plot(self.t, self.avgs[i], color=pal[i % len(pal)], lw=2.4,
                                      label=f"EMA  β = {b:g}")[0])
        ax.legend(loc="best")
        self.series = [self.walk, *self.avgs]
        return list(self.lines)

    def update(self, step):
        m = int(round(self.ctx.clip_fraction(step) * (len(self.t) - 1))) + 1
        for ln, v in zip(self.lines, self.series):
            ln.set_data(self.t[:m], v[:m])
