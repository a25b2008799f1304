"""Views of the parameter space (contour, surface, landscape) and of a classifier's data (boundary): keys,
checks and docs."""
from __future__ import annotations

import numpy as np

from ...spec import Field
from . import ViewDef
from .common import STATE_FIELD, STATE_SCALE_FIELD, check_param_names, check_run

NO_LOSS = "this History has no loss function to draw (simulate the scene instead of loading it)"


def check_landscape(options, history):
    """Checks shared by contour and surface: a loss function and two parameters that exist."""
    info = history.problem
    if info is None or info.loss_fn is None:
        return [("", NO_LOSS)]
    if len(history.param_names) < 2:
        return [("params", f"needs a problem with two or more parameters; this one has only "
                           f"{len(history.param_names)}")]
    return check_param_names(options.get("params"), history)


LANDSCAPE_FIELDS = {
    "params": Field("strs", length=2, doc="the two parameters on the axes (default: the first two)"),
    "resolution": Field("int", default=160, ge=16, le=800, doc="grid points per axis"),
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="level spacing; auto: log when the loss spans more than two decades"),
    "fit": Field("str", default="window", choices=("window", "paths"),
                 doc="window: the problem's plotting window widened to hold the paths; paths: just the paths"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
    "title": Field("str"),
}

CONTOUR = ViewDef("contour", {
    **LANDSCAPE_FIELDS,
    "fit": Field("str", default="paths", choices=("paths", "window"),
                 doc="paths: the paths, starts and marked points (minima, stationary points) with a margin; "
                     "window: the problem's plotting window widened to hold them"),
    "aspect": Field("str", choices=("equal", "auto"),
                    doc="equal: one unit the same length on both axes (true shapes); auto: each axis fills the "
                        "panel; default: equal when both parameters are coordinates of one space (no data fitted)"),
    "markers": Field("bool", default=False, doc="a dot at every step of the paths (shrinking steps show)"),
    "levels": Field("int", default=30, ge=2, le=200, doc="number of contour levels"),
    "filled": Field("bool", default=True, doc="shade between the contour lines"),
    "arrows": Field("bool", default=False, doc="anti-gradient arrows on a coarse grid"),
    "trail": Field("int", default=0, ge=0, doc="steps of path behind each head; 0: the whole path"),
    "state": STATE_FIELD,
    "state_scale": STATE_SCALE_FIELD,
}, "animopt.views.contour.Contour", "loss contours over two parameters with each run's path", check_landscape,
    shows_runs=True)

SURFACE = ViewDef("surface", {
    **LANDSCAPE_FIELDS,
    "resolution": Field("int", default=100, ge=8, le=300, doc="grid points per axis"),
    "elev": Field("number", default=32.0, ge=-90, le=90, doc="camera elevation, degrees"),
    "azim": Field("number", default=-60.0, doc="camera azimuth at the start, degrees"),
    "rotate": Field("number", default=0.0, doc="degrees the camera turns over the clip (0: still camera)"),
    "state": STATE_FIELD,
    "state_scale": STATE_SCALE_FIELD,
}, "animopt.views.surface.Surface", "the loss as a 3-D surface with each run's path on it", check_landscape,
    shows_runs=True)


def _check_landscape_plane(options, history):
    info = history.problem
    if info is None or info.loss_fn is None:
        return [("", NO_LOSS)]
    P = len(history.param_names)
    if P <= 2:
        return [("", f"a plane through parameter space needs more than two parameters; this problem has {P}: "
                     "draw it whole with contour")]
    center = options.get("center", "mean")
    if center != "mean":
        return check_run(history, center, "center")
    return []


LANDSCAPE = ViewDef("landscape", {
    "plane": Field("str", default="pca", choices=("pca", "random"),
                   doc="pca: the principal directions of all runs' paths together (axes give the share of "
                       "variance); random: two Gaussian directions, filter-normalized (Li et al. 2018)"),
    "center": Field("any", default="mean",
                    doc="the plane's origin: \"mean\" (the runs' mean final point), or a run's label or index "
                        "(its final point)"),
    "seed": Field("int", default=0, ge=0, doc="random plane: the seed of its directions"),
    "span": Field("number", gt=0, doc="the plane reaches at least +-span around the centre, in units of the "
                                      "directions (default: the paths; random: at least 1)"),
    "resolution": Field("int", default=80, ge=16, le=400, doc="grid points per axis (fewer for big data)"),
    "levels": Field("int", default=30, ge=2, le=200, doc="number of contour levels"),
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="level spacing; auto: log when the loss spans more than two decades"),
    "fade": Field("bool", default=True,
                  doc="paths fade where most of their distance from the centre lies off the plane"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
    "title": Field("str"),
}, "animopt.views.landscape.Landscape", "the loss on a plane through parameter space (PCA of the paths or "
   "random, filter-normalized) with every run's path projected on it and its distance from the plane",
    _check_landscape_plane, shows_runs=True)


def data_2d(info) -> bool:
    """True when the problem's data are 2-D points X [n, 2] with labels y (the boundary view draws them)."""
    X = info.data.get("X") if info is not None else None
    return X is not None and np.ndim(X) == 2 and X.shape[1] == 2 and "y" in info.data


def _check_boundary(options, history):
    info = history.problem
    if info is None or info.predict is None:
        return [("", "needs a classifier problem (mlp, or classifier on 2-D data): this one predicts no classes")]
    if not data_2d(info):
        X = info.data.get("X")
        got = f"{X.shape[1]} features" if X is not None and np.ndim(X) == 2 else "no data points"
        return [("", f"draws 2-D data; this problem has {got} (the accuracy view works for any classifier)")]
    return check_run(history, options.get("run", 0))


BOUNDARY = ViewDef("boundary", {
    "run": Field("any", default=0, doc="the run drawn: its label or index (every run: "
                                       "{ type = \"grid\", view = \"boundary\" })"),
    "resolution": Field("int", default=200, ge=16, le=600, doc="pixels of the decision regions per axis"),
    "title": Field("str", doc="default: the run's label"),
}, "animopt.views.boundary.Boundary", "2-D data and one run's decision regions, step by step, with its "
   "training accuracy", _check_boundary)
