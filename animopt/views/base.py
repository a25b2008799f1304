"""The view interface: a static part drawn once, animated artists moved per frame.

Shared helpers for every view: robust axis limits (a diverging run must not squash the picture),
decimated growing curves, "diverged at step k" notes, legends that cope with many runs, parameter
name checks.
"""
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
    limits_from: History | None = None   # history whose extent sets the axes (shared axes); default: history
    legend_runs: bool = True        # False when the figure has one shared legend of the runs

    @property
    def info(self) -> ProblemInfo | None:
        return self.history.problem

    @property
    def extent(self) -> History:
        """The History axis limits are computed from (all panels of a grid share it)."""
        return self.limits_from if self.limits_from is not None else self.history

    def visible(self, step: int) -> np.ndarray:
        """[R] runs that still have a finite point at `step` (diverged runs stop at their step)."""
        d = self.history.diverged_at
        return (d < 0) | (step <= d)

    def clip_fraction(self, step: int) -> float:
        """Where `step` falls in the clip, 0..1 (by the frames of the timeline, so a log timeline and
        the final hold are respected); for views that animate something other than the runs."""
        fs = np.asarray(self.frame_steps)
        if fs.size == 0:
            return 1.0
        last = int(np.argmax(fs == fs[-1]))           # first frame of the final hold
        fs = fs[:last + 1]
        if fs.size < 2 or fs[-1] <= fs[0]:
            return 1.0
        pos = np.interp(step, fs, np.arange(fs.size))
        return float(np.clip(pos / (fs.size - 1), 0.0, 1.0))


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
    shows_runs: bool = False        # draws the runs in their colours: a figure with two such panels gets
                                    # one shared legend of the runs instead of one per panel


# ---------------------------------------------------------------- limits

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


def healthy(values: np.ndarray, h: History) -> np.ndarray:
    """The values `[T, R, ...]` that should set an axis: every step of the runs that did not diverge,
    only the start of those that did (their blow-up leaves the frame instead of squashing it). If every
    run diverged, their first two steps."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.asarray(h.diverged_at) < 0
    if ok.all():
        return v.ravel()
    parts = [v[:, ok].ravel()] if ok.any() else [v[:min(2, len(v)), ~ok].ravel()]
    parts.append(v[:1, ~ok].ravel())
    return np.concatenate(parts)


def run_limits(values: np.ndarray, h: History, pad: float = 0.06, include=(), q: float = 0.5) -> tuple[float, float]:
    """Axis limits for per-run series `[T, R]` (or `[T, R, k]`): the healthy runs (see `healthy`) plus
    every run's start and `include`. The whole range when it is at most 3x the robust one (percentiles
    q..100-q), so a brief overshoot stays in view; the robust range when a few values are far out."""
    v = np.asarray(values, dtype=np.float64)
    starts = v[0].ravel() if len(v) else ()
    inc = np.concatenate([np.ravel(starts), np.ravel(include)]).astype(np.float64)
    vals = healthy(v, h)
    full = robust_limits(vals, pad=0, lo_q=0, hi_q=100, include=inc)
    robust = robust_limits(vals, pad=0, lo_q=q, hi_q=100 - q, include=inc)
    lo, hi = full if (full[1] - full[0]) <= 3 * (robust[1] - robust[0]) else robust
    return lo - pad * (hi - lo), hi + pad * (hi - lo)


def log_scale_wanted(values, decades: float = 2.0) -> bool:
    """True when the positive finite values span more than `decades` (zeros are ignored; any negative
    value means linear)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0 or (v < 0).any():
        return False
    pos = v[v > 0]
    if pos.size < 2:
        return False
    return bool(np.log10(np.percentile(pos, 99.5) / np.percentile(pos, 0.5)) > decades)


def log_limits(values, max_decades: float = 10.0, pad: float = 0.05, hi_q: float = 99.5) -> tuple[float, float]:
    """Limits for a log axis: the positive finite values up to percentile `hi_q` (at most `max_decades`
    below the top), padded by `pad` of the span in decades (at least 0.03 decade). Zeros are drawn at
    the floor."""
    v = np.asarray(values, dtype=np.float64).ravel()
    pos = v[np.isfinite(v) & (v > 0)]
    if pos.size == 0:
        return 0.1, 10.0
    hi = float(np.percentile(pos, hi_q))
    lo = max(float(pos.min()), hi * 10.0 ** -max_decades)
    if hi <= lo:
        lo, hi = lo / 10, hi * 10
    k = 10.0 ** max(0.03, pad * np.log10(hi / lo))
    return lo / k, hi * k


def log_ticks(axis, lo: float, hi: float) -> None:
    """Plain numbers (0.02, 0.05, 0.1, ...) on a log axis spanning at most three decades, where the
    default labels every minor tick as 6x10^-2; wider axes keep the powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if hi / lo <= 1e3:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


# ---------------------------------------------------------------- growing curves

def decimate(n: int, max_points: int = 1500) -> np.ndarray:
    """Indices 0..n-1 thinned to about `max_points` (always the first and last)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, max_points)).astype(np.int64))


def upto(keep: np.ndarray, k: int) -> np.ndarray:
    """The indices of `keep` (sorted) up to `k`, ending exactly at `k`."""
    cut = int(np.searchsorted(keep, k, side="right"))
    if cut and keep[cut - 1] == k:
        return keep[:cut]
    return np.append(keep[:cut], k)


# ---------------------------------------------------------------- parameters

def param_index(h: History, names, default: int | tuple = 0) -> list[int]:
    """Indices of parameter `names` (already checked), or `default` when None."""
    if names is None:
        return list(default) if isinstance(default, (tuple, list)) else [default]
    return [h.param_names.index(n) for n in names]


def check_param_names(names, h: History, key: str = "params") -> list[tuple[str, str]]:
    """(key, message) for the first name in `names` that is not a parameter of the problem."""
    if names is None:
        return []
    for i, n in enumerate(names):
        if n not in h.param_names:
            known = ", ".join(repr(p) for p in h.param_names[:12]) + (", ..." if len(h.param_names) > 12 else "")
            from ..spec import did_you_mean
            return [(key, f"{n!r} is not a parameter of this problem" + did_you_mean(str(n), h.param_names)
                     + f"; its parameters are {known}")]
    if len(set(names)) != len(names):
        return [(key, f"a parameter is named twice: {list(names)}")]
    return []


# ---------------------------------------------------------------- notes and legends

MAX_NOTES = 5


def diverged_note(ax, ctx: ViewCtx, y0: float = 0.97, loc: str = "left"):
    """A text artist per diverged run ("Adam diverged at step 12"), shown from that step on; past
    MAX_NOTES runs one more line counts the rest."""
    h = ctx.history
    texts = {}
    x = 0.02 if loc == "left" else 0.98
    runs = np.nonzero(h.diverged_at >= 0)[0]
    runs = runs[np.argsort(h.diverged_at[runs], kind="stable")]
    from matplotlib.transforms import ScaledTranslation

    fs = ctx.theme.font_size - 2
    text = getattr(ax, "text2D", ax.text)          # 3-D axes take 2-D text through text2D
    fig = ax.get_figure()

    def line(k):                                   # k lines below y0, in points: the same in any panel
        return ax.transAxes + ScaledTranslation(0, -k * 1.45 * fs / 72, fig.dpi_scale_trans)

    for k, r in enumerate(runs[:MAX_NOTES]):
        t = text(x, y0, f"{h.labels[r]} diverged at step {h.diverged_at[r]}",
                    transform=line(k), ha=loc, va="top", color=ctx.colors[r], fontsize=fs,
                    fontweight="bold", visible=False, zorder=10, clip_on=False,
                    bbox=dict(boxstyle="round,pad=0.2", fc=ctx.theme.background, ec="none", alpha=0.75))
        texts[int(r)] = t
    if len(runs) > MAX_NOTES:
        rest = runs[MAX_NOTES:]
        t = text(x, y0, f"+{len(rest)} more diverged", transform=line(MAX_NOTES), ha=loc,
                    va="top", color=ctx.theme.foreground, fontsize=fs, visible=False, zorder=10,
                    bbox=dict(boxstyle="round,pad=0.2", fc=ctx.theme.background, ec="none", alpha=0.75))
        texts[int(rest[0])] = t
    return texts


def show_diverged(texts: dict, h: History, step: int) -> None:
    for r, t in texts.items():
        t.set_visible(bool(step >= h.diverged_at[r]))


def run_entries(h: History, colors, max_entries: int = 8) -> tuple[list, list]:
    """(handles, labels) for the runs. Past `max_entries` runs: the first and last few with an ellipsis,
    which reads as a colour scale for a sweep."""
    from matplotlib.lines import Line2D

    lw = 2.2 if h.runs <= max_entries else 1.6
    idx = list(range(h.runs))
    k = 0
    if h.runs > max_entries:
        k = max(1, (max_entries - 1) // 2)
        idx = idx[:k] + [None] + idx[-k:]
    handles, labels = [], []
    for r in idx:
        if r is None:
            handles.append(Line2D([], [], color="none"))
            labels.append(f"… {h.runs - 2 * k} more")
        else:
            handles.append(Line2D([], [], color=colors[r], lw=lw))
            labels.append(h.labels[r])
    return handles, labels


def legend(ax, ctx: ViewCtx, max_entries: int = 8, extra=(), **kw):
    """A static legend of the runs (unless the figure has a shared one) plus `extra` (handle, label)
    pairs; see `run_entries`."""
    handles, labels = run_entries(ctx.history, ctx.colors, max_entries) if ctx.legend_runs else ([], [])
    for hd, lb in extra:
        handles.append(hd)
        labels.append(lb)
    if not handles:
        return None
    kw.setdefault("handlelength", 1.6)
    kw.setdefault("borderaxespad", 0.4)
    return ax.legend(handles, labels, **kw)


def run_style(ctx: ViewCtx) -> dict:
    """Line width and alpha for run lines: thinner and lighter when there are many runs."""
    n = ctx.history.runs
    if n <= 8:
        return {"lw": 2.2, "alpha": 1.0}
    if n <= 30:
        return {"lw": 1.5, "alpha": 0.85}
    return {"lw": 1.0, "alpha": 0.6}
