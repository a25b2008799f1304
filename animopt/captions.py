"""Captions on the figure (`[[render.caption]]`): timed text that fades in and out, placed in a corner
of the figure or of a panel without covering any legend, or an arrow callout to a run's current point.

Built by the Canvas once its layout is frozen; `update(step, index)` sets what frame `index` (showing
`step`) shows. Matplotlib only.
"""
from __future__ import annotations

import numpy as np
from matplotlib.transforms import Bbox

from .teach import CAPTION_SECONDS, FADE_SECONDS, Caption

PAD = 0.012           # of the figure, between a caption and the edge it sits at


def frame_range(c: Caption, frame_steps: np.ndarray, fps: float) -> tuple[int, int]:
    """[first, stop) frames of the clip the caption shows in."""
    fs = np.asarray(frame_steps)
    n = len(fs)
    f0 = int(np.searchsorted(fs, c.at, "left")) if c.at is not None else int(round((c.at_time or 0.0) * fps))
    f0 = min(max(f0, 0), max(n - 1, 0))
    if c.until is not None:
        f1 = int(np.searchsorted(fs, c.until, "right"))
    elif c.until_time is not None:
        f1 = int(round(c.until_time * fps))
    else:
        f1 = f0 + int(round(CAPTION_SECONDS * fps))
    return f0, min(max(f1, f0 + 1), n)


def wrap(text: str, fits) -> str:
    """Greedy line breaks at spaces outside $...$ so that `fits(line)` holds where it can."""
    out = []
    for para in text.split("\n"):
        words, cur, math = [], "", False
        for ch in para:                      # split at spaces outside mathtext
            if ch == "$":
                math = not math
            if ch == " " and not math:
                words.append(cur)
                cur = ""
            else:
                cur += ch
        words.append(cur)
        line = ""
        for w in words:
            trial = f"{line} {w}" if line else w
            if line and not fits(trial):
                out.append(line)
                line = w
            else:
                line = trial
        out.append(line)
    return "\n".join(out)


class Captions:
    """Every caption of a scene: its artists (animated, above the views) and how they change."""

    def __init__(self, canvas, captions, frame_steps: np.ndarray, fps: float, top: float):
        self.canvas, self.fig, self.theme = canvas, canvas.fig, canvas.theme
        self.renderer = canvas.canvas.get_renderer()
        self.fs = np.asarray(frame_steps)
        self.fade = max(1, int(round(FADE_SECONDS * fps)))
        self.top = top
        self.legends = self._legend_boxes()
        self.items = []           # (Caption, artist, (f0, f1), head run or None, view)
        for c in captions:
            view = canvas.views[c.panel] if c.panel is not None else None
            if c.head is not None:
                art = self._callout(c, view)
            else:
                art = self._placed(c, view)
            art.set_visible(False)           # measured while visible (an invisible text has no extent)
            self.items.append((c, art, frame_range(c, self.fs, fps),
                               canvas.h.labels.index(c.head) if c.head is not None else None, view))

    @property
    def artists(self) -> list:
        return [it[1] for it in self.items]

    # ------------------------------------------------------------ placement

    def _legend_boxes(self) -> list[Bbox]:
        boxes = [lg.get_window_extent(self.renderer) for lg in self.fig.legends]
        for ax in self.fig.axes:
            lg = ax.get_legend()
            if lg is not None and lg.get_visible():
                boxes.append(lg.get_window_extent(self.renderer))
        return [b.padded(3) for b in boxes]

    def _box_style(self, alpha: float = 0.88) -> dict:
        th = self.theme
        return dict(boxstyle="round,pad=0.4", fc=th.background, ec=th.muted, lw=0.8, alpha=alpha)

    def _region(self, view) -> Bbox:
        """Pixels the caption may use: the panel's axes, or the figure below its header."""
        W, H = self.fig.bbox.width, self.fig.bbox.height
        if view is None:
            return Bbox.from_extents(0, 0, W, self.top * H)
        axes = _view_axes(view)
        return Bbox.union([ax.get_window_extent(self.renderer) for ax in axes]) if axes else self.fig.bbox

    def _placed(self, c: Caption, view):
        th, fig = self.theme, self.fig
        region = self._region(view)
        size = th.font_size + (2 if view is None else 0)
        t = fig.text(0, 0, "", fontsize=size, color=th.foreground, bbox=self._box_style(), zorder=20)
        limit = region.width * (0.82 if view is None else 0.92)

        def fits(s):
            t.set_text(s)
            return t.get_window_extent(self.renderer).width <= limit

        t.set_text(wrap(c.text, fits))
        t.set_multialignment("center" if c.where in ("top", "bottom") else
                             ("left" if c.where.endswith("left") else "right"))
        self._settle(t, c.where, region)
        return t

    def _settle(self, t, where: str, region: Bbox) -> None:
        """Puts `t` at `where` in `region`, else at the first place in it that covers no legend."""
        pad = PAD * self.fig.bbox.height
        order = [where] + [p for p in ("bottom", "top", "bottom left", "bottom right", "top left", "top right")
                           if p != where]
        first = None
        for place in order:
            for shift in (0, 1):
                xy, ha, va = _anchor(place, region, pad)
                t.set_position((xy[0] / self.fig.bbox.width, xy[1] / self.fig.bbox.height))
                t.set_ha(ha)
                t.set_va(va)
                box = t.get_window_extent(self.renderer)
                hit = [b for b in self.legends if b.overlaps(box)]
                if shift and hit:        # slide past the legend, vertically, away from the edge it sits at
                    y = (min(b.y0 for b in hit) - pad) if va == "top" else (max(b.y1 for b in hit) + pad)
                    t.set_position((xy[0] / self.fig.bbox.width, y / self.fig.bbox.height))
                    box = t.get_window_extent(self.renderer)
                    hit = [b for b in self.legends if b.overlaps(box)]
                elif shift:
                    continue
                inside = box.y0 >= region.y0 - 1 and box.y1 <= region.y1 + 1
                if first is None:
                    first = t.get_position(), ha, va
                if not hit and inside:
                    return
        t.set_position(first[0])
        t.set_ha(first[1])
        t.set_va(first[2])

    def _callout(self, c: Caption, view):
        th = self.theme
        ax = view.ax
        a = ax.annotate("", xy=(0, 0), xycoords="data", xytext=(0, 0), textcoords="offset points",
                        fontsize=th.font_size, color=th.foreground, bbox=self._box_style(0.92), zorder=20,
                        annotation_clip=False,
                        arrowprops=dict(arrowstyle="-|>", color=th.foreground, lw=1.3, shrinkA=2, shrinkB=7,
                                        mutation_scale=12))
        limit = max(ax.get_window_extent(self.renderer).width * 0.55, self.fig.bbox.width * 0.25)

        def fits(s):
            a.set_text(s)
            return a.get_window_extent(self.renderer).width <= limit

        a.set_text(wrap(c.text, fits))
        return a

    def _aim(self, a, view, xy, avoid=()) -> bool:
        """Points callout `a` at data point `xy` of the view, its text toward the panel's middle, off the
        legends and the boxes `avoid` (other captions), in the panel if it fits, else in the figure below
        the header; False when the point is not in the panel."""
        a.set_visible(True)
        ax = view.ax
        box = ax.get_window_extent(self.renderer)
        px, py = ax.transData.transform(xy)
        if not (np.isfinite(px) and np.isfinite(py) and box.x0 <= px <= box.x1 and box.y0 <= py <= box.y1):
            return False
        a.xy = tuple(xy)
        fig = Bbox.from_extents(0, 0, self.fig.bbox.width, self.top * self.fig.bbox.height)
        em = self.theme.font_size * self.fig.dpi / 72
        sx = -1 if px > (box.x0 + box.x1) / 2 else 1
        sy = -1 if py > (box.y0 + box.y1) / 2 else 1
        tries = [(sx, sy, 1.0), (sx, -sy, 1.0), (-sx, sy, 1.0), (-sx, -sy, 1.0), (sx, sy, 0.5), (-sx, sy, 0.5),
                 (sx, -sy, 0.5), (-sx, -sy, 0.5)]
        last = getattr(a, "_animopt_offset", None)      # keep the side it was on while that still works
        if last is not None:
            tries.insert(0, last)
        obstacles = [*self.legends, *avoid]
        best = None
        for dx, dy, k in tries:
            self._offset(a, dx, dy, k)
            tb = a.get_window_extent(self.renderer)
            score = (4 * (not any(b.overlaps(tb) for b in obstacles)) + 2 * _within(tb, box) + _within(tb, fig))
            if best is None or score > best[0]:
                best = (score, dx, dy, k)
            if score == 7:
                a._animopt_offset = (dx, dy, k)
                return True
        self._offset(a, *best[1:])
        a._animopt_offset = best[1:]
        return True

    def _offset(self, a, dx: int, dy: int, k: float) -> None:
        em = self.theme.font_size
        a.set_position((dx * 3.2 * em * k, dy * 2.6 * em * k))
        a.set_ha("left" if dx > 0 else "right")
        a.set_va("bottom" if dy > 0 else "top")

    # ------------------------------------------------------------ per frame

    def alpha(self, rng: tuple[int, int], step: int, index: int | None) -> float:
        f0, f1 = rng
        if index is None:          # a still: shown if a frame of the clip showing `step` shows it
            shown = np.nonzero(self.fs == step)[0]
            if shown.size == 0:
                shown = [min(int(np.searchsorted(self.fs, step)), len(self.fs) - 1)]
            return 1.0 if any(f0 <= f < f1 for f in shown) else 0.0
        if not f0 <= index < f1:
            return 0.0
        return float(min(1.0, (index - f0 + 1) / self.fade, (f1 - index) / self.fade))

    def update(self, step: int, index: int | None = None) -> None:
        placed = []                       # boxes of the captions shown in place: callouts keep off them
        for c, art, rng, run, view in sorted(self.items, key=lambda it: it[3] is not None):
            a = self.alpha(rng, step, index)
            if a > 0 and run is not None:
                xy = head_point(view, run, step)
                a = a if xy is not None and self._aim(art, view, xy, placed) else 0.0
            art.set_visible(a > 0)
            if a > 0:
                art.set_alpha(a)
                art.get_bbox_patch().set_alpha(0.9 * a)
                if run is not None and art.arrow_patch is not None:
                    art.arrow_patch.set_alpha(a)
                else:
                    placed.append(art.get_window_extent(self.renderer))


def _within(inner: Bbox, outer: Bbox) -> bool:
    return inner.x0 >= outer.x0 and inner.x1 <= outer.x1 and inner.y0 >= outer.y0 and inner.y1 <= outer.y1


def _anchor(place: str, region: Bbox, pad: float) -> tuple[tuple[float, float], str, str]:
    """(x, y) pixels, ha, va of a caption at `place` in `region`."""
    x = {"left": region.x0 + pad, "right": region.x1 - pad}.get(place.split()[-1], (region.x0 + region.x1) / 2)
    if place.startswith("top"):
        return (x, region.y1 - pad), _ha(place), "top"
    return (x, region.y0 + pad), _ha(place), "bottom"


def _ha(place: str) -> str:
    return place.split()[-1] if place.endswith(("left", "right")) else "center"


def _view_axes(view) -> list:
    axes = getattr(view, "_axes", None)
    if axes:
        return list(axes)
    ax = getattr(view, "ax", None)
    return [ax] if ax is not None else []


def head_point(view, run: int, step: int):
    """A run's current point in the view's data coordinates: its position on a contour panel; on a
    fit_line panel a point of its line well inside the panel. None when it has none (diverged)."""
    from .views.contour import Contour
    from .views.fit_line import FitLine

    h = view.h
    k = min(step, h.steps)
    if not view.ctx.visible(step)[run]:
        return None
    if isinstance(view, Contour):
        p = view.xy[k, run]
        return p if np.isfinite(p).all() else None
    if isinstance(view, FitLine):
        a, b = h.params[k, run, view.ia], h.params[k, run, view.ib]
        if not (np.isfinite(a) and np.isfinite(b)):
            return None
        (x0, x1), (y0, y1) = view.ax.get_xlim(), view.ax.get_ylim()
        for f in (0.72, 0.28, 0.5, 0.85, 0.15):
            x = x0 + f * (x1 - x0)
            y = a * x + b
            if y0 + 0.08 * (y1 - y0) <= y <= y1 - 0.08 * (y1 - y0):
                return np.array([x, y])
        return None
    return None

