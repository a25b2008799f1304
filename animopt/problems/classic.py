"""The classic 2-D test functions, each with its known minima and a plotting window.

Every function is written once as torch operations (the loss) and once as its closed-form gradient
(`grad`); the tests check that the two agree with torch.autograd and that every stated minimum and
saddle is a stationary point."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..spec import Field
from .base import BuildCtx, Problem, ProblemDef, finite

TAU = 2 * math.pi


@dataclass(frozen=True)
class Surface:
    name: str
    doc: str
    f: Callable            # (x, y, options) -> tensor
    grad: Callable         # (x, y, options) -> (df/dx, df/dy)
    minima: Callable       # options -> list of (x, y); the first is the global one shown as `minimum`
    window: Callable       # options -> ((x0, x1), (y0, y1))
    init: Callable         # options -> (x, y)
    fields: dict = field(default_factory=dict)
    stationary: Callable = lambda o: []  # other stationary points (saddles, maxima) worth knowing


class Classic(Problem):
    param_names = ("x", "y")

    def __init__(self, s: Surface, options: dict, ctx: BuildCtx):
        self.s, self.o = s, dict(options)
        self.type = s.name
        self.device, self.dtype = ctx.device, ctx.dtype
        mins = [np.array(m, dtype=np.float64) for m in s.minima(self.o)]
        self.minima = mins
        self.minimum = mins[0] if mins else None
        self.stationary = [np.array(p, dtype=np.float64) for p in s.stationary(self.o)]
        self.window = np.array(s.window(self.o), dtype=np.float64)
        self.default_init = tuple(float(v) for v in s.init(self.o))

    def loss(self, params, idx=None, weight=None):
        return self.s.f(params[:, 0], params[:, 1], self.o)

    def grad(self, params):
        gx, gy = self.s.grad(params[:, 0], params[:, 1], self.o)
        return torch.stack([gx, gy], 1)

    def data(self):
        extra = {}
        if len(self.minima) > 1:
            extra["minima"] = np.array(self.minima)
        if self.stationary:
            extra["stationary"] = np.array(self.stationary)
        return extra


def _rosen_f(x, y, o):
    return (o["a"] - x) ** 2 + o["b"] * (y - x ** 2) ** 2


def _rosen_g(x, y, o):
    return -2 * (o["a"] - x) - 4 * o["b"] * x * (y - x ** 2), 2 * o["b"] * (y - x ** 2)


def _rosen_window(o):
    s = max(1.0, abs(o["a"]))
    return (-2 * s, 2 * s), (-s * s, 3 * s * s)


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3


def _beale_f(x, y, o):
    t1, t2, t3 = _beale_terms(x, y)
    return t1 ** 2 + t2 ** 2 + t3 ** 2


def _beale_g(x, y, o):
    t1, t2, t3 = _beale_terms(x, y)
    return (2 * t1 * (y - 1) + 2 * t2 * (y ** 2 - 1) + 2 * t3 * (y ** 3 - 1),
            2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y ** 2)


def _himmel_f(x, y, o):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def _himmel_g(x, y, o):
    u, v = x ** 2 + y - 11, x + y ** 2 - 7
    return 4 * x * u + 2 * v, 2 * u + 4 * y * v


def _rastrigin_f(x, y, o):
    A = o["A"]
    return 2 * A + x ** 2 - A * torch.cos(TAU * x) + y ** 2 - A * torch.cos(TAU * y)


def _rastrigin_g(x, y, o):
    A = o["A"]
    return 2 * x + TAU * A * torch.sin(TAU * x), 2 * y + TAU * A * torch.sin(TAU * y)


def _booth_f(x, y, o):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_g(x, y, o):
    u, v = x + 2 * y - 7, 2 * x + y - 5
    return 2 * u + 4 * v, 4 * u + 2 * v


def _camel_f(x, y, o):
    return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2


def _camel_g(x, y, o):
    return 8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3


_CAMEL_MIN = (0.08984201368301331, -0.7126564032704135)

SURFACES = (
    Surface("rosenbrock", "Rosenbrock's banana valley (a - x)^2 + b (y - x^2)^2; minimum (a, a^2)",
            _rosen_f, _rosen_g, lambda o: [(o["a"], o["a"] ** 2)], _rosen_window,
            lambda o: (-1.2 * max(1.0, abs(o["a"])), max(1.0, o["a"] ** 2)),
            fields={"a": Field("number", default=1.0, check=finite),
                    "b": Field("number", default=100.0, gt=0, check=finite)}),
    Surface("beale", "Beale's function; minimum (3, 0.5), flat plateaus and steep walls",
            _beale_f, _beale_g, lambda o: [(3.0, 0.5)], lambda o: ((-4.5, 4.5), (-4.5, 4.5)),
            lambda o: (1.0, 1.5), stationary=lambda o: [(0.0, 1.0)]),
    Surface("himmelblau", "Himmelblau's function: four minima of value 0",
            _himmel_f, _himmel_g,
            lambda o: [(3.0, 2.0), (-2.805118086952745, 3.131312518250573),
                       (-3.779310253377747, -3.2831859912861696), (3.5844283403304917, -1.8481265269644034)],
            lambda o: ((-5.0, 5.0), (-5.0, 5.0)), lambda o: (0.0, 0.0),
            stationary=lambda o: [(-0.2708445906673476, -0.9230385564799815)]),   # the local maximum
    Surface("rastrigin", "Rastrigin's egg crate 2A + sum(x^2 - A cos(2 pi x)); minimum (0, 0)",
            _rastrigin_f, _rastrigin_g, lambda o: [(0.0, 0.0)], lambda o: ((-5.12, 5.12), (-5.12, 5.12)),
            lambda o: (-3.2, 2.6), fields={"A": Field("number", default=10.0, ge=0, check=finite)}),
    Surface("saddle", "the saddle x^2 - y^2: a stationary point at (0, 0) and no minimum",
            lambda x, y, o: x ** 2 - y ** 2, lambda x, y, o: (2 * x, -2 * y), lambda o: [],
            lambda o: ((-2.0, 2.0), (-2.0, 2.0)), lambda o: (-1.5, 0.05), stationary=lambda o: [(0.0, 0.0)]),
    Surface("booth", "Booth's function (x + 2y - 7)^2 + (2x + y - 5)^2; minimum (1, 3)",
            _booth_f, _booth_g, lambda o: [(1.0, 3.0)], lambda o: ((-10.0, 10.0), (-10.0, 10.0)),
            lambda o: (8.0, -6.0)),
    Surface("six_hump_camel", "the six-hump camel; two global minima near (0.0898, -0.7127), value -1.0316",
            _camel_f, _camel_g, lambda o: [_CAMEL_MIN, (-_CAMEL_MIN[0], -_CAMEL_MIN[1])],
            lambda o: ((-2.0, 2.0), (-1.0, 1.0)), lambda o: (-1.5, 0.25),
            stationary=lambda o: [(0.0, 0.0)]),
)


def _definition(s: Surface) -> ProblemDef:
    return ProblemDef(s.name, dict(s.fields), lambda v, ctx: Classic(s, v, ctx), doc=s.doc)


CLASSICS = tuple(_definition(s) for s in SURFACES)
