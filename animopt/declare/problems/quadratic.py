"""`quadratic`: the bowl of seed 004, L = 1/2 * sum_i gamma_i * (w_i - c_i)^2 (animopt/problems/quadratic.py)."""
from __future__ import annotations

import numpy as np

from ...spec import Field
from . import Outline, ProblemDef, chunked, finite, loss_only

FIELDS = {
    "gammas": Field("numbers", default=(5.0, 1.0), min_length=1, check=finite,
                    doc="curvature of each coordinate (one parameter per value)"),
    "center": Field("numbers", doc="the stationary point (default: the origin)", check=finite),
}


def _check(v, base_dir):
    errs = []
    if v.get("center") is not None and len(v["center"]) != len(v["gammas"]):
        errs.append(("center", f"expected {len(v['gammas'])} values (one per gamma), got {len(v['center'])}"))
    return errs


def _outline(v, base_dir, seed: int, file: str = "<scene>") -> Outline:
    gammas = np.array(v["gammas"], dtype=np.float64)
    center = np.zeros(len(gammas)) if v.get("center") is None else np.array(v["center"], dtype=np.float64)
    minimum = center.copy() if np.all(gammas > 0) else None     # else the center is a saddle (or a maximum)
    return Outline("quadratic", tuple(f"w{i}" for i in range(len(gammas))), tuple(float(c) + 1.0 for c in center),
                   minimum=minimum, min_loss=None if minimum is None else 0.0,
                   data={"gammas": gammas, "center": center})


def _numpy_loss(v, base_dir, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """1/2 sum gamma_i (w_i - c_i)^2 in numpy (the torch problem's loss)."""
    o = _outline(v, base_dir, seed, file)
    g, c = o.data["gammas"].astype(dtype), o.data["center"].astype(dtype)
    return chunked(lambda p: 0.5 * (g * (p - c) ** 2).sum(-1), dtype)


QUADRATIC = ProblemDef("quadratic", FIELDS, "animopt.problems.quadratic.build", _check,
                       doc="L = 1/2 sum gamma_i (w_i - c_i)^2 (seed 004)", outline=_outline,
                       numpy_info=loss_only(_numpy_loss))
