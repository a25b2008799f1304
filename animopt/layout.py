"""One figure holding every view of a scene, and the fast frame loop (blitting).

The static parts are drawn once into a background; each frame restores it, moves the animated
artists and draws only those, and hands the canvas buffer (RGBA, no copy) to the caller.
"""
from __future__ import annotations

import functools
import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .history import History  # noqa: E402
from .styles import params_drawn, run_styles  # noqa: E402
from .theme import THEMES  # noqa: E402
from .declare.views import VIEWS, check_views  # noqa: E402,F401  (check_views: where drawing code finds it)
from .views import ViewCtx  # noqa: E402


# views that draw no run in its own colour or style (only cells of a sweep): a figure of these alone needs no
# per-run style (animopt.styles.run_styles takes about 10 s at a million runs)
RUNLESS_VIEWS = ("heatmap",)


class Canvas:
    """The figure of a scene. Use as a context manager; `frame(step)` returns the RGBA buffer."""

    def __init__(self, render, history: History, title: str, frame_steps: np.ndarray, display: tuple = (),
                 optimizers: tuple = ()):
        self.render = render
        self.h = history
        self.display = display           # each [[optimizer]] entry's display keys (color, linestyle, ...)
        self.optimizers = optimizers     # each [[optimizer]] entry (OptimizerSpec): the update view's rule
        self.theme = THEMES[render.theme]
        self._rc = matplotlib.rc_context(self.theme.rc())
        self._rc.__enter__()
        try:
            self._build(title, frame_steps)
        except BaseException:
            self._rc.__exit__(None, None, None)
            raise

    def _build(self, title: str, frame_steps: np.ndarray) -> None:
        """The figure: a header band (title, step counter, one legend of the runs when several panels
        show them) over the panels, laid out once by constrained layout and then frozen."""
        r, th, h = self.render, self.theme, self.h
        W, H = r.size
        self.fig = fig = Figure(figsize=((W + 0.5) / r.dpi, (H + 0.5) / r.dpi), dpi=r.dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(fig)
        specs = [spec for row in r.views for spec in row]
        types = [s.options["view"].type if s.type == "grid" else s.type for s in specs]
        if all(t in RUNLESS_VIEWS for t in types):      # no run drawn as such (a million-run heat map)
            self.styles = None
            colors = [th.palette[0]] * h.runs
        else:
            self.styles = run_styles(h, th, self.display, frame_steps, params_drawn(types))
            colors = [s.color for s in self.styles]
        shared = sum(VIEWS[s.type].shows_runs for s in specs) >= 2
        ctx = ViewCtx(h, th, colors, frame_steps, legend_runs=not shared, styles=self.styles,
                      optimizers=self.optimizers)
        top = self._header(title, colors if shared else None)
        fig.get_layout_engine().set(rect=(0, 0, 1, top), w_pad=6 / 72, h_pad=6 / 72, wspace=0.03, hspace=0.03)
        outer = fig.add_gridspec(len(r.views), 1)
        self.views, self.artists = [], []
        for i, row in enumerate(r.views):
            cells = outer[i].subgridspec(1, len(row))
            for j, spec in enumerate(row):
                view = VIEWS[spec.type].cls(dict(spec.options), ctx)
                n_axes = len(fig.axes)
                self.artists += list(view.setup(fig, cells[j]))
                view._axes = fig.axes[n_axes:]           # the panel's axes (where its captions go)
                self.views.append(view)
        self.artists.sort(key=lambda a: a.get_zorder())     # drawn in zorder, as matplotlib would (stable)
        self.artists.append(self.counter)
        for a in self.artists:
            a.set_animated(True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.get_layout_engine().execute(fig)
        fig.set_layout_engine("none")            # the layout is fixed for the clip (and costs nothing more)
        if any("collapsed" in str(w.message) for w in caught):
            self._plain_layout(outer, top)       # a figure too small for its fonts: fixed margins
        self._after_layout()
        self.captions = None
        if getattr(r, "captions", ()):
            from .captions import Captions

            self.captions = Captions(self, r.captions, frame_steps, r.fps, top)
            for a in self.captions.artists:
                a.set_animated(True)
            self.artists[-1:-1] = self.captions.artists          # over the views, under the counter
        self._background()

    def _after_layout(self) -> None:
        """Once the layout is frozen: views that need their axes' real size adjust (equal scales fill
        the final box), then every legend and note is placed where it hides least and never on another
        (animopt.views.base.place_overlays)."""
        from .views.base import place_overlays

        for v in self.views:
            v.after_layout()
        place_overlays(self.fig, self.canvas.get_renderer())

    def _plain_layout(self, outer, top: float) -> None:
        outer.update(left=0.1, right=0.98, bottom=0.12, top=max(0.3, top - 0.04), hspace=0.45)
        for ax in self.fig.axes:
            spec = ax.get_subplotspec()
            if spec is not None:
                ax._set_position(spec.get_position(self.fig))

    def _header(self, title: str, colors) -> float:
        """Title (left of the counter when centring would collide with it), step counter at the right,
        and the shared legend of the runs below them; returns the top of the panels (figure fraction)."""
        from .views.base import run_entries

        fig, th = self.fig, self.theme
        W, H = fig.bbox.width, fig.bbox.height
        px = fig.dpi / 72.0                                  # pixels per point
        pad = 0.35 * th.font_size * px
        renderer = self.canvas.get_renderer()
        counter_w = (len(self.step_text(self.h.steps)) * 0.62 + 2.0) * th.font_size * px + pad   # and a gap
        y = H - pad
        if title:
            size = th.font_size + 4
            t = fig.text(0.5, y / H, title, ha="center", va="top", fontsize=size, fontweight="bold")
            while True:
                w = t.get_window_extent(renderer).width
                if W / 2 + w / 2 <= W - counter_w:
                    break
                if pad + w <= W - counter_w:
                    t.set_ha("left")
                    t.set_x(pad / W)
                    break
                if size <= th.font_size - 2:
                    break
                size -= 1
                t.set_fontsize(size)
            y -= (th.font_size + 4) * 1.35 * px
        else:
            y -= th.font_size * 1.45 * px
        self.counter = Counter(fig, 1 - pad / W, 1 - (pad + 0.15 * th.font_size * px) / H, th.muted, th.font_size)
        if colors is not None:
            # one row if it fits (fewer runs named around the ellipsis if need be), else rows filled across
            tries = [(m, None) for m in (8, 6, 4)] + [(8, k) for k in range(4, 0, -1)]
            for max_entries, ncol in tries:
                handles, labels = run_entries(self.h, colors, max_entries, self.styles)
                n = len(handles)
                cols = ncol or n
                if ncol:      # matplotlib fills columns first: reorder so rows read left to right
                    rows = -(-n // cols)
                    order = [r * cols + c for c in range(cols) for r in range(rows) if r * cols + c < n]
                    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
                leg = fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, y / H), ncols=cols,
                                 frameon=False, handlelength=1.8, columnspacing=1.6, borderaxespad=0,
                                 fontsize=th.font_size - 1)
                box = leg.get_window_extent(renderer)
                if box.width <= W - 2 * pad or (ncol == 1):
                    break
                leg.remove()
            y -= box.height + 0.2 * th.font_size * px
        return max(0.5, y / H)

    def _background(self) -> None:
        self.canvas.draw()
        self.bg = self.canvas.copy_from_bbox(self.fig.bbox)
        self._last = -1

    def step_text(self, step: int) -> str:
        h = self.h
        s = f"step {step:>{len(str(h.steps))}d}/{h.steps}"
        if h.epoch is not None and len(h.epoch) > 1 and h.epoch[1] < 1:     # minibatches: epochs say more
            s += f"  epoch {h.epoch[min(step, len(h.epoch) - 1)]:.1f}"
        return s

    def frame(self, step: int, index: int | None = None) -> memoryview:
        """Draws `step` and returns the canvas's RGBA buffer (valid until the next frame). `index` is
        the frame's place in the clip (captions are timed by it; a still shows those of `step`).

        The background is re-captured when a view asks for it, and when the steps go backwards (a
        still or a GIF palette sample was drawn before the clip), so a view that changes its axes
        mid-clip is back to the state of `step`.
        """
        if step < self._last or any(v.background_changed(step) for v in self.views):
            for v in self.views:
                v.update(step)
            self._background()
        else:
            self.canvas.restore_region(self.bg)
        self._last = step
        for v in self.views:
            v.update(step)
        self.counter.set_text(self.step_text(step))
        if self.captions is not None:
            self.captions.update(step, index)
        renderer = self.canvas.get_renderer()
        for a in self.artists:
            a.draw(renderer)
        return self.canvas.buffer_rgba()

    def rgb(self, step: int, index: int | None = None) -> np.ndarray:
        """One frame as an `[H, W, 3]` uint8 array (a copy)."""
        return np.asarray(self.frame(step, index))[..., :3].copy()

    def close(self) -> None:
        self._rc.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()



class Counter(Artist):
    """The step counter: monospaced text composed from glyphs rendered once, so a string that changes
    every frame costs a few small array copies instead of a font layout and rasterisation.

    Placed like `fig.text(x, y, s, ha="right", va="top", family="DejaVu Sans Mono")`.
    """

    def __init__(self, fig: Figure, x: float, y: float, color, size: float):
        super().__init__()
        self.set_figure(fig)
        self.xy = (x, y)
        self.rgba = np.array([round(255 * c) for c in matplotlib.colors.to_rgba(color)], np.uint16)
        self.size = float(size)
        self.text = ""

    def set_text(self, s: str) -> None:
        self.text = s

    def get_text(self) -> str:
        return self.text

    def draw(self, renderer) -> None:
        s = self.text
        if not s or not self.get_visible():
            return
        dpi = float(self.figure.dpi)
        adv, pad, rows = _metrics(self.size, dpi)
        n = len(s)
        width = int(round(n * adv)) + 2 * pad
        alpha = np.zeros((rows, width), np.uint8)
        for i, ch in enumerate(s):
            if ch != " ":
                g = _glyph(ch, self.size, dpi)
                x = int(round(i * adv))
                cut = alpha[:, x:x + g.shape[1]]
                np.maximum(cut, g[:, :cut.shape[1]], out=cut)
        img = np.empty((rows, width, 4), np.uint8)
        img[..., :3] = self.rgba[:3]
        img[..., 3] = alpha.astype(np.uint16) * self.rgba[3] // 255
        x = int(round(self.xy[0] * self.figure.bbox.width)) - width + pad
        y = int(round(self.xy[1] * self.figure.bbox.height)) - rows
        gc = renderer.new_gc()
        renderer.draw_image(gc, x, y, img)          # rows bottom first, like the glyph cells
        gc.restore()


_MONO = "DejaVu Sans Mono"


def _scratch(s: str, size: float, dpi: float) -> tuple[np.ndarray, int, int]:
    """`s` drawn alone (va="top", ha="left") on a transparent canvas: its alpha, and the row and column
    of the text box's top-left corner."""
    from matplotlib.transforms import IdentityTransform

    em = size * dpi / 72.0
    w, h = int(em * (len(s) + 4)), int(em * 4)
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="none")
    canvas = FigureCanvasAgg(fig)
    x0, top = int(em * 2), int(em)
    fig.text(x0, h - top, s, transform=IdentityTransform(), ha="left", va="top", color="black",
             fontsize=size, family=_MONO)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 3].copy(), top, x0


@functools.lru_cache(maxsize=16)
def _metrics(size: float, dpi: float) -> tuple[float, int, int]:
    """(advance of one character in pixels, columns left of the pen in a glyph cell, rows of a cell)."""
    one, _, _ = _scratch("0", size, dpi)
    ten, _, _ = _scratch("0" * 10, size, dpi)
    adv = (np.nonzero(ten.any(axis=0))[0][-1] - np.nonzero(one.any(axis=0))[0][-1]) / 9.0
    em = size * dpi / 72.0
    return float(adv), int(np.ceil(em * 0.5)), int(np.ceil(em * 1.5))


@functools.lru_cache(maxsize=512)
def _glyph(ch: str, size: float, dpi: float) -> np.ndarray:
    """The alpha of one character in a cell whose pen is at column `pad` and box top at the last row
    (rows bottom first, as Agg's draw_image takes them)."""
    adv, pad, rows = _metrics(size, dpi)
    a, top, x0 = _scratch(ch, size, dpi)
    cell = np.ascontiguousarray(a[top:top + rows, x0 - pad:x0 + int(np.ceil(adv)) + pad][::-1])
    cell.setflags(write=False)
    return cell
