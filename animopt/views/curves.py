"""`loss` and `lr`: one curve per run, growing with the clip."""
from __future__ import annotations

import numpy as np

from ..spec import Field
from .base import (View, ViewDef, decimate, diverged_note, healthy, legend, log_limits, log_scale_wanted,
                   log_ticks, robust_limits, run_style, show_diverged, upto)


class Curves(View):
    """Plots `values(h)` `[T, R]` against the step, drawn up to the current step."""

    ylabel = ""
    title = ""

    def values(self, h) -> np.ndarray:
        raise NotImplementedError

    def wants_log(self, v: np.ndarray, h) -> bool:
        return log_scale_wanted(healthy(v, h))

    def setup(self, fig, cell):
        ctx, th = self.ctx, self.ctx.theme
        self.ax = ax = fig.add_subplot(cell)
        v = np.array(self.values(self.h), dtype=np.float64)
        for r in np.nonzero(self.h.diverged_at >= 0)[0]:
            v[self.h.diverged_at[r] + 1:, r] = np.nan       # a diverged run stops where it diverged
        self.v = v
        T = v.shape[0]
        self.t = np.arange(T)
        self.keep = decimate(T)
        self.log, lo, hi = self.y_axis(ctx.extent)
        if self.log:
            ax.set_yscale("log")
            log_ticks(ax.yaxis, lo, hi)
            # exact zeros (a perfect fit, an annealed lr) and values under the floor run along it
            self.v = np.where(v < lo, lo * 1.02, v)
        ax.set_ylim(lo, hi)
        ax.set_xlim(0, max(self.h.steps, 1))      # lr has one value fewer than loss: the same axis
        ax.set_xlabel("step")
        ax.set_ylabel(self.options.get("ylabel") or self.ylabel)
        ax.set_title(self.options.get("title") or self.title)
        st = run_style(ctx)
        self.lines = [ax.plot(self.t[self.keep], self.v[self.keep, r], color=c, **st)[0]
                      for r, c in enumerate(ctx.colors)]     # full data until the first frame: the legend
        self.heads = ax.scatter(np.zeros(len(ctx.colors)), np.zeros(len(ctx.colors)), s=24,   # avoids them
                                c=ctx.colors, zorder=4, linewidths=0)
        if self.options.get("legend", True):
            legend(ax, ctx, loc="best")
        self.notes = diverged_note(ax, ctx, y0=0.97)
        return [*self.lines, self.heads, *self.notes.values()]

    def y_axis(self, h) -> tuple[bool, float, float]:
        """(log, lo, hi): the y axis the values of `h` are drawn on (the `scale` option; auto: log
        when the values span decades), the limits set by the values (a blow-up leaves the frame)."""
        ve = self.values(h)
        scale = self.options.get("scale", "auto")
        if scale == "log" or (scale == "auto" and self.wants_log(ve, h)):
            return (True, *log_limits(self.extent_values(ve, h), hi_q=self.hi_q))
        return (False, *robust_limits(self.extent_values(ve, h), pad=0.06, lo_q=0, hi_q=self.hi_q,
                                      include=self.include(ve)))

    hi_q = 99.5         # the top of the axis: a percentile of the values (a blow-up leaves the frame)

    def extent_values(self, v: np.ndarray, h) -> np.ndarray:
        """The values that set the y axis."""
        return healthy(v, h)

    def include(self, v: np.ndarray):
        return ()

    def update(self, step):
        k = min(step, self.v.shape[0] - 1)
        idx = upto(self.keep, k)
        heads = np.full((len(self.lines), 2), np.nan)
        for r, ln in enumerate(self.lines):
            ln.set_data(self.t[idx], self.v[idx, r])
            y = self.v[k, r]
            if np.isfinite(y):
                heads[r] = (k, y)
        self.heads.set_offsets(heads)
        show_diverged(self.notes, self.h, step)


class Loss(Curves):
    ylabel = "loss"
    title = "Loss"

    def values(self, h):
        return h.loss


class LearningRate(Curves):
    ylabel = "learning rate"
    title = "Learning rate"

    def values(self, h):
        return h.lr

    def wants_log(self, v, h):
        # log when the runs' rates differ by decades (a sweep, SGD next to Adam); a schedule that anneals
        # one rate towards zero reads better on a linear axis
        with np.errstate(all="ignore"):
            peaks = np.nanmax(np.where(v > 0, v, np.nan), axis=0) if v.size else np.zeros(0)
        peaks = peaks[np.isfinite(peaks)]
        return bool(peaks.size > 1 and peaks.max() / peaks.min() > 30)

    hi_q = 100.0        # a schedule never blows up: every run's rate stays in view

    def extent_values(self, v, h):
        return v

    def include(self, v):
        return (0.0,)      # warmup and annealing are read against zero


_FIELDS = {
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="y axis; auto: log when the values span more than two decades"),
    "title": Field("str"),
    "ylabel": Field("str"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
}

LOSS = ViewDef("loss", dict(_FIELDS), Loss, "each run's full-data loss, step by step", shows_runs=True)
LR = ViewDef("lr", dict(_FIELDS), LearningRate, "the learning rate each run used, step by step", shows_runs=True)
