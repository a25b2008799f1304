"""The classic 2-D test functions, each with its known minima and a plotting window.

Every function's loss is written once, for numpy and torch alike (animopt.declare.problems.classic.LOSSES),
and its closed-form gradient here (`grad`); the tests check that the two agree with torch.autograd and
that every stated minimum and saddle is a stationary point."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..declare.problems.classic import LOSSES, SURFACES, Surface, _beale_terms
from .base import BuildCtx, Problem

TAU = 2 * math.pi


class Classic(Problem):
    param_names = ("x", "y")

    def __init__(self, s: Surface, options: dict, ctx: BuildCtx):
        self.s, self.o = s, dict(options)
        self.f, self.g = FUNCTIONS[s.name]
        self.type = s.name
        self.device, self.dtype = ctx.device, ctx.dtype
        mins = [np.array(m, dtype=np.float64) for m in s.minima(self.o)]
        self.minima = mins
        self.minimum = mins[0] if mins else None
        self.stationary = [np.array(p, dtype=np.float64) for p in s.stationary(self.o)]
        self.window = np.array(s.window(self.o), dtype=np.float64)
        self.default_init = tuple(float(v) for v in s.init(self.o))

    def loss(self, params, idx=None, weight=None):
        return self.f(params[:, 0], params[:, 1], self.o)

    def grad(self, params):
        gx, gy = self.g(params[:, 0], params[:, 1], self.o)
        return torch.stack([gx, gy], 1)

    def data(self):
        extra = {}
        if len(self.minima) > 1:
            extra["minima"] = np.array(self.minima)
        if self.stationary:
            extra["stationary"] = np.array(self.stationary)
        return extra


def _rosen_g(x, y, o):
    return -2 * (o["a"] - x) - 4 * o["b"] * x * (y - x ** 2), 2 * o["b"] * (y - x ** 2)


def _beale_g(x, y, o):
    t1, t2, t3 = _beale_terms(x, y)
    return (2 * t1 * (y - 1) + 2 * t2 * (y ** 2 - 1) + 2 * t3 * (y ** 3 - 1),
            2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y ** 2)


def _himmel_g(x, y, o):
    u, v = x ** 2 + y - 11, x + y ** 2 - 7
    return 4 * x * u + 2 * v, 2 * u + 4 * y * v


def _rastrigin_g(x, y, o):
    A = o["A"]
    return 2 * x + TAU * A * torch.sin(TAU * x), 2 * y + TAU * A * torch.sin(TAU * y)


def _booth_g(x, y, o):
    u, v = x + 2 * y - 7, 2 * x + y - 5
    return 2 * u + 4 * v, 4 * u + 2 * v


def _camel_g(x, y, o):
    return 8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3


def _torch_loss(name):
    f = LOSSES[name]
    return lambda x, y, o: f(x, y, o, torch)


GRADS = {"rosenbrock": _rosen_g, "beale": _beale_g, "himmelblau": _himmel_g, "rastrigin": _rastrigin_g,
         "saddle": lambda x, y, o: (2 * x, -2 * y), "booth": _booth_g, "six_hump_camel": _camel_g}
FUNCTIONS = {name: (_torch_loss(name), g) for name, g in GRADS.items()}   # each surface: (loss, closed-form gradient)


def build(v, ctx: BuildCtx) -> Classic:
    return Classic(next(s for s in SURFACES if s.name == ctx.type), v, ctx)
