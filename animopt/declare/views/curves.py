"""Views of the runs against the step (loss, lr, params, grads, accuracy), the data view (fit_line), one
run's update rule (update) and the moving averages (ema): keys, checks and docs."""
from __future__ import annotations

from ...spec import Field, did_you_mean
from . import ViewDef
from .common import check_param_names

CURVE_FIELDS = {
    "scale": Field("str", default="auto", choices=("auto", "linear", "log"),
                   doc="y axis; auto: log when the values span more than two decades; log or auto fall "
                       "back to linear when the values span under one decade (too few labelled ticks)"),
    "title": Field("str"),
    "ylabel": Field("str"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
}

LOSS_FIELDS = {**CURVE_FIELDS, "above_floor": Field(
    "bool", default=False, doc="draw the loss minus the problem's least loss (the noise floor of a data "
                               "problem): the jitter of minibatches around the answer, on a log axis")}


def _check_loss(options, history):
    """above_floor needs the least loss, which problems with a known minimum give."""
    if options.get("above_floor") and (history.problem is None or history.problem.min_loss is None):
        return [("above_floor", "this problem has no known least loss to subtract")]
    return []


LOSS = ViewDef("loss", LOSS_FIELDS, "animopt.views.curves.Loss", "each run's full-data loss, step by step",
               check=_check_loss, shows_runs=True)
LR = ViewDef("lr", dict(CURVE_FIELDS), "animopt.views.curves.LearningRate",
             "the learning rate each run used, step by step", shows_runs=True)


def _check_accuracy(options, history):
    info = history.problem
    if info is None or info.accuracy_fn is None:
        return [("", "needs a classifier problem (mlp or classifier): this one has no accuracy")]
    return []


ACCURACY = ViewDef("accuracy", {k: v for k, v in CURVE_FIELDS.items() if k != "scale"},
                   "animopt.views.boundary.Accuracy", "each run's training accuracy, step by step (classifiers)",
                   _check_accuracy, shows_runs=True)


def _check_fit_line(options, history):
    if history.problem is None or "x" not in history.problem.data:
        return [("", "fit_line needs a problem with x, y data (type = \"line\")")]
    return []


FIT_LINE = ViewDef("fit_line", {
    "title": Field("str", doc="panel title"),
    "highlight_batch": Field("bool", default=False, doc="ring the points of the current minibatch"),
    "legend": Field("bool", default=True, doc="a legend of the runs, the data and the true line"),
}, "animopt.views.fit_line.FitLine", "the data and each run's current line", _check_fit_line, shows_runs=True)


def _check_params(options, history):
    return check_param_names(options.get("params"), history)


PARAMS = ViewDef("params", {
    "params": Field("strs", min_length=1, doc="parameters to show (default: all of a problem with up to 6, "
                                              "else the 4 that moved most)"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
    "markers": Field("bool", default=False, doc="a dot at every step of the curves (shrinking steps show)"),
}, "animopt.views.params.Params", "each parameter against the step, one panel each, true values dashed",
    _check_params, shows_runs=True)


def _check_grads(options, history):
    if history.grads.shape[0] == 0:
        return [("", "there are no updates to show (steps = 0)")]
    p = options.get("param")
    return check_param_names(None if p is None else [p], history, key="param")


GRADS = ViewDef("grads", {
    "param": Field("str", doc="the parameter (default: the first)"),
    "title": Field("str"),
    "layout": Field("str", default="overlay", choices=("overlay", "stacked"),
                    doc="overlay: raw gradient (thin) and direction applied (thick) on one axis; stacked: one "
                        "panel each (adaptive methods, whose direction is not in the gradient's units)"),
    "legend": Field("bool", default=True, doc="a legend of the runs"),
}, "animopt.views.grads.Grads", "one parameter's raw minibatch gradient against the update direction applied",
    _check_grads, shows_runs=True)


def _beta_ok(betas):
    if any(not (0.0 <= b < 1.0) for b in betas):
        return f"every beta must be in [0, 1), got {list(betas)}"
    return None


EMA = ViewDef("ema", {
    "betas": Field("numbers", default=(0.9, 0.98), min_length=1, check=_beta_ok,
                   doc="smoothing factors, each in [0, 1)"),
    "steps": Field("int", default=200, ge=2, le=100_000, doc="length of the random walk"),
    "seed": Field("int", default=0, ge=0, doc="seed of the random walk"),
    "bias_correction": Field("bool", default=False, doc="divide by 1 - beta^t (Adam's correction)"),
    "title": Field("str"),
}, "animopt.views.ema.EMA", "a seeded random walk and its exponential moving averages (seed 004)")


def _check_update(options, history):
    run = options.get("run", 0)
    if isinstance(run, str):
        if run not in history.labels:
            shown = ", ".join(map(repr, history.labels[:12])) + (", ..." if history.runs > 12 else "")
            return [("run", f"no run labelled {run!r}" + did_you_mean(run, history.labels) + f"; the runs are {shown}")]
    elif isinstance(run, int) and not isinstance(run, bool):
        if not 0 <= run < history.runs:
            return [("run", f"expected a run index from 0 to {history.runs - 1}, got {run}")]
    else:
        return [("run", f"expected a run's label (string) or index (integer), got {run!r}")]
    return []


UPDATE = ViewDef("update", {
    "run": Field("any", default=0, doc="the run: its label or its index (0 the first)"),
    "title": Field("str", doc="panel title (default: the run's label)"),
    "fontsize": Field("number", gt=0, le=48, doc="size of the formulas (default: the theme's)"),
}, "animopt.views.update.Update", "one run's update rule in mathtext with the current numbers (gradient, "
   "buffers, lr, bias corrections, the step), every optimizer type", _check_update)
