"""The view interface: a static part drawn once, animated artists moved per frame.

Shared helpers for every view: robust axis limits (a diverging run must not squash the picture),
decimated growing curves, notes of what became of each run (animopt.states), legends that cope with many runs, parameter
name checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from matplotlib.artist import Artist

from ..history import History
from ..info import ProblemInfo
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

    def after_layout(self) -> None:
        """Called once the figure's layout is final (frozen), before the background is drawn: a view
        that needs the real size of its axes (equal scales) adjusts its limits here."""


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
    notes.order = []                               # the runs' notes in stack order (the first on top)
    notes.fontsize = fs
    notes.ctx, notes.exit_word = ctx, exit_word
    for k, r in enumerate(runs[:MAX_NOTES]):
        notes.events[r] = _note_events(ctx, r, events[r])
        notes.order.append(r)
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
        notes.order.append(rest[0])
    _overlays(ax)["notes"].append(notes)           # placed with the legend once the layout is final
    return notes


def _note_events(ctx: ViewCtx, r: int, events) -> list:
    """(from step, text, colour, weight) of run `r`'s note: alarms bold in its colour, the rest muted."""
    th = ctx.theme
    return [(step, txt, th.muted if neutral else ctx.colors[r], "normal" if neutral else "bold")
            for step, txt, neutral in events]


def retime_notes(notes: Notes, exits) -> None:
    """The notes' events again with new exit steps `exits` (the view's limits changed after the layout;
    they only ever widen, so no run gains a note it has no artist for)."""
    events = state_events(notes.ctx, exits, notes.exit_word)
    for r in notes.order[:MAX_NOTES]:
        notes.events[r] = _note_events(notes.ctx, r, events.get(r, []))


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


# ---------------------------------------------------------------- curves that leave the axes

def to_edges(v: np.ndarray, lo: float, hi: float, log: bool = False) -> np.ndarray:
    """Series `[T, R]` as drawn: a run's first value past the axes that is not finite (or not positive
    on a log axis) is put just beyond the edge it left by, so the line runs to the edge; the rest of
    such values break the line. Nothing is drawn at a made-up floor."""
    out = np.array(v, dtype=np.float64)
    bad = ~np.isfinite(out) | ((out <= 0) if log else False)
    first = np.where(bad.any(0), bad.argmax(0), -1)
    beyond_top = hi * 1e3 if log else hi + 10 * (hi - lo)
    beyond_bottom = lo / 1e3 if log else lo - 10 * (hi - lo)
    for r in np.nonzero(first > 0)[0]:
        k = first[r]
        below = v[k, r] < 0 if not np.isnan(v[k, r]) else v[k - 1, r] < lo     # a NaN: the side it was heading
        out[k, r] = beyond_bottom if (np.isfinite(v[k, r]) or below) else beyond_top
    out[bad & (np.arange(len(out))[:, None] != first[None, :])] = np.nan
    with np.errstate(invalid="ignore"):
        return np.clip(out, beyond_bottom, beyond_top)


def crossing(y0: float, y1: float, edge: float, log: bool = False) -> float:
    """Where between two steps (0..1) the segment from y0 to y1 crosses `edge` (on the axis' scale)."""
    f = np.log10 if log else (lambda y: y)
    with np.errstate(all="ignore"):
        a, b, e = f(y0), f(y1), f(edge)
        t = (e - a) / (b - a)
    return float(np.clip(t, 0.0, 1.0)) if np.isfinite(t) else 1.0


def series_exits(v: np.ndarray, lo: float, hi: float, log: bool = False, t=None):
    """([R] step, [R] side, [R, 2] point on the edge) where each series of `v` `[T, R]` (drawn against
    `t`, default the index) first leaves [lo, hi]: side +1 over the top, -1 under the bottom (see
    animopt.states.exit_steps); -1, 0, NaN for a series that stays inside or starts outside."""
    from ..states import exit_steps

    v = np.asarray(v, dtype=np.float64)
    t = np.arange(len(v), dtype=np.float64) if t is None else np.asarray(t, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        at, side = exit_steps(np.where((v <= 0) & log, -np.inf, v), lo, hi)
    xy = np.full((len(side), 2), np.nan)
    for r in np.nonzero(at > 0)[0]:
        k, up = int(at[r]), side[r] > 0
        edge = hi if up else lo
        xy[r] = (t[k - 1] + crossing(v[k - 1, r], v[k, r], edge, log) * (t[k] - t[k - 1]), edge)
    return at, side, xy


class EdgeMarks:
    """A triangle on the edge where each run's curve first leaves the axes and, for the first MAX_NOTES,
    "step k" beside it, both shown from that step on (`update`). `artists` go to the animated list."""

    def __init__(self, ax, ctx: ViewCtx, exit_at, side, xy, size: float = 46):
        th = ctx.theme
        self.exit_at, self.xy = np.asarray(exit_at), np.asarray(xy, dtype=np.float64)
        self.texts = {}
        for r in np.nonzero(self.exit_at > 0)[0]:
            if len(self.texts) >= MAX_NOTES:
                break
            up = side[r] > 0
            n = sum(side[q] == side[r] for q in self.texts)          # stacked, not overprinted
            dy = -11 - 10 * n if up else 5 + 10 * n
            self.texts[int(r)] = ax.annotate(f"step {self.exit_at[r]}", self.xy[r], xytext=(5, dy),
                                             textcoords="offset points", fontsize=th.font_size - 3,
                                             color=ctx.colors[r], visible=False, annotation_clip=False, zorder=6)
        self.marks = ax.scatter(self.xy[:, 0], self.xy[:, 1], s=size, c=ctx.colors, zorder=6, marker="^",
                                clip_on=False, edgecolors=th.background, linewidths=0.8)
        self.marks.set_paths([triangle(side[r] >= 0) for r in range(len(side))])
        self.artists = [self.marks, *self.texts.values()]

    def update(self, step: int) -> None:
        gone = (self.exit_at > 0) & (self.exit_at <= step)
        self.marks.set_offsets(np.where(gone[:, None], self.xy, np.nan))
        for r, t in self.texts.items():
            t.set_visible(bool(gone[r]))


def triangle(up: bool):
    """A marker path: a triangle pointing up (left the axes over the top) or down (under the floor)."""
    from matplotlib.markers import MarkerStyle

    m = MarkerStyle("^" if up else "v")
    return m.get_path().transformed(m.get_transform())


# ---------------------------------------------------------------- placing legends and notes

LEGEND_LOCS = ("upper right", "upper left", "lower left", "lower right", "upper center", "lower center",
               "center right", "center left")
NOTE_CORNERS = ("upper left", "upper right", "lower left", "lower right")
SAMPLE_PX = 3.0           # what an overlay must avoid is sampled this far apart, in pixels
CLASH = 1e6               # the score of a placement where a note would overlap the legend or a caption


def _overlays(ax) -> dict:
    """The placement record of `ax`: what its legend and notes should not cover, and its notes."""
    rec = getattr(ax, "_animopt_overlays", None)
    if rec is None:
        rec = {"lines": [], "points": [], "notes": [], "obstacles": [], "movable": False}
        ax._animopt_overlays = rec
    return rec


def avoid(ax, lines=(), points=None, obstacles=()) -> None:
    """Registers what the legend and the notes of `ax` should not cover over the whole clip (known in
    advance from the History): `lines`, each `[N, 2]` in data coordinates (NaN breaks a line), `points`
    `[M, 2]`, and `obstacles`, artists (a caption) they must never overlap. The legend of an axes that
    registers something is moved to the place that covers least (see `place_overlays`)."""
    rec = _overlays(ax)
    rec["movable"] = True
    rec["lines"] += [np.asarray(xy, dtype=np.float64).reshape(-1, 2) for xy in lines]
    if points is not None:
        rec["points"].append(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    rec["obstacles"] += list(obstacles)


def curve_lines(t, v) -> list:
    """(t, v[:, r]) as `[N, 2]` for each run of `v` `[T, R]`: curves against the step, for `avoid`."""
    t = np.asarray(t, dtype=np.float64)
    return [np.c_[t, np.asarray(v, dtype=np.float64)[:, r]] for r in range(np.shape(v)[1])]


def _clip_segments(a: np.ndarray, b: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """Segments a -> b (`[N, 2]` each) clipped to box (x0, y0, x1, y1) (Liang-Barsky); those that cross it."""
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, (lo, hi) in enumerate(((box[0], box[2]), (box[1], box[3]))):
            for p, q in ((-d[:, k], a[:, k] - lo), (d[:, k], hi - a[:, k])):
                r = q / p
                t0 = np.where(p < 0, np.maximum(t0, r), t0)
                t1 = np.where(p > 0, np.minimum(t1, r), t1)
                t1 = np.where((p == 0) & (q < 0), -1.0, t1)
    keep = t0 <= t1
    return a[keep] + d[keep] * t0[keep, None], a[keep] + d[keep] * t1[keep, None]


def _samples(ax, rec) -> np.ndarray:
    """[K, 2] pixel positions inside `ax` along every registered line, about SAMPLE_PX apart, and the
    registered points: a count under a box measures how much of the clip it would hide."""
    bb = ax.bbox
    box = (bb.x0 - 2, bb.y0 - 2, bb.x1 + 2, bb.y1 + 2)
    T = ax.transData
    parts = [np.zeros((0, 2))]
    lines = len(rec["lines"])
    for q, xy in enumerate(rec["lines"] + rec["points"]):
        if not len(xy):
            continue
        with np.errstate(all="ignore"):
            p = T.transform(xy)
        ok = np.isfinite(p).all(1)
        parts.append(p[ok])
        if len(p) < 2 or q >= lines:
            continue
        seg = ok[:-1] & ok[1:]
        a, b = _clip_segments(p[:-1][seg], p[1:][seg], box)
        n = np.clip(np.ceil(np.hypot(*(b - a).T) / SAMPLE_PX), 1, 10000).astype(np.int64)
        idx = np.repeat(np.arange(len(a)), n)
        f = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
        parts.append(a[idx] + (b - a)[idx] * f[:, None])
    s = np.concatenate(parts)
    return s[(s[:, 0] >= box[0]) & (s[:, 0] <= box[2]) & (s[:, 1] >= box[1]) & (s[:, 1] <= box[3])]


def place_overlays(fig, renderer) -> None:
    """Each axes' legend and notes placed once the layout is final: the legend where it covers the
    fewest of the points its views registered over the whole clip (`avoid`), the notes stacked in a
    corner (or under the legend) where they cover the fewest and never overlap the legend or a caption."""
    for ax in fig.axes:
        rec = getattr(ax, "_animopt_overlays", None)
        if rec is not None and ax.name != "3d":
            _place(ax, rec, renderer)


def _note_widths(texts, events, renderer) -> list[float]:
    """The widest of each note's texts over the clip, in pixels."""
    out = []
    for t, evs in zip(texts, events):
        keep = (t.get_text(), t.get_visible(), t.get_fontweight())
        t.set_visible(True)
        w = 0.0
        for _, txt, _, weight in evs:
            t.set_text(txt)
            t.set_fontweight(weight)
            w = max(w, t.get_window_extent(renderer).width)
        t.set_text(keep[0])
        t.set_visible(keep[1])
        t.set_fontweight(keep[2])
        out.append(w)
    return out


def _place(ax, rec, renderer) -> None:
    from matplotlib.transforms import ScaledTranslation

    ax.apply_aspect()
    fig = ax.get_figure()
    S = _samples(ax, rec)

    def count(bb, pad=2.0):
        return int(((S[:, 0] >= bb.x0 - pad) & (S[:, 0] <= bb.x1 + pad)
                    & (S[:, 1] >= bb.y0 - pad) & (S[:, 1] <= bb.y1 + pad)).sum())

    hard = [o.get_window_extent(renderer) for o in rec["obstacles"] if o.get_visible()]
    leg = ax.get_legend()
    legs = [(None, None, 0.0)]
    if leg is not None and leg.get_visible():
        if rec["movable"]:
            legs = []
            for i, loc in enumerate(LEGEND_LOCS):
                leg.set_loc(loc)
                bb = leg.get_window_extent(renderer).frozen()
                legs.append((loc, bb, count(bb) + 0.5 * i + CLASH * any(bb.overlaps(o) for o in hard)))
        else:
            legs = [(None, leg.get_window_extent(renderer).frozen(), 0.0)]
    notes = [n for n in rec["notes"] if len(n)]
    texts = [n[r] for n in notes for r in n.order]
    events = [n.events[r] for n in notes for r in n.order]
    best = min(legs, key=lambda c: c[2])
    choice = (best, None)
    if texts:
        fs = notes[0].fontsize
        px = fig.dpi / 72.0
        lh, pad = 1.45 * fs * px, 0.25 * fs * px
        widths = _note_widths(texts, events, renderer)
        A = ax.bbox
        best_score = np.inf
        for lg in legs:
            lbb = lg[1]
            spots = [(c, c.startswith("upper") and 0.97 or 0.03) for c in NOTE_CORNERS]
            if lbb is not None and lg[0] in (None, *NOTE_CORNERS):    # stacked beyond the legend, its side
                up = lbb.y0 - A.y0 > A.y1 - lbb.y1
                side = "left" if (lbb.x0 + lbb.x1) / 2 < (A.x0 + A.x1) / 2 else "right"
                y = (lbb.y0 - pad - A.y0) / A.height if up else (lbb.y1 + pad - A.y0) / A.height
                spots.append(((("upper " if up else "lower ") + side), y))
            for i, (corner, y) in enumerate(spots):
                rects = _note_rects(A, corner, y, widths, lh, pad)
                clash = any(r.overlaps(o) for r in rects for o in hard + ([lbb] if lbb is not None else []))
                score = lg[2] + sum(count(r) for r in rects) + 0.5 * i + CLASH * clash
                if score < best_score:
                    best_score, choice = score, (lg, (corner, y))
    (loc, _, _), spot = choice
    if loc is not None and leg is not None:
        leg.set_loc(loc)
    if spot is not None:
        corner, y = spot
        top, left = corner.startswith("upper"), corner.endswith("left")
        for k, t in enumerate(texts):
            t.set_x(0.02 if left else 0.98)
            t.set_y(y)
            t.set_ha("left" if left else "right")
            t.set_va("top" if top else "bottom")
            shift = (-k if top else k) * 1.45 * notes[0].fontsize / 72
            t.set_transform(ax.transAxes + ScaledTranslation(0, shift, fig.dpi_scale_trans))


def _note_rects(A, corner: str, y: float, widths, lh: float, pad: float) -> list:
    """Pixel boxes of a stack of notes of `widths` anchored at axes fraction `y` in `corner` of `A`."""
    from matplotlib.transforms import Bbox

    top, left = corner.startswith("upper"), corner.endswith("left")
    x = A.x0 + (0.02 if left else 0.98) * A.width
    y0 = A.y0 + y * A.height
    out = []
    for k, w in enumerate(widths):
        x0, x1 = (x - pad, x + w + pad) if left else (x - w - pad, x + pad)
        if top:
            hi = y0 - k * lh + pad
            out.append(Bbox([[x0, hi - lh - pad], [x1, hi]]))
        else:
            lo = y0 + k * lh - pad
            out.append(Bbox([[x0, lo], [x1, lo + lh + pad]]))
    return out
