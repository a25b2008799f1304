"""`grid`: small multiples of any view, one panel per run or per value of a swept key.

`{ type = "grid", view = "fit_line", by = "lr" }` draws the inner view once per value of `lr`, each on a
History restricted to that value's runs, with shared axes and the value as the panel's title (seed 003's
tables of animations for learning rates and batch sizes).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..declare.views.sweeps import panels, restrict
from .base import View


class Grid(View):
    def setup(self, fig, cell):
        from . import VIEWS

        spec = self.options["view"]
        h, ctx = self.h, self.ctx
        groups = panels(h, self.options.get("by"))
        n = len(groups)
        cols = self.options.get("cols") or _auto_cols(n, fig, cell)
        cols = min(cols, n)
        rows = math.ceil(n / cols)
        sub = cell.subgridspec(rows, cols, wspace=0.08, hspace=0.1 if rows > 1 else None)
        share = self.options.get("share", True)
        self.views, artists, axes_of = [], [], []
        for i, (title, idx) in enumerate(groups):
            inner = replace(ctx, history=restrict(h, idx), colors=[ctx.colors[r] for r in idx],
                            styles=[ctx.styles[r] for r in idx] if ctx.styles else None,
                            limits_from=ctx.extent if share else None)
            view = VIEWS[spec.type].cls(dict(spec.options), inner)
            before = len(fig.axes)
            artists += list(view.setup(fig, sub[i // cols, i % cols]))
            axs = fig.axes[before:]
            if axs:
                axs[0].set_title(title)
                if len(idx) == 1:
                    for a in axs:
                        if a.get_legend() is not None:
                            a.get_legend().remove()
            self.views.append(view)
            axes_of.append(axs)
        if share:
            _share(axes_of, cols)
        return artists

    def update(self, step):
        for v in self.views:
            v.update(step)

    def background_changed(self, step):
        return any(v.background_changed(step) for v in self.views)

    def after_layout(self):
        for v in self.views:
            v.after_layout()


def _auto_cols(n: int, fig, cell) -> int:
    """Columns that make the panels closest to 4:3."""
    box = cell.get_position(fig)
    W, H = fig.get_size_inches()
    aspect = (box.width * W) / max(box.height * H, 1e-9)
    best = min(range(1, n + 1), key=lambda c: abs(math.log((aspect / c) * math.ceil(n / c) / (4 / 3)))
               + 0.05 * (c * math.ceil(n / c) - n))
    return best


def _share(axes_of: list[list], cols: int) -> None:
    """The same limits (and scale) in every panel, tick labels only on the outer panels."""
    counts = {len(a) for a in axes_of}
    if len(counts) != 1 or not counts.pop():
        return
    n = len(axes_of)
    for k in range(len(axes_of[0])):
        axs = [a[k] for a in axes_of]
        if any(hasattr(a, "_colorbar") or a.name != "rectilinear" for a in axs):
            continue
        shared = {}
        for axis in ("x", "y"):
            get, set_ = getattr(type(axs[0]), f"get_{axis}lim"), getattr(type(axs[0]), f"set_{axis}lim")
            lims = np.array([get(a) for a in axs])
            scales = {getattr(a, f"get_{axis}scale")() for a in axs}
            if scales == {"linear", "log"} and (lims > 0).any():
                # some panels chose a log axis (values over decades): all of them get one
                for a in axs:
                    getattr(a, f"set_{axis}scale")("log")
                scales = {"log"}
                lims = np.where(lims > 0, lims, np.nan)
            if len(scales) != 1:
                shared[axis] = False
                continue
            flipped = lims[0, 0] > lims[0, 1]
            lo, hi = np.nanmin(lims), np.nanmax(lims)
            for a in axs:
                set_(a, (hi, lo) if flipped else (lo, hi))
            shared[axis] = True
        if len(axes_of[0]) != 1:
            continue
        for i, a in enumerate(axs):
            if shared["x"] and i + cols < n:
                a.tick_params(axis="x", labelbottom=False)
                a.set_xlabel("")
            if shared["y"] and i % cols:
                a.tick_params(axis="y", labelleft=False)
                a.set_ylabel("")
