"""`line`: fit y = a*x + b by mean squared error; the parameters are [a, b] (animopt/problems/line.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import limits
from ...spec import Field
from . import Outline, ProblemDef, chunked, finite, loss_only
from .data import check_data_source, finite_or_error, least_squares, read_csv_columns

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


def line_data(v, seed: int, base_dir: Path, file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(x, y, the true [a, b] of synthetic data, else None): explicit, from the csv file, or drawn."""
    if v.get("x") is not None:
        return np.array(v["x"]), np.array(v["y"]), None
    if v.get("csv"):
        path = base_dir / v["csv"]
        x, y = read_csv_columns(path, ("x", "y"), file, "problem.csv")
        finite_or_error({"x": x, "y": y}, path, file, "problem.csv")
        return x, y, None
    lo, hi = v["x_range"]
    if v["integer_x"]:
        # numpy's legacy generator, as seed 002 drew its points: np.random.seed(7); randint(-10, 10, 20)
        rs = np.random.RandomState(seed)
        x = rs.randint(int(np.floor(lo)), int(np.ceil(hi)), size=v["n"]).astype(np.float64)
        eps = rs.standard_normal(v["n"])
    else:
        rng = np.random.default_rng(seed)
        x = rng.uniform(lo, hi, size=v["n"])
        eps = rng.standard_normal(v["n"])
    y = v["a"] * x + v["b"] + v["noise"] * eps
    return x, y, np.array([v["a"], v["b"]])


def _outline(v, base_dir: Path, seed: int, file: str = "<scene>") -> Outline:
    x, y, _ = line_data(v, seed, base_dir, file)
    x, y = x.astype(np.float64), y.astype(np.float64)
    minimum = least_squares(np.stack([x, np.ones_like(x)], 1), y)
    min_loss = None if minimum is None else float(np.mean((minimum[0] * x + minimum[1] - y) ** 2))
    return Outline("line", ("a", "b"), (0.0, 0.0), n=len(x), minimum=minimum, min_loss=min_loss,
                   data={"x": x, "y": y})


def _numpy_loss(v, base_dir: Path, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """The mean squared error of a x + b on the full data, in numpy (the torch problem's loss)."""
    x, y, _ = line_data(v, seed, base_dir, file)
    x, y = x.astype(dtype), y.astype(dtype)

    def f(p):
        return np.mean((p[:, :1] * x + p[:, 1:2] - y) ** 2, -1)

    return chunked(f, dtype, max(1, 2 ** 22 // len(x)))


LINE = ProblemDef("line", FIELDS, "animopt.problems.line.build", _check, doc="y = a*x + b, mean squared error",
                  outline=_outline, numpy_info=loss_only(_numpy_loss))
