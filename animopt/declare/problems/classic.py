"""The classic 2-D test functions (animopt/problems/classic.py): each with its known minima, other
stationary points, a plotting window and a start."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from ...spec import Field
from . import Outline, ProblemDef, chunked, finite, loss_only


@dataclass(frozen=True)
class Surface:
    name: str
    doc: str
    minima: Callable       # options -> list of (x, y); the first is the global one shown as `minimum`
    window: Callable       # options -> ((x0, x1), (y0, y1))
    init: Callable         # options -> (x, y)
    fields: dict = field(default_factory=dict)
    stationary: Callable = lambda o: []  # other stationary points (saddles, maxima) worth knowing


def _rosen_window(o):
    s = max(1.0, abs(o["a"]))
    return (-2 * s, 2 * s), (-s * s, 3 * s * s)

_CAMEL_MIN = (0.08984201368301331, -0.7126564032704135)

SURFACES = (
    Surface("rosenbrock", "Rosenbrock's banana valley (a - x)^2 + b (y - x^2)^2; minimum (a, a^2)",
            lambda o: [(o["a"], o["a"] ** 2)], _rosen_window,
            lambda o: (-1.2 * max(1.0, abs(o["a"])), max(1.0, o["a"] ** 2)),
            fields={"a": Field("number", default=1.0, check=finite),
                    "b": Field("number", default=100.0, gt=0, check=finite)}),
    Surface("beale", "Beale's function; minimum (3, 0.5), flat plateaus and steep walls",
            lambda o: [(3.0, 0.5)], lambda o: ((-4.5, 4.5), (-4.5, 4.5)),
            lambda o: (1.0, 1.5), stationary=lambda o: [(0.0, 1.0)]),
    Surface("himmelblau", "Himmelblau's function: four minima of value 0",
            lambda o: [(3.0, 2.0), (-2.805118086952745, 3.131312518250573),
                       (-3.779310253377747, -3.2831859912861696), (3.5844283403304917, -1.8481265269644034)],
            lambda o: ((-5.0, 5.0), (-5.0, 5.0)), lambda o: (0.0, 0.0),
            stationary=lambda o: [(-0.2708445906673476, -0.9230385564799815)]),   # the local maximum
    Surface("rastrigin", "Rastrigin's egg crate 2A + sum(x^2 - A cos(2 pi x)); minimum (0, 0)",
            lambda o: [(0.0, 0.0)], lambda o: ((-5.12, 5.12), (-5.12, 5.12)),
            lambda o: (-3.2, 2.6), fields={"A": Field("number", default=10.0, ge=0, check=finite)}),
    Surface("saddle", "the saddle x^2 - y^2: a stationary point at (0, 0) and no minimum",
            lambda o: [],
            lambda o: ((-2.0, 2.0), (-2.0, 2.0)), lambda o: (-1.5, 0.05), stationary=lambda o: [(0.0, 0.0)]),
    Surface("booth", "Booth's function (x + 2y - 7)^2 + (2x + y - 5)^2; minimum (1, 3)",
            lambda o: [(1.0, 3.0)], lambda o: ((-10.0, 10.0), (-10.0, 10.0)),
            lambda o: (8.0, -6.0)),
    Surface("six_hump_camel", "the six-hump camel; two global minima near (0.0898, -0.7127), value -1.0316",
            lambda o: [_CAMEL_MIN, (-_CAMEL_MIN[0], -_CAMEL_MIN[1])],
            lambda o: ((-2.0, 2.0), (-1.0, 1.0)), lambda o: (-1.5, 0.25),
            stationary=lambda o: [(0.0, 0.0)]),
)


TAU = 2 * np.pi


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3


LOSSES = {   # each surface's loss (x, y, options, xp) on numpy arrays (xp = numpy) or tensors (xp = torch)
    "rosenbrock": lambda x, y, o, xp: (o["a"] - x) ** 2 + o["b"] * (y - x ** 2) ** 2,
    "beale": lambda x, y, o, xp: sum(t ** 2 for t in _beale_terms(x, y)),
    "himmelblau": lambda x, y, o, xp: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
    "rastrigin": lambda x, y, o, xp: (2 * o["A"] + x ** 2 - o["A"] * xp.cos(TAU * x)
                                      + y ** 2 - o["A"] * xp.cos(TAU * y)),
    "saddle": lambda x, y, o, xp: x ** 2 - y ** 2,
    "booth": lambda x, y, o, xp: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "six_hump_camel": lambda x, y, o, xp: ((4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y
                                           + (-4 + 4 * y ** 2) * y ** 2),
}


def _outline(s: Surface, v, base_dir, seed: int, file: str = "<scene>") -> Outline:
    """Its minima (several: all in `data`, as the problem has them) and other stationary points; the least
    loss exists where a minimum does (NaN: not computed without the function)."""
    mins = [np.array(m, dtype=np.float64) for m in s.minima(v)]
    stationary = s.stationary(v)
    data = {}
    if len(mins) > 1:
        data["minima"] = np.array(mins)
    if stationary:
        data["stationary"] = np.array(stationary, dtype=np.float64)
    return Outline(s.name, ("x", "y"), tuple(float(x) for x in s.init(v)), minimum=mins[0] if mins else None,
                   min_loss=float("nan") if mins else None, data=data)


def _numpy_loss(s: Surface, v, base_dir, seed: int, file: str = "<scene>", dtype: str = "float64"):
    f = LOSSES[s.name]
    return chunked(lambda p: f(p[:, 0], p[:, 1], v, np), dtype)


def _definition(s: Surface) -> ProblemDef:
    return ProblemDef(s.name, dict(s.fields), "animopt.problems.classic.build", doc=s.doc,
                      outline=partial(_outline, s), numpy_info=loss_only(partial(_numpy_loss, s)))


CLASSICS = tuple(_definition(s) for s in SURFACES)
