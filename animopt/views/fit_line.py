"""`fit_line`: the data and each run's current line y = a*x + b."""
from __future__ import annotations

import numpy as np

from ..spec import Field
from .base import View, ViewDef, diverged_note, legend, robust_limits, show_diverged


class FitLine(View):
    def setup(self, fig, cell):
        h, ctx, th = self.h, self.ctx, self.ctx.theme
        info = ctx.info
        self.ax = ax = fig.add_subplot(cell)
        x, y = info.data["x"], info.data["y"]
        self.ia = h.param_names.index("a") if "a" in h.param_names else 0
        self.ib = h.param_names.index("b") if "b" in h.param_names else 1
        xlo, xhi = robust_limits(x, pad=0.06, lo_q=0, hi_q=100)
        self.xs = np.array([xlo, xhi])
        a, b = h.params[..., self.ia], h.params[..., self.ib]
        ends = a[..., None] * self.xs + b[..., None]     # [S+1, R, 2]
        ylo, yhi = robust_limits(ends, pad=0.08, lo_q=2, hi_q=98, include=y)
        ylo, yhi = _clamp_to_data(ylo, yhi, y)
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        ax.scatter(x, y, s=22, color=th.data, alpha=0.75, zorder=2, linewidths=0, label="data")
        if info.true_params is not None:
            ta, tb = info.true_params[self.ia], info.true_params[self.ib]
            ax.plot(self.xs, ta * self.xs + tb, ls="--", color=th.truth, lw=1.2, alpha=0.7, zorder=1)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(self.options.get("title") or "Fit")
        self.lines = [ax.plot([], [], color=c, lw=2.2, zorder=3)[0] for c in ctx.colors]
        legend(ax, ctx, loc="lower right")
        self.batch = None
        if self.options.get("highlight_batch") and h.batch_idx is not None:
            self.batch = ax.scatter([], [], s=70, facecolors="none", edgecolors=ctx.colors[0], linewidths=1.6,
                                    zorder=4)
        self.notes = diverged_note(ax, ctx)
        return [*self.lines, *self.notes.values(), *([self.batch] if self.batch is not None else [])]

    def update(self, step):
        h = self.h
        vis = self.ctx.visible(step)
        for r, ln in enumerate(self.lines):
            a, b = h.params[step, r, self.ia], h.params[step, r, self.ib]
            ok = vis[r] and np.isfinite(a) and np.isfinite(b)
            ln.set_visible(bool(ok))
            if ok:
                ln.set_data(self.xs, a * self.xs + b)
        if self.batch is not None:
            t = min(step, h.steps - 1)
            idx = h.batch_idx[t, 0]
            idx = idx[idx >= 0]
            d = self.ctx.info.data
            self.batch.set_offsets(np.c_[d["x"][idx], d["y"][idx]])
        show_diverged(self.notes, h, step)


def _clamp_to_data(lo, hi, y):
    """Keeps the view on the data: lines far off (early or diverging) leave the frame instead of
    squashing the points."""
    ymin, ymax = float(np.min(y)), float(np.max(y))
    span = max(ymax - ymin, 1e-9)
    return max(lo, ymin - 1.5 * span), min(hi, ymax + 1.5 * span)


def _check(options, history):
    if history.problem is None or "x" not in history.problem.data:
        return [("", "fit_line needs a problem with x, y data (type = \"line\")")]
    return []


FIT_LINE = ViewDef("fit_line", {
    "title": Field("str", doc="panel title"),
    "highlight_batch": Field("bool", default=False, doc="ring the points of the current minibatch"),
}, FitLine, "the data and each run's current line", _check)
