"""Views of a sweep: the heatmap over two swept keys and the grid of small multiples (animopt/views/
heatmap.py, grid.py): keys, checks, and the grouping of runs into panels both the check and the drawing use."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...spec import REQUIRED, Field
from . import ViewDef

MAX_PANELS = 36


def fmt_value(v) -> str:
    """A hyperparameter value, short: 0.001, 0.25, 16, 1e-05."""
    v = float(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def _check_heatmap(options, history):
    errs = []
    swept = [k for k, v in history.hparams.items() if np.asarray(v).ndim == 1]
    known = ("swept keys here: " + ", ".join(map(repr, swept))) if swept else (
        "this scene sweeps nothing; give the key a list of values (lr = [0.01, 0.1, 1.0]) or a range "
        "(momentum = { from = 0, to = 0.9, num = 4 })")
    runs = np.arange(history.runs)
    opt = options.get("optimizer")
    if opt is not None:
        if history.optimizer is None or not (history.optimizer == opt).any():
            n = 0 if history.optimizer is None else int(history.optimizer.max()) + 1
            return [("optimizer", f"no [[optimizer]] entry {opt}; this scene has {n} (0 to {n - 1})")]
        runs = runs[history.optimizer == opt]
    for key in ("x", "y"):
        k = options.get(key)
        if k not in history.hparams:
            errs.append((key, f"{k!r} is not a swept key of this scene; {known}"))
            continue
        v = np.asarray(history.hparams[k])
        if v.ndim != 1:
            errs.append((key, f"{k!r} takes list values; the heatmap needs a number per run; {known}"))
            continue
        vals = np.unique(v[runs][np.isfinite(v[runs])])
        if len(vals) < 2:
            errs.append((key, f"{k!r} takes {len(vals)} value(s) here; the heatmap needs a sweep over at "
                              "least two"))
    if not errs and options.get("x") == options.get("y"):
        errs.append(("y", f"x and y are both {options['x']!r}; pick two different swept keys"))
    return errs


HEATMAP = ViewDef("heatmap", {
    "x": Field("str", default="lr", doc="swept key along the horizontal axis (a key of the sweep)"),
    "y": Field("str", default="momentum", doc="swept key along the vertical axis"),
    "optimizer": Field("int", ge=0, doc="only the runs of this [[optimizer]] entry (0-based); default: all"),
    "xscale": Field("str", default="auto", choices=("auto", "linear", "log"),
                    doc="auto: log when the values are log-spaced"),
    "yscale": Field("str", default="auto", choices=("auto", "linear", "log")),
    "title": Field("str", doc="panel title"),
    "best_tolerance": Field("number", default=0.1, ge=0,
                            doc="cells whose loss is within this fraction of their column's best (or of the "
                                "noise floor, the problem's min_loss, when larger) tie with it and are ringed "
                                "together; the line joins only columns with one best cell. At the noise floor "
                                "minibatch noise reorders cells by a few percent"),
}, "animopt.views.heatmap.Heatmap", "the loss over a two-hyperparameter sweep, step by step, with the best y for "
   "each x", _check_heatmap)


def restrict(h, runs):
    """The History of the runs `runs` only (same steps, same problem)."""
    runs = np.asarray(runs, dtype=np.int64)
    bi = h.batch_idx
    if bi is not None and bi.ndim == 3:
        bi = bi[:, runs]
    return replace(
        h, params=h.params[:, runs], loss=h.loss[:, runs], grads=h.grads[:, runs], updates=h.updates[:, runs],
        lr=h.lr[:, runs], diverged_at=h.diverged_at[runs], labels=tuple(h.labels[r] for r in runs),
        hparams={k: np.asarray(v)[runs] for k, v in h.hparams.items()},
        optimizer=None if h.optimizer is None else h.optimizer[runs], batch_idx=bi)


def panels(h, by: str | None) -> list[tuple[str, np.ndarray]]:
    """(title, run indices) of each panel: per value of `by` (sorted), else one per run."""
    if not by:
        return [(h.labels[r], np.array([r])) for r in range(h.runs)]
    v = np.asarray(h.hparams[by], dtype=np.float64)
    rows = v.reshape(h.runs, -1)
    keys = [tuple(r) for r in rows]
    order = sorted(set(keys), key=lambda k: (any(np.isnan(k)), tuple(np.nan_to_num(k, nan=np.inf))))
    out = []
    for k in order:
        idx = np.array([i for i, kk in enumerate(keys) if kk == k or (np.allclose(kk, k, equal_nan=True))])
        if any(np.isnan(k)):
            title = f"no {by}"
        elif len(k) == 1:
            title = f"{_name(by)} = {fmt_value(k[0])}"
        else:
            title = f"{_name(by)} = [" + ", ".join(fmt_value(x) for x in k) + "]"
        out.append((title, idx))
    return out


def _name(key: str) -> str:
    return {"batch_size": "batch size"}.get(key, key)


def _view_field(v):
    from ...scene import ViewSpec

    if isinstance(v, (str, dict, ViewSpec)):
        return None
    return "expected a view name (\"fit_line\") or a table ({ type = \"contour\", ... })"


def _check_grid(options, history):
    from . import VIEWS

    spec = options.get("view")
    if spec is None or isinstance(spec, (str, dict)):
        return []                     # scene.py has reported it
    if spec.type == "grid":
        return [("view", "a grid cannot hold another grid")]
    by = options.get("by")
    if by and by not in history.hparams:
        swept = ", ".join(map(repr, history.hparams)) or "none: this scene sweeps nothing"
        return [("by", f"{by!r} is not a swept key of this scene; swept keys here: {swept}")]
    groups = panels(history, by)
    if len(groups) > MAX_PANELS:
        return [("by" if by else "view", f"{len(groups)} panels is more than a grid holds ({MAX_PANELS}); "
                 + ("sweep fewer values" if by else "group the runs with by = \"<swept key>\""))]
    errs = []
    for key, msg in VIEWS[spec.type].check(dict(spec.options), restrict(history, groups[0][1])):
        errs.append((f"view.{key}" if key else "view", msg))
    return errs


GRID = ViewDef("grid", {
    "view": Field("any", default=REQUIRED, check=_view_field, doc="the view drawn in every panel"),
    "by": Field("str", doc="swept key: one panel per value (its runs drawn together); default: one per run"),
    "cols": Field("int", ge=1, le=MAX_PANELS, doc="panels per row (default: what makes them about 4:3)"),
    "share": Field("bool", default=True, doc="the same axes limits in every panel (from all the runs)"),
}, "animopt.views.grid.Grid", "small multiples of a view: one panel per run or per value of a swept key",
    _check_grid, shows_runs=True)
