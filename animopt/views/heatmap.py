"""`heatmap`: the loss over a two-hyperparameter sweep (e.g. lr x momentum), step by step.

The top panel colours each (x, y) cell by the loss its run(s) reached at the current step (log colour
scale, fixed for the whole clip); cells whose run diverged are masked and marked. In each column, the
cells whose loss ties with the column's best (within `best_tolerance`, see `tie_margin`) are ringed: a
band where many choices are as good, a single ring with a dot where the best y is significant (a line
joins such dots only in neighbouring columns one row apart: no long segment across a gap); never an
argmin through ties. Below it, the best loss for each x, and under that a key that explains the rings,
the dots, the star, the crosses and the colours past the colour bar.
"""
from __future__ import annotations

import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import LogNorm
from matplotlib.cm import ScalarMappable
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..declare.views.sweeps import fmt_value
from ..glyphs import add_text
from .base import View


IMAGE_CELLS = 10_000      # past this many cells, one image a frame (imshow) instead of a mesh of cells


def is_log_spaced(vals: np.ndarray) -> bool:
    """True for positive values spread evenly in log space over at least a decade."""
    v = np.sort(np.asarray(vals, dtype=np.float64))
    if len(v) < 2 or v[0] <= 0 or v[-1] / v[0] < 8:
        return False
    if len(v) == 2:
        return True
    d = np.diff(np.log(v))
    lin = np.diff(v)
    return bool(d.std() <= 0.15 * d.mean() and lin.std() > 0.15 * lin.mean())


def cell_edges(vals: np.ndarray, log: bool) -> np.ndarray:
    """Edges between sorted cell centres (geometric midpoints on a log axis)."""
    v = np.log(vals) if log else np.asarray(vals, dtype=np.float64)
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def tie_margin(best: np.ndarray, floor: float, tolerance: float) -> np.ndarray:
    """How far above a column's `best` loss a cell still ties with it: `tolerance` times the larger of
    the best and the noise `floor` (the problem's min_loss, the loss left by the noise in the data, or
    1e-9 of the starting loss for noise-free data): at the floor, minibatch noise alone reorders the
    cells by a few percent, so a 10% margin keeps the ties together."""
    return tolerance * np.maximum(best, floor)


def tied_cells(values: np.ndarray, floor: float, tolerance: float) -> np.ndarray:
    """[ny, nx] True where a cell's loss ties with the best of its column (NaN cells never do)."""
    pos = np.where(np.isfinite(values), values, np.inf)
    best = pos.min(0)
    with np.errstate(invalid="ignore"):
        return np.isfinite(pos) & (pos <= best + tie_margin(best, floor, tolerance))


def _values(history, key: str, runs: np.ndarray) -> np.ndarray:
    return np.asarray(history.hparams[key], dtype=np.float64)[runs]


class Heatmap(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        self._cells(o)
        cols = self._colour_range()
        self.xlog = self._scale("xscale", self.xs)
        self.ylog = self._scale("yscale", self.ys)
        gap, bar, room = self._panels(fig, cell)
        cmap = _cmap(th)
        self._mesh(fig, cmap)
        ax, bx, xk, yk = self.ax, self.bx, o["x"], o["y"]
        _ticks(ax.yaxis, self.ys)
        _ticks(bx.xaxis, self.xs)
        ax.tick_params(axis="x", labelbottom=False)
        ax.set_ylabel(yk)
        ax.set_title(o.get("title") or f"Loss over {xk} \u00d7 {yk}")
        cb = fig.colorbar(ScalarMappable(norm=self.norm, cmap=cmap), cax=self.cax, extend="max", extendfrac=0.04)
        cb.set_label("loss", fontsize=th.font_size - 2)
        cb.ax.tick_params(labelsize=th.font_size - 3)
        cb.outline.set_visible(False)
        line_c = "#ffffff" if th.name == "light" else "#56B4E9"
        self._marks(line_c)
        # the companion curve: best loss for each x
        bx.set_yscale("log")
        worst = float(cols[np.isfinite(cols)].max()) if np.isfinite(cols).any() else self.vmax
        bx.set_ylim(self.vmin / 1.5, min(max(self.vmax, worst) * 2, self.vmax * 1e3))   # the whole curve
        bx.set_xlabel(xk)
        bx.set_ylabel("best loss", fontsize=th.font_size - 1)
        # (a plain line past IMAGE_CELLS: a marker a column would be a thousand dots)
        self.best_curve, = bx.plot([], [], color=th.palette[0], lw=1.8, marker="none" if self.image else "o",
                                   ms=4.5, zorder=3)
        if self.image:
            self._summaries(np.unique(np.asarray(ctx.frame_steps, dtype=np.int64)))
        # the best cell above the lower panel; how many cells diverged beside it, under the colour bar
        small = th.font_size - 3
        # (new strings every frame: drawn from cached glyphs, the same pixels as plain text)
        self.best_text = add_text(bx, 1.0, 1.04, "", transform=bx.transAxes, ha="right", va="bottom",
                                  fontsize=small, color=th.foreground)
        self.div_count = add_text(bx, 1.0 + (gap + bar) / (1.0 - gap - bar - room), 1.0, "",
                                  transform=bx.transAxes, ha="left", va="top", fontsize=small,
                                  color=th.foreground, linespacing=1.3)
        self._key(bx, cmap, line_c)
        return [self.mesh, self.best_line, self.tie_marks, self.best_star, self.div_marks,
                *self.div_text.values(), self.best_curve, self.best_text, self.div_count]

    def _cells(self, o) -> None:
        """The grid: its x and y values, the cell of each run, each cell's loss at every step and its
        first divergence."""
        h = self.h
        runs = np.arange(h.runs)
        if o.get("optimizer") is not None and h.optimizer is not None:
            runs = runs[h.optimizer == o["optimizer"]]
        xv, yv = _values(h, o["x"], runs), _values(h, o["y"], runs)
        ok = np.isfinite(xv) & np.isfinite(yv)
        runs, xv, yv = runs[ok], xv[ok], yv[ok]
        self.xs, self.ys = np.unique(xv), np.unique(yv)
        nx, ny = len(self.xs), len(self.ys)
        # run r is in cell c = row * nx + col (an index a run, not a [cells, runs] matrix: a million cells)
        self.cell_of = np.searchsorted(self.ys, yv) * nx + np.searchsorted(self.xs, xv)
        self.count = np.bincount(self.cell_of, minlength=ny * nx)
        # a grid of more than IMAGE_CELLS cells is drawn as one image, without rings or crosses
        self.image = ny * nx > IMAGE_CELLS
        self.runs = runs
        self.cells = self._cell_loss(h.loss, runs)                 # [S+1, ny*nx]
        div = h.diverged_at[runs]
        self.never = np.iinfo(np.int64).max
        self.cell_div = np.full(ny * nx, self.never, dtype=np.int64)
        np.minimum.at(self.cell_div, self.cell_of, np.where(div >= 0, div, self.never))   # [cells] first divergence

    def _colour_range(self) -> np.ndarray:
        """The colours span the best loss reached to the starting loss (worse than the start is "over"):
        vmin, vmax, norm and the floor; returns [S+1, nx] the column minima (a few steps at a time: no
        temporary of the size of every cell at every step)."""
        nx, ny = len(self.xs), len(self.ys)
        n_fin, low = 0, np.inf
        cols = np.empty((len(self.cells), nx), dtype=self.cells.dtype)
        for a in range(0, len(self.cells), 8):
            c = self.cells[a:a + 8]
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(c) & (c > 0)
            n_fin += int(ok.sum())
            low = min(low, float(np.where(ok, c, np.inf).min()))
            cols[a:a + 8] = np.where(np.isfinite(c), c, np.inf).reshape(len(c), ny, nx).min(1)
        start = self.cells[0][np.isfinite(self.cells[0]) & (self.cells[0] > 0)]
        if n_fin:
            if start.size:
                vmax = start.max()
            else:
                vmax = np.percentile(self.cells[np.isfinite(self.cells) & (self.cells > 0)], 99)
            vmin = max(low, vmax * 1e-10)
        else:
            vmin, vmax = 1e-3, 1.0
        if vmax <= vmin * 1.01:
            vmin, vmax = vmin / 10, vmin * 10
        self.vmin, self.vmax = vmin, vmax
        info = self.h.problem
        self.floor = max(float(info.min_loss or 0.0) if info is not None else 0.0, 1e-9 * vmax)
        self.norm = LogNorm(vmin, vmax)
        return cols

    def _panels(self, fig, cell) -> tuple[float, float, float]:
        """The map (ax), its colour bar (cax) and the best-loss panel under it (bx); returns the gap, the
        bar and the bar labels' room as fractions of the cell's width."""
        box = cell.get_position(fig)
        width_px = max(box.width * fig.get_figwidth() * fig.dpi, 1.0)
        self.cell_width_px = width_px
        self.height_px = box.height * fig.get_figheight() * fig.dpi * 3.0 / 4.25
        bar = 14.0 / width_px
        room = (self.ctx.theme.font_size * 5.0 * fig.dpi / 100.0) / width_px   # the colour bar's labels
        gap = 10.0 / width_px
        grid = cell.subgridspec(2, 4, height_ratios=[3.0, 1.25],
                                width_ratios=[1.0 - gap - bar - room, gap, bar, room], hspace=0.2, wspace=0.0)
        self.ax = ax = fig.add_subplot(grid[0, 0])
        self.cax = fig.add_subplot(grid[0, 2])
        self.bx = fig.add_subplot(grid[1, 0], sharex=ax)
        ax.grid(False)
        ax.set_xscale("log" if self.xlog else "linear")
        ax.set_yscale("log" if self.ylog else "linear")
        return gap, bar, room

    def _mesh(self, fig, cmap) -> None:
        """The cells: a mesh, or past IMAGE_CELLS the axes' own pixels (`AxesPixels`)."""
        ax, th = self.ax, self.ctx.theme
        nx, ny = len(self.xs), len(self.ys)
        xe, ye = cell_edges(self.xs, self.xlog), cell_edges(self.ys, self.ylog)
        if self.image:      # one image a frame: cells evenly spaced on their (log or linear) axes
            # an RGBA image of the axes' own pixel size made from the cells once a step (_pixels: the
            # cell under each pixel through the colour map's bytes), drawn 1:1 at the axes' corner: no
            # colour mapping or resampling of a million cells, nor of the image, a frame
            self._lut = colour_table(cmap)
            self._px = None                   # [H, W] the cell under each pixel, after the layout
            self._rgba = (None, None)         # (step, [H, W, 4] uint8) of the last frame drawn
            self.mesh = AxesPixels(ax)
            ax.add_artist(self.mesh)
        else:
            # thin separators between cells big enough to show them (about 20 pixels or more)
            cell_px = min(self.cell_width_px / nx, self.height_px / ny)
            self.mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(self._frame_values(0)), cmap=cmap,
                                      norm=self.norm, shading="flat", edgecolors=th.background,
                                      linewidth=0.5 * 72 / fig.dpi if cell_px >= 20 else 0.0)
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])

    def _marks(self, line_c: str) -> None:
        """Ties with each column's best (rings), the line through the clear bests, the star, and the
        crosses (and steps) of diverged cells."""
        ax, th = self.ax, self.ctx.theme
        nx, ny = len(self.xs), len(self.ys)
        # a dot on each column's clear best, a line only between neighbouring columns whose clear bests
        # are in the same or adjacent rows: no long segment across a gap reads as a trend
        self.best_line, = ax.plot([], [], color=line_c, lw=1.8, zorder=4, marker="none" if self.image else "o",
                                  ms=4.5, markevery=(0, 2), path_effects=_outline())
        n_marks = 0 if self.image else nx * ny
        self.tie_marks = ax.scatter(np.full(n_marks, np.nan), np.full(n_marks, np.nan), s=26, marker="o",
                                    facecolors="none", edgecolors=line_c, linewidths=1.6, zorder=4,
                                    path_effects=_outline())
        self.best_star, = ax.plot([], [], marker="*", ms=15, color="#E69F00", mec="#222222", mew=0.8,
                                  ls="none", zorder=5)
        cx, cy = np.meshgrid(self.xs, self.ys)
        self.centres = np.c_[cx.ravel(), cy.ravel()]
        self.div_cells = np.nonzero(self.cell_div < self.never)[0]
        if self.image:
            self.div_cells = self.div_cells[:0]
        self.div_marks = ax.scatter(np.full(len(self.div_cells), np.nan), np.full(len(self.div_cells), np.nan),
                                    marker="x", s=28 if nx * ny > 120 else 48, c=th.foreground, linewidths=1.4,
                                    zorder=3)
        self.div_text = {}
        if len(self.div_cells) and nx * ny <= 36:
            for c in self.div_cells:
                self.div_text[int(c)] = ax.text(*self.centres[c], f"\n\nstep {self.cell_div[c]}", ha="center",
                                                va="center", fontsize=th.font_size - 4, color=th.foreground,
                                                visible=False, zorder=3)

    def _key(self, bx, cmap, line_c) -> None:
        """What the marks and the colours past the colour bar mean, under the lower panel."""
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        th = self.ctx.theme
        tol = self.options.get("best_tolerance", 0.1)
        items = [(Line2D([], [], ls="", marker="o", ms=6, mfc="none", mec=line_c, mew=1.6,
                         path_effects=_outline()), f"within {tol:.0%} of its column's best"),
                 (Line2D([], [], color=line_c, lw=1.8, marker="none" if self.image else "o", ms=4.5,
                         path_effects=_outline()),
                  "its column's clear best"),
                 (Line2D([], [], ls="", marker="*", ms=11, color="#E69F00", mec="#222222"), "best cell"),
                 (Patch(fc=cmap.get_over(), ec="none"), "worse than the start"),
                 (Line2D([], [], ls="", marker="x", ms=6, mew=1.4, color=th.foreground,
                         mfc=cmap.get_bad()), "diverged (grey)")]
        if self.image:                       # pixel-size cells: no rings, no crosses, diverged cells grey
            items[-1] = (Patch(fc=cmap.get_bad(), ec="none"), "diverged")
            items.pop(0)
        if not (self.h.diverged_at >= 0).any():
            items.pop()
        # under the lower panel's axis label, where the layout makes room for it: never over the curve;
        # two columns when they fit the panel's width, else one
        from matplotlib.transforms import ScaledTranslation

        fig = bx.get_figure()
        below = bx.transAxes + ScaledTranslation(0, -2.9 * th.font_size / 72, fig.dpi_scale_trans)
        width = self.cell_width_px
        for ncol in (2, 1):
            leg = bx.legend([i[0] for i in items], [i[1] for i in items], loc="upper center", ncol=ncol,
                            bbox_to_anchor=(0.5, 0.0), bbox_transform=below, fontsize=th.font_size - 4,
                            handlelength=1.2, columnspacing=1.0, borderaxespad=0.0, framealpha=0.85)
            if ncol == 1 or leg.get_window_extent(fig.canvas.get_renderer()).width <= width:
                break

    def _scale(self, key: str, vals: np.ndarray) -> bool:
        s = self.options.get(key, "auto")
        if s == "log":
            return bool(vals.min() > 0)
        return s == "auto" and is_log_spaced(vals)

    def _cell_loss(self, loss: np.ndarray, runs: np.ndarray) -> np.ndarray:
        """[S+1, cells] mean loss of each cell's runs; NaN if a run in it has diverged, or no run is there.
        (In the loss's dtype: a million float32 cells a step.)"""
        n_cells = len(self.count)
        if len(runs) == n_cells and (self.count == 1).all():      # one run a cell: a permutation
            order = np.empty(n_cells, dtype=np.int64)
            order[self.cell_of] = runs
            if len(runs) == loss.shape[1] and (order == np.arange(n_cells)).all():
                return loss                    # already in cell order (a full grid sweep): no copy
            return np.take(loss, order, axis=1)      # (C order: loss[:, order] would stride each step's row)
        out = np.empty((loss.shape[0], n_cells), dtype=np.result_type(loss.dtype, np.float32))
        for t in range(loss.shape[0]):
            lt = loss[t, runs]
            finite = np.isfinite(lt)
            total = np.bincount(self.cell_of, np.where(finite, lt, 0.0), minlength=n_cells)
            bad = np.bincount(self.cell_of, ~finite, minlength=n_cells)
            with np.errstate(invalid="ignore", divide="ignore"):
                row = total / self.count
            row[(bad > 0) | (self.count == 0)] = np.nan
            out[t] = row
        return out

    def _frame_values(self, step: int) -> np.ndarray:
        k = min(step, self.cells.shape[0] - 1)
        return self.cells[k].reshape(len(self.ys), len(self.xs))

    def after_layout(self) -> None:
        if self.image:                        # the cell under the centre of each pixel of the axes
            _, (fx, fy) = self.mesh.grid()
            nx, ny = len(self.xs), len(self.ys)
            rows = np.clip((fy * ny).astype(np.int64), 0, ny - 1)
            cols = np.clip((fx * nx).astype(np.int64), 0, nx - 1)
            self._px = rows[:, None] * nx + cols[None, :]
            self._rgba = (None, None)

    def _pixels(self, step: int) -> np.ndarray:
        """[H, W, 4] uint8: the colours of the cells under the axes' pixels at `step` (the colour map's
        bad colour for NaN and non-positive losses, its over colour past the starting loss)."""
        if self._rgba[0] == step:
            return self._rgba[1]
        if self._px is None:
            self.after_layout()
        v = np.take(self.cells[min(step, self.cells.shape[0] - 1)], self._px)
        idx = colour_index(v, self.vmin, self.vmax, len(self._lut) - 3)
        rgba = self._lut.take(idx).view(np.uint8).reshape(*v.shape, 4)
        self._rgba = (step, rgba)
        return rgba

    def _summaries(self, steps: np.ndarray, chunk: int = 8) -> None:
        """Per step, what `update` draws besides the image, for a grid drawn as one: each column's best
        row, whether it is its column's clear best, its loss, and the cells tied with the best cell;
        computed once a step (a few steps at a time), so a frame does no work a cell."""
        nx, ny = len(self.xs), len(self.ys)
        tol = self.options.get("best_tolerance", 0.1)
        self._summary = getattr(self, "_summary", {})
        steps = [int(s) for s in steps if int(s) not in self._summary]
        for a in range(0, len(steps), chunk):
            ks = steps[a:a + chunk]
            v = self.cells[[min(k, self.cells.shape[0] - 1) for k in ks]].reshape(len(ks), ny, nx)
            fin = np.isfinite(v)
            pos = np.where(fin, v, np.inf)
            best_row = np.argmin(pos, 1)                                     # [K, nx]
            best = np.take_along_axis(pos, best_row[:, None, :], 1)[:, 0]    # [K, nx]
            with np.errstate(invalid="ignore"):
                tied = fin & (pos <= (best + tie_margin(best, self.floor, tol))[:, None, :])
            tied &= ~(tied == fin).all(1)[:, None, :]              # a column where all tie: no choice to mark
            unique = tied.sum(1) == 1
            has = fin.any(1)
            del tied, fin
            for i, k in enumerate(ks):
                bl = np.where(has[i], best[i], np.nan)
                ties = 0
                if has[i].any():
                    g = np.nanmin(bl)
                    with np.errstate(invalid="ignore"):
                        ties = int((pos[i] <= g + tie_margin(np.float64(g), self.floor, tol)).sum())
                self._summary[k] = (best_row[i], has[i], unique[i], bl, ties)
            del pos, v
        if not hasattr(self, "_div_sorted"):
            self._div_sorted = np.sort(self.cell_div)

    def _update_image(self, step):
        self.mesh.set_data(self._pixels(step))
        if step not in self._summary:
            self._summaries(np.array([step]))
        best_row, has, unique, bl, ties = self._summary[step]
        self.best_line.set_data(*best_path(self.xs, self.ys, best_row, has & unique, self.xlog, self.ylog))
        self.best_curve.set_data(self.xs, np.maximum(bl, self.vmin))
        if has.any():
            j = int(np.nanargmin(bl))
            i = best_row[j]
            self.best_star.set_data([self.xs[j]], [self.ys[i]])
            self._best_text(bl[j], j, i, ties)
        else:
            self.best_star.set_data([], [])
            self.best_text.set_text("")
        self._diverged_text(int(np.searchsorted(self._div_sorted, step, side="right")))

    def _best_text(self, loss: float, j: int, i: int, ties: int) -> None:
        """The best cell's loss and place, and how many cells tie with it."""
        xk, yk = self.options["x"], self.options["y"]
        also = f" (+{ties - 1:,} ties)" if ties > 1 else ""
        self.best_text.set_text(f"\u2605 loss {loss:.2g} at {xk}={fmt_value(self.xs[j])}, "
                                f"{yk}={fmt_value(self.ys[i])}{also}")

    def _diverged_text(self, n: int) -> None:
        self.div_count.set_text(f"\u00d7 {n:,}/{len(self.xs) * len(self.ys):,}\ndiverged" if n else "")

    def update(self, step):
        if self.image:
            return self._update_image(int(step))
        v = self._frame_values(step)
        self.mesh.set_array(np.ma.masked_invalid(v).ravel())
        pos = np.where(np.isfinite(v), v, np.inf)
        has = np.isfinite(pos).any(0)                              # [nx] columns with a finite cell
        best_row = np.argmin(pos, 0)
        tied = tied_cells(v, self.floor, self.options.get("best_tolerance", 0.1))
        tied &= ~(tied == np.isfinite(v)).all(0)                 # a column where all tie: no choice to mark
        unique = tied.sum(0) == 1                                  # the best y is significant there
        self.best_line.set_data(*best_path(self.xs, self.ys, best_row, has & unique, self.xlog, self.ylog))
        self.tie_marks.set_offsets(np.where(tied.ravel()[:, None], self.centres, np.nan))
        bl = np.where(has, pos[best_row, np.arange(len(self.xs))], np.nan)
        self.best_curve.set_data(self.xs, np.maximum(bl, self.vmin))
        if has.any():
            j = int(np.nanargmin(bl))
            i = best_row[j]
            self.best_star.set_data([self.xs[j]], [self.ys[i]])
            ties = int(tied_cells(v.reshape(-1, 1), self.floor, self.options.get("best_tolerance", 0.1)).sum())
            self._best_text(bl[j], j, i, ties)
        else:
            self.best_star.set_data([], [])
            self.best_text.set_text("")
        gone = self.cell_div[self.div_cells] <= step
        pts = self.centres[self.div_cells].copy()
        pts[~gone] = np.nan
        self.div_marks.set_offsets(pts)
        for c, t in self.div_text.items():
            t.set_visible(bool(self.cell_div[c] <= step))
        self._diverged_text(int(gone.sum()))


def best_path(xs, ys, best_row, clear, xlog: bool = False, ylog: bool = False):
    """(x, y) of the best line: each column's clear best (NaN elsewhere) at the even indices, and
    between columns j and j + 1 the midpoint of their segment when both are clear and their best rows
    are the same or adjacent, else NaN (a break). On log axes the midpoint is geometric."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    y = np.where(clear, ys[best_row], np.nan)
    join = clear[:-1] & clear[1:] & (np.abs(np.diff(best_row)) <= 1)

    def mid(a, b, log):
        return np.sqrt(a * b) if log else (a + b) / 2

    px, py = np.empty(2 * len(xs) - 1), np.empty(2 * len(xs) - 1)
    px[0::2], py[0::2] = xs, y
    px[1::2] = mid(xs[:-1], xs[1:], xlog)
    with np.errstate(invalid="ignore"):
        py[1::2] = np.where(join, mid(y[:-1], y[1:], ylog), np.nan)
    return px, py


def colour_table(cmap) -> np.ndarray:
    """[N + 3] uint32: the colour map's RGBA bytes (as `cmap(x, bytes=True)`) for its under colour, its N
    colours, its over colour and its bad colour, in that order (see colour_index)."""
    n = cmap.N
    x = np.r_[-0.5, (np.arange(n) + 0.5) / n, 2.0, np.nan]
    return np.ascontiguousarray(cmap(x, bytes=True)).view(np.uint32).ravel()


def colour_index(v: np.ndarray, vmin: float, vmax: float, n: int) -> np.ndarray:
    """Where each value's colour is in colour_table on a log scale from vmin to vmax: the same colour as
    `cmap(LogNorm(vmin, vmax)(v), bytes=True)` (the map's bad colour for NaN, infinite and non-positive
    values, its over colour past vmax, its top colour at vmax itself)."""
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(all="ignore"):
        lo, hi = np.log(vmin), np.log(vmax)
        t = (np.log(v) - lo) / (hi - lo)
        t *= n
        over = t > n
        np.clip(t, -1, n - 1, out=t)          # under -> [-1, 0), vmax itself -> n - 1, as the colour map
        t[over] = n
        t[~((v > 0) & (v < np.inf))] = n + 1
        t += 1                                  # >= 0: the cast truncates to the floor
    return t.astype(np.intp)


class AxesPixels(Artist):
    """An RGBA image of the pixels whose centres are in its axes (rows from the bottom), drawn 1:1 at the
    first of them: nothing resampled. `grid()` says which pixels and where their centres are."""

    def __init__(self, ax):
        super().__init__()
        self.axes = ax
        self.rgba = None

    def grid(self) -> tuple[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """((x, y) of the lower-left pixel, ([W] x, [H] y) of the pixels' centres as axes fractions)."""
        box = self.axes.bbox
        x0, x1 = int(np.ceil(box.x0 - 0.5)), int(np.ceil(box.x1 - 0.5))
        y0, y1 = int(np.ceil(box.y0 - 0.5)), int(np.ceil(box.y1 - 0.5))
        fx = (np.arange(x0, max(x1, x0 + 1)) + 0.5 - box.x0) / max(box.width, 1e-9)
        fy = (np.arange(y0, max(y1, y0 + 1)) + 0.5 - box.y0) / max(box.height, 1e-9)
        return (x0, y0), (fx, fy)

    def set_data(self, rgba: np.ndarray) -> None:
        self.rgba = rgba

    def draw(self, renderer) -> None:
        if self.rgba is None or not self.get_visible():
            return
        (x, y), _ = self.grid()
        gc = renderer.new_gc()
        gc.set_clip_rectangle(self.axes.bbox)
        renderer.draw_image(gc, x, y, self.rgba)
        gc.restore()


def _outline():
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=3, foreground="#222222")]


def _cmap(th):
    import matplotlib

    cmap = matplotlib.colormaps[th.cmap]
    return cmap.with_extremes(bad="#c8c8c8" if th.name == "light" else "#3a3d45", over="#8c3b1a")


def _ticks(axis, vals: np.ndarray) -> None:
    """Ticks at the swept values themselves when there are few, else the usual ones."""
    if len(vals) > 8:
        return
    axis.set_major_locator(FixedLocator(vals))
    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt_value(v)))
    axis.set_minor_locator(NullLocator())
