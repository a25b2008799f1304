"""`surface`: the loss over two parameters as a 3-D surface with each run's path on it."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from .base import View, decimate, diverged_note, legend, log_scale_wanted, show_diverged, upto
from .contour import known_points, landscape


class Surface(View):
    def setup(self, fig, cell):
        h, ctx, th, o = self.h, self.ctx, self.ctx.theme, self.options
        self.ax = ax = fig.add_subplot(cell, projection="3d")
        L = self.land = landscape(ctx, o.get("params"), o.get("resolution", 100), o.get("fit", "window"))
        self._heights(L, o.get("scale", "auto"))
        ax.plot_surface(L.X, L.Y, np.minimum(self.tf(L.Z), self.top), cmap=th.cmap, rstride=1, cstride=1,
                        linewidth=0, antialiased=False, alpha=0.78, zorder=1)
        self._axes(ax, L)
        self._paths(ax, L)
        s0 = self.path[0]
        ax.scatter(s0[:, 0], s0[:, 1], s0[:, 2], s=36, facecolors=th.background, edgecolors=ctx.colors,
                   linewidths=1.4, depthshade=False)
        extra = [(Line2D([], [], ls="", marker="o", ms=7, mfc=th.background, mec=th.muted, mew=1.4), "start")]
        on_top = []
        mins, _ = known_points(ctx.info, L)
        if len(mins):
            mz = np.minimum(self.tf(L.loss_at(ctx.info, mins)), self.top)
            on_top = ax.plot(mins[:, 0], mins[:, 1], mz, ls="", marker="*", ms=15, color=th.truth,
                             mec=th.background, mew=0.8, zorder=7)
            extra.append((Line2D([], [], ls="", marker="*", ms=12, color=th.truth),
                          "minima" if len(mins) > 1 else "minimum"))
        self.state = None
        if o.get("state"):                   # arrows level with each head (animopt.views.state), key below
            from .state import StateArrows3D, key_text

            self.state = StateArrows3D(ax, ctx, o["state"], L.i, L.j, L.xlim, L.ylim, self.head_height,
                                       o.get("state_scale"))
            ax.text2D(0.0, 0.0, key_text(self.state, th), transform=ax.transAxes, ha="left", va="bottom",
                      fontsize=th.font_size - 3, color=th.muted)
        if o.get("legend", True) and ctx.legend_runs:
            legend(ax, ctx, extra=extra, loc="upper left", bbox_to_anchor=(-0.05, 1.0))
        self.notes = diverged_note(ax, ctx, y0=0.80)
        return [*self.lines, *self.heads, *on_top, *self.notes.values(), *(self.state.artists if self.state else [])]

    def _heights(self, L, scale: str) -> None:
        """The height scale: log10 of the loss above a floor (`log`, `floor`) or the loss, up to `top`."""
        z = L.Z[np.isfinite(L.Z)]
        pos = z[z > 0]
        self.log = pos.size > 0 and (scale == "log" or (scale == "auto" and log_scale_wanted(z, decades=3)))
        if self.log:
            # a floor at the lowest few percent: log10 of a sharp valley sampled on a grid is a row of spikes
            self.floor = max(float(np.percentile(pos, 3)), float(np.percentile(pos, 99.5)) * 1e-8)
        top = float(np.percentile(z, 99.5)) if z.size else 1.0
        self.top = self.tf(np.array([top]))[0]
        self.zmin = float(np.nanmin(np.minimum(self.tf(L.Z), self.top)))
        if not self.top > self.zmin:                      # a flat slice (the loss ignores these parameters)
            self.top = self.zmin + max(1e-9, 0.05 * abs(self.zmin))

    def _axes(self, ax, L) -> None:
        """Limits, labels, ticks, panes, title and the camera."""
        from matplotlib.ticker import MaxNLocator

        h, th, o = self.h, self.ctx.theme, self.options
        ax.set_xlim(*L.xlim)
        ax.set_ylim(*L.ylim)
        ax.set_zlim(self.zmin, self.top)
        ax.set_xlabel(h.param_names[L.i], labelpad=2)
        ax.set_ylabel(h.param_names[L.j], labelpad=2)
        ax.tick_params(labelsize=th.font_size - 4, pad=0)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(4))
        ax.set_box_aspect((1.35, 1.0, 0.75), zoom=0.98)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_pane_color((*_rgb(th.background), 0.0))
            axis._axinfo["grid"]["color"] = th.grid
        ax.set_title(o.get("title") or ("Loss surface (log₁₀ loss)" if self.log else "Loss surface"), pad=0)
        self.elev, self.azim, self.rotate = o.get("elev", 32.0), o.get("azim", -60.0), o.get("rotate", 0.0)
        ax.view_init(elev=self.elev, azim=self.azim)
        self._azim_now = self.azim
        if L.held:
            ax.text2D(0.5, 1.0, f"other {len(h.param_names) - 2} parameters held {L.held}",
                      transform=ax.transAxes, ha="center", va="top", fontsize=th.font_size - 3, color=th.muted)

    def _paths(self, ax, L) -> None:
        """The paths on the surface (the slice's loss at each decimated point), their lines and heads."""
        h, ctx, th = self.h, self.ctx, self.ctx.theme
        xy = h.params[..., [L.i, L.j]]
        self.keep = decimate(len(xy), 1500)
        pts = xy[self.keep]                                                   # [K, R, 2]
        inside = ((pts[..., 0] >= L.xlim[0]) & (pts[..., 0] <= L.xlim[1])
                  & (pts[..., 1] >= L.ylim[0]) & (pts[..., 1] <= L.ylim[1]))
        flat = pts.reshape(-1, 2)
        ok = np.isfinite(flat).all(1) & inside.ravel()
        zz = np.full(len(flat), np.nan)
        if ok.any():
            zz[ok] = np.minimum(self.tf(L.loss_at(ctx.info, flat[ok])), self.top)
        self.path = np.concatenate([np.where(inside[..., None], pts, np.nan), zz.reshape(len(pts), -1, 1)], -1)
        self.pos = {int(k): i for i, k in enumerate(self.keep)}
        lw = 2.0 if h.runs <= 8 else 1.2
        self.lines = [ax.plot(self.path[:, r, 0], self.path[:, r, 1], self.path[:, r, 2], lw=lw,
                              **ctx.style(r).line(5))[0] for r in range(h.runs)]
        self.heads = [ax.plot([np.nan], [np.nan], [np.nan], ls="", marker=ctx.style(r).marker,
                              ms=(7 if h.runs <= 8 else 4) * ctx.style(r).marker_scale, color=ctx.style(r).color,
                              mec=th.background, mew=1.0, zorder=6 + ctx.style(r).order)[0] for r in range(h.runs)]

    def head_height(self, step: int) -> np.ndarray:
        """[R] the height each run's head is drawn at (its loss on the surface's scale)."""
        return np.minimum(self.tf(self.h.loss[min(step, self.h.steps)]), self.top)

    def tf(self, z: np.ndarray) -> np.ndarray:
        """Loss -> height: log10 above a floor on a log surface."""
        z = np.asarray(z, dtype=np.float64)
        return np.log10(np.maximum(z, self.floor)) if self.log else z

    def background_changed(self, step):
        if not self.rotate:
            return False
        azim = self.azim + self.rotate * self.ctx.clip_fraction(step)
        if abs(azim - self._azim_now) < 1e-9:
            return False
        self._azim_now = azim
        self.ax.view_init(elev=self.elev, azim=azim)
        return True

    def update(self, step):
        k = min(step, self.h.params.shape[0] - 1)
        idx = upto(self.keep, k)
        rows = np.searchsorted(self.keep, idx)
        exact = k in self.pos
        vis = self.ctx.visible(step)
        for r, (ln, hd) in enumerate(zip(self.lines, self.heads)):
            p = self.path[rows, r] if exact else self.path[rows[:-1], r]
            ln.set_data_3d(p[:, 0], p[:, 1], p[:, 2])
            last = p[-1] if len(p) else np.full(3, np.nan)
            if vis[r] and np.isfinite(last).all():
                hd.set_data_3d([last[0]], [last[1]], [last[2]])
                hd.set_visible(True)
            else:
                hd.set_visible(False)
        show_diverged(self.notes, self.h, step)
        if self.state is not None:
            self.state.update(step)


def _rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)
