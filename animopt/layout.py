"""One figure holding every view of a scene, and the fast frame loop (blitting).

The static parts are drawn once into a background; each frame restores it, moves the animated
artists and draws only those, and hands the canvas buffer (RGBA, no copy) to the caller.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .history import History  # noqa: E402
from .spec import Errors  # noqa: E402
from .theme import THEMES, run_colors  # noqa: E402
from .views import VIEWS, ViewCtx  # noqa: E402


def check_views(render, history: History, file: str) -> None:
    """View checks that need the History (a view that cannot draw this problem); raises SceneError."""
    errors = Errors(file)
    for r, row in enumerate(render.views):
        for c, spec in enumerate(row):
            path = f"render.views[{r}][{c}]" if len(render.views) > 1 else f"render.views[{c}]"
            for key, msg in VIEWS[spec.type].check(dict(spec.options), history):
                errors.add(f"{path}.{key}" if key else path, msg)
    errors.raise_if_any()


class Canvas:
    """The figure of a scene. Use as a context manager; `frame(step)` returns the RGBA buffer."""

    def __init__(self, render, history: History, title: str, frame_steps: np.ndarray):
        self.render = render
        self.h = history
        self.theme = THEMES[render.theme]
        self._rc = matplotlib.rc_context(self.theme.rc())
        self._rc.__enter__()
        try:
            self._build(title, frame_steps)
        except BaseException:
            self._rc.__exit__(None, None, None)
            raise

    def _build(self, title: str, frame_steps: np.ndarray) -> None:
        r = self.render
        W, H = r.size
        self.fig = fig = Figure(figsize=((W + 0.5) / r.dpi, (H + 0.5) / r.dpi), dpi=r.dpi)
        self.canvas = FigureCanvasAgg(fig)
        ctx = ViewCtx(self.h, self.theme, run_colors(self.h.runs, self.theme), frame_steps)
        top = 0.90 if title else 0.94
        outer = fig.add_gridspec(len(r.views), 1, left=0.065, right=0.985, bottom=0.085, top=top, hspace=0.42)
        self.views, self.artists = [], []
        for i, row in enumerate(r.views):
            cells = outer[i].subgridspec(1, len(row), wspace=0.24)
            for j, spec in enumerate(row):
                view = VIEWS[spec.type].cls(dict(spec.options), ctx)
                self.artists += list(view.setup(fig, cells[j]))
                self.views.append(view)
        if title:
            fig.suptitle(title, fontsize=self.theme.font_size + 4, fontweight="bold", y=0.975)
        self.counter = fig.text(0.985, 0.975, "", ha="right", va="top", color=self.theme.muted,
                                fontsize=self.theme.font_size, family="DejaVu Sans Mono")
        self.artists.append(self.counter)
        for a in self.artists:
            a.set_animated(True)
        self._background()

    def _background(self) -> None:
        self.canvas.draw()
        self.bg = self.canvas.copy_from_bbox(self.fig.bbox)

    def step_text(self, step: int) -> str:
        h = self.h
        s = f"step {step:>{len(str(h.steps))}d}/{h.steps}"
        if h.epoch is not None:
            s += f"  epoch {h.epoch[min(step, len(h.epoch) - 1)]:.1f}"
        return s

    def frame(self, step: int) -> memoryview:
        """Draws `step` and returns the canvas's RGBA buffer (valid until the next frame)."""
        if any(v.background_changed(step) for v in self.views):
            for v in self.views:
                v.update(step)
            self._background()
        else:
            self.canvas.restore_region(self.bg)
        for v in self.views:
            v.update(step)
        self.counter.set_text(self.step_text(step))
        for a in self.artists:
            self.fig.draw_artist(a)
        return self.canvas.buffer_rgba()

    def rgb(self, step: int) -> np.ndarray:
        """One frame as an `[H, W, 3]` uint8 array (a copy)."""
        return np.asarray(self.frame(step))[..., :3].copy()

    def close(self) -> None:
        self._rc.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
