"""`boundary` and `accuracy`: what a classifier makes of its data.

`boundary`: the 2-D data and one run's decision regions at the current step (the predicted class of every
pixel, shaded by the model's confidence, the boundary between classes drawn dark), with its training
accuracy. One panel per run: `{ type = "grid", view = "boundary" }`.
`accuracy`: each run's training accuracy against the step.

Both read the problem through ProblemInfo: `predict` (scores of parameter sets at points) and
`accuracy_fn`, numpy in and out.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from ..declare.views.common import run_index
from .base import View, decimate, robust_limits
from .curves import Curves

CLASS_COLORS = ("#3b75af", "#e8893b", "#519e3e", "#c53a32", "#8d69b8", "#84584e", "#d57fbe", "#7f7f7f",
                "#bcbd22", "#17becf", "#aec7e8", "#ffbb78")
MAX_ACCURACY_COST = 4e9        # parameter sets x points x parameters evaluated for an accuracy curve


class Boundary(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        info = ctx.info
        self.r = run_index(h, o.get("run", 0)) % h.runs
        self.ax = ax = fig.add_subplot(cell)
        X, y = np.asarray(info.data["X"]), np.asarray(info.data["y"]).astype(int)
        self.K = K = int(max(y.max() + 1, np.shape(info.predict(h.params[:1, self.r], X[:1]))[-1]))
        (x0, x1), (y0, y1) = (robust_limits(X[:, a], pad=0.08, lo_q=0, hi_q=100) for a in range(2))
        n = int(o.get("resolution", 200))
        gx, gy = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        GX, GY = np.meshgrid(gx, gy)
        self.grid = np.stack([GX.ravel(), GY.ravel()], 1)
        self.n = n
        cols = np.array([to_rgb(CLASS_COLORS[k % len(CLASS_COLORS)]) for k in range(K)])
        self.cols = cols
        self.bg = np.array(to_rgb(th.background))
        self.fg = np.array(to_rgb(th.foreground))
        self.X, self.y = X, y
        self.cache: dict = {}
        self.image = ax.imshow(np.zeros((n, n, 4)), origin="lower", extent=(x0, x1, y0, y1), aspect="auto",
                               interpolation="bilinear", zorder=1)
        self.points = ax.scatter(X[:, 0], X[:, 1], c=cols[y], s=18 if len(X) <= 500 else 6,
                                 edgecolors=th.background, linewidths=0.5, zorder=3)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.set_title(o.get("title") or h.labels[self.r], color=ctx.colors[self.r])
        self.text = ax.text(0.02, 0.98, "", transform=ax.transAxes, ha="left", va="top",
                            fontsize=th.font_size - 2, color=th.foreground, zorder=10,
                            bbox=dict(boxstyle="round,pad=0.25", fc=th.background, ec="none", alpha=0.8))
        return [self.image, self.points, self.text]

    def regions(self, k: int) -> tuple[np.ndarray, float]:
        """The RGBA image of run r's classes at step k, and its training accuracy."""
        if k in self.cache:
            return self.cache[k]
        info, p = self.ctx.info, self.h.params[k, self.r]
        if not np.isfinite(p).all():
            out = (np.zeros((self.n, self.n, 4)), np.nan)
        else:
            s = info.predict(p[None], np.concatenate([self.grid, self.X]))[0]      # [M + n, K]
            g, d = s[:len(self.grid)], s[len(self.grid):]
            cls = g.argmax(-1)
            top = np.sort(g, -1)
            conf = np.clip(top[:, -1] - top[:, -2], 0, 1) if g.shape[1] > 1 else np.ones(len(g))
            a = (0.18 + 0.42 * conf)[:, None]
            rgb = (1 - a) * self.bg + a * self.cols[cls % len(self.cols)]
            c2 = cls.reshape(self.n, self.n)
            edge = np.zeros_like(c2, dtype=bool)
            edge[:, 1:] |= c2[:, 1:] != c2[:, :-1]
            edge[1:, :] |= c2[1:, :] != c2[:-1, :]          # one pixel wide: the side after the change
            rgb = rgb.reshape(self.n, self.n, 3)
            rgb[edge] = 0.35 * rgb[edge] + 0.65 * self.fg
            img = np.concatenate([rgb, np.ones((self.n, self.n, 1))], -1)
            out = (img, float((d.argmax(-1) == self.y).mean()))
        if len(self.cache) > 256:
            self.cache.clear()
        self.cache[k] = out
        return out

    def update(self, step):
        d = self.h.diverged_at[self.r]
        k = min(step, self.h.steps, d if d >= 0 else self.h.steps)
        img, acc = self.regions(k)
        self.image.set_data(img)
        self.text.set_text("diverged" if not np.isfinite(acc) else f"accuracy {100 * acc:.1f}%")


class Accuracy(Curves):
    ylabel = "training accuracy"
    title = "Training accuracy"

    def values(self, h):
        cache = self.__dict__.setdefault("_acc", {})
        if id(h) not in cache:
            cache[id(h)] = (h, accuracy_curves(h))
        return cache[id(h)][1]

    def wants_log(self, v, h):
        return False

    def y_axis(self, h):
        v = self.values(h)
        v = v[np.isfinite(v)]
        lo = float(v.min()) if v.size else 0.0
        lo = max(0.0, lo - 0.06 * (1.0 - lo + 1e-9))
        return False, lo, 1.0 + 0.03 * (1.0 - lo)


def accuracy_curves(h) -> np.ndarray:
    """[T, R] training accuracy of every run at every step: every step when that is cheap, else at up to
    600 steps evenly spread, joined by straight lines (a diverged run: NaN from its divergence)."""
    info = h.problem
    T, R, P = h.params.shape
    n = len(np.asarray(info.data.get("y", np.zeros(1))))
    steps = np.arange(T)
    if T * R * n * P > MAX_ACCURACY_COST:
        steps = decimate(T, 600)
    pts = h.params[steps].reshape(-1, P)
    ok = np.isfinite(pts).all(1)
    acc = np.full(len(pts), np.nan)
    if ok.any():
        acc[ok] = info.accuracy_fn(pts[ok])
    acc = acc.reshape(len(steps), R)
    if len(steps) == T:
        return acc
    out = np.full((T, R), np.nan)
    for r in range(R):
        good = np.isfinite(acc[:, r])
        if good.any():
            last = steps[good][-1]
            out[:last + 1, r] = np.interp(np.arange(last + 1), steps[good], acc[good, r])
    return out
