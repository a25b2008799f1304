"""`line`: fit y = a*x + b by mean squared error; the parameters are [a, b] (animopt/problems/line.py)."""
from __future__ import annotations

from ... import limits
from ...spec import Field
from . import ProblemDef, finite
from .data import check_data_source

FIELDS = {
    "a": Field("number", doc="true slope of the synthetic data", check=finite),
    "b": Field("number", doc="true intercept of the synthetic data", check=finite),
    "n": Field("int", default=30, ge=1, le=limits.MAX_DATA_POINTS, doc="synthetic points"),
    "x_range": Field("numbers", default=(-10.0, 10.0), length=2, doc="x drawn uniformly in [lo, hi)", check=finite),
    "integer_x": Field("bool", default=False, doc="draw integer x in [lo, hi) with numpy's legacy "
                       "RandomState(seed).randint, as seed 002 did, instead of uniform reals"),
    "noise": Field("number", default=0.0, ge=0, doc="std of Gaussian noise added to y", check=finite),
    "x": Field("numbers", min_length=1, doc="explicit data: x values", check=finite),
    "y": Field("numbers", min_length=1, doc="explicit data: y values", check=finite),
    "csv": Field("path", doc="data file with columns x,y (relative to the scene file)"),
}


def _check(v, base_dir):
    errs = check_data_source(v, base_dir, ("x", "y"), synthetic=("a", "b"))
    if not errs and v.get("x_range") and v["x_range"][0] >= v["x_range"][1]:
        errs.append(("x_range", f"expected [lo, hi] with lo < hi, got {list(v['x_range'])}"))
    return errs


LINE = ProblemDef("line", FIELDS, "animopt.problems.line.build", _check, doc="y = a*x + b, mean squared error")
