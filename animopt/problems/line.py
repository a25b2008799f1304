"""`line`: fit y = a*x + b by mean squared error; the parameters are [a, b]."""
from __future__ import annotations

import numpy as np
import torch

from ..declare.problems.line import line_data
from .base import BuildCtx, Problem, least_squares, mse


class Line(Problem):
    type = "line"
    param_names = ("a", "b")

    def __init__(self, x: np.ndarray, y: np.ndarray, true: np.ndarray | None, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self._x, self._y = x.astype(np.float64), y.astype(np.float64)
        self.x = torch.as_tensor(self._x, dtype=ctx.dtype, device=ctx.device)
        self.y = torch.as_tensor(self._y, dtype=ctx.dtype, device=ctx.device)
        self.n = len(x)
        self.true_params = true
        A = np.stack([self._x, np.ones_like(self._x)], 1)
        self.minimum = least_squares(A, self._y)
        self.default_init = (0.0, 0.0)
        centre = self.minimum if self.minimum is not None else np.zeros(2)
        span = np.abs(centre) + 1.0
        self.window = np.stack([centre - 2 * span, centre + 2 * span], 1)

    def loss(self, params, idx=None, weight=None):
        a, b = params[:, :1], params[:, 1:2]
        if idx is None:
            return mse(a * self.x + b, self.y.expand(len(params), -1), None)
        return mse(a * self.x[idx] + b, self.y[idx], weight)

    def loss_and_grad(self, params, idx=None, weight=None):
        """`loss` and its closed-form gradient [2 mean(r x), 2 mean(r)], r = a x + b - y (weighted for a
        minibatch): what the simulator uses instead of autograd, several times cheaper for big sweeps."""
        a, b = params[:, :1], params[:, 1:2]
        if idx is None:
            x, r = self.x, a * self.x + b - self.y
            return (r * r).mean(-1), torch.stack([(r * x).mean(-1), r.mean(-1)], 1) * 2
        x = self.x[idx]
        r = a * x + b - self.y[idx]
        wr = weight * r
        return (wr * r).sum(-1), torch.stack([(wr * x).sum(-1), wr.sum(-1)], 1) * 2

    def data(self):
        return {"x": self._x, "y": self._y}


def build(v, ctx: BuildCtx) -> Line:
    x, y, true = line_data(v, ctx.seed, ctx.base_dir, ctx.file)
    return Line(x, y, true, ctx)
