"""The view interface: a static part drawn once, animated artists moved per frame."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from matplotlib.artist import Artist

from ..history import History
from ..info import ProblemInfo
from ..spec import Field
from ..theme import Theme


@dataclass
class ViewCtx:
    history: History
    theme: Theme
    colors: list                    # one colour per run
    frame_steps: np.ndarray         # the step of every frame (for precomputation)

    @property
    def info(self) -> ProblemInfo | None:
        return self.history.problem

    def visible(self, step: int) -> np.ndarray:
        """[R] runs that still have a finite point at `step` (diverged runs stop at their step)."""
        d = self.history.diverged_at
        return (d < 0) | (step <= d)


class View:
    """Subclasses draw the static part in `setup` and return the artists `update` moves.

    `setup(fig, cell)` gets the figure and the SubplotSpec the view fills (it may split it);
    `update(step)` moves the animated artists to `step`. A view whose background must change
    mid-clip returns True from `background_changed(step)` for that frame.
    """

    def __init__(self, options: dict[str, Any], ctx: ViewCtx):
        self.options = options
        self.ctx = ctx
        self.h = ctx.history

    def setup(self, fig, cell) -> list[Artist]:
        raise NotImplementedError

    def update(self, step: int) -> None:
        raise NotImplementedError

    def background_changed(self, step: int) -> bool:
        return False


@dataclass(frozen=True)
class ViewDef:
    name: str
    fields: dict[str, Field]
    cls: Callable[..., View]
    doc: str = ""
    check: Callable[[dict, History], list[tuple[str, str]]] = field(default=lambda options, history: [])


def robust_limits(values, pad: float = 0.05, lo_q: float = 1.0, hi_q: float = 99.0,
                  include=()) -> tuple[float, float]:
    """Limits that hold the bulk of `values` (percentiles of the finite ones) plus `include`, padded."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    inc = np.asarray([x for x in np.ravel(include) if np.isfinite(x)], dtype=np.float64)
    if v.size:
        lo, hi = np.percentile(v, [lo_q, hi_q])
    elif inc.size:
        lo, hi = inc.min(), inc.max()
    else:
        lo, hi = 0.0, 1.0
    if inc.size:
        lo, hi = min(lo, inc.min()), max(hi, inc.max())
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5 * max(1.0, abs(lo)), hi + 0.5 * max(1.0, abs(hi))
    span = hi - lo
    return float(lo - pad * span), float(hi + pad * span)


def decimate(n: int, max_points: int = 1500) -> np.ndarray:
    """Indices 0..n-1 thinned to about `max_points` (always the first and last)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, max_points)).astype(np.int64))


def diverged_note(ax, ctx: ViewCtx, y0: float = 0.97, loc: str = "left"):
    """A text artist per diverged run ("Adam diverged at step 12"), shown from that step on."""
    h = ctx.history
    texts = {}
    k = 0
    x = 0.02 if loc == "left" else 0.98
    for r in np.nonzero(h.diverged_at >= 0)[0]:
        if k >= 6:
            break
        t = ax.text(x, y0 - 0.065 * k, f"{h.labels[r]} diverged at step {h.diverged_at[r]}",
                    transform=ax.transAxes, ha=loc, va="top", color=ctx.colors[r],
                    fontsize=ctx.theme.font_size - 2, fontweight="bold", visible=False)
        texts[int(r)] = t
        k += 1
    return texts


def show_diverged(texts: dict, h: History, step: int) -> None:
    for r, t in texts.items():
        t.set_visible(step >= h.diverged_at[r])


def legend(ax, ctx: ViewCtx, max_entries: int = 8, **kw) -> None:
    """A static legend of the runs (skipped past `max_entries` runs)."""
    from matplotlib.lines import Line2D

    h = ctx.history
    if h.runs > max_entries:
        return
    handles = [Line2D([], [], color=c, lw=2.2) for c in ctx.colors]
    ax.legend(handles, h.labels, **kw)
