"""`quadratic`: the bowl of seed 004, L = 1/2 * sum_i gamma_i * (w_i - c_i)^2 (animopt/problems/quadratic.py)."""
from __future__ import annotations

from ...spec import Field
from . import ProblemDef, finite

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


QUADRATIC = ProblemDef("quadratic", FIELDS, "animopt.problems.quadratic.build", _check,
                       doc="L = 1/2 sum gamma_i (w_i - c_i)^2 (seed 004)")
