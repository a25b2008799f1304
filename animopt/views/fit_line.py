"""`fit_line`: the data and each run's current line y = a*x + b."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..states import exit_steps
from .base import (EdgeMarks, View, avoid, diverged_note, legend, robust_limits, run_limits, run_style,
                   show_diverged)


class FitLine(View):
    def setup(self, fig, cell):
        h, ctx, th = self.h, self.ctx, self.ctx.theme
        info = ctx.info
        self.ax = ax = fig.add_subplot(cell)
        x, y = info.data["x"], info.data["y"]
        names = h.param_names
        self.ia = names.index("a") if "a" in names else 0
        self.ib = names.index("b") if "b" in names else 1
        xlo, xhi = robust_limits(x, pad=0.04, lo_q=0, hi_q=100)
        self.xs = np.array([xlo, xhi])
        ylo, yhi = line_limits(ctx.extent, self.ia, self.ib, self.xs, y, ctx.frame_steps)
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        dot = 26 if len(x) <= 200 else 10
        pts = ax.scatter(x, y, s=dot, color=th.data, alpha=0.8, zorder=2, linewidths=0)
        on_top = [pts] if len(x) <= 500 else []       # drawn over the run lines each frame (cheap when few)
        extra = [(Line2D([], [], ls="", marker="o", ms=5, color=th.data), "data")]
        if info.true_params is not None:
            ta, tb = info.true_params[self.ia], info.true_params[self.ib]
            on_top += ax.plot(self.xs, ta * self.xs + tb, ls=(0, (5, 3)), color=th.truth, lw=1.4, alpha=0.9,
                              zorder=5)
            extra.append((Line2D([], [], ls=(0, (5, 3)), color=th.truth, lw=1.4), "true line"))
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(self.options.get("title") or "Fit  y = a·x + b")
        st = run_style(ctx)
        self.lines = [ax.plot(self.xs, [np.nan, np.nan], **ctx.style(r).line(3), solid_capstyle="butt", **st)[0]
                      for r in range(len(ctx.colors))]
        self.batch = None
        if self.options.get("highlight_batch") and h.batch_idx is not None:
            self.batch = ax.scatter([], [], s=dot * 3.2, facecolors="none", edgecolors=ctx.colors[0],
                                    linewidths=1.6, zorder=4)
            extra.append((Line2D([], [], ls="", marker="o", ms=8, mfc="none", mec=ctx.colors[0], mew=1.6),
                          "minibatch"))
        best = info.minimum if info.minimum is not None else info.true_params
        rising = best is None or best[self.ia] >= 0
        if self.options.get("legend", True):
            legend(ax, ctx, extra=extra, loc="lower right" if rising else "upper right")   # the empty corner
        self.notes = diverged_note(ax, ctx)
        self.edges = self._edge_marks(ax, ylo, yhi)
        # the legend and the notes keep off the data, the true line and the lines the frames show
        fs = np.asarray(ctx.frame_steps, dtype=np.int64)
        fs = np.clip(fs[np.linspace(0, len(fs) - 1, min(len(fs), 90)).astype(int)] if len(fs) else [0], 0, h.steps)
        ends = h.params[fs][..., self.ia, None] * self.xs + h.params[fs][..., self.ib, None]     # [F, R, 2]
        segs = np.full(ends.shape[:2] + (3, 2), np.nan)
        segs[..., :2, 0], segs[..., :2, 1] = self.xs, ends
        if info.true_params is not None:
            segs = np.concatenate([segs.reshape(-1, 3, 2), [[[self.xs[0], ta * self.xs[0] + tb],
                                                             [self.xs[1], ta * self.xs[1] + tb], [np.nan] * 2]]])
        avoid(ax, [segs.reshape(-1, 2)], points=np.c_[x, y])
        return [*self.lines, *([self.batch] if self.batch is not None else []), *on_top, *self.notes.values(),
                *self.edges.artists]

    def _edge_marks(self, ax, lo: float, hi: float) -> EdgeMarks:
        """A triangle on the edge, at the end nearest the window, where a run's line first lies wholly
        above or below the axes, with "step k" (the same marks as the loss curves)."""
        p = self.h.params
        y0, y1 = p[..., self.ia] * self.xs[0] + p[..., self.ib], p[..., self.ia] * self.xs[1] + p[..., self.ib]
        with np.errstate(invalid="ignore"):
            low, high = np.fmin(y0, y1), np.fmax(y0, y1)
            v = np.where(low > hi, low, np.where(high < lo, high, (lo + hi) / 2))   # NaN (diverged): not a leaving
        at, side = exit_steps(v, lo, hi)
        xy = np.full((len(at), 2), np.nan)
        inset = 0.04 * (self.xs[1] - self.xs[0])
        for r in np.nonzero(at > 0)[0]:
            k = at[r]
            near_left = (y0[k, r] < y1[k, r]) == (side[r] > 0)          # the end closest to the axes
            xy[r] = (self.xs[0] + inset if near_left else self.xs[1] - 3 * inset, hi if side[r] > 0 else lo)
        return EdgeMarks(ax, self.ctx, at, side, xy, size=40)

    def update(self, step):
        h = self.h
        vis = self.ctx.visible(step)
        a, b = h.params[step, :, self.ia], h.params[step, :, self.ib]
        for r, ln in enumerate(self.lines):
            ok = vis[r] and np.isfinite(a[r]) and np.isfinite(b[r])
            ln.set_visible(bool(ok))
            if ok:
                ln.set_ydata(a[r] * self.xs + b[r])
        if self.batch is not None:
            t = min(step, h.steps - 1)
            if step >= h.steps:
                self.batch.set_offsets(np.empty((0, 2)))
            else:
                idx = h.batch_idx[t, 0]
                idx = idx[idx >= 0]
                d = self.ctx.info.data
                self.batch.set_offsets(np.c_[d["x"][idx], d["y"][idx]])
        self.edges.update(step)
        show_diverged(self.notes, h, step)


def line_limits(h, ia: int, ib: int, xs: np.ndarray, y: np.ndarray, frame_steps=()) -> tuple[float, float]:
    """y limits holding the data, every run's starting line and the lines the frames show (all steps when
    no frames are given) of the runs that do not diverge, across the whole x range `xs`. A diverging run
    keeps only its start; a brief excursion far past the rest is let go (see run_limits)."""
    steps = np.unique(np.clip(np.asarray(frame_steps, dtype=np.int64), 0, h.steps))
    p = h.params[steps] if steps.size else h.params
    ends = p[..., ia, None] * xs + p[..., ib, None]                 # [F, R, 2]
    start = h.params[0, :, ia, None] * xs + h.params[0, :, ib, None]
    return run_limits(ends, h, pad=0.06, include=np.concatenate([np.ravel(y), start.ravel()]))
