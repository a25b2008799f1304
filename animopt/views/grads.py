"""`grads`: for one parameter, the raw minibatch gradient against the update direction the optimizer
applied (seed 002's "raw vs momentum-smoothed" picture). `layout = "overlay"` (the default) draws both on
one axis, the raw gradient thin and light, the direction applied thick, so that the smoothing shows as
a difference in amplitude; `layout = "stacked"` gives each its own panel (for adaptive methods, whose
direction is not in the gradient's units)."""
from __future__ import annotations

import numpy as np

from .base import (EdgeMarks, View, avoid, curve_lines, decimate, diverged_note,
                   legend, param_index, run_limits, run_style, series_exits, show_diverged, to_edges, upto)


class Grads(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        (self.k,) = param_index(h, None if o.get("param") is None else [o["param"]], 0)
        name = h.param_names[self.k]
        S = h.grads.shape[0]
        self.t = np.arange(S)
        self.keep = decimate(S, 3000)
        overlay = o.get("layout", "overlay") == "overlay"
        if overlay:
            top = bot = fig.add_subplot(cell)
            self.axes = (top,)
        else:
            sub = cell.subgridspec(2, 1)
            top = fig.add_subplot(sub[0])
            bot = fig.add_subplot(sub[1], sharex=top)
            self.axes = (top, bot)
        ext = ctx.extent
        self.series = []
        st = run_style(ctx)
        lw = min(st["lw"], 1.4)
        # overlay: the raw gradient thin and light under the direction applied, one y range for both
        looks = ((0.8, 0.45, 2), (lw * 1.4, st["alpha"], 3)) if overlay else ((lw, st["alpha"], 2),) * 2
        both = np.concatenate([ext.grads[..., self.k], ext.updates[..., self.k]], axis=0)
        self.lines, self.edges = [], []
        for ax, arr, earr, (w, alpha, z) in zip((top, bot), (h.grads, h.updates), (ext.grads, ext.updates), looks):
            v = np.array(arr[..., self.k], dtype=np.float64)
            for r in np.nonzero(h.diverged_at >= 0)[0]:
                v[h.diverged_at[r]:, r] = np.nan          # nothing after the step it diverged
            lo, hi = run_limits(both if overlay else earr[..., self.k], ext, pad=0.08, include=[0.0], q=0.5)
            v = to_edges(v, lo, hi)                       # a curve that leaves runs to the edge
            self.series.append(v)
            if not overlay or arr is h.updates:           # overlaid: the direction applied is marked
                self.edges.append(EdgeMarks(ax, ctx, *series_exits(v, lo, hi), size=36))
            avoid(ax, curve_lines(self.t[self.keep], v[self.keep]))
            ax.set_ylim(lo, hi)
            ax.set_xlim(0, max(S, 1))          # the same step axis as the other panels
            ax.axhline(0.0, color=th.muted, lw=0.8, zorder=1)
            self.lines.append([ax.plot(self.t[self.keep], v[self.keep, r], **ctx.style(r).line(z), lw=w,
                                       alpha=alpha)[0] for r in range(len(ctx.colors))])
        small = th.font_size - 1
        raw = "minibatch gradient" if h.batch_idx is not None else "gradient"
        extra = ()
        if overlay:
            from matplotlib.lines import Line2D
            top.set_title(o.get("title") or f"∂L/∂{name}: raw {raw} (thin) and direction applied (thick)",
                          loc="left", fontsize=small)
            extra = ((Line2D([], [], color=th.muted, lw=0.8, alpha=0.6), f"raw {raw}"),
                     (Line2D([], [], color=th.muted, lw=lw * 1.4), "direction applied"))
        else:
            top.set_title(o.get("title") or f"raw {raw} ∂L/∂{name}", loc="left", fontsize=small)
            bot.set_title(f"update direction applied to {name}", loc="left", fontsize=small)
            top.tick_params(axis="x", labelbottom=False)
        bot.set_xlabel("step")
        if o.get("legend", True):
            legend(top, ctx, extra=extra, loc="upper right", fontsize=th.font_size - 3)
        self.notes = diverged_note(bot, ctx, y0=0.95)
        return [*self.lines[0], *self.lines[1], *self.notes.values(), *(a for e in self.edges for a in e.artists)]

    def update(self, step):
        # the gradients used by the updates done so far: 0 .. step-1
        k = min(step, len(self.t)) - 1
        idx = upto(self.keep, k) if k >= 0 else np.zeros(0, dtype=np.int64)
        for v, lines in zip(self.series, self.lines):
            for r, ln in enumerate(lines):
                ln.set_data(self.t[idx], v[idx, r])
        for e in self.edges:
            e.update(step - 1)                            # the gradient of update k is drawn from step k + 1
        show_diverged(self.notes, self.h, step)
