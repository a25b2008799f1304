"""`contour`: the loss over two parameters as contours, each run's path a trail with its head marked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.lines import Line2D

from ..spec import Field
from ..states import box_exits
from .base import (View, ViewDef, check_param_names, decimate, diverged_note, legend, log_scale_wanted,
                   param_index, run_limits, show_diverged, upto)

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


def landscape(ctx, names, resolution: int, fit: str = "window") -> Landscape:
    """The grid covers the problem's window widened to hold the paths (robustly), or with
    fit = "paths" just the paths, their starts and the minimum."""
    h, ext, info = ctx.history, ctx.extent, ctx.info
    i, j = param_index(h, names, (0, 1))
    P = len(h.param_names)
    base, held = _held_point(h, info)
    box = []
    for k in (i, j):
        inc = [h.params[0, :, k]]
        if info.window is not None and fit == "window":
            inc.append(np.asarray(info.window)[k])
        if info.minimum is not None:
            inc.append([info.minimum[k]])
        box.append(run_limits(ext.params[..., k], ext, pad=0.08, include=np.concatenate(inc), q=0.5))
    n_data = max(1, sum(int(np.size(v)) for v in info.data.values()))
    n = int(np.clip(min(resolution, np.sqrt(MAX_GRID_COST / n_data)), 24, resolution))
    xs, ys = np.linspace(*box[0], n), np.linspace(*box[1], n)
    X, Y = np.meshgrid(xs, ys)
    pts = np.repeat(base[None], n * n, 0)
    pts[:, i], pts[:, j] = X.ravel(), Y.ravel()
    Z = eval_loss(info, pts).reshape(n, n)
    return Landscape(i, j, base, held if P > 2 else "", box[0], box[1], X, Y, Z)


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
        L = self.land = landscape(ctx, o.get("params"), o.get("resolution", 160), o.get("fit", "window"))
        levels, log = contour_levels(L.Z, o.get("levels", 30), o.get("scale", "auto"))
        Zc = np.clip(L.Z, None, levels[-1])     # the corners past the last level share its colour
        norm = BoundaryNorm(levels, 256, extend="neither")
        if o.get("filled", True):
            ax.contourf(L.X, L.Y, Zc, levels=levels, cmap=th.cmap, norm=norm, alpha=th.fill_alpha,
                        antialiased=True)
        ax.contour(L.X, L.Y, Zc, levels=levels[1:], cmap=th.cmap, norm=norm, linewidths=0.7, alpha=0.55)
        if o.get("arrows"):
            _arrows(ax, L, th)
        ax.set_xlim(*L.xlim)
        ax.set_ylim(*L.ylim)
        ax.grid(False)
        ax.set_xlabel(h.param_names[L.i])
        ax.set_ylabel(h.param_names[L.j])
        ax.set_title(o.get("title") or ("Loss contours (log levels)" if log else "Loss contours"))
        if L.held:
            ax.text(0.99, 0.01, f"other {len(h.param_names) - 2} parameters held {L.held}",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=th.font_size - 3, color=th.muted)
        xy = h.params[..., [L.i, L.j]]                  # [T, R, 2]
        self.xy = xy
        self.keep = decimate(len(xy), 2000)
        self.trail = int(o.get("trail", 0))
        starts = xy[0]
        ax.scatter(starts[:, 0], starts[:, 1], s=46, facecolors=th.background, edgecolors=ctx.colors,
                   linewidths=1.6, zorder=3)
        lw = 2.0 if h.runs <= 8 else (1.4 if h.runs <= 30 else 1.0)
        self.lines = [ax.plot(xy[self.keep, r, 0], xy[self.keep, r, 1], color=c, lw=lw, alpha=0.95,
                              solid_joinstyle="round")[0] for r, c in enumerate(ctx.colors)]
        self.heads = ax.scatter(starts[:, 0], starts[:, 1], s=64 if h.runs <= 8 else 30, c=ctx.colors, zorder=6,
                                edgecolors=th.background, linewidths=1.2)
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
        if o.get("legend", True):
            legend(ax, ctx, extra=extra, loc="best")
        self.notes = diverged_note(ax, ctx, exits=box_exits(xy, ax.get_xlim(), ax.get_ylim()))
        return [*self.lines, self.heads, *on_top, *self.notes.values()]

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


def known_points(info, L: Landscape) -> tuple[np.ndarray, np.ndarray]:
    """([k, 2] minima, [m, 2] other stationary points) of the problem in the slice's two coordinates
    (a problem may list several minima and its saddles in its data), those inside the slice's box."""
    def pick(arr):
        a = np.asarray(arr, dtype=np.float64).reshape(-1, len(L.base))[:, [L.i, L.j]]
        inside = ((a[:, 0] >= L.xlim[0]) & (a[:, 0] <= L.xlim[1]) & (a[:, 1] >= L.ylim[0]) & (a[:, 1] <= L.ylim[1]))
        return a[inside & np.isfinite(a).all(1)]

    d = info.data
    if "minima" in d:
        mins = pick(d["minima"])
    elif info.minimum is not None:
        mins = pick(info.minimum)
    else:
        mins = np.zeros((0, 2))
    saddles = pick(d["stationary"]) if "stationary" in d else np.zeros((0, 2))
    return mins, saddles


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
    ax.quiver(X, Y, u, v, angles="xy", scale_units="xy", scale=1, color=th.muted, alpha=0.55, width=0.003,
              headwidth=3.5, headlength=4, zorder=2)


def check_landscape(options, history):
    """Checks shared by contour and surface: a loss function and two parameters that exist."""
    info = history.problem
    if info is None or info.loss_fn is None:
        return [("", "this History has no loss function to draw (simulate the scene instead of loading it)")]
    if len(history.param_names) < 2:
        return [("params", f"needs a problem with two or more parameters; this one has only "
                           f"{len(history.param_names)}")]
    return check_param_names(options.get("params"), history)


LANDSCAPE_FIELDS = {
    "params": Field("strs", length=2, doc="the two parameters on the axes (default: the first two)"),
    "resolution": Field("int", default=160, ge=16, le=800, doc="grid points per axis"),
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="level spacing; auto: log when the loss spans more than two decades"),
    "fit": Field("str", default="window", choices=("window", "paths"),
                 doc="window: the problem's plotting window widened to hold the paths; paths: just the paths"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
    "title": Field("str"),
}

CONTOUR = ViewDef("contour", {
    **LANDSCAPE_FIELDS,
    "levels": Field("int", default=30, ge=2, le=200, doc="number of contour levels"),
    "filled": Field("bool", default=True, doc="shade between the contour lines"),
    "arrows": Field("bool", default=False, doc="anti-gradient arrows on a coarse grid"),
    "trail": Field("int", default=0, ge=0, doc="steps of path behind each head; 0: the whole path"),
}, Contour, "loss contours over two parameters with each run's path", check_landscape,
    shows_runs=True)
