"""The view interface: a static part drawn once, animated artists moved per frame.

Shared helpers for every view: robust axis limits (a diverging run must not squash the picture),
decimated growing curves, notes of what became of each run (animopt.states), legends that cope with many runs, parameter
name checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
from matplotlib.artist import Artist

from ..history import History
from ..info import ProblemInfo
from ..spec import Field
from ..states import RunStates, run_states
from ..theme import Theme


@dataclass
class ViewCtx:
    history: History
    theme: Theme
    colors: list                    # one colour per run
    frame_steps: np.ndarray         # the step of every frame (for precomputation)
    limits_from: History | None = None   # history whose extent sets the axes (shared axes); default: history
    legend_runs: bool = True        # False when the figure has one shared legend of the runs
    styles: list | None = None      # one animopt.styles.RunStyle per run; None: solid lines in `colors`
    optimizers: tuple = ()          # each [[optimizer]] entry (scene.OptimizerSpec), when drawn from a scene

    def style(self, r: int):
        """How run `r` is drawn: colour, dash pattern, marker, order, legend entry (animopt.styles)."""
        from ..styles import RunStyle

        return self.styles[r] if self.styles else RunStyle(self.colors[r], label=self.history.labels[r])

    @property
    def info(self) -> ProblemInfo | None:
        return self.history.problem

    @property
    def extent(self) -> History:
        """The History axis limits are computed from (all panels of a grid share it)."""
        return self.limits_from if self.limits_from is not None else self.history

    @cached_property
    def states(self) -> RunStates:
        """What became of each run (diverged, escaped, oscillating): see animopt.states."""
        return run_states(self.history)

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


MIN_LOG_DECADES = 1.0     # a log axis over less than this would show too few labelled ticks: linear


def log_decades(values) -> float:
    """Decades spanned by the positive finite values (0 when there are fewer than two; -1 when any
    finite value is negative: no log axis can show it)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if (v < 0).any():
        return -1.0
    pos = v[v > 0]
    return float(np.log10(pos.max() / pos.min())) if pos.size >= 2 else 0.0


def log_limits(values, max_decades: float = 10.0, pad: float = 0.05, hi_q: float = 99.5,
               include=()) -> tuple[float, float]:
    """Limits for a log axis: the positive finite values up to percentile `hi_q` (at most `max_decades`
    below the top) and the positive ones of `include` (a curve's start), padded by `pad` of the span
    in decades (at least 0.03 decade). Values under the floor and zeros leave through the bottom."""
    v = np.asarray(values, dtype=np.float64).ravel()
    pos = v[np.isfinite(v) & (v > 0)]
    inc = np.asarray(include, dtype=np.float64).ravel()
    inc = inc[np.isfinite(inc) & (inc > 0)]
    if pos.size == 0:
        return 0.1, 10.0
    hi = float(np.percentile(pos, hi_q))
    hi = pos.max() if pos.max() <= 10 * hi else hi        # a brief overshoot within a decade stays in view
    hi = max(hi, float(inc.max()) if inc.size else 0.0)
    lo = max(min(float(pos.min()), float(inc.min()) if inc.size else np.inf), hi * 10.0 ** -max_decades)
    if hi <= lo:
        lo, hi = lo / 10, hi * 10
    k = 10.0 ** max(0.03, pad * np.log10(hi / lo))
    return lo / k, hi * k


def log_ticks(axis, lo: float, hi: float) -> None:
    """Plain numbers (0.02, 0.05, 0.1, ...) on a log axis spanning at most three decades, where the
    default labels every minor tick as 6x10^-2; wider axes keep the powers of ten. Any span of a decade
    or more (MIN_LOG_DECADES) holds at least three labels: 1, 2 and 5 times a power of ten, or three
    powers of ten past three decades."""
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


class Notes(dict):
    """Run index -> its note's text artist; `events[r]`: (from step, text, neutral) in step order."""

    events: dict


def state_events(ctx: ViewCtx, exits=None, exit_word: str = "left the window") -> dict[int, list]:
    """The notes each run gets over the clip, from `ctx.states`: diverged (the loss grew past the
    bound), escaped (stopped with its loss falling without bound), oscillating (a cycle to the end),
    and, given `exits` ([R] step or -1), the step it left this view's axes."""
    h, s = ctx.history, ctx.states
    out = {}
    for r in range(h.runs):
        name, ev = h.labels[r], []
        if exits is not None and exits[r] >= 0:
            ev.append((int(exits[r]), f"{name} {exit_word} at step {exits[r]}", True))
        if s.diverged_at[r] >= 0:
            ev.append((int(s.diverged_at[r]), f"{name} diverged at step {s.diverged_at[r]}", False))
        if s.escaped_at[r] >= 0:
            ev.append((int(s.escaped_at[r]), f"{name} escaped at step {s.escaped_at[r]}: loss falls "
                                             "without bound", True))
        if s.cycle_period[r]:
            ev.append((int(s.cycle_from[r]), f"{name} oscillating (period {s.cycle_period[r]}) from "
                                             f"step {s.cycle_from[r]}", False))
        if ev:
            out[r] = sorted(ev, key=lambda e: e[0])
    return out


def diverged_note(ax, ctx: ViewCtx, y0: float = 0.97, loc: str = "left", exits=None,
                  exit_word: str = "left the window") -> Notes:
    """A text artist per run with something to tell (see `state_events`), shown from the step it
    happens: alarms (diverged, oscillating) bold in the run's colour, the rest (escaped, left the
    window) in the muted colour. Past MAX_NOTES runs one more line counts the rest."""
    h, th = ctx.history, ctx.theme
    events = state_events(ctx, exits, exit_word)
    runs = sorted(events, key=lambda r: events[r][0][0])
    from matplotlib.transforms import ScaledTranslation

    fs = th.font_size - 2
    text = getattr(ax, "text2D", ax.text)          # 3-D axes take 2-D text through text2D
    fig = ax.get_figure()
    box = dict(boxstyle="round,pad=0.2", fc=th.background, ec="none", alpha=0.75)

    def line(k):                                   # k lines below y0, in points: the same in any panel
        return ax.transAxes + ScaledTranslation(0, -k * 1.45 * fs / 72, fig.dpi_scale_trans)

    notes = Notes()
    notes.events = {}
    for k, r in enumerate(runs[:MAX_NOTES]):
        notes.events[r] = [(step, txt, th.muted if neutral else ctx.colors[r], "normal" if neutral else "bold")
                           for step, txt, neutral in events[r]]
        _, last, color, weight = notes.events[r][-1]           # the final state until a frame is drawn
        notes[r] = text(0.02 if loc == "left" else 0.98, y0, last, transform=line(k), ha=loc, va="top",
                        color=color, fontweight=weight, fontsize=fs, visible=False, zorder=10, clip_on=False,
                        bbox=box)
    if len(runs) > MAX_NOTES:
        rest = runs[MAX_NOTES:]
        first = min(events[r][0][0] for r in rest)
        notes[rest[0]] = text(0.02 if loc == "left" else 0.98, y0, "", transform=line(MAX_NOTES), ha=loc,
                              va="top", fontsize=fs, visible=False, zorder=10, bbox=box)
        notes.events[rest[0]] = [(first, f"+{len(rest)} more runs with notes", th.foreground, "normal")]
    return notes


def show_diverged(notes: Notes, h: History, step: int) -> None:
    """Each note shows its latest event at `step` (hidden before the first)."""
    for r, t in notes.items():
        now = [e for e in notes.events[r] if e[0] <= step]
        t.set_visible(bool(now))
        if now:
            _, txt, color, weight = now[-1]
            t.set_text(txt)
            t.set_color(color)
            t.set_fontweight(weight)


def run_entries(h: History, colors, max_entries: int = 8, styles=None) -> tuple[list, list]:
    """(handles, labels) for the runs. Past `max_entries` runs: the first and last few with an ellipsis,
    which reads as a colour scale for a sweep. With `styles` (animopt.styles), each entry has its run's
    dash pattern and legend text, and its marker when some run's marker differs from the others'."""
    from matplotlib.lines import Line2D

    lw = 2.2 if h.runs <= max_entries else 1.6
    idx = list(range(h.runs))
    k = 0
    if h.runs > max_entries:
        k = max(1, (max_entries - 1) // 2)
        idx = idx[:k] + [None] + idx[-k:]
    marked = bool(styles) and len({s.marker for s in styles}) > 1
    handles, labels = [], []
    for r in idx:
        if r is None:
            handles.append(Line2D([], [], color="none"))
            labels.append(f"… {h.runs - 2 * k} more")
        elif styles:
            s = styles[r]
            handles.append(Line2D([], [], color=s.color, lw=lw, ls=s.linestyle, marker=s.marker if marked else None,
                                  ms=6.5, mec="none"))
            labels.append(s.label)
        else:
            handles.append(Line2D([], [], color=colors[r], lw=lw))
            labels.append(h.labels[r])
    return handles, labels


def legend(ax, ctx: ViewCtx, max_entries: int = 8, extra=(), **kw):
    """A static legend of the runs (unless the figure has a shared one) plus `extra` (handle, label)
    pairs; see `run_entries`."""
    handles, labels = run_entries(ctx.history, ctx.colors, max_entries, ctx.styles) if ctx.legend_runs else ([], [])
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
