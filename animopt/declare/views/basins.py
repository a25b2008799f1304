"""The basins view (animopt/views/basins.py): its keys, its check, and the grouping of the runs into
panels and of the starts into a grid that both the check and the drawing use."""
from __future__ import annotations

import re

import numpy as np

from ...spec import Field
from . import ViewDef
from .common import marked_points

MAX_PANELS = 12


def panels(h) -> list[tuple[str, np.ndarray]]:
    """(title, runs) of each panel: the runs of one [[optimizer]] entry and one value of every swept key
    but `init`, in the order of the runs; titled by the runs' label without its start number."""
    keys = [k for k in h.hparams if k != "init"]
    cols = [np.asarray(h.optimizer if h.optimizer is not None else np.zeros(h.runs))]
    cols += [np.nan_to_num(np.asarray(h.hparams[k], dtype=np.float64).reshape(h.runs, -1), nan=-np.inf)
             for k in keys]
    key = np.column_stack([c.reshape(h.runs, -1) for c in cols]) if len(cols) > 1 else cols[0].reshape(h.runs, 1)
    if key.shape[1] == 1 and (key[1:, 0] >= key[:-1, 0]).all():
        # the entries in order and nothing else swept: each panel a range of runs, found without sorting
        cuts = np.r_[0, np.flatnonzero(key[1:, 0] != key[:-1, 0]) + 1, h.runs]
        return [(re.sub(r" start \d+$", "", h.labels[int(a)]), np.arange(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    out = []
    for g in order:
        runs = np.nonzero(inverse.ravel() == g)[0]
        out.append((re.sub(r" start \d+$", "", h.labels[runs[0]]), runs))
    return out


def grid_of(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(xs, ys, row, col) when the [n, 2] starts fill a regular grid once each (row-major image
    order: rows along the second parameter), else None."""
    xs, col = np.unique(starts[:, 0], return_inverse=True)
    ys, row = np.unique(starts[:, 1], return_inverse=True)
    if len(xs) * len(ys) != len(starts) or len(xs) < 2 or len(ys) < 2:
        return None
    cell = row.ravel() * len(xs) + col.ravel()
    if np.bincount(cell, minlength=len(starts)).max() != 1:     # each cell once (cell < len(starts))
        return None
    return xs, ys, row.ravel(), col.ravel()


def _check(options, history):
    if len(history.param_names) != 2:
        return [("", f"the basins view draws a grid of starts over two parameters; this problem has "
                     f"{len(history.param_names)}")]
    if history.problem is None or not len(marked_points(history.problem, 2)[0]):
        return [("", "the basins view colours each start by the minimum it reaches; this problem marks none "
                     "(an expression problem can give minimum = [...])")]
    want = "init = { grid = [[x0, x1, nx], [y0, y1, ny]] } in [train]"
    if "init" not in history.hparams or np.asarray(history.hparams["init"]).ndim != 2:
        return [("", f"the basins view needs a grid of starting points: {want}")]
    starts = np.asarray(history.hparams["init"], dtype=np.float64)
    groups = panels(history)
    if len(groups) > MAX_PANELS:
        return [("", f"{len(groups)} panels (one per optimizer and swept value); the basins view draws at most "
                     f"{MAX_PANELS}")]
    for title, runs in groups:
        contiguous = len(runs) and runs[-1] - runs[0] + 1 == len(runs) and (np.diff(runs) == 1).all()
        if grid_of(starts[runs[0]:runs[-1] + 1] if contiguous else starts[runs]) is None:   # a view, not a copy
            return [("", f"the starts of {title!r} are not a full grid of at least 2 x 2 points: {want}")]
    return []


BASINS = ViewDef("basins", {
    "radius": Field("number", gt=0, doc="a start has settled at a minimum once its run is this close to it (this "
                                        "step and the one before); default: 1% of the grid's larger side"),
    "compare": Field("bool", default=False, doc="draw the first panel's final basin boundaries on the others, and "
                                               "the share of starts heading elsewhere than in the first panel"),
}, "animopt.views.basins.Basins", "a grid of starts, each coloured by the minimum its run is heading for (pale "
   "while moving, dark once diverged), one panel per optimizer or swept value", _check)
