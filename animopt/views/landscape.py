"""`landscape`: the loss on a 2-D plane through parameter space, every run's path projected on it.

The plane is `center + a d1 + b d2`. `plane = "pca"`: d1, d2 are the principal directions of all runs'
trajectories together (orthonormal; the axes say how much of the paths' variance each holds).
`plane = "random"`: two Gaussian directions, filter-normalized as Li et al. (2018) do: each filter (the
incoming weights of one unit: a row of `l0.weight`, a column of `W`) scaled to the norm of the centre's
filter, biases zeroed. The contours are the true loss at points of the plane (ProblemInfo.loss_fn on a
grid); a path is the least-squares projection of each step, and what the projection drops is shown: a
path fades where most of its distance from the centre lies off the plane, and a note gives each run's
distance from the plane at the current step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import BoundaryNorm, to_rgba
from matplotlib.lines import Line2D

from ..declare.views.common import run_index
from ..threads import one_blas_thread
from .base import (View, decimate, diverged_note, legend, run_limits, show_diverged)
from .contour import MAX_GRID_COST, contour_levels, eval_loss

MARGIN = 0.12
MIN_SIDE = 0.3
MIN_ALPHA = 0.15          # a path entirely off the plane still shows, faintly
MAX_PCA_ROWS = 4000       # trajectory points the principal directions are computed from


@dataclass
class Plane:
    center: np.ndarray        # [P]
    D: np.ndarray             # [2, P] the directions
    coords: np.ndarray        # [T, R, 2] each step's projection (NaN past a divergence)
    off: np.ndarray           # [T, R] distance from the plane
    share: np.ndarray         # [T, R] off / distance from the centre (0 at the centre)
    explained: np.ndarray | None   # [2] share of the paths' variance along d1, d2 (pca)
    center_text: str


def final_points(h) -> np.ndarray:
    """[R, P] each run's last finite point."""
    out = np.empty((h.runs, h.params.shape[2]))
    for r in range(h.runs):
        ok = np.nonzero(np.isfinite(h.params[:, r]).all(1))[0]
        out[r] = h.params[ok[-1] if ok.size else 0, r]
    return out


def filter_groups(names) -> list[np.ndarray]:
    """Indices of each filter (one unit's incoming weights): `<layer>.weight[o,i]` by o (torch's
    [out, in]), `W[i,j]` by j (input i to output j); every other parameter in a group of its own kind
    ("bias": biases, zeroed; the rest one group together)."""
    groups: dict = {}
    for k, n in enumerate(names):
        m = re.match(r"^(.*weight)\[(\d+),(\d+)\]$", n)
        if m:
            key = (m.group(1), int(m.group(2)))
        elif (m := re.match(r"^W\[(\d+),(\d+)\]$", n)):
            key = ("W", int(m.group(2)))
        elif re.match(r"^(.*bias\[\d+\]|B\[\d+\])$", n):
            key = "bias"
        else:
            key = "other"
        groups.setdefault(key, []).append(k)
    return [(k, np.array(v)) for k, v in groups.items()]


def random_directions(names, center: np.ndarray, seed: int) -> np.ndarray:
    """[2, P] Gaussian directions, filter-normalized to the centre (Li et al. 2018): each filter of the
    direction scaled to the norm of the same filter of `center`, biases zeroed. Where that leaves a
    direction (nearly) zero (the centre is at the origin), the unit-norm Gaussian direction."""
    rng = np.random.default_rng([seed, 30])
    D = rng.standard_normal((2, len(center)))
    out = np.zeros_like(D)
    groups = filter_groups(names)
    has_filters = any(k not in ("bias", "other") for k, _ in groups)
    for key, idx in groups:
        if key == "bias" and has_filters:
            continue
        norm_c = np.linalg.norm(center[idx])
        for a in range(2):
            out[a, idx] = D[a, idx] / max(np.linalg.norm(D[a, idx]), 1e-300) * norm_c
    for a in range(2):
        if np.linalg.norm(out[a]) < 1e-12 * max(1.0, np.linalg.norm(center)):
            out[a] = D[a] / np.linalg.norm(D[a])
    return out


def make_plane(h, kind: str, center, seed: int = 0) -> Plane:
    P = h.params.shape[2]
    finals = final_points(h)
    ci = run_index(h, center) if center not in (None, "mean") else None
    if ci is not None:
        c, ctext = finals[ci].copy(), f"centre: {h.labels[ci]}'s final point"
    else:
        ok = np.isfinite(finals).all(1)
        c = finals[ok].mean(0) if ok.any() else h.params[0, 0].copy()
        ctext = "centre: the runs' mean final point" if h.runs > 1 else f"centre: {h.labels[0]}'s final point"
    explained = None
    if kind == "pca":
        keep = decimate(h.params.shape[0], max(2, MAX_PCA_ROWS // max(1, h.runs)))
        pts = h.params[keep].reshape(-1, P)
        pts = pts[np.isfinite(pts).all(1)]
        X = pts - pts.mean(0)
        with one_blas_thread():
            _, s, Vt = np.linalg.svd(X, full_matrices=False)
        total = float((s ** 2).sum())
        D = np.zeros((2, P))
        n = min(2, len(s))
        D[:n] = Vt[:n]
        explained = np.zeros(2)
        if total > 0:
            explained[:n] = s[:n] ** 2 / total
        for a in range(2):           # fewer than two directions of motion: any orthonormal completion
            if np.linalg.norm(D[a]) < 0.5 or (total > 0 and explained[a] < 1e-15):
                e = np.random.default_rng([seed, 31, a]).standard_normal(P)
                for b in range(a):
                    e -= (e @ D[b]) * D[b]
                D[a] = e / np.linalg.norm(e)
    else:
        D = random_directions(h.param_names, c, seed)
    G = np.linalg.pinv(D.T)                                   # [2, P]: least-squares coordinates
    diff = h.params - c                                       # [T, R, P]
    coords = diff @ G.T                                       # [T, R, 2]
    resid = diff - coords @ D
    off = np.linalg.norm(resid, axis=-1)
    dist = np.linalg.norm(diff, axis=-1)
    with np.errstate(all="ignore"):
        share = np.where(dist > 1e-12 * (1 + np.linalg.norm(c)), off / dist, 0.0)
    return Plane(c, D, coords, off, np.clip(share, 0, 1), explained, ctext)


def plane_box(h, coords: np.ndarray, span: float | None) -> list[tuple[float, float]]:
    box = []
    for a in range(2):
        inc = [coords[0, :, a], [0.0]]
        if span:
            inc.append([-span, span])
        lo, hi = run_limits(coords[..., a], h, pad=MARGIN, include=np.concatenate(inc), q=0.5)
        box.append((lo, hi))
    (x0, x1), (y0, y1) = box
    wx, wy = x1 - x0, y1 - y0
    if wy < MIN_SIDE * wx:
        e = (MIN_SIDE * wx - wy) / 2
        box[1] = (y0 - e, y1 + e)
    elif wx < MIN_SIDE * wy:
        e = (MIN_SIDE * wy - wx) / 2
        box[0] = (x0 - e, x1 + e)
    return box


def grid_loss(info, pl: Plane, box, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss at an n x n grid of plane points (n at most `resolution`, fewer for big data)."""
    n_data = max(1, sum(int(np.size(v)) for v in info.data.values()))
    n = int(np.clip(min(resolution, np.sqrt(MAX_GRID_COST / n_data)), 24, resolution))
    xs, ys = np.linspace(*box[0], n), np.linspace(*box[1], n)
    A, B = np.meshgrid(xs, ys)
    pts = pl.center + A.reshape(-1, 1) * pl.D[0] + B.reshape(-1, 1) * pl.D[1]
    return A, B, eval_loss(info, pts).reshape(n, n)


def _fmt(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 100 else f"{x:.0f}"


class Landscape(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        self.ax = ax = fig.add_subplot(cell)
        self._landscape(ax)
        xy = self.plane.coords
        self.keep = decimate(len(xy), 1500)
        self.fade = o.get("fade", True)
        starts = xy[0]
        ax.scatter(starts[:, 0], starts[:, 1], s=46, facecolors=th.background, edgecolors=ctx.colors,
                   linewidths=1.6, zorder=3)
        lw = 2.0 if h.runs <= 8 else (1.4 if h.runs <= 30 else 1.0)
        self._paths(ax, lw)
        self.heads = ax.scatter(starts[:, 0], starts[:, 1], s=64 if h.runs <= 8 else 30, c=ctx.colors, zorder=6,
                                edgecolors=th.background, linewidths=1.2)
        extra = [(Line2D([], [], ls="", marker="o", ms=7, mfc=th.background, mec=th.muted, mew=1.6), "start")]
        if self.fade:
            extra.append((Line2D([], [], color=th.muted, lw=lw, alpha=0.35), "faded: mostly off the plane"))
        if o.get("legend", True):
            legend(ax, ctx, extra=extra, loc="upper right")   # static: the paths draw over it
        self.off_text = ax.text(0.01, 0.01, "", transform=ax.transAxes, ha="left", va="bottom",
                                fontsize=th.font_size - 3, color=th.foreground, zorder=10,
                                bbox=dict(boxstyle="round,pad=0.25", fc=th.background, ec="none", alpha=0.75))
        self.notes = diverged_note(ax, ctx)
        return [*self.halos, *self.lines, self.heads, self.off_text, *self.notes.values()]

    def _landscape(self, ax) -> None:
        """The plane (`make_plane`), the loss over it as filled contours, the axes' labels and the centre."""
        ctx, th, o = self.ctx, self.ctx.theme, self.options
        kind = o.get("plane", "pca")
        span = o.get("span")
        if span is None and kind == "random":
            span = 1.0                       # Li et al.'s [-1, 1]: random directions rarely see the paths
        pl = self.plane = make_plane(self.h, kind, o.get("center", "mean"), o.get("seed", 0))
        box = plane_box(self.h, pl.coords, span)
        A, B, Z = grid_loss(ctx.info, pl, box, o.get("resolution", 80))
        levels, log = contour_levels(Z, o.get("levels", 30), o.get("scale", "auto"))
        Zc = np.clip(Z, None, levels[-1])
        norm = BoundaryNorm(levels, 256, extend="neither")
        ax.contourf(A, B, Zc, levels=levels, cmap=th.cmap, norm=norm, alpha=th.fill_alpha, antialiased=True)
        ax.contour(A, B, Zc, levels=levels[1:], cmap=th.cmap, norm=norm, linewidths=0.7, alpha=0.55)
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.grid(False)
        if pl.explained is not None:
            ax.set_xlabel(f"PC1 ({100 * pl.explained[0]:.1f}% of the paths' variance)")
            ax.set_ylabel(f"PC2 ({100 * pl.explained[1]:.1f}%)")
            title = "Loss on the paths' principal plane"
        else:
            ax.set_xlabel("random direction 1 (filter-normalized)")
            ax.set_ylabel("random direction 2")
            title = "Loss on a random plane"
        ax.set_title(o.get("title") or title + (" (log levels)" if log else ""))
        ax.text(0.01, 0.99, f"{pl.center_text}: +", transform=ax.transAxes, ha="left", va="top",
                fontsize=th.font_size - 3, color=th.muted, zorder=5)
        ax.scatter([0], [0], marker="+", s=90, color=th.foreground, linewidths=1.4, zorder=4)

    def _paths(self, ax, lw: float) -> None:
        """Each run's path as segments faded by how far it is off the plane, over a halo."""
        from matplotlib.collections import LineCollection

        ctx, th, pl, keep = self.ctx, self.ctx.theme, self.plane, self.keep
        self.segs, self.rgba, self.lines, self.halos = [], [], [], []
        for r in range(self.h.runs):
            p = pl.coords[keep, r]
            seg = np.stack([p[:-1], p[1:]], 1)                          # [k-1, 2, 2]
            a = 1.0 - np.maximum(pl.share[keep[:-1], r], pl.share[keep[1:], r]) if self.fade else np.ones(len(seg))
            rgba = np.tile(to_rgba(ctx.colors[r]), (len(seg), 1))
            rgba[:, 3] = np.clip(np.nan_to_num(a, nan=1.0), MIN_ALPHA, 1.0)
            st = ctx.style(r)
            lc = LineCollection(seg, colors=rgba, linewidths=lw, linestyles=st.linestyle,
                                zorder=2.1 + st.order, capstyle="round", joinstyle="round")
            ax.add_collection(lc)
            # a halo of the background under the whole path (one line: per-segment halos would cover it)
            self.halos.append(ax.plot(p[:, 0], p[:, 1], color=th.background, lw=lw + 2.4, alpha=0.6,
                                      zorder=2 + st.order, solid_joinstyle="round", solid_capstyle="round")[0])
            self.segs.append(seg)
            self.rgba.append(rgba)
            self.lines.append(lc)

    def update(self, step):
        pl, h = self.plane, self.h
        k = min(step, len(pl.coords) - 1)
        m = int(np.searchsorted(self.keep, k, side="right"))      # kept points up to k
        for r, lc in enumerate(self.lines):
            seg, rgba = self.segs[r][:max(m - 1, 0)], self.rgba[r][:max(m - 1, 0)]
            if m and self.keep[m - 1] != k:                         # the last stretch to the exact step
                a = pl.coords[self.keep[m - 1], r]
                b = pl.coords[k, r]
                seg = np.concatenate([seg, [[a, b]]])
                rgba = np.concatenate([rgba, self.rgba[r][min(m - 1, len(self.rgba[r]) - 1)][None]])
            lc.set_segments(seg)
            lc.set_color(rgba)
            pts = np.concatenate([seg[:, 0], seg[-1:, 1]]) if len(seg) else np.zeros((0, 2))
            self.halos[r].set_data(pts[:, 0], pts[:, 1])
        vis = self.ctx.visible(step)
        heads = np.where(vis[:, None], pl.coords[k], np.nan)
        self.heads.set_offsets(heads)
        fc = np.array([to_rgba(c) for c in self.ctx.colors])
        if self.fade:
            fc[:, 3] = np.clip(1 - np.nan_to_num(pl.share[k], nan=0.0), 0.3, 1.0)
        self.heads.set_facecolors(fc)
        self.off_text.set_text(self.off_note(k))
        show_diverged(self.notes, h, step)

    def off_note(self, k: int) -> str:
        """Each run's distance from the plane at step k (and its share of the run's distance from the
        centre): what the projection leaves out."""
        pl, h = self.plane, self.h
        ok = np.isfinite(pl.off[k])
        if not ok.any():
            return ""
        if h.runs <= 4:
            parts = [f"{h.labels[r]} {_fmt(pl.off[k, r])} ({100 * pl.share[k, r]:.0f}%)"
                     for r in range(h.runs) if ok[r]]
            return "off the plane: " + ", ".join(parts)
        r = int(np.nanargmax(np.where(ok, pl.share[k], -1)))
        return (f"off the plane: up to {100 * pl.share[k, r]:.0f}% of a run's distance from the centre "
                f"({h.labels[r]}, {_fmt(pl.off[k, r])})")
