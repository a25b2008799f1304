"""`params`: each parameter against the step, one small panel per parameter, true values dashed."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D

from ..styles import set_markers
from .base import (EdgeMarks, View, avoid, curve_lines, decimate, diverged_note,
                   legend, param_index, run_limits, run_style, series_exits, show_diverged, to_edges, upto)

AUTO_ALL = 6      # problems with up to this many parameters show them all
AUTO_PICK = 4     # otherwise the ones that moved most


def pick_params(h, names) -> list[int]:
    """The chosen parameters, else all of a small problem, else the AUTO_PICK that moved most."""
    if names is not None:
        return param_index(h, names)
    P = len(h.param_names)
    if P <= AUTO_ALL:
        return list(range(P))
    return sorted(np.argsort(-_moved(h), kind="stable")[:AUTO_PICK].tolist())


def _moved(h) -> np.ndarray:
    """[P] the largest distance any healthy run's parameter got from its start."""
    ok = h.diverged_at < 0
    runs = np.nonzero(ok)[0] if ok.any() else np.arange(h.runs)
    d = np.abs(h.params[:, runs] - h.params[:1, runs])
    with np.errstate(all="ignore"):
        m = np.nanmax(d.reshape(-1, d.shape[-1]), axis=0)
    return np.nan_to_num(m, nan=0.0)


class Params(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        info = ctx.info
        self.idx = pick_params(h, o.get("params"))
        n = len(self.idx)
        cols = 1 if n <= 3 else 2
        rows = math.ceil(n / cols)
        sub = cell.subgridspec(rows, cols)
        truth, tword = None, ""
        if info is not None and info.true_params is not None:
            truth, tword = np.asarray(info.true_params), "true"
        elif info is not None and info.minimum is not None:
            truth, tword = np.asarray(info.minimum), "minimum"
        T = h.params.shape[0]
        self.t = np.arange(T)
        self.keep = decimate(T)
        st = run_style(ctx)
        ext = ctx.extent
        self.axes, self.lines, on_top, self.vals, self.edges = [], [], [], [], []
        lw = st["lw"]
        dots = dict(marker="o", ms=lw + 1.6, mec=th.background, mew=0.6) if o.get("markers") else {}
        for q, k in enumerate(self.idx):
            ax = fig.add_subplot(sub[q // cols, q % cols], sharex=self.axes[0] if self.axes else None)
            self.axes.append(ax)
            tv = truth[k] if truth is not None else None
            lo, hi = run_limits(ext.params[..., k], ext, pad=0.08, include=[] if tv is None else [tv])
            ax.set_ylim(lo, hi)
            v = to_edges(h.params[..., k], lo, hi)              # a run that leaves runs to the edge
            self.vals.append(v)
            self.edges.append(EdgeMarks(ax, ctx, *series_exits(v, lo, hi), size=36))
            avoid(ax, curve_lines(self.t[self.keep], v[self.keep]),
                  points=None if tv is None else [[0, tv], [T - 1, tv], [(T - 1) / 2, tv]])
            ax.set_xlim(0, max(T - 1, 1))
            name = h.param_names[k]
            ax.set_title(name if tv is None else f"{name}   ({tword} {tv:.4g})", fontsize=th.font_size - 1,
                         loc="left")
            if tv is not None:
                on_top += [ax.axhline(tv, ls=(0, (5, 3)), color=th.truth, lw=1.3, alpha=0.85, zorder=5)]
            self.lines.append([ax.plot(self.t[self.keep], v[self.keep, r], **ctx.style(r).line(2), **st, **dots)[0]
                               for r in range(len(ctx.colors))])
            if q // cols == rows - 1 or q + cols >= n:
                ax.set_xlabel("step")
            else:
                ax.tick_params(axis="x", labelbottom=False)
        self.heads = [ax.scatter(np.zeros(h.runs), np.zeros(h.runs), s=20, c=ctx.colors, zorder=4, linewidths=0)
                      for ax in self.axes]
        for heads in self.heads:
            set_markers(heads, [ctx.style(r) for r in range(h.runs)], 20)
        # the titles name the dashed values; with the runs in this legend, say it there too
        extra = [(Line2D([], [], ls=(0, (5, 3)), color=th.truth, lw=1.3), tword)] \
            if truth is not None and ctx.legend_runs else []
        if o.get("legend", True):
            legend(self.axes[0], ctx, extra=extra, loc="best", fontsize=th.font_size - 3)
        self.notes = diverged_note(self.axes[0], ctx, y0=0.95)
        return [*(ln for row in self.lines for ln in row), *self.heads, *on_top, *self.notes.values(),
                *(a for e in self.edges for a in e.artists)]

    def update(self, step):
        h = self.h
        k = min(step, h.params.shape[0] - 1)
        idx = upto(self.keep, k)
        for q, p in enumerate(self.idx):
            for r, ln in enumerate(self.lines[q]):
                ln.set_data(self.t[idx], self.vals[q][idx, r])
            y = h.params[k, :, p]
            self.heads[q].set_offsets(np.c_[np.full(h.runs, k), y])
            self.edges[q].update(step)
        show_diverged(self.notes, h, step)
