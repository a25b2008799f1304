"""How each run is drawn, the same in every panel: colour, dash pattern, marker shape, drawing order and
its name in the legend.

- Colours: an `[[optimizer]]`'s `color`, else the theme's palette (skipping colours taken by hand);
  runs that differ only by one swept value get an ordered colour map instead, by rank of the value.
- Runs drawn on top of each other (animopt.coincide) are told apart: the later one of a pair is dashed
  (dotted, dash-dotted for a third, fourth), gets another, smaller marker and is drawn on top, and its
  legend entry says so ("Keras = torch, same path"). Runs that only end at the same point keep solid
  lines. An entry's `linestyle`, `marker` and `zorder` always win.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from .coincide import Coincidence, coincidences, rank_in_group  # noqa: E402
from .history import History  # noqa: E402
from .theme import Theme, run_colors  # noqa: E402

DASHES = ("-", (0, (3, 3)), (0, (1, 2.2)), (0, (5, 2, 1, 2)))   # by rank among coinciding runs (in line widths)
MARKERS = ("o", "s", "D", "^", "v", "P")
PARAMETER_FREE_VIEWS = ("loss", "lr", "heatmap", "ema")   # views whose runs' artists do not follow the parameters


@dataclass(frozen=True)
class RunStyle:
    color: Any
    linestyle: Any = "-"
    marker: str = "o"
    marker_scale: float = 1.0       # of the view's marker size (a run on top of another: smaller)
    order: float = 0.0              # added to a view's zorder for this run's artists
    label: str = ""                 # the legend entry

    def line(self, zorder: float) -> dict:
        """Keyword arguments of a run's line: colour, dash pattern and drawing order."""
        return {"color": self.color, "ls": self.linestyle, "zorder": zorder + self.order}


def run_styles(h: History, theme: Theme, display: tuple[Mapping, ...] = (), steps=None,
               params_drawn: bool = True) -> list[RunStyle]:
    """One style per run (see the module's note). `display` is each `[[optimizer]]` entry's display
    keys, `steps` the step of every frame, `params_drawn` whether a panel follows the parameters."""
    given = [dict(display[e]) if h.optimizer is not None and e < len(display) else {}
             for e in (h.optimizer if h.optimizer is not None else [0] * h.runs)]
    found = coincidences(h, steps, params=params_drawn)
    rank, size = rank_in_group(h, found)
    dashed, _ = rank_in_group(h, [c for c in found if c.kind != "from"])
    notes = legend_notes(h, found)
    colors = base_colors(h, theme, [g.get("color") for g in given])
    order = np.lexsort((np.arange(h.runs), [g.get("zorder", 0.0) for g in given]))
    position = np.empty(h.runs, dtype=np.int64)
    position[order] = np.arange(h.runs)
    out = []
    for r, g in enumerate(given):
        k = int(rank[r])
        out.append(RunStyle(
            color=g.get("color", colors[r]),
            linestyle=g.get("linestyle", DASHES[dashed[r] % len(DASHES)]),
            marker=g.get("marker", MARKERS[k % len(MARKERS)]),
            marker_scale=marker_scale(k, int(size[r])),
            order=0.01 * float(position[r]),
            label=notes.get(r, h.labels[r])))
    return out


def marker_scale(rank: int, size: int) -> float:
    """Marker size (of the view's) for the run of `rank` in a group of `size` coinciding runs: the first
    largest, each later one smaller and drawn on top, so that every one shows a ring around the next."""
    return 1.0 if size < 2 else 0.85 + 0.6 * (size - 1 - rank)


def legend_notes(h: History, found: list[Coincidence]) -> dict[int, str]:
    """The legend entry of each run that hides another: the first run it coincides with, named."""
    notes: dict[int, str] = {}
    kinds = {"path": 0, "loss": 1, "until": 2, "from": 3}     # the closest likeness first
    for c in sorted(found, key=lambda c: (c.run, kinds.get(c.kind, 4), c.under)):
        notes.setdefault(c.run, c.note(h.labels))
    return notes


def swept_values(h: History) -> np.ndarray | None:
    """[R] the value the runs differ by, when they come from one `[[optimizer]]` entry and differ in
    exactly one swept key with one number per run; else None."""
    if h.runs < 2 or (h.optimizer is not None and len(np.unique(h.optimizer)) > 1):
        return None
    varying = [v for v in h.hparams.values() if len(np.unique(np.asarray(v), axis=0)) > 1]
    if len(varying) != 1:
        return None
    v = np.asarray(varying[0], dtype=np.float64)
    return v if v.ndim == 1 and np.isfinite(v).all() else None


def ordered_colors(values: np.ndarray, theme: Theme) -> list:
    """Colours of the theme's run colour map, in the order of `values` (by rank; ties share one)."""
    import matplotlib

    distinct, rank = np.unique(values, return_inverse=True)
    lo, hi = theme.run_range
    where = lo + (hi - lo) * rank / max(1, distinct.size - 1)
    cmap = matplotlib.colormaps.get_cmap(theme.run_cmap)
    return [cmap(float(x)) for x in where]


def base_colors(h: History, theme: Theme, chosen: list) -> list:
    """A colour per run before the entries' own `color`: ordered for a one-key sweep, else the
    palette, skipping the colours chosen by hand."""
    values = swept_values(h)
    if values is not None:
        return ordered_colors(values, theme)
    taken = {str(c).lower() for c in chosen if c is not None}
    free = [c for c in run_colors(h.runs + len(taken), theme) if str(c).lower() not in taken]
    return free[:h.runs]


def params_drawn(view_types) -> bool:
    """Whether any of these views draws the runs' parameters (a path, a line, parameter curves)."""
    return any(t not in PARAMETER_FREE_VIEWS for t in view_types)


def set_markers(collection, styles: list[RunStyle], size: float) -> None:
    """Gives each point of a scatter of the runs (one point per run) its run's marker shape and size
    (`size` in points^2 for a scale of 1); an unfilled marker is drawn in the run's colour."""
    from matplotlib.markers import MarkerStyle

    paths, edges = [], list(collection.get_edgecolors())
    for r, s in enumerate(styles):
        m = MarkerStyle(s.marker)
        paths.append(m.get_path().transformed(m.get_transform()))
        if not m.is_filled() and len(edges) == len(styles):
            edges[r] = matplotlib.colors.to_rgba(s.color)
    collection.set_paths(paths)
    collection.set_sizes([size * s.marker_scale ** 2 for s in styles])
    if len(edges) == len(styles):
        collection.set_edgecolors(edges)
