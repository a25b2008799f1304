"""State arrows at each run's current point (contour and surface panels, `state = [...]`).

At step k, for each run: the negative raw gradient, the optimizer's momentum (velocity) buffer and
the update it applies, each as the displacement it stands for, -lr * vector (so the update arrow ends
on the next point), all multiplied by one factor chosen for the clip and named in the key; with
"scaling", the per-coordinate step scale of adaptive rules (1/(sqrt(v_hat)+eps) for Adam) as an
ellipse: its semi-axes in the ratio of the scales of the two coordinates, the longer one as long as
the step (the update arrow), in the coordinate where the rule steps relatively far.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

COLORS = {"gradient": "#d62728", "momentum": "#8c4fc4", "update": None}     # None: the theme's foreground
WORDS = {"gradient": "−lr·gradient", "momentum": "−lr·momentum", "update": "update (to the next step)",
         "scaling": "step scale per coordinate"}
TARGET = 0.12            # the typical update arrow is about this much of the panel
ELLIPSE_POINTS = 48


def check_state(options, history) -> list[tuple[str, str]]:
    state = options.get("state") or ()
    if len(set(state)) != len(state):
        return [("state", f"a state is named twice: {list(state)}")]
    return []


def nice_factor(x: float) -> float:
    """The largest of 1, 2, 5, 10, 20, ... at most `x` (1 when `x` <= 1)."""
    if not np.isfinite(x) or x <= 1:
        return 1.0
    e = 10.0 ** np.floor(np.log10(x))
    return float(max(m * e for m in (1, 2, 5) if m * e <= x))


class StateArrows:
    """Arrows (and ellipses) of the states named in `state`, on a 2-D axes over parameters i, j."""

    def __init__(self, ax, ctx, state, i: int, j: int, xlim, ylim, factor: float | None = None):
        self.ax, self.ctx, self.h, self.i, self.j = ax, ctx, ctx.history, i, j
        self.state = tuple(state)
        h, th = self.h, ctx.theme
        self.vectors = {}                                    # name -> [steps, R, 2] displacement per step
        lr = h.lr[..., None]
        if "gradient" in self.state:
            self.vectors["gradient"] = -lr * h.grads[..., [i, j]]
        if "momentum" in self.state and h.momentum is not None:
            self.vectors["momentum"] = -lr * h.momentum[..., [i, j]]
        if "update" in self.state:
            self.vectors["update"] = -lr * h.updates[..., [i, j]]
        self.scaling = None
        if "scaling" in self.state and h.step_scale is not None:
            # the shape of the per-coordinate scale, its longer radius the length of the step
            sc = np.abs(h.step_scale[..., [i, j]])
            step = np.linalg.norm(lr * h.updates[..., [i, j]], axis=-1, keepdims=True)
            with np.errstate(all="ignore"):
                self.scaling = step * sc / sc.max(axis=-1, keepdims=True)      # [steps, R, 2] semi-axes
        span = np.array([xlim[1] - xlim[0], ylim[1] - ylim[0]], dtype=np.float64)
        self.factor = float(factor) if factor else self._factor(span)
        self.circle = np.stack([np.cos(np.linspace(0, 2 * np.pi, ELLIPSE_POINTS)),
                                np.sin(np.linspace(0, 2 * np.pi, ELLIPSE_POINTS))], axis=-1)
        self._make()

    def _make(self) -> None:
        ax, th, h = self.ax, self.ctx.theme, self.h
        self.quivers = {}
        for name, vec in self.vectors.items():
            color = COLORS[name] or th.foreground
            wide = name == "momentum"            # wider, under the others: seen where it is the step itself
            q = ax.quiver(np.zeros(h.runs), np.zeros(h.runs), np.zeros(h.runs), np.zeros(h.runs), angles="xy",
                          scale_units="xy", scale=1.0, color=color, width=0.011 if wide else 0.006,
                          headwidth=3.0 if wide else 3.6, headlength=3.4 if wide else 4.2,
                          headaxislength=3.1 if wide else 3.8, zorder=7.9 if wide else 8, alpha=0.8 if wide else 0.95,
                          minlength=0.2)
            self.quivers[name] = q
        self.ellipses = []
        if self.scaling is not None:
            self.ellipses = [ax.plot([], [], color=th.foreground, lw=1.3, ls=(0, (4, 2)), alpha=0.85, zorder=7)[0]
                             for _ in range(h.runs)]

    def _factor(self, span: np.ndarray) -> float:
        """One magnification for every arrow of the clip: the typical update (or whatever is drawn)
        about TARGET of the panel; never below 1 (the arrows are then the true steps)."""
        vecs = [v for v in (self.vectors.get("update"), self.vectors.get("momentum"), self.vectors.get("gradient"))
                if v is not None]
        if not vecs and self.scaling is not None:
            vecs = [self.scaling]
        if not vecs:
            return 1.0
        steps = np.unique(np.clip(np.asarray(self.ctx.frame_steps, dtype=np.int64), 0, self.h.steps - 1))
        v = vecs[0][steps] if steps.size else vecs[0]
        length = np.linalg.norm(v / span, axis=-1)
        length = length[np.isfinite(length) & (length > 0)]
        if not length.size:
            return 1.0
        return nice_factor(TARGET / float(np.percentile(length, 75)))

    @property
    def artists(self) -> list:
        return [*self.ellipses, *self.quivers.values()]

    def key_entries(self) -> list:
        """(handle, label) pairs for the panel's legend: one per arrow drawn, and the scale."""
        th = self.ctx.theme
        out = []
        for name in self.vectors:
            out.append((Line2D([], [], color=COLORS[name] or th.foreground, lw=2.2, marker=">", ms=6,
                               markevery=[-1]), WORDS[name]))
        if self.scaling is not None:
            out.append((Line2D([], [], color=th.foreground, lw=1.3, ls=(0, (4, 2))), WORDS["scaling"]))
        if out:
            out.append((Line2D([], [], color="none"), self.key_title()))
        return out

    def key_title(self) -> str:
        return "arrows: true length" if self.factor == 1 else f"arrows ×{self.factor:g}"

    def update(self, step: int) -> None:
        h = self.h
        k = step if step < h.steps else None                 # the last point takes no more steps
        vis = self.ctx.visible(step)
        at = h.params[min(step, h.steps)][:, [self.i, self.j]]
        for name, q in self.quivers.items():
            if k is None:
                uv = np.full((h.runs, 2), np.nan)
            else:
                uv = np.where(vis[:, None], self.vectors[name][k] * self.factor, np.nan)
            q.set_offsets(at)
            q.set_UVC(uv[:, 0], uv[:, 1])
        for r, ln in enumerate(self.ellipses):
            axes = self.scaling[k, r] * self.factor if k is not None and vis[r] else np.full(2, np.nan)
            if np.isfinite(axes).all() and np.isfinite(at[r]).all():
                pts = at[r] + self.circle * axes
                ln.set_data(pts[:, 0], pts[:, 1])
            else:
                ln.set_data([], [])


def key_text(state: StateArrows, th) -> str:
    """The key as one line of text (where no legend holds it)."""
    names = {"gradient": "red −lr·gradient", "momentum": "purple −lr·momentum", "update": "black: the update"}
    parts = [names[n] for n in state.vectors] + (["dashed: step scale"] if state.scaling is not None else [])
    return state.key_title() + ": " + ", ".join(parts)


NAN3 = (np.full(1, np.nan), np.full(1, np.nan), np.full(1, np.nan))


class StateArrows3D(StateArrows):
    """The same arrows on a 3-D surface: level with each head, at the height `height(step)` [R] gives."""

    def __init__(self, ax, ctx, state, i: int, j: int, xlim, ylim, height, factor: float | None = None):
        self.height = height
        super().__init__(ax, ctx, state, i, j, xlim, ylim, factor)

    @property
    def artists(self) -> list:
        return [*self.ellipses, *[ln for lines in self.lines.values() for ln in lines]]

    def _make(self) -> None:
        """Line3D artists instead of quivers: one per state and run (shaft and head in one line)."""
        ax, th, h = self.ax, self.ctx.theme, self.h
        self.lines = {name: [ax.plot([np.nan], [np.nan], [np.nan], color=COLORS[name] or th.foreground,
                                     lw=3.2 if name == "momentum" else 1.8, alpha=0.8 if name == "momentum" else 0.95,
                                     zorder=8)[0] for _ in range(h.runs)] for name in self.vectors}
        self.ellipses = ([ax.plot([np.nan], [np.nan], [np.nan], color=th.foreground, lw=1.2, ls=(0, (4, 2)),
                                  alpha=0.85, zorder=7)[0] for _ in range(h.runs)] if self.scaling is not None else [])

    def update(self, step: int) -> None:
        h = self.h
        k = step if step < h.steps else None
        vis = self.ctx.visible(step)
        at = h.params[min(step, h.steps)][:, [self.i, self.j]]
        z = self.height(step)
        for name, lines in self.lines.items():
            for r, ln in enumerate(lines):
                d = self.vectors[name][k, r] * self.factor if k is not None and vis[r] else np.full(2, np.nan)
                if not (np.isfinite(d).all() and np.isfinite(at[r]).all() and np.isfinite(z[r])) or not d.any():
                    ln.set_data_3d(*NAN3)
                    continue
                tip = at[r] + d
                c, s = np.cos(np.radians(155)), np.sin(np.radians(155))
                w1 = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]]) * 0.22
                w2 = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]]) * 0.22
                xs = [at[r][0], tip[0], tip[0] + w1[0], np.nan, tip[0], tip[0] + w2[0]]
                ys = [at[r][1], tip[1], tip[1] + w1[1], np.nan, tip[1], tip[1] + w2[1]]
                ln.set_data_3d(np.array(xs), np.array(ys), np.full(6, z[r]))
        for r, ln in enumerate(self.ellipses):
            axes = self.scaling[k, r] * self.factor if k is not None and vis[r] else np.full(2, np.nan)
            if np.isfinite(axes).all() and np.isfinite(at[r]).all() and np.isfinite(z[r]):
                pts = at[r] + self.circle * axes
                ln.set_data_3d(pts[:, 0], pts[:, 1], np.full(len(pts), z[r]))
            else:
                ln.set_data_3d(*NAN3)
