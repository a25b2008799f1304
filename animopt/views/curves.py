"""`loss` and `lr`: one curve per run, growing with the clip."""
from __future__ import annotations

import numpy as np

from ..spec import Field
from .base import View, ViewDef, decimate, diverged_note, legend, robust_limits, show_diverged


class Curves(View):
    """Plots `values()` `[T, R]` against the step, drawn up to the current step."""

    ylabel = ""
    title = ""

    def values(self) -> np.ndarray:
        raise NotImplementedError

    def setup(self, fig, cell):
        ctx, th = self.ctx, self.ctx.theme
        self.ax = ax = fig.add_subplot(cell)
        v = self.values()
        self.v = v
        T = v.shape[0]
        self.t = np.arange(T)
        self.keep = decimate(T)
        scale = self.options.get("scale", "auto")
        fin = v[np.isfinite(v)]
        pos = fin[fin > 0]
        log = scale == "log" or (scale == "auto" and pos.size and fin.size == pos.size
                                 and np.percentile(pos, 99) / max(pos.min(), 1e-300) > 100)
        if log and pos.size:
            ax.set_yscale("log")
            lo = max(pos.min(), np.percentile(pos, 99.5) * 1e-12)
            hi = np.percentile(pos, 99.5)
            ax.set_ylim(lo / 1.6, hi * 1.6)
        else:
            ax.set_ylim(*robust_limits(fin, pad=0.06, lo_q=0, hi_q=99.5))
        ax.set_xlim(0, max(T - 1, 1))
        ax.set_xlabel("step")
        ax.set_ylabel(self.options.get("ylabel") or self.ylabel)
        ax.set_title(self.options.get("title") or self.title)
        self.lines = [ax.plot([], [], color=c, lw=1.8)[0] for c in ctx.colors]
        self.heads = ax.scatter(np.zeros(len(ctx.colors)), np.zeros(len(ctx.colors)), s=22, c=ctx.colors, zorder=4)
        legend(ax, ctx, loc="upper right")
        self.notes = diverged_note(ax, ctx, y0=0.97)
        return [*self.lines, self.heads, *self.notes.values()]

    def update(self, step):
        k = min(step, self.v.shape[0] - 1)
        cut = np.searchsorted(self.keep, k, side="right")
        idx = np.append(self.keep[:cut], k) if (cut == 0 or self.keep[cut - 1] != k) else self.keep[:cut]
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

    def values(self):
        return self.h.loss


class LearningRate(Curves):
    ylabel = "learning rate"
    title = "Learning rate"

    def values(self):
        return self.h.lr


_FIELDS = {
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="y axis; auto: log when the values span more than two decades"),
    "title": Field("str"),
    "ylabel": Field("str"),
}

LOSS = ViewDef("loss", dict(_FIELDS), Loss, "each run's full-data loss, step by step")
LR = ViewDef("lr", dict(_FIELDS), LearningRate, "the learning rate each run used, step by step")
