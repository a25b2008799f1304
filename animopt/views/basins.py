"""`basins`: a grid of starting points, each coloured frame by frame by where its run is heading.

The scene starts a run at every point of a grid (`init = { grid = [[x0, x1, nx], [y0, y1, ny]] }` in
[train]). Each start is one pixel of an image (one `imshow` per panel, redrawn per frame: a 400 x 400
grid is 160,000 runs, never 160,000 patches) in the colour of the marked minimum its run is nearest at
the frame's step: full colour once it has settled there (within `radius` of it, at this step and the one
before), a pale tint of that colour while it is still moving, dark once it has diverged. One panel per
[[optimizer]] entry, or per value of the other swept keys. With `compare = true` every panel after the
first carries the first panel's basin boundaries as thin lines, and says what share of its starts is
heading elsewhere than the same start in the first panel.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from ..declare.views.basins import MAX_PANELS, grid_of, panels
from ..declare.views.common import marked_points
from .base import View

BASIN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999933")
PALE = 0.62               # a moving start: its minimum's colour mixed this far toward the background


def classify(now: np.ndarray, before: np.ndarray, minima: np.ndarray, radius: float, gone: np.ndarray):
    """(nearest [n] minimum index, settled [n], diverged [n]) of the points `now` [n, 2]: settled when
    within `radius` of the nearest minimum now and at `before` (the step before)."""
    x, y = now[:, 0], now[:, 1]
    near = np.zeros(len(now), dtype=np.int64)
    best = np.full(len(now), np.inf, dtype=now.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        for j, (mx, my) in enumerate(minima):          # a few minima: one pass each, no [n, k] array
            d2 = (x - mx) ** 2 + (y - my) ** 2
            closer = d2 < best
            best = np.where(closer, d2, best)
            near[closer] = j
        m = minima[near].astype(now.dtype)
        db = ((before - m) ** 2).sum(1)
        bad = gone | ~np.isfinite(now).all(1)
        settled = ~bad & (best <= radius ** 2) & (db <= radius ** 2)
    return near, settled, bad


def boundaries(label: np.ndarray) -> np.ndarray:
    """[ny, nx] True on the cells whose label differs from a neighbour's (right or up)."""
    b = np.zeros(label.shape, dtype=bool)
    b[:, :-1] |= label[:, :-1] != label[:, 1:]
    b[:-1, :] |= label[:-1, :] != label[1:, :]
    return b


class Basins(View):
    def setup(self, fig, cell):
        h, th, o = self.h, self.ctx.theme, self.options
        self.mins, saddles = marked_points(h.problem, len(h.param_names))
        k = self.k = len(self.mins)
        self.base = np.array([to_rgb(c) for c in (BASIN_COLORS * (1 + k // len(BASIN_COLORS)))[:k]])
        bg = np.array(to_rgb(th.background))
        self.dark = np.array(to_rgb("#3a3d45" if th.name == "light" else "#000000"))
        # colour codes: 0..k-1 settled at minimum i, k..2k-1 heading to it (pale), 2k diverged
        pale = self.base + PALE * (bg - self.base)
        self.lut = (np.vstack([self.base, pale, self.dark]) * 255).round().astype(np.uint8)
        starts = np.asarray(h.hparams["init"], dtype=np.float64)
        self.groups = []
        for title, runs in panels(h)[:MAX_PANELS]:
            xs, ys, row, col = grid_of(starts[runs])
            self.groups.append((title, runs, xs, ys, row * len(xs) + col))
        n = len(self.groups)
        xs, ys = self.groups[0][2], self.groups[0][3]
        self.radius = float(o.get("radius") or 0.01 * max(xs[-1] - xs[0], ys[-1] - ys[0]))
        grid = cell.subgridspec(2, n, height_ratios=[1.0, 0.001], hspace=0.02, wspace=0.08)
        self.axes, self.images, self.notes = [], [], []
        for i in range(n):
            self._panel(fig.add_subplot(grid[0, i], sharex=self.axes[0] if i else None,
                                        sharey=self.axes[0] if i else None), i, saddles)
        self.compare = bool(o.get("compare", False)) and n > 1
        self.lines = self._final_edges() if self.compare else []
        self._key(fig.add_subplot(grid[1, :]), bg)
        return [*self.images, *self.lines, *self.notes]

    def _panel(self, ax, i: int, saddles: np.ndarray) -> None:
        """Panel i: its image of the starts, the marked points, a note; its axes fit the grid."""
        h, th = self.h, self.ctx.theme
        title, runs, xs, ys, where = self.groups[i]
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
        ext = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
        im = ax.imshow(self._image(i, 0), origin="lower", extent=ext, interpolation="antialiased",
                       aspect="equal", zorder=1)
        ax.grid(False)
        ax.set_title(title, fontsize=th.font_size - 1)
        ax.set_xlabel(h.param_names[0])
        if i == 0:
            ax.set_ylabel(h.param_names[1])
        else:
            ax.tick_params(axis="y", labelleft=False)
        if len(saddles):
            ax.scatter(saddles[:, 0], saddles[:, 1], marker="X", s=60, color=th.foreground,
                       edgecolors=th.background, linewidths=0.8, zorder=4)
        if self.k:
            ax.scatter(self.mins[:, 0], self.mins[:, 1], marker="*", s=200, c=self.base, edgecolors=th.foreground,
                       linewidths=1.0, zorder=5)
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(ext[2], ext[3])
        self.axes.append(ax)
        self.images.append(im)
        self.notes.append(ax.text(0.02, 0.98, "", transform=ax.transAxes, ha="left", va="top",
                                  fontsize=th.font_size - 4, color=th.foreground, zorder=6,
                                  bbox=dict(boxstyle="round,pad=0.25", fc=th.background, ec="none", alpha=0.8)))

    def _final_edges(self) -> list:
        """The first panel's final basin edges over each other panel of the same grid (compare = true)."""
        edge = boundaries(self._labels(0, self.h.steps))
        rgba = np.zeros(edge.shape + (4,))
        rgba[edge] = (*to_rgb(self.ctx.theme.foreground), 0.9)
        lines = []
        for i in range(1, len(self.groups)):          # animated too: drawn over the image of each frame
            if self.groups[i][4].shape == self.groups[0][4].shape:
                lines.append(self.axes[i].imshow(rgba, origin="lower", extent=self.images[i].get_extent(),
                                                 interpolation="nearest", aspect="equal", zorder=2))
        return lines

    def _key(self, key, bg: np.ndarray) -> None:
        """The key under the panels: each minimum's colour, the pale tint, the diverged colour."""
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        th, k = self.ctx.theme, self.k
        key.axis("off")
        items = [(Patch(fc=self.base[i], ec="none"), f"({self.mins[i, 0]:.3g}, {self.mins[i, 1]:.3g})")
                 for i in range(k)]
        items.append((Patch(fc=self.lut[k] / 255 if k else bg, ec="none"), "pale: still moving, heading there"))
        items.append((Patch(fc=self.dark, ec="none"), "diverged"))
        if self.compare:
            items.append((Line2D([], [], color=th.foreground, lw=1.2), f"{self.groups[0][0]}'s final basins"))
        key.legend([i[0] for i in items], [i[1] for i in items], loc="upper center", ncol=min(len(items), 4),
                   fontsize=th.font_size - 3, frameon=False, handlelength=1.2, columnspacing=1.2,
                   bbox_to_anchor=(0.5, 1.0), borderaxespad=0.0, title="start coloured by the minimum it "
                   "is nearest", title_fontsize=th.font_size - 3)

    def _points(self, i: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        runs = self.groups[i][1]
        h = self.h
        now = np.asarray(h.params[step][runs])
        before = np.asarray(h.params[max(0, step - 1)][runs])
        d = h.diverged_at[runs]
        return now, before, (d >= 0) & (d <= step)

    def _labels(self, i: int, step: int) -> np.ndarray:
        """[ny, nx] the minimum each start of panel i is nearest at `step` (-1: diverged)."""
        now, before, gone = self._points(i, step)
        near, _, bad = classify(now, before, self.mins, self.radius, gone)
        _, _, xs, ys, where = self.groups[i]
        out = np.full(len(xs) * len(ys), -1, dtype=np.int64)
        out[where] = np.where(bad, -1, near)
        return out.reshape(len(ys), len(xs))

    def _image(self, i: int, step: int) -> np.ndarray:
        _, runs, xs, ys, where = self.groups[i]
        if self.k == 0:
            return np.zeros((len(ys), len(xs), 3), dtype=np.uint8)
        now, before, gone = self._points(i, step)
        near, settled, bad = classify(now, before, self.mins, self.radius, gone)
        code = np.where(bad, 2 * self.k, np.where(settled, near, near + self.k))
        img = np.zeros((len(ys) * len(xs), 3), dtype=np.uint8)
        img[where] = self.lut[code]
        self._last = (near, settled, bad)
        return img.reshape(len(ys), len(xs), 3)

    def update(self, step):
        ref = None
        for i, im in enumerate(self.images):
            im.set_data(self._image(i, step))
            near, settled, bad = self._last
            n = len(near)
            parts = [f"settled {settled.mean():.0%}, moving {(~settled & ~bad).mean():.0%}"
                     + (f", diverged {bad.mean():.1%}" if bad.any() else "")]
            label = np.where(bad, -1, near)
            if i == 0:
                ref = (label, self.groups[0][4])
            elif self.compare and ref is not None and len(ref[0]) == n:
                other = np.empty(n, dtype=np.int64)
                other[self.groups[i][4]] = label
                first = np.empty(n, dtype=np.int64)
                first[ref[1]] = ref[0]
                parts.append(f"{(other != first).mean():.1%} heading elsewhere than with {self.groups[0][0]}")
            self.notes[i].set_text("\n".join(parts))
