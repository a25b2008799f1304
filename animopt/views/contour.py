"""`contour`: the loss over two parameters as contours, each run's path a trail with its head marked."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.lines import Line2D

from ..declare.views.common import marked_points
from ..states import box_exits
from ..styles import set_markers
from .base import (View, avoid, decimate, diverged_note, legend, log_scale_wanted,
                   param_index, retime_notes, run_limits, show_diverged, upto)

MAX_GRID_COST = 2e8       # grid points x data values evaluated for one landscape (digits: a 38-point grid)
CHUNK_COST = 2e7          # the same, per call of loss_fn


@dataclass
class Landscape:
    """The loss on a grid over parameters `i`, `j`, the others held at `base`."""

    i: int
    j: int
    base: np.ndarray          # [P] where the other parameters are held
    held: str                 # "" for two-parameter problems, else what the others are held at
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    X: np.ndarray             # [n, n]
    Y: np.ndarray
    Z: np.ndarray             # loss, [n, n]

    def loss_at(self, info, xy: np.ndarray) -> np.ndarray:
        """The loss at points `[K, 2]` of the slice (the other parameters held)."""
        pts = np.repeat(self.base[None], len(xy), 0)
        pts[:, self.i], pts[:, self.j] = xy[:, 0], xy[:, 1]
        return eval_loss(info, pts)


def eval_loss(info, pts: np.ndarray) -> np.ndarray:
    """ProblemInfo.loss_fn over `[K, P]` points, in chunks sized to the data (bounded memory)."""
    n = max(1, sum(int(np.size(v)) for v in info.data.values()))
    chunk = int(max(16, CHUNK_COST // n))
    out = [np.asarray(info.loss_fn(pts[s:s + chunk]), dtype=np.float64) for s in range(0, len(pts), chunk)]
    return np.concatenate(out) if out else np.zeros(0)


MARGIN = 0.12            # of the span, around the paths and the marked points (a star is never on the edge)
MIN_SIDE = 0.3           # the short side of the box is at least this much of the long one
BLEED = 1.3              # equal scales: the grid reaches this factor past the estimated box (see after_layout)


def landscape(ctx, names, resolution: int, fit: str = "window", panel_ratio: float | None = None,
              bleed: float = 1.0, box=None) -> Landscape:
    """The grid over the box `view_box` gives (the paths, starts and marked points, with fit = "window"
    the problem's window too), or over `box`; `panel_ratio` (the panel's height / width) for equal
    scales. With `bleed` > 1 the grid reaches that factor past the box on every axis (centred, with as
    many more points), so that the limits can still grow to fit the final panel (Contour.after_layout)."""
    h, info = ctx.history, ctx.info
    i, j = param_index(h, names, (0, 1))
    P = len(h.param_names)
    base, held = _held_point(h, info)
    box = box if box is not None else view_box(ctx, i, j, fit, panel_ratio)
    n_data = max(1, sum(int(np.size(v)) for v in info.data.values()))
    top = int(resolution * bleed)
    n = int(np.clip(min(top, np.sqrt(MAX_GRID_COST / n_data)), 24, top))
    grid = [_widen(lo, hi, bleed * (hi - lo)) for lo, hi in box]
    xs, ys = np.linspace(*grid[0], n), np.linspace(*grid[1], n)
    X, Y = np.meshgrid(xs, ys)
    pts = np.repeat(base[None], n * n, 0)
    pts[:, i], pts[:, j] = X.ravel(), Y.ravel()
    Z = eval_loss(info, pts).reshape(n, n)
    return Landscape(i, j, base, held if P > 2 else "", box[0], box[1], X, Y, Z)


def view_box(ctx, i: int, j: int, fit: str = "paths", panel_ratio: float | None = None) -> list[tuple]:
    """[(x0, x1), (y0, y1)] holding the healthy paths (robustly: see run_limits), every start and every
    marked point (minima, other stationary points), with fit = "window" the problem's window, padded
    by MARGIN. The short side is widened to MIN_SIDE of the long one, and with `panel_ratio` (height /
    width of the panel, for equal scales) to fill the panel. Only ever widened: nothing is cut."""
    h, ext, info = ctx.history, ctx.extent, ctx.info
    marked = np.concatenate(marked_points(info, len(h.param_names)))[:, [i, j]]
    box = []
    for axis, k in enumerate((i, j)):
        inc = [h.params[0, :, k], marked[:, axis]]
        if info.window is not None and fit == "window":
            inc.append(np.asarray(info.window)[k])
        box.append(run_limits(ext.params[..., k], ext, pad=MARGIN, include=np.concatenate(inc), q=0.5))
    (x0, x1), (y0, y1) = box
    want_h = max(y1 - y0, MIN_SIDE * (x1 - x0), (panel_ratio or 0) * (x1 - x0))
    want_w = max(x1 - x0, MIN_SIDE * want_h, (want_h / panel_ratio) if panel_ratio else 0)
    return [_widen(x0, x1, want_w), _widen(y0, y1, want_h)]


def _widen(lo: float, hi: float, span: float) -> tuple[float, float]:
    extra = max(0.0, span - (hi - lo)) / 2
    return lo - extra, hi + extra


def shares_units(info) -> bool:
    """True when the parameters are coordinates of one space (a test function, a quadratic, a formula),
    not model weights fitted to data (a slope against an intercept): then equal scales are honest."""
    return not any(k in info.data for k in ("x", "X"))


def _held_point(h, info) -> tuple[np.ndarray, str]:
    if info.minimum is not None:
        return np.asarray(info.minimum, dtype=np.float64).copy(), "at the minimum"
    p = h.params[:, 0]
    ok = np.nonzero(np.isfinite(p).all(1))[0]
    return p[ok[-1] if ok.size else 0].astype(np.float64).copy(), f"at {h.labels[0]}'s final values"


def contour_levels(Z: np.ndarray, n: int, scale: str) -> tuple[np.ndarray, bool]:
    """`n` levels over Z: geometric above the minimum when the loss spans decades (or scale = log)."""
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        return np.linspace(0, 1, n), False
    zmin, zmax = float(z.min()), float(np.percentile(z, 99.5))
    if zmax <= zmin:
        zmax = zmin + max(1.0, abs(zmin))
    log = scale == "log" or (scale == "auto" and log_scale_wanted(z - zmin))
    if log:
        rng = zmax - zmin
        d = z - zmin
        # the innermost level rings about the lowest 2% of the grid: detail where paths end, not a blot
        floor = max(rng * 1e-6, float(np.percentile(d[d > 0], 2)) if (d > 0).any() else rng * 1e-6)
        return np.concatenate([[zmin], zmin + np.geomspace(floor, rng, n - 1)]), True
    return np.linspace(zmin, zmax, n), False


class Contour(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        info = ctx.info
        self.ax = ax = fig.add_subplot(cell)
        self.equal = equal = (o.get("aspect") or ("equal" if shares_units(info) else "auto")) == "equal"
        # equal scales: the box fits the panel's shape estimated before the layout, the grid reaches past
        # it, and after_layout sets limits that fill the final axes exactly, then fixes the aspect (during
        # the layout the axes fill their cell, so the room made for labels and titles is the final one)
        L = self.land = landscape(ctx, o.get("params"), o.get("resolution", 160), o.get("fit", "paths"),
                                  panel_ratio=_panel_ratio(fig, cell) if equal else None,
                                  bleed=BLEED if equal else 1.0)
        log = self._fill(L)
        ax.set_xlim(*L.xlim)
        ax.set_ylim(*L.ylim)
        ax.grid(False)
        ax.set_xlabel(h.param_names[L.i])
        ax.set_ylabel(h.param_names[L.j])
        ax.set_title(o.get("title") or ("Loss contours (log levels)" if log else "Loss contours"))
        self.caption = None
        if L.held:
            self.caption = ax.text(0.99, 0.01, f"other {len(h.param_names) - 2} parameters held {L.held}",
                                   transform=ax.transAxes, ha="right", va="bottom", fontsize=th.font_size - 3,
                                   color=th.muted)
        xy = h.params[..., [L.i, L.j]]                  # [T, R, 2]
        self.xy = xy
        self.keep = decimate(len(xy), 2000)
        self.trail = int(o.get("trail", 0))
        starts = xy[0]
        ax.scatter(starts[:, 0], starts[:, 1], s=46, facecolors=th.background, edgecolors=ctx.colors,
                   linewidths=1.6, zorder=3)
        self.lines = path_lines(ax, xy[self.keep], ctx, markers=bool(o.get("markers")))
        self.heads = ax.scatter(starts[:, 0], starts[:, 1], s=64 if h.runs <= 8 else 30, c=ctx.colors, zorder=6,
                                edgecolors=th.background, linewidths=1.2)
        set_markers(self.heads, [ctx.style(r) for r in range(h.runs)], 64 if h.runs <= 8 else 30)
        on_top = []
        extra = [(Line2D([], [], ls="", marker="o", ms=7, mfc=th.background, mec=th.muted, mew=1.6), "start")]
        mins, saddles = known_points(info, L)
        if len(saddles):
            ax.scatter(saddles[:, 0], saddles[:, 1], marker="X", s=70, color=th.muted, edgecolors=th.background,
                       linewidths=0.8, zorder=3)
            extra.append((Line2D([], [], ls="", marker="X", ms=8, color=th.muted), "stationary point"))
        if len(mins):
            on_top = [ax.scatter(mins[:, 0], mins[:, 1], marker="*", s=220, color=th.truth,
                                 edgecolors=th.background, linewidths=0.8, zorder=7)]
            extra.append((Line2D([], [], ls="", marker="*", ms=12, color=th.truth),
                          "minima" if len(mins) > 1 else "minimum"))
        self.state = None
        if o.get("state"):                   # arrows at each head (animopt.views.state), named in the legend
            from .state import StateArrows

            self.state = StateArrows(ax, ctx, o["state"], L.i, L.j, L.xlim, L.ylim, o.get("state_scale"))
            extra += self.state.key_entries()
        if o.get("legend", True):
            legend(ax, ctx, extra=extra, loc="best")
        self.notes = diverged_note(ax, ctx, exits=box_exits(xy, ax.get_xlim(), ax.get_ylim()))
        avoid(ax, [xy[self.keep, r] for r in range(h.runs)], points=np.concatenate([starts, mins, saddles]),
              obstacles=[self.caption] if self.caption is not None else ())
        return [*self.lines, self.heads, *on_top, *self.notes.values(), *(self.state.artists if self.state else [])]

    def _fill(self, L: Landscape) -> bool:
        """The contours of `L` (filled, lines, arrows), levels from the loss inside its box; True when
        the levels are log-spaced."""
        ax, th, o = self.ax, self.ctx.theme, self.options
        inside = (L.X >= L.xlim[0]) & (L.X <= L.xlim[1]) & (L.Y >= L.ylim[0]) & (L.Y <= L.ylim[1])
        levels, log = contour_levels(L.Z[inside] if inside.any() else L.Z, o.get("levels", 30),
                                     o.get("scale", "auto"))
        Zc = np.clip(L.Z, None, levels[-1])     # the corners past the last level share its colour
        norm = BoundaryNorm(levels, 256, extend="neither")
        self.fill = []
        if o.get("filled", True):
            self.fill.append(ax.contourf(L.X, L.Y, Zc, levels=levels, cmap=th.cmap, norm=norm,
                                         alpha=th.fill_alpha, antialiased=True))
        self.fill.append(ax.contour(L.X, L.Y, Zc, levels=levels[1:], cmap=th.cmap, norm=norm, linewidths=0.7,
                                    alpha=0.55))
        if o.get("arrows"):
            self.fill.append(_arrows(ax, L, th))
        return log

    def after_layout(self):
        """Equal scales: the box widened to the final axes' shape (known only now), so the data fill
        the panel instead of the axes shrinking by the error of the estimate made before the layout."""
        if not self.equal:
            return
        ax, L = self.ax, self.land
        fig = ax.get_figure()
        pos = ax.get_position(original=True)
        W, H = fig.get_size_inches() * fig.dpi
        ratio = (pos.height * H) / max(pos.width * W, 1e-9)
        (x0, x1), (y0, y1) = box = view_box(self.ctx, L.i, L.j, self.options.get("fit", "paths"), ratio)
        if not (L.X[0, 0] <= x0 and x1 <= L.X[0, -1] and L.Y[0, 0] <= y0 and y1 <= L.Y[-1, 0]):
            for a in self.fill:                          # past the grid: computed again (rare)
                a.remove()
            names = [self.h.param_names[L.i], self.h.param_names[L.j]]
            self.land = L = landscape(self.ctx, names, self.options.get("resolution", 160), box=box, bleed=1.0)
            self._fill(L)
        L.xlim, L.ylim = (x0, x1), (y0, y1)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")      # holds with the box as laid out (to rounding)
        retime_notes(self.notes, box_exits(self.xy, (x0, x1), (y0, y1)))

    def update(self, step):
        k = min(step, len(self.xy) - 1)
        idx = upto(self.keep, k)
        if self.trail:
            idx = idx[idx >= k - self.trail]
        vis = self.ctx.visible(step)
        for r, ln in enumerate(self.lines):
            ln.set_data(self.xy[idx, r, 0], self.xy[idx, r, 1])
        heads = np.where(vis[:, None], self.xy[k], np.nan)
        self.heads.set_offsets(heads)
        show_diverged(self.notes, self.h, step)
        if self.state is not None:
            self.state.update(step)


def path_lines(ax, xy: np.ndarray, ctx, markers: bool = False) -> list:
    """One line per run over `xy` [T, R, 2], on a halo of the theme's background (a wider stroke under
    it) so that it reads on any fill; with `markers` a dot at every point (every step when not thinned)."""
    from matplotlib import patheffects

    runs = xy.shape[1]
    lw = 2.0 if runs <= 8 else (1.4 if runs <= 30 else 1.0)
    halo = [patheffects.withStroke(linewidth=lw + 2.4, foreground=ctx.theme.background, alpha=0.8)]
    dots = dict(marker="o", ms=lw + 1.6, mec=ctx.theme.background, mew=0.6) if markers else {}
    return [ax.plot(xy[:, r, 0], xy[:, r, 1], **ctx.style(r).line(2), lw=lw, alpha=0.95, solid_joinstyle="round",
                    path_effects=halo, **dots)[0] for r in range(runs)]


def _panel_ratio(fig, cell, label_ems: tuple[float, float] = (4.5, 5.0)) -> float:
    """Height / width in pixels of the axes that will fill `cell`, estimated before the layout: the cell's
    share of the subplot area applied to the figure, less room for tick labels, axis labels and title."""
    box, sp = cell.get_position(fig), fig.subplotpars
    W, H = fig.get_size_inches() * fig.dpi
    em = matplotlib.rcParams["font.size"] * fig.dpi / 72
    w = box.width / (sp.right - sp.left) * 0.97 * W - label_ems[0] * em
    h = box.height / (sp.top - sp.bottom) * 0.85 * H - label_ems[1] * em
    return float(max(h, 0.2 * H) / max(w, 0.2 * W))


def known_points(info, L: Landscape) -> tuple[np.ndarray, np.ndarray]:
    """([k, 2] minima, [m, 2] other stationary points) in the slice's two coordinates, those inside
    its box (see marked_points)."""
    def pick(a):
        a = a[:, [L.i, L.j]]
        return a[(a[:, 0] >= L.xlim[0]) & (a[:, 0] <= L.xlim[1]) & (a[:, 1] >= L.ylim[0]) & (a[:, 1] <= L.ylim[1])]

    mins, saddles = marked_points(info, len(L.base))
    return pick(mins), pick(saddles)


def _arrows(ax, L: Landscape, th, n: int = 13) -> None:
    """The anti-gradient on a coarse grid, every arrow the same length on screen (direction only)."""
    gy, gx = np.gradient(L.Z, L.Y[:, 0], L.X[0])
    m = L.Z.shape[0]
    sel = np.linspace(0, m - 1, n + 2)[1:-1].round().astype(int)
    X, Y = L.X[np.ix_(sel, sel)], L.Y[np.ix_(sel, sel)]
    sx, sy = L.xlim[1] - L.xlim[0], L.ylim[1] - L.ylim[0]
    u, v = -gx[np.ix_(sel, sel)] * sx, -gy[np.ix_(sel, sel)] * sy     # in axes fractions
    norm = np.hypot(u, v)
    norm[norm == 0] = np.inf
    length = 0.55 / n
    u, v = u / norm * length * sx, v / norm * length * sy
    return ax.quiver(X, Y, u, v, angles="xy", scale_units="xy", scale=1, color=th.muted, alpha=0.55, width=0.003,
                     headwidth=3.5, headlength=4, zorder=2)
