"""`loss` and `lr`: one curve per run, growing with the clip."""
from __future__ import annotations

import numpy as np

from ..styles import set_markers
from .base import (MIN_LOG_DECADES, EdgeMarks, View, avoid, curve_lines, decimate, diverged_note,
                   healthy, legend, log_decades, log_limits, log_scale_wanted, log_ticks, robust_limits,
                   run_style, series_exits, show_diverged, to_edges, upto)


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
        ax.set_ylim(lo, hi)
        self.v = to_edges(v, lo, hi, self.log)
        ax.set_xlim(0, max(self.h.steps, 1))      # lr has one value fewer than loss: the same axis
        ax.set_xlabel("step")
        ax.set_ylabel(self.options.get("ylabel") or self.ylabel)
        ax.set_title(self.options.get("title") or self.title)
        st = run_style(ctx)
        self.lines = [ax.plot(self.t[self.keep], self.v[self.keep, r], **ctx.style(r).line(2), **st)[0]
                      for r in range(len(ctx.colors))]     # full data until the first frame: the legend
        self.heads = ax.scatter(np.zeros(len(ctx.colors)), np.zeros(len(ctx.colors)), s=24,   # avoids them
                                c=ctx.colors, zorder=4, linewidths=0)
        set_markers(self.heads, [ctx.style(r) for r in range(len(ctx.colors))], 24)
        if self.options.get("legend", True):
            legend(ax, ctx, loc="best")
        self.notes = diverged_note(ax, ctx, y0=0.97)
        self.edges = EdgeMarks(ax, ctx, *series_exits(v, lo, hi, self.log))
        self.exit_at, self.exit_marks, self.exit_texts = self.edges.exit_at, self.edges.marks, self.edges.texts
        avoid(ax, curve_lines(self.t[self.keep], self.v[self.keep]))
        return [*self.lines, self.heads, *self.notes.values(), *self.edges.artists]

    def y_axis(self, h) -> tuple[bool, float, float]:
        """(log, lo, hi): the y axis the values of `h` are drawn on (the `scale` option; auto: log
        when the values span decades), the limits set by the values (a blow-up leaves the frame)."""
        ve = self.values(h)
        scale = self.options.get("scale", "auto")
        vals = self.extent_values(ve, h)
        # a log axis under a decade would have too few labelled ticks: linear instead
        if (scale == "log" or (scale == "auto" and self.wants_log(ve, h))) and log_decades(vals) >= MIN_LOG_DECADES:
            return (True, *log_limits(vals, hi_q=self.hi_q, include=self.include(ve)))
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
        self.edges.update(step)


class Loss(Curves):
    ylabel = "loss"
    title = "Loss"

    def setup(self, fig, cell):
        if self.options.get("above_floor"):
            self.ylabel, self.title = "loss - least loss", "Loss above the floor"
        return super().setup(fig, cell)

    def values(self, h):
        if self.options.get("above_floor"):
            return h.loss - h.problem.min_loss
        return h.loss

    def include(self, v):
        return v[0]        # every run's start stays in view (a percentile top would clip it)


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
